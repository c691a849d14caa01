// Package httpapi is Rounds' HTTP API for CI systems that cannot speak NATS:
// they POST a test report (JUnit XML, go test -json or Rounds JSON) and the
// API parses it with the code of `rounds publish` (package testreport) and
// publishes it to JetStream with package client, exactly as `rounds publish`
// would. It owns no state: it is a client of the contract, served on the
// process's one HTTP listener next to /healthz, /readyz and /metrics.
//
// Every route under /v1/ asks for the bearer token of ROUNDS_API_TOKEN,
// compared in constant time; the token can be done without only on a
// loopback listener. Errors are answered as JSON {"error": "..."}.
package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rounds-dev/rounds/pkg/client"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/httpserver"
)

// Routes served.
const (
	PathReports  = "/v1/reports"
	PathFailures = "/v1/failures"
)

// DefaultMaxBodyBytes is the default limit of a request body.
const DefaultMaxBodyBytes = 32 << 20

// ErrNotConnected is what a Publisher returns before it has a NATS
// connection: the API answers 503 and the caller tries again.
var ErrNotConnected = errors.New("not connected to NATS yet")

// Publisher publishes what the API parsed: *client.Client, or a stand-in
// that returns ErrNotConnected until the process is connected.
type Publisher interface {
	PublishFailures(ctx context.Context, failures []contract.Failure) (client.PublishResult, error)
	PublishRun(ctx context.Context, r contract.RunReported) (client.PublishResult, error)
}

// Config configures the API.
type Config struct {
	// Listen is the address the API is served on; NoAuth needs it to be a
	// loopback one.
	Listen string
	// Token is the bearer token every /v1/ request must carry, from
	// ROUNDS_API_TOKEN. Empty with NoAuth unset turns the API off: its
	// routes answer 403 and say why.
	Token string
	// NoAuth serves the API without a token, on a loopback listener only.
	NoAuth bool
	// MaxBodyBytes is the largest request body; a larger one is answered
	// 413.
	MaxBodyBytes int64
	// PublishTimeout bounds the publication of one request's messages.
	PublishTimeout time.Duration
	// Publisher publishes; required.
	Publisher Publisher
	// Registerer receives the API's metrics; nil for none.
	Registerer prometheus.Registerer
	// Now is the clock of run reports; nil is time.Now.
	Now func() time.Time
}

// DefaultConfig returns the defaults; Listen, Token and Publisher are left
// to the caller.
func DefaultConfig() Config {
	return Config{MaxBodyBytes: DefaultMaxBodyBytes, PublishTimeout: time.Minute}
}

// ErrNoAuthNotLoopback is wrapped by Validate when NoAuth is asked for on a
// listener other hosts can reach.
var ErrNoAuthNotLoopback = errors.New("the API can go without a token only on a loopback listener (127.0.0.1, ::1 or localhost)")

// Validate reports a setting the API cannot run with; above all NoAuth on
// a listener that is not loopback, which would let anyone who reaches the
// port publish failures.
func (c Config) Validate() error {
	switch {
	case c.NoAuth && !httpserver.IsLoopback(c.Listen):
		return fmt.Errorf("http api: --http-no-auth with --http-listen %q: %w", c.Listen, ErrNoAuthNotLoopback)
	case c.MaxBodyBytes < 1:
		return fmt.Errorf("http api: max body bytes must be positive, got %d", c.MaxBodyBytes)
	case c.PublishTimeout <= 0:
		return fmt.Errorf("http api: publish timeout must be positive, got %s", c.PublishTimeout)
	case c.Publisher == nil:
		return errors.New("http api: a publisher is required")
	}
	return nil
}

// API serves the /v1/ routes.
type API struct {
	cfg       Config
	log       *slog.Logger
	tokenHash [sha256.Size]byte
	requests  *prometheus.CounterVec
	published *prometheus.CounterVec
	// routes lists what was registered, so that Register can refuse a
	// route added twice (a programming error) with a clear message.
	routes []route
}

// route is one route of the API, for Register.
type route struct {
	pattern string // "POST /v1/reports"
	name    string // the label of the route in metrics
	handler func(w http.ResponseWriter, r *http.Request) (int, error)
}

