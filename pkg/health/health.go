// Package health serves a process's liveness and readiness over HTTP, for
// container healthchecks and orchestrators: /healthz answers 200 while the
// process runs, /readyz answers 200 only while every check the caller
// registered passes (NATS connected, streams present, Badger open), and 503
// otherwise. The routes go on the process's one listener (package
// httpserver); Probe is the client side.
package health

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Paths served.
const (
	PathLive  = "/healthz"
	PathReady = "/readyz"
)

// Check reports why a part of the process is not ready, or nil when it is.
// It must return promptly: it runs on every /readyz request, bounded by
// Config.CheckTimeout.
type Check func(ctx context.Context) error

// Config says how patient readiness is.
type Config struct {
	// CheckTimeout bounds each readiness check.
	CheckTimeout time.Duration
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{CheckTimeout: 2 * time.Second}
}

// Validate reports a setting the checks cannot run with.
func (c Config) Validate() error {
	if c.CheckTimeout <= 0 {
		return fmt.Errorf("health check timeout must be positive, got %s", c.CheckTimeout)
	}
	return nil
}

// Checks is the set of named readiness checks. The zero value is ready to
// use and has no checks, so it is always ready.
type Checks struct {
	mu     sync.Mutex
	checks map[string]Check
}

// Add registers check under name, replacing one of the same name.
func (c *Checks) Add(name string, check Check) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.checks == nil {
		c.checks = map[string]Check{}
	}
	c.checks[name] = check
}

// Status is the body of a /readyz answer.
type Status struct {
	// Ready is true when every check passed.
	Ready bool `json:"ready"`
	// Checks holds "ok" or the reason each check failed, by name.
	Checks map[string]string `json:"checks"`
}

// Run runs every check, each bounded by timeout, and returns the result.
func (c *Checks) Run(ctx context.Context, timeout time.Duration) Status {
	c.mu.Lock()
	names := make([]string, 0, len(c.checks))
	for n := range c.checks {
		names = append(names, n)
	}
	checks := make(map[string]Check, len(c.checks))
	for n, ch := range c.checks {
		checks[n] = ch
	}
	c.mu.Unlock()
	sort.Strings(names)

	st := Status{Ready: true, Checks: make(map[string]string, len(names))}
	for _, n := range names {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		err := checks[n](cctx)
		cancel()
		if err != nil {
			st.Ready = false
			st.Checks[n] = err.Error()
			continue
		}
		st.Checks[n] = "ok"
	}
	return st
}

// Handler serves /healthz and /readyz from checks.
func Handler(checks *Checks, checkTimeout time.Duration) http.Handler {
	mux := http.NewServeMux()
	Register(mux, checks, checkTimeout)
	return mux
}

// Register adds /healthz and /readyz to mux, so that they share a listener
// with whatever else the process serves. Neither asks for credentials:
// orchestrators probe them as they are.
func Register(mux *http.ServeMux, checks *Checks, checkTimeout time.Duration) {
	mux.HandleFunc("GET "+PathLive, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET "+PathReady, func(w http.ResponseWriter, r *http.Request) {
		st := checks.Run(r.Context(), checkTimeout)
		w.Header().Set("Content-Type", "application/json")
		if !st.Ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		json.NewEncoder(w).Encode(st)
	})
}

// ErrNotHealthy means a probed endpoint answered, but not with 200.
var ErrNotHealthy = errors.New("not healthy")

// Probe fetches url and returns nil if it answers 200 within timeout: the
// client side, for a healthcheck in an image with no curl or wget. The
// error says what the server answered.
func Probe(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("probe %s: %w", url, err)
	}
	// No proxy from the environment: the health server is this host's.
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("probe %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("probe %s: %w: %s: %s", url, ErrNotHealthy, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
