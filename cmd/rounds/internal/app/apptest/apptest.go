// Package apptest starts Rounds inside a test's process, as `rounds run`
// does: every service against JetStream, state in the test's temp dirs,
// stopped when the test ends or when the test stops it.
package apptest

import (
	"context"
	"io"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rounds-dev/rounds/cmd/rounds/internal/app"
	"github.com/rounds-dev/rounds/pkg/logging"
	"github.com/rounds-dev/rounds/pkg/natstest"
)

// stopWait bounds how long a stop may take before the test fails.
const stopWait = 60 * time.Second

// Config is what a test starts from: the defaults, with state and reports
// in t's temp dir, no codebase and no HTTP listener.
func Config(t testing.TB) app.Config {
	cfg := app.DefaultConfig()
	dir := t.TempDir()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.ReportsDir = filepath.Join(dir, "reports")
	cfg.Codebase = ""
	cfg.HTTP.Listen = ""
	return cfg
}

// Process is Rounds running in the test's process.
type Process struct {
	app.Running
	t       testing.TB
	cancel  context.CancelFunc
	stopped chan error
	once    sync.Once
}

// Run runs every service with cfg against the NATS server at cfg.NATSURL
// (a new embedded JetStream when empty) until Stop or the end of the test.
// A start or a stop that fails fails the test.
func Run(t testing.TB, cfg app.Config) *Process {
	t.Helper()
	if cfg.NATSURL == "" {
		cfg.NATSURL = natstest.Start(t)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Process{t: t, cancel: cancel, stopped: make(chan error, 1)}
	started := make(chan app.Running, 1)
	go func() {
		p.stopped <- app.Run(ctx, app.TargetAll, cfg, logging.Discard(), io.Discard, app.Hooks{Started: func(r app.Running) { started <- r }})
	}()
	select {
	case p.Running = <-started:
	case err := <-p.stopped:
		cancel()
		t.Fatalf("rounds did not start: %v", err)
	}
	t.Cleanup(p.Stop)
	return p
}

// Start is Run for a test that never stops Rounds itself: it returns what
// runs.
func Start(t testing.TB, cfg app.Config) app.Running {
	t.Helper()
	return Run(t, cfg).Running
}

// Stop stops Rounds as SIGTERM would and waits for it; later calls do
// nothing.
func (p *Process) Stop() {
	p.once.Do(func() {
		p.cancel()
		select {
		case err := <-p.stopped:
			if err != nil {
				p.t.Errorf("rounds stopped with %v", err)
			}
		case <-time.After(stopWait):
			p.t.Errorf("rounds did not stop within %s", stopWait)
		}
	})
}
