// Package apptest starts Rounds inside a test's process, as `rounds run`
// does: every service against an embedded JetStream, state in the test's
// temp dirs, stopped when the test ends.
package apptest

import (
	"context"
	"io"
	"path/filepath"
	"testing"

	"github.com/rounds-dev/rounds/cmd/rounds/internal/app"
	"github.com/rounds-dev/rounds/pkg/logging"
	"github.com/rounds-dev/rounds/pkg/natstest"
)

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

// Start runs every service with cfg against a new embedded JetStream until
// the test ends, and returns what runs. A start or a stop that fails fails
// the test.
func Start(t testing.TB, cfg app.Config) app.Running {
	t.Helper()
	cfg.NATSURL = natstest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	started := make(chan app.Running, 1)
	go func() {
		stopped <- app.Run(ctx, app.TargetAll, cfg, logging.Discard(), io.Discard, app.Hooks{Started: func(r app.Running) { started <- r }})
	}()
	var running app.Running
	select {
	case running = <-started:
	case err := <-stopped:
		t.Fatalf("rounds did not start: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-stopped; err != nil {
			t.Errorf("rounds: %v", err)
		}
	})
	return running
}
