// Package health serves a process's liveness and readiness over HTTP, for
// container healthchecks and orchestrators: /healthz answers 200 while the
// process runs, /readyz answers 200 only while every check the caller
// registered passes (NATS connected, say), and 503 otherwise.
package health

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
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

// Config says where the health server listens.
type Config struct {
	// Listen is host:port; port 0 picks a free one.
	Listen string
	// CheckTimeout bounds each readiness check.
	CheckTimeout time.Duration
}

// DefaultConfig returns the defaults; Listen is left to the caller.
func DefaultConfig() Config {
	return Config{CheckTimeout: 2 * time.Second}
}

// Validate reports a setting the server cannot run with.
func (c Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("health listen address %q: %w", c.Listen, err)
	}
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
	return mux
}

// Server is a health server bound to its address.
type Server struct {
	l   net.Listener
	srv *http.Server
}

// Listen binds cfg.Listen, so that an address in use is an error before
// anything else starts; Serve then answers requests.
func Listen(cfg Config, checks *Checks) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("health server: %w", err)
	}
	srv := &http.Server{
		Handler:           Handler(checks, cfg.CheckTimeout),
		ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout:      cfg.CheckTimeout + 5*time.Second,
	}
	return &Server{l: l, srv: srv}, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.l.Addr() }

// Serve answers requests until ctx ends, then shuts the server down.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("health server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("health server: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("health server: %w", err)
	}
	return nil
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
