package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rounds-dev/rounds/pkg/client"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/logging"
	"github.com/rounds-dev/rounds/pkg/messaging"
	"github.com/rounds-dev/rounds/pkg/natstest"
	"github.com/rounds-dev/rounds/pkg/testreport"
)

const token = "s3cret-token"

// junitReport has two failed tests and one that passed.
const junitReport = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="cart" tests="3" failures="2">
    <testcase classname="cart" name="adds an item" time="0.01"/>
    <testcase classname="cart" name="applies a discount" time="0.02">
      <failure message="expected 90 to be 85" type="AssertionError">AssertionError: expected 90 to be 85
    at src/cart/cart.test.ts:44:27</failure>
    </testcase>
    <testcase classname="cart" name="empties the cart" time="0.02">
      <failure message="boom" type="Error">Error: boom</failure>
    </testcase>
  </testsuite>
</testsuites>
`

// malformedJUnit ends in the middle of an element.
const malformedJUnit = "<testsuites>\n  <testsuite name=\"cart\">\n    <testcase name=\"a\"><failure message=\"x\">\n"

// server is an API on an embedded JetStream with the Rounds streams.
type server struct {
	url string
	js  jetstream.JetStream
	reg *prometheus.Registry
}

func newServer(t *testing.T, mutate func(*Config)) server {
	t.Helper()
	nc, js := natstest.Connect(t, natstest.Start(t))
	ctx := context.Background()
	if err := messaging.EnsureStreams(ctx, js, messaging.DefaultStreamsConfig()); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.Token = token
	cfg.Publisher = c
	cfg.Registerer = reg
	if mutate != nil {
		mutate(&cfg)
	}
	api, err := New(cfg, logging.Discard())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	api.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return server{url: srv.URL, js: js, reg: reg}
}

// post sends body to path with the Authorization header auth (none when
// empty) and returns the status and the decoded answer.
func post(t *testing.T, url string, body io.Reader, auth string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json; body %s", ct, raw)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("answer %s is not JSON: %v", raw, err)
	}
	return resp.StatusCode, out
}

// streamCount counts the messages stored on subject.
func streamCount(t *testing.T, js jetstream.JetStream, stream, subject string) uint64 {
	t.Helper()
	s, err := js.Stream(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background(), jetstream.WithSubjectFilter(subject))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Subjects[subject]
}

func TestRefusals(t *testing.T) {
	srv := newServer(t, func(c *Config) { c.MaxBodyBytes = 1024 })
	big := strings.Repeat(" ", 2048) + junitReport
	_, wantParse := testreport.ParseReport("request-body", strings.NewReader(malformedJUnit), testreport.Options{Project: "shop", RunID: "r1"})
	if wantParse == nil {
		t.Fatal("the malformed report parses; the test needs one that does not")
	}
	tests := []struct {
		name     string
		path     string
		body     io.Reader
		auth     string
		wantCode int
		wantErr  string
	}{
		{name: "no token is 401", path: PathReports + "?project=shop", body: strings.NewReader(junitReport), wantCode: 401, wantErr: "missing bearer token"},
		{name: "a wrong token is 401", path: PathReports + "?project=shop", body: strings.NewReader(junitReport), auth: "Bearer nope", wantCode: 401, wantErr: "wrong bearer token"},
		{name: "a token of another scheme is 401", path: PathReports + "?project=shop", body: strings.NewReader(junitReport), auth: "Basic " + token, wantCode: 401, wantErr: "missing bearer token"},
		{name: "the right token with a longer tail is 401", path: PathReports + "?project=shop", body: strings.NewReader(junitReport), auth: "Bearer " + token + "x", wantCode: 401, wantErr: "wrong bearer token"},
		{name: "a body over the limit with its length told is 413", path: PathReports + "?project=shop", body: strings.NewReader(big), auth: "Bearer " + token, wantCode: 413, wantErr: "limit of 1024"},
		{name: "a body over the limit sent chunked is 413", path: PathReports + "?project=shop", body: io.MultiReader(strings.NewReader(big)), auth: "Bearer " + token, wantCode: 413, wantErr: "limit of 1024"},
		{name: "malformed JUnit is 400 with the parser's message", path: PathReports + "?project=shop&run_id=r1", body: strings.NewReader(malformedJUnit), auth: "Bearer " + token, wantCode: 400, wantErr: wantParse.Error()},
		{name: "no project is 400", path: PathReports, body: strings.NewReader(junitReport), auth: "Bearer " + token, wantCode: 400, wantErr: "project is required"},
		{name: "a project with a dot is 400", path: PathReports + "?project=a.b", body: strings.NewReader(junitReport), auth: "Bearer " + token, wantCode: 400, wantErr: `project "a.b"`},
		{name: "a negative attempt is 400", path: PathReports + "?project=shop&attempt=-1", body: strings.NewReader(junitReport), auth: "Bearer " + token, wantCode: 400, wantErr: "attempt"},
		{name: "an empty body is 400", path: PathReports + "?project=shop", body: strings.NewReader(""), auth: "Bearer " + token, wantCode: 400, wantErr: "input is empty"},
		{name: "JUnit posted as failures is 415", path: PathFailures + "?project=shop", body: strings.NewReader(junitReport), auth: "Bearer " + token, wantCode: 415, wantErr: "post it to /v1/reports"},
		{name: "a bad element of a JSON array is named", path: PathFailures + "?project=shop", body: strings.NewReader(`[{"test":{"name":"a"},"error":{"message":"x"}}, {"project":"other","test":{"name":"b"},"error":{"message":"y"}}]`), auth: "Bearer " + token, wantCode: 400, wantErr: "element 2 of the JSON array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := post(t, srv.url+tt.path, tt.body, tt.auth)
			if code != tt.wantCode {
				t.Fatalf("status %d, want %d; answer %v", code, tt.wantCode, out)
			}
			if msg, _ := out["error"].(string); !strings.Contains(msg, tt.wantErr) {
				t.Fatalf("error %q, want it to contain %q", msg, tt.wantErr)
			}
		})
	}
	if n := streamCount(t, srv.js, contract.StreamFailures, "rounds.failures.shop"); n != 0 {
		t.Fatalf("%d failures stored after refused requests, want none", n)
	}
}

func TestPublishesToJetStream(t *testing.T) {
	srv := newServer(t, nil)
	auth := "Bearer " + token
	code, out := post(t, srv.url+PathReports+"?project=shop&run_id=ci-7&commit=abc123&name=junit.xml", strings.NewReader(junitReport), auth)
	if code != http.StatusOK {
		t.Fatalf("status %d, want 200; answer %v", code, out)
	}
	want := map[string]any{"project": "shop", "run_id": "ci-7", "format": "junit", "failures": 2.0, "failures_duplicate": 0.0, "passed": 1.0, "run_chunks": 1.0}
	for k, v := range want {
		if out[k] != v {
			t.Errorf("answer %s = %v, want %v", k, out[k], v)
		}
	}
	if n := streamCount(t, srv.js, contract.StreamFailures, "rounds.failures.shop"); n != 2 {
		t.Fatalf("%d failures stored, want 2", n)
	}
	if n := streamCount(t, srv.js, contract.StreamRuns, "rounds.runs.shop"); n != 1 {
		t.Fatalf("%d run report chunks stored, want 1", n)
	}

	// The failures carry the query's run and commit.
	s, _ := srv.js.Stream(context.Background(), contract.StreamFailures)
	msg, err := s.GetMsg(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	f, err := contract.DecodeFailure(msg.Data)
	if err != nil {
		t.Fatal(err)
	}
	if f.Run.ID != "ci-7" || f.Run.Commit != "abc123" || f.Project != "shop" {
		t.Fatalf("stored failure has project %q run %+v, want shop, ci-7 and abc123", f.Project, f.Run)
	}

	// The same report again in the same run is a repeat: nothing new.
	code, out = post(t, srv.url+PathReports+"?project=shop&run_id=ci-7&commit=abc123&name=junit.xml", strings.NewReader(junitReport), auth)
	if code != http.StatusOK || out["failures"] != 0.0 || out["failures_duplicate"] != 2.0 {
		t.Fatalf("republished: status %d answer %v, want 200 with 2 duplicates", code, out)
	}
	if n := streamCount(t, srv.js, contract.StreamFailures, "rounds.failures.shop"); n != 2 {
		t.Fatalf("%d failures stored after a repeat, want still 2", n)
	}

	// Rounds JSON: one object, a JSON array and lines.
	for _, tt := range []struct {
		name, body string
		want       float64
	}{
		{"one failure", `{"test":{"name":"one"},"error":{"message":"x"}}`, 1},
		{"a JSON array", `[{"test":{"name":"two"},"error":{"message":"x"}}, {"test":{"name":"three"},"error":{"message":"y"}}]`, 2},
		{"lines", "{\"test\":{\"name\":\"four\"},\"error\":{\"message\":\"x\"}}\n\n{\"test\":{\"name\":\"five\"},\"error\":{\"message\":\"y\"}}\n", 2},
	} {
		code, out := post(t, srv.url+PathFailures+"?project=shop&run_id=json-"+strings.ReplaceAll(tt.name, " ", "-"), strings.NewReader(tt.body), auth)
		if code != http.StatusOK || out["failures"] != tt.want || out["format"] != "rounds-json" {
			t.Fatalf("%s: status %d answer %v, want 200 with %v failures", tt.name, code, out, tt.want)
		}
	}
	if n := streamCount(t, srv.js, contract.StreamFailures, "rounds.failures.shop"); n != 7 {
		t.Fatalf("%d failures stored, want 7", n)
	}

	// The metrics count what was published.
	if got := counterValue(t, srv.reg, "rounds_http_published_total", map[string]string{"kind": "failure", "result": "published"}); got != 7 {
		t.Fatalf("rounds_http_published_total{failure,published} = %v, want 7", got)
	}
	if got := counterValue(t, srv.reg, "rounds_http_published_total", map[string]string{"kind": "failure", "result": "duplicate"}); got != 2 {
		t.Fatalf("rounds_http_published_total{failure,duplicate} = %v, want 2", got)
	}
	if got := counterValue(t, srv.reg, "rounds_http_requests_total", map[string]string{"route": "reports", "code": "200"}); got != 2 {
		t.Fatalf("rounds_http_requests_total{reports,200} = %v, want 2", got)
	}
}

// counterValue reads one counter of reg.
func counterValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					continue metric
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no %s%v gathered", name, labels)
	return 0
}

// notConnected is a Publisher before the process has dialed NATS.
type notConnected struct{}

func (notConnected) PublishFailures(context.Context, []contract.Failure) (client.PublishResult, error) {
	return client.PublishResult{}, ErrNotConnected
}

func (notConnected) PublishRun(context.Context, contract.RunReported) (client.PublishResult, error) {
	return client.PublishResult{}, ErrNotConnected
}

func TestUnavailableAndOff(t *testing.T) {
	tests := []struct {
		name     string
		cfg      func(*Config)
		auth     string
		wantCode int
		wantErr  string
	}{
		{name: "before NATS is connected a report is 503, to try again", cfg: func(c *Config) { c.Publisher = notConnected{} }, auth: "Bearer " + token, wantCode: 503, wantErr: "not connected to NATS yet"},
		{name: "without a token configured the API is off: 403 says why", cfg: func(c *Config) { c.Token = "" }, auth: "Bearer anything", wantCode: 403, wantErr: "ROUNDS_API_TOKEN"},
		{name: "with no auth on loopback no token is needed", cfg: func(c *Config) { c.Token, c.NoAuth = "", true }, wantCode: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.cfg)
			code, out := post(t, srv.url+PathReports+"?project=shop", strings.NewReader(junitReport), tt.auth)
			if code != tt.wantCode {
				t.Fatalf("status %d, want %d; answer %v", code, tt.wantCode, out)
			}
			if msg, _ := out["error"].(string); !strings.Contains(msg, tt.wantErr) {
				t.Fatalf("error %q, want it to contain %q", msg, tt.wantErr)
			}
		})
	}
}

func TestNoAuthOnlyOnLoopback(t *testing.T) {
	tests := []struct {
		listen  string
		wantErr bool
	}{
		{"127.0.0.1:8080", false},
		{"[::1]:8080", false},
		{"localhost:0", false},
		{"0.0.0.0:8080", true},
		{":8080", true},
		{"[::]:8080", true},
		{"192.168.1.10:8080", true},
	}
	for _, tt := range tests {
		cfg := DefaultConfig()
		cfg.Listen, cfg.NoAuth, cfg.Publisher = tt.listen, true, notConnected{}
		_, err := New(cfg, logging.Discard())
		if tt.wantErr != (err != nil) {
			t.Errorf("no auth on %s: New = %v, want error %v", tt.listen, err, tt.wantErr)
		}
		if err != nil && !errors.Is(err, ErrNoAuthNotLoopback) {
			t.Errorf("no auth on %s: error %v does not wrap ErrNoAuthNotLoopback", tt.listen, err)
		}
	}
	// With a token any listener will do.
	cfg := DefaultConfig()
	cfg.Listen, cfg.Token, cfg.Publisher = "0.0.0.0:8080", token, notConnected{}
	if _, err := New(cfg, logging.Discard()); err != nil {
		t.Fatalf("a token on 0.0.0.0: New = %v, want nil", err)
	}
}
