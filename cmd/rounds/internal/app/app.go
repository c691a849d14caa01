// Package app is the composition root of the rounds binary: it builds the
// services a target names (all of them, or one), starts the embedded NATS
// server when no external one is given, runs them together and stops them
// in order.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rounds-dev/rounds/cmd/rounds/internal/httpapi"
	"github.com/rounds-dev/rounds/cmd/rounds/internal/metrics"
	"github.com/rounds-dev/rounds/pkg/health"
	"github.com/rounds-dev/rounds/pkg/httpserver"
	"github.com/rounds-dev/rounds/pkg/messaging"
	"github.com/rounds-dev/rounds/pkg/natsserver"
	"github.com/rounds-dev/rounds/pkg/presence"
	"github.com/rounds-dev/rounds/services/diagnose"
	"github.com/rounds-dev/rounds/services/ingest"
	"github.com/rounds-dev/rounds/services/report"
	"golang.org/x/sync/errgroup"
)

// Targets name what a process runs.
const (
	TargetAll      = "all"
	TargetIngest   = ingest.Name
	TargetDiagnose = diagnose.Name
	TargetReport   = report.Name
)

// Config is the root configuration; each service's own config is embedded.
type Config struct {
	// Version is the rounds binary's version, announced with each service
	// (package presence).
	Version string
	// NATSURL is the external server; empty runs the embedded one (only
	// for TargetAll).
	NATSURL string
	// NATSListen is where the embedded server listens.
	NATSListen string
	// ConnectTimeout bounds the wait for the server at start.
	ConnectTimeout time.Duration
	// DataDir holds <service>/ Badger state and nats/ for the embedded
	// server.
	DataDir string
	// ReportsDir receives markdown reports.
	ReportsDir string
	// Codebase is the target project's source, read-only.
	Codebase string
	// HTTP is the process's one listener: /healthz, /readyz, /metrics
	// and, where ingest runs, the HTTP API. An empty Listen serves none.
	HTTP httpserver.Config
	// Health bounds the readiness checks of /readyz.
	Health health.Config
	// API configures the HTTP API; Run fills in its Listen, Publisher and
	// Registerer.
	API httpapi.Config

	Streams  messaging.StreamsConfig
	Ingest   ingest.Config
	Diagnose diagnose.Config
	Report   report.Config
}

// DefaultConfig returns the defaults of every part.
func DefaultConfig() Config {
	return Config{
		NATSListen:     "127.0.0.1:4222",
		ConnectTimeout: 30 * time.Second,
		DataDir:        filepath.Join(".rounds", "data"),
		ReportsDir:     filepath.Join(".rounds", "reports"),
		Codebase:       ".",
		HTTP:           httpserver.DefaultConfig(),
		Health:         health.DefaultConfig(),
		API:            httpapi.DefaultConfig(),
		Streams:        messaging.DefaultStreamsConfig(),
		Ingest:         ingest.DefaultConfig(),
		Diagnose:       diagnose.DefaultConfig(),
		Report:         report.DefaultConfig(),
	}
}

// resolve spreads the root settings into each service's config.
func (c *Config) resolve() {
	c.Ingest.DataDir = filepath.Join(c.DataDir, ingest.Name)
	c.Ingest.Streams = c.Streams
	c.Ingest.Codebase = c.Codebase
	c.Diagnose.DataDir = filepath.Join(c.DataDir, diagnose.Name)
	c.Diagnose.Codebase = c.Codebase
	c.Diagnose.Streams = c.Streams
	c.Report.DataDir = filepath.Join(c.DataDir, report.Name)
	c.Report.ReportsDir = c.ReportsDir
	c.Report.Streams = c.Streams
}

// runner is a service ready to run.
type runner interface {
	Run(ctx context.Context) error
}

// Hooks let a caller watch the process: tests and the benchmark use them.
type Hooks struct {
	// Started is called once every service is built, before they run.
	Started func(Running)
}

// Running describes a started process.
type Running struct {
	NATSURL string
	Ingest  *ingest.Service // nil when not part of the target
	// HTTPAddr is where /healthz, /readyz, /metrics and the API are
	// served; empty when they are not.
	HTTPAddr string
}