// New checks cfg and returns the API.
func New(cfg Config, log *slog.Logger) (*API, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	a := &API{cfg: cfg, log: log.With("component", "http_api"), tokenHash: sha256.Sum256([]byte(cfg.Token))}
	a.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rounds_http_requests_total",
		Help: "Requests to the HTTP API, by route and status code.",
	}, []string{"route", "code"})
	a.published = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rounds_http_published_total",
		Help: "Messages the HTTP API published to JetStream, by kind (failure, run_chunk) and result (published, duplicate).",
	}, []string{"kind", "result"})
	if cfg.Registerer != nil {
		for _, c := range []prometheus.Collector{a.requests, a.published} {
			if err := cfg.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("http api: register metrics: %w", err)
			}
		}
	}
	a.routes = []route{
		{pattern: "POST " + PathReports, name: "reports", handler: a.postReport(false)},
		{pattern: "POST " + PathFailures, name: "failures", handler: a.postReport(true)},
	}
	return a, nil
}

// AddRoute adds a route of the API, served behind the same token, limits
// and metrics as the others; name labels it in metrics. The handler
// returns the status it answered and, for a log line, the error it
// answered with; writeError and writeJSON write the answers.
func (a *API) AddRoute(pattern, name string, h func(w http.ResponseWriter, r *http.Request) (int, error)) {
	a.routes = append(a.routes, route{pattern: pattern, name: name, handler: h})
}

// Register adds the API's routes to mux.
func (a *API) Register(mux *http.ServeMux) {
	for _, rt := range a.routes {
		mux.Handle(rt.pattern, a.wrap(rt))
	}
}

// wrap puts the token, the body limit and the metrics around a route.
func (a *API) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, err := a.serve(rt, w, r)
		a.requests.WithLabelValues(rt.name, strconv.Itoa(code)).Inc()
		switch {
		case code >= 500:
			a.log.Error("http api request failed", "route", rt.name, "code", code, "remote", r.RemoteAddr, "error", err)
		case err != nil:
			a.log.Info("http api request refused", "route", rt.name, "code", code, "remote", r.RemoteAddr, "error", err)
		}
	})
}

func (a *API) serve(rt route, w http.ResponseWriter, r *http.Request) (int, error) {
	if code, err := a.authorize(r); err != nil {
		if code == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="rounds"`)
		}
		return writeError(w, code, err)
	}
	if r.ContentLength > a.cfg.MaxBodyBytes {
		return writeError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("request body is %d bytes, more than the limit of %d (--http-max-body-bytes)", r.ContentLength, a.cfg.MaxBodyBytes))
	}
	r.Body = http.MaxBytesReader(w, r.Body, a.cfg.MaxBodyBytes)
	return rt.handler(w, r)
}

// authorize checks the bearer token; it returns the status to answer
// with when the request may not go on.
func (a *API) authorize(r *http.Request) (int, error) {
	if a.cfg.NoAuth {
		return 0, nil
	}
	if a.cfg.Token == "" {
		return http.StatusForbidden, errors.New("the HTTP API is off: this process has no ROUNDS_API_TOKEN (or --http-no-auth on a loopback listener)")
	}
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if h == "" || !ok || !strings.EqualFold(scheme, "Bearer") {
		return http.StatusUnauthorized, errors.New("missing bearer token: send Authorization: Bearer <ROUNDS_API_TOKEN>")
	}
	// Hashing first makes the comparison take the same time whatever the
	// length of what was sent.
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	if subtle.ConstantTimeCompare(got[:], a.tokenHash[:]) != 1 {
		return http.StatusUnauthorized, errors.New("wrong bearer token")
	}
	return 0, nil
}

// errorBody is every error answer.
type errorBody struct {
	Error string `json:"error"`
}

// writeError answers code with {"error": err}; it returns code and err for
// the caller to return.
func writeError(w http.ResponseWriter, code int, err error) (int, error) {
	writeJSON(w, code, errorBody{Error: err.Error()})
	return code, err
}

// writeJSON answers code with v.
func writeJSON(w http.ResponseWriter, code int, v any) (int, error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return code, enc.Encode(v)
}

// newRunID names a run the caller did not name: every request is a new
// run, as every call of rounds publish is.
func newRunID(now time.Time) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "http-" + now.UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b[:])
}
