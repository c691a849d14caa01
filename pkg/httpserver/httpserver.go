// Package httpserver binds one HTTP listener and serves a handler on it
// until a context ends, then shuts it down gracefully: the one listener a
// Rounds process serves health, metrics and its API on.
package httpserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Config says where and how patiently the server answers.
type Config struct {
	// Listen is host:port; port 0 picks a free one.
	Listen string
	// ReadTimeout bounds reading a whole request, body included: a CI
	// system uploading a large report on a slow link needs it long.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing an answer, from the end of the request
	// headers: publishing a report to JetStream happens within it.
	WriteTimeout time.Duration
	// ShutdownTimeout bounds the wait for requests in flight at shutdown.
	ShutdownTimeout time.Duration
}

// DefaultConfig returns the defaults; Listen is left to the caller.
func DefaultConfig() Config {
	return Config{ReadTimeout: 2 * time.Minute, WriteTimeout: 3 * time.Minute, ShutdownTimeout: 10 * time.Second}
}

// Validate reports a setting the server cannot run with.
func (c Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("http listen address %q: %w", c.Listen, err)
	}
	if c.ReadTimeout <= 0 || c.WriteTimeout <= 0 || c.ShutdownTimeout <= 0 {
		return fmt.Errorf("http timeouts must be positive, got read %s, write %s, shutdown %s", c.ReadTimeout, c.WriteTimeout, c.ShutdownTimeout)
	}
	return nil
}

// IsLoopback reports whether a listen address accepts connections from
// this host only: 127.0.0.0/8, ::1 or localhost. An empty or unspecified
// host (":8080", "0.0.0.0:8080") listens on every interface and is not.
func IsLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Server is an HTTP server bound to its address.
type Server struct {
	l   net.Listener
	srv *http.Server
	cfg Config
}

// Listen binds cfg.Listen, so that an address in use is an error before
// anything else starts; Serve then answers requests with h.
func Listen(cfg Config, h http.Handler) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("http server: %w", err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       2 * time.Minute,
	}
	return &Server{l: l, srv: srv, cfg: cfg}, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.l.Addr() }

// Close releases the listener of a server that will not Serve.
func (s *Server) Close() error { return s.l.Close() }

// Serve answers requests until ctx ends, then shuts the server down,
// letting requests in flight finish within the shutdown timeout.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := s.srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("http server: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http server: %w", err)
	}
	return nil
}
