package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rounds-dev/rounds/cmd/rounds/internal/httpapi"
	"github.com/rounds-dev/rounds/cmd/rounds/internal/metrics"
	"github.com/rounds-dev/rounds/pkg/client"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/health"
	"github.com/rounds-dev/rounds/pkg/messaging"
	"github.com/rounds-dev/rounds/services/ingest"
)

// httpHandler builds what the process's one listener serves: health and
// metrics always, unauthenticated; the API where ingest runs, since the
// signatures it manages are ingest's.
func httpHandler(cfg Config, m *metrics.Metrics, checks *health.Checks, conns *connections, ops *opsConn, ingestSvc *ingest.Service, log *slog.Logger) (http.Handler, error) {
	if err := cfg.Health.Validate(); err != nil {
		return nil, err
	}
	checks.Add("nats", conns.check)
	checks.Add("streams", ops.streamsCheck(cfg.Streams))
	m.WatchNATS(conns.stats)
	m.WatchDeadletters(ops.jetStream)

	mux := http.NewServeMux()
	health.Register(mux, checks, cfg.Health.CheckTimeout)
	mux.Handle("GET "+metrics.Path, m.Handler())
	if ingestSvc != nil {
		acfg := cfg.API
		acfg.Listen = cfg.HTTP.Listen
		acfg.Publisher = ops
		acfg.Registerer = m.Registry()
		api, err := httpapi.New(acfg, log)
		if err != nil {
			return nil, err
		}
		api.AddManagement(ingestSvc.Manager())
		api.Register(mux)
		switch {
		case acfg.NoAuth:
			log.Warn("HTTP API serves without a token (--http-no-auth), on loopback only", "listen", acfg.Listen)
		case acfg.Token == "":
			log.Info("HTTP API off: set ROUNDS_API_TOKEN to accept reports over HTTP", "listen", acfg.Listen)
		}
	}
	return mux, nil
}

// opsConn is the NATS connection of the HTTP side: the API publishes on
// it, /readyz looks for the streams with it and /metrics counts the dead
// letters. Until it is dialed, each says it is not connected.
type opsConn struct {
	dial messaging.Dialer
	log  *slog.Logger
	js   atomic.Pointer[jetstream.JetStream]
	c    atomic.Pointer[client.Client]
}

// Run dials, then holds the connection until ctx ends and drains it.
func (o *opsConn) Run(ctx context.Context) error {
	nc, err := o.dial(ctx, "rounds-http")
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	defer messaging.Drain(nc, 5*time.Second)
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("http: jetstream: %w", err)
	}
	c, err := client.New(nc)
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	o.js.Store(&js)
	o.c.Store(c)
	<-ctx.Done()
	o.c.Store(nil)
	o.js.Store(nil)
	return nil
}

// jetStream is the JetStream context, nil before Run has dialed.
func (o *opsConn) jetStream() jetstream.JetStream {
	if js := o.js.Load(); js != nil {
		return *js
	}
	return nil
}

func (o *opsConn) PublishFailures(ctx context.Context, failures []contract.Failure) (client.PublishResult, error) {
	c := o.c.Load()
	if c == nil {
		return client.PublishResult{}, httpapi.ErrNotConnected
	}
	return c.PublishFailures(ctx, failures)
}

func (o *opsConn) PublishRun(ctx context.Context, r contract.RunReported) (client.PublishResult, error) {
	c := o.c.Load()
	if c == nil {
		return client.PublishResult{}, httpapi.ErrNotConnected
	}
	return c.PublishRun(ctx, r)
}

// streamsCheck is the "streams" readiness check: every Rounds stream
// exists on the server. The services provision them at start, so a
// missing one means they have not started yet, or the server lost them.
func (o *opsConn) streamsCheck(cfg messaging.StreamsConfig) health.Check {
	var want []string
	for _, sc := range cfg.StreamConfigs() {
		want = append(want, sc.Name)
	}
	return func(ctx context.Context) error {
		js := o.jetStream()
		if js == nil {
			return errors.New("not connected yet")
		}
		var have []string
		names := js.StreamNames(ctx)
		for n := range names.Name() {
			have = append(have, n)
		}
		if err := names.Err(); err != nil {
			return fmt.Errorf("list streams: %w", err)
		}
		var missing []string
		for _, n := range want {
			if !slices.Contains(have, n) {
				missing = append(missing, n)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("missing: %s", strings.Join(missing, ", "))
		}
		return nil
	}
}

// stats sums the NATS statistics of each service's connections, for
// /metrics.
func (c *connections) stats() map[string]metrics.NATSStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]metrics.NATSStats, len(c.services))
	for _, svc := range c.services {
		var sum metrics.NATSStats
		for _, nc := range c.conns[svc] {
			s := nc.Stats()
			sum.InMsgs += s.InMsgs
			sum.OutMsgs += s.OutMsgs
			sum.InBytes += s.InBytes
			sum.OutBytes += s.OutBytes
		}
		out[svc] = sum
	}
	return out
}
