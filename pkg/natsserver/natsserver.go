// Package natsserver runs an embedded NATS server with JetStream, for the
// one-process mode (`rounds run`) and for tests.
package natsserver

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Config says where the embedded server listens and stores its streams.
type Config struct {
	// Listen is host:port for clients; port 0 picks a free one.
	Listen string
	// StoreDir holds JetStream's file storage.
	StoreDir string
	// MaxPayload caps a message's size; 0 means DefaultMaxPayload.
	MaxPayload int32
}

// Validate reports a listen address that cannot be used.
func (c Config) Validate() error {
	if c.StoreDir == "" {
		return fmt.Errorf("nats store dir is required")
	}
	if _, _, err := splitListen(c.Listen); err != nil {
		return err
	}
	return nil
}

func splitListen(listen string) (string, int, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", 0, fmt.Errorf("nats listen address %q: %w", listen, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return "", 0, fmt.Errorf("nats listen address %q: bad port", listen)
	}
	return host, p, nil
}

// DefaultMaxPayload lets a failure event at its limit (contract.MaxFailureBytes)
// through with its headers; NATS' own default, 1 MiB, would not.
const DefaultMaxPayload = 8 << 20

// Server is a running embedded NATS server.
type Server struct {
	ns *server.Server
}

// Start starts the server and waits until it accepts clients.
func Start(cfg Config, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	host, port, _ := splitListen(cfg.Listen)
	if port == 0 {
		port = server.RANDOM_PORT
	} else {
		// The server only logs a failed listen; find out here, clearly.
		l, err := net.Listen("tcp", cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("embedded nats server: %w (is another Rounds or NATS running? use --nats-listen or --nats-url)", err)
		}
		l.Close()
	}
	if cfg.MaxPayload == 0 {
		cfg.MaxPayload = DefaultMaxPayload
	}
	opts := &server.Options{
		ServerName: "rounds-embedded",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   cfg.StoreDir,
		MaxPayload: cfg.MaxPayload,
		NoSigs:     true,
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("create embedded nats server: %w", err)
	}
	ns.SetLoggerV2(serverLogger{log: log.With("component", "nats-server")}, false, false, false)
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("embedded nats server on %s did not become ready", cfg.Listen)
	}
	return &Server{ns: ns}, nil
}

// ClientURL is the nats:// URL clients connect to.
func (s *Server) ClientURL() string { return s.ns.ClientURL() }

// Shutdown stops the server and waits until it has.
func (s *Server) Shutdown() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
}

// serverLogger puts the server's notices one level below ours.
type serverLogger struct{ log *slog.Logger }

func (l serverLogger) Noticef(f string, a ...any) { l.log.Debug(fmt.Sprintf(f, a...)) }
func (l serverLogger) Warnf(f string, a ...any)   { l.log.Warn(fmt.Sprintf(f, a...)) }
func (l serverLogger) Fatalf(f string, a ...any)  { l.log.Error(fmt.Sprintf(f, a...)) }
func (l serverLogger) Errorf(f string, a ...any)  { l.log.Error(fmt.Sprintf(f, a...)) }
func (l serverLogger) Debugf(f string, a ...any)  {}
func (l serverLogger) Tracef(f string, a ...any)  {}
