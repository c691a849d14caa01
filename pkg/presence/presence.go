// Package presence makes a Rounds service process discoverable over NATS:
// it registers the service as a NATS micro service (contract.ServiceName),
// whose status endpoint and stats say whether the service is ready. `nats
// micro ls` and `rounds status` list every instance that runs.
package presence

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/messaging"
)

// checkTimeout bounds a readiness check run for a status request or a
// stats request.
const checkTimeout = 2 * time.Second

// Config says which service a process announces.
type Config struct {
	// Service is ingest, diagnose or report.
	Service string
	// Version is the rounds binary's version; micro wants SemVer, so a
	// version that is not (a development build's "dev") is announced as
	// 0.0.0-<version> (see MicroVersion).
	Version string
	// Ready reports why the service cannot work, nil when it can.
	Ready func(ctx context.Context) error
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Announcer registers the service when it runs, for as long as it runs.
type Announcer struct {
	cfg  Config
	dial messaging.Dialer
	log  *slog.Logger
}

// New returns an announcer of cfg.Service over connections from dial.
func New(cfg Config, dial messaging.Dialer, log *slog.Logger) *Announcer {
	return &Announcer{cfg: cfg, dial: dial, log: log.With("component", "presence", "service", cfg.Service)}
}

// Run dials NATS, registers the service and answers until ctx ends; then
// it deregisters and drains its connection.
func (a *Announcer) Run(ctx context.Context) error {
	nc, err := a.dial(ctx, "rounds-"+a.cfg.Service+"-presence")
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("presence of %s: %w", a.cfg.Service, err)
	}
	svc, err := Serve(nc, a.cfg)
	if err != nil {
		nc.Close()
		return err
	}
	<-ctx.Done()
	if err := svc.Stop(); err != nil {
		a.log.Warn("could not deregister", "error", err)
	}
	// Answer what came before the stop, then go: once Run returns, no
	// request finds the service.
	if err := nc.Drain(); err != nil {
		nc.Close()
		return nil
	}
	for deadline := time.Now().Add(drainWait); !nc.IsClosed() && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	nc.Close()
	return nil
}

// drainWait bounds how long Run waits for its connection to drain.
const drainWait = 5 * time.Second

// Serve registers the micro service of cfg.Service on nc and returns it;
// the caller stops it.
func Serve(nc *nats.Conn, cfg Config) (micro.Service, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	started := cfg.Now().UTC()
	status := func(ctx context.Context) contract.ServiceStatus {
		st := contract.ServiceStatus{Service: cfg.Service, Version: cfg.Version, Ready: true, Started: started}
		if cfg.Ready != nil {
			ctx, cancel := context.WithTimeout(ctx, checkTimeout)
			defer cancel()
			if err := cfg.Ready(ctx); err != nil {
				st.Ready, st.Problem = false, err.Error()
			}
		}
		return st
	}
	svc, err := micro.AddService(nc, micro.Config{
		Name:         contract.ServiceName(cfg.Service),
		Version:      MicroVersion(cfg.Version),
		Description:  "Rounds " + cfg.Service + " service",
		Metadata:     map[string]string{"service": cfg.Service, "rounds_version": cfg.Version},
		StatsHandler: func(*micro.Endpoint) any { return status(context.Background()) },
	})
	if err != nil {
		return nil, fmt.Errorf("add micro service %s: %w", contract.ServiceName(cfg.Service), err)
	}
	err = svc.AddEndpoint(contract.ServiceStatusEndpoint, micro.HandlerFunc(func(req micro.Request) {
		_ = req.RespondJSON(status(context.Background()))
	}), micro.WithEndpointSubject(contract.ServiceStatusSubject(cfg.Service)))
	if err != nil {
		_ = svc.Stop()
		return nil, fmt.Errorf("add endpoint %s: %w", contract.ServiceStatusSubject(cfg.Service), err)
	}
	return svc, nil
}

// semver is the pattern micro checks versions against (semver.org's).
var semver = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)

// MicroVersion returns v when it is SemVer (a leading "v" dropped), else
// 0.0.0-<v> with what SemVer does not allow replaced by "-".
func MicroVersion(v string) string {
	if len(v) > 1 && v[0] == 'v' && semver.MatchString(v[1:]) {
		return v[1:]
	}
	if semver.MatchString(v) {
		return v
	}
	b := []byte(v)
	for i, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-') {
			b[i] = '-'
		}
	}
	if v := "0.0.0-" + string(b); semver.MatchString(v) {
		return v
	}
	return "0.0.0-unknown" // empty, or a number with a leading zero
}