// Run runs target until ctx ends or one service fails, which stops the
// others. It prints where NATS listens and where reports go to out.
func Run(ctx context.Context, target string, cfg Config, log *slog.Logger, out io.Writer, hooks Hooks) error {
	cfg.resolve()
	switch target {
	case TargetAll, TargetIngest, TargetDiagnose, TargetReport:
	default:
		return fmt.Errorf("unknown target %q: want all, ingest, diagnose or report", target)
	}
	if cfg.API.NoAuth && !httpserver.IsLoopback(cfg.HTTP.Listen) {
		// Refused whatever the target, before anything starts.
		return fmt.Errorf("--http-no-auth with --http-listen %q: %w", cfg.HTTP.Listen, httpapi.ErrNoAuthNotLoopback)
	}
	url := cfg.NATSURL
	if url == "" {
		if target != TargetAll {
			url = messaging.DefaultURL
		} else {
			srv, err := natsserver.Start(natsserver.Config{Listen: cfg.NATSListen, StoreDir: filepath.Join(cfg.DataDir, "nats")}, log)
			if err != nil {
				return err
			}
			// Deferred first, so it runs last: after every service has
			// drained its connections.
			defer srv.Shutdown()
			url = srv.ClientURL()
			fmt.Fprintf(out, "NATS (embedded, JetStream) listening on %s\n", url)
		}
	}
	dial := messaging.URLDialer(url, cfg.ConnectTimeout, log)
	conns := &connections{}

	var runners []runner
	running := Running{NATSURL: url}
	// Each service adds its readiness check; the HTTP listener adds NATS
	// and the streams.
	var checks health.Checks
	m := metrics.New(log)
	if target == TargetAll || target == TargetIngest {
		svc, err := ingest.New(cfg.Ingest, conns.dialer(ingest.Name, dial), log)
		if err != nil {
			return err
		}
		running.Ingest = svc
		runners = append(runners, svc, announce(cfg, ingest.Name, svc.Ready, conns, dial, log))
		checks.Add(ingest.Name, svc.Ready)
		m.WatchIngest(svc)
	}
	if target == TargetAll || target == TargetDiagnose {
		dcfg := cfg.Diagnose
		if dcfg.Observe == nil {
			dcfg.Observe = m.ObserveDiagnosis
		}
		svc, err := diagnose.New(dcfg, conns.dialer(diagnose.Name, dial), log)
		if err != nil {
			return err
		}
		runners = append(runners, svc, announce(cfg, diagnose.Name, svc.Ready, conns, dial, log))
		checks.Add(diagnose.Name, svc.Ready)
	}
	if target == TargetAll || target == TargetReport {
		cfg.Report.Stdout = out
		svc, err := report.New(cfg.Report, conns.dialer(report.Name, dial), log)
		if err != nil {
			return err
		}
		runners = append(runners, svc, announce(cfg, report.Name, svc.Ready, conns, dial, log))
		checks.Add(report.Name, svc.Ready)
		m.WatchSinks(func() map[string]metrics.SinkCounts {
			out := map[string]metrics.SinkCounts{}
			for name, st := range svc.Stats().Sinks {
				out[name] = metrics.SinkCounts{Delivered: st.Delivered, Failed: st.Failed, Dropped: st.Dropped}
			}
			return out
		})
		abs, _ := filepath.Abs(cfg.ReportsDir)
		fmt.Fprintf(out, "Reports are written under %s\n", abs)
	}
	var hs *httpserver.Server
	if cfg.HTTP.Listen != "" {
		ops := &opsConn{dial: conns.dialer("http", dial), log: log.With("component", "http")}
		handler, err := httpHandler(cfg, m, &checks, conns, ops, running.Ingest, log)
		if err != nil {
			return err
		}
		if hs, err = httpserver.Listen(cfg.HTTP, handler); err != nil {
			return err
		}
		runners = append(runners, ops)
		running.HTTPAddr = hs.Addr().String()
		fmt.Fprintf(out, "HTTP at http://%s: %s, %s, %s", running.HTTPAddr, health.PathLive, health.PathReady, metrics.Path)
		if running.Ingest != nil {
			fmt.Fprintf(out, " and the API under /v1/")
		}
		fmt.Fprintln(out)
	}
	if hooks.Started != nil {
		hooks.Started(running)
	}
	log.Info("rounds running", "target", target, "nats_url", url)

	g, gctx := errgroup.WithContext(ctx)
	for _, r := range runners {
		g.Go(func() error { return r.Run(gctx) })
	}
	if hs != nil {
		g.Go(func() error { return hs.Serve(gctx) })
	}
	err := g.Wait()
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	log.Info("rounds stopped")
	return nil
}

// announce returns what registers service as a NATS micro service for as
// long as the process runs, so that `rounds status` and `nats micro ls`
// find it. Its connection counts as the service's.
func announce(cfg Config, service string, ready func(context.Context) error, conns *connections, dial messaging.Dialer, log *slog.Logger) runner {
	return presence.New(presence.Config{Service: service, Version: cfg.Version, Ready: ready}, conns.dialer(service, dial), log)
}

// connections keeps the NATS connections each service dials, for the
// readiness check: a service is ready once it has dialed and while every
// connection it dialed is connected.
type connections struct {
	mu       sync.Mutex
	services []string
	conns    map[string][]*nats.Conn
}

// dialer registers service and returns dial wrapped to keep what it dials.
func (c *connections) dialer(service string, dial messaging.Dialer) messaging.Dialer {
	c.mu.Lock()
	if !slices.Contains(c.services, service) {
		c.services = append(c.services, service)
	}
	c.mu.Unlock()
	return func(ctx context.Context, name string) (*nats.Conn, error) {
		nc, err := dial(ctx, name)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.conns == nil {
			c.conns = map[string][]*nats.Conn{}
		}
		c.conns[service] = append(c.conns[service], nc)
		return nc, nil
	}
}

// check is the "nats" readiness check.
func (c *connections) check(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var problems []string
	for _, svc := range c.services {
		conns := c.conns[svc]
		if len(conns) == 0 {
			problems = append(problems, svc+": not connected yet")
			continue
		}
		for _, nc := range conns {
			if !nc.IsConnected() {
				problems = append(problems, fmt.Sprintf("%s: connection %s is %s", svc, nc.Opts.Name, nc.Status()))
			}
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}
