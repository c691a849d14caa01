package ingest

import (
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/logging"
)

func TestFlags(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		check func(c Config) bool
	}{
		{"the defaults resolve after a quiet week and wait 10s for run reports", nil, func(c Config) bool {
			return c.AutoResolveAfter == 7*24*time.Hour && c.AutoResolvePasses == 0 && c.StormWait == 10*time.Second && c.StormShare == 0.5 && c.FlakyWindow == 14*24*time.Hour
		}},
		{"durations take days", []string{"--ingest-auto-resolve-after", "3d", "--ingest-flaky-window", "1d12h"}, func(c Config) bool {
			return c.AutoResolveAfter == 72*time.Hour && c.FlakyWindow == 36*time.Hour
		}},
		{"durations take Go's units too, and 0 turns auto-resolution off", []string{"--ingest-auto-resolve-after", "0"}, func(c Config) bool {
			return c.AutoResolveAfter == 0
		}},
		{"the rules file and in-app prefixes", []string{"--ingest-rules", "/src/.rounds.yml", "--ingest-in-app", "com.acme.,org.acme."}, func(c Config) bool {
			return c.RulesPath() == "/src/.rounds.yml" && len(c.Grouping.InApp) == 2
		}},
		{"storms and flakiness", []string{"--ingest-storm-share", "0.8", "--ingest-storm-min-failed", "20", "--ingest-storm-wait", "0", "--ingest-flaky-min-samples", "5", "--ingest-auto-resolve-passes", "3"}, func(c Config) bool {
			return c.StormShare == 0.8 && c.StormMinFailed == 20 && c.StormWait == 0 && c.FlakyMinSamples == 5 && c.AutoResolvePasses == 3
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			c.DataDir = t.TempDir()
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			c.RegisterFlags(fs, "ingest-")
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Errorf("config %+v", c)
			}
		})
	}
	t.Run("the default of a days flag reads as days", func(t *testing.T) {
		c := DefaultConfig()
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		c.RegisterFlags(fs, "ingest-")
		if got := fs.Lookup("ingest-auto-resolve-after").DefValue; got != "7d" {
			t.Errorf("default %q, want 7d", got)
		}
	})
	t.Run("a bad days value is refused", func(t *testing.T) {
		c := DefaultConfig()
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		c.RegisterFlags(fs, "ingest-")
		if err := fs.Parse([]string{"--ingest-auto-resolve-after", "xd"}); err == nil {
			t.Error("xd was taken")
		}
	})
}

func TestValidateRefuses(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"a negative quiet period", func(c *Config) { c.AutoResolveAfter = -time.Hour }, "auto-resolve-after"},
		{"a storm share of 1 or more", func(c *Config) { c.StormShare = 1 }, "storm share"},
		{"a flaky window under an hour", func(c *Config) { c.FlakyWindow = time.Minute }, "flaky window"},
		{"a sample of one", func(c *Config) { c.FlakyMinSamples = 1 }, "min samples"},
		{"a storm wait over an hour", func(c *Config) { c.StormWait = 2 * time.Hour }, "storm wait"},
		{"an empty in-app prefix", func(c *Config) { c.Grouping.InApp = []string{" "} }, "in-app"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			c.DataDir = t.TempDir()
			tt.change(&c)
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestRulesPath(t *testing.T) {
	c := Config{}
	if got := c.RulesPath(); got != "" {
		t.Errorf("without codebase or rules: %q, want none", got)
	}
	c.Codebase = "/src"
	if got := c.RulesPath(); got != filepath.Join("/src", ".rounds.yml") {
		t.Errorf("with a codebase: %q", got)
	}
	c.Rules = "/etc/rounds/rules.yml"
	if got := c.RulesPath(); got != "/etc/rounds/rules.yml" {
		t.Errorf("with a rules file: %q", got)
	}
}

func TestRulesAreReadAgainWhenTheFileChanges(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ".rounds.yml")
	// Files are replaced whole (written aside, then renamed), as editors
	// do; watchRules' settling covers files written in place.
	replace := func(data string, mtime time.Time) {
		t.Helper()
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(tmp, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write := func(fingerprint string, mtime time.Time) {
		t.Helper()
		replace("rules:\n  - {name: db, match: {message: refused}, fingerprint: ["+fingerprint+"]}\n", mtime)
	}
	grouped := func(s *Service) string {
		f := &contract.Failure{Kind: contract.KindRuntime, Service: &contract.ServiceIdentity{Name: "api"}, Error: contract.ErrorInfo{Message: "connection refused"}}
		return s.fp.Load().Fingerprint(f).Components[0].Value
	}
	write("first", time.Unix(1_700_000_000, 0))
	cfg := DefaultConfig()
	cfg.DataDir, cfg.Codebase = dir, dir
	s, err := New(cfg, nil, logging.Discard())
	if err != nil {
		t.Fatal(err)
	}
	if got := grouped(s); got != "first" {
		t.Fatalf("grouped by %q, want first", got)
	}
	s.rulesPoll = time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.watchRules(ctx) }()
	defer func() { cancel(); <-done }()

	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting until %s", what)
			}
			time.Sleep(time.Millisecond)
		}
	}
	write("second", time.Unix(1_700_000_100, 0))
	waitFor("the new rules apply", func() bool { return grouped(s) == "second" })

	// A broken file leaves the rules as they were.
	replace("rules: [\n", time.Unix(1_700_000_200, 0))
	stamp := stampOf(path)
	waitFor("the broken file is looked at", func() bool { return s.stampSeen() == stamp })
	if got := grouped(s); got != "second" {
		t.Errorf("after a broken file, grouped by %q, want second", got)
	}
}
