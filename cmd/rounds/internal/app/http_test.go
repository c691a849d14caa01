package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/rounds-dev/rounds/cmd/rounds/internal/httpapi"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/logging"
	"github.com/rounds-dev/rounds/pkg/natstest"
)

const apiToken = "test-token"

// junitTwoFailures has two failed tests and one that passed.
const junitTwoFailures = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="cart" tests="3" failures="2">
    <testcase classname="shop.cart.CartTest" name="testAdd">
      <failure message="expected:&lt;3&gt; but was:&lt;4&gt;" type="java.lang.AssertionError">java.lang.AssertionError: expected:&lt;3&gt; but was:&lt;4&gt;
	at shop.cart.CartTest.testAdd(CartTest.java:42)</failure>
    </testcase>
    <testcase classname="shop.cart.CartTest" name="testTotal">
      <error message="item is null" type="java.lang.NullPointerException">java.lang.NullPointerException: item is null
	at shop.cart.Cart.total(Cart.java:17)</error>
    </testcase>
    <testcase classname="shop.cart.CartTest" name="testRemove"/>
  </testsuite>
</testsuites>`

// startAll runs every service against an embedded JetStream server with
// the HTTP listener on a free loopback port, and returns its base URL.
func startAll(t *testing.T, natsURL string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.NATSURL = natsURL
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.ReportsDir = filepath.Join(dir, "reports")
	cfg.Codebase = ""
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.API.Token = apiToken
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan Running, 1)
	stopped := make(chan error, 1)
	go func() {
		stopped <- Run(ctx, TargetAll, cfg, logging.Discard(), io.Discard, Hooks{Started: func(r Running) { started <- r }})
	}()
	var run Running
	select {
	case run = <-started:
	case err := <-stopped:
		t.Fatalf("rounds did not start: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-stopped:
			if err != nil {
				t.Errorf("rounds stopped with %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Error("rounds did not stop within 60s")
		}
	})
	base := "http://" + run.HTTPAddr
	eventually(t, "ready", func() bool { code, _ := get(t, base+"/readyz"); return code == http.StatusOK })
	return base
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// eventually polls cond with a generous deadline: it waits, it does not
// time anything.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not %s within 60s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// scrape fetches /metrics and parses the text exposition.
func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	code, body := get(t, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics answered %d: %s", code, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics is not the text exposition format: %v\n%s", err, body)
	}
	return mfs
}

// value is the value of the sample of name whose labels include labels,
// summed over the samples that match; ok is false when none does.
func value(mfs map[string]*dto.MetricFamily, name string, labels map[string]string) (v float64, ok bool) {
	mf := mfs[name]
	if mf == nil {
		return 0, false
	}
metric:
	for _, m := range mf.GetMetric() {
		have := map[string]string{}
		for _, lp := range m.GetLabel() {
			have[lp.GetName()] = lp.GetValue()
		}
		for k, want := range labels {
			if have[k] != want {
				continue metric
			}
		}
		ok = true
		switch {
		case m.Counter != nil:
			v += m.GetCounter().GetValue()
		case m.Gauge != nil:
			v += m.GetGauge().GetValue()
		case m.Histogram != nil:
			v += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return v, ok
}

func TestMetricsAfterAReportPostedOverHTTP(t *testing.T) {
	base := startAll(t, natstest.Start(t))

	req, _ := http.NewRequest(http.MethodPost, base+httpapi.PathReports+"?project=shop&run_id=ci-1&commit=abc", strings.NewReader(junitTwoFailures))
	req.Header.Set("Authorization", "Bearer "+apiToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var answer httpapi.PublishedReport
	json.NewDecoder(resp.Body).Decode(&answer)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || answer.Failures != 2 || answer.Passed != 1 {
		t.Fatalf("POST answered %d %+v, want 200 with 2 failures and 1 passed", resp.StatusCode, answer)
	}

	// Both failures get counted by ingest and diagnosed by the heuristic.
	var mfs map[string]*dto.MetricFamily
	eventually(t, "both failures applied and diagnosed", func() bool {
		mfs = scrape(t, base)
		applied, _ := value(mfs, "rounds_ingest_failures_total", map[string]string{"result": "applied"})
		diagnosed, _ := value(mfs, "rounds_diagnoses_total", map[string]string{"diagnoser": "heuristic", "outcome": "answered"})
		return applied == 2 && diagnosed == 2
	})
	tests := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"rounds_http_published_total", map[string]string{"kind": "failure", "result": "published"}, 2},
		{"rounds_http_published_total", map[string]string{"kind": "run_chunk", "result": "published"}, 1},
		{"rounds_http_requests_total", map[string]string{"route": "reports", "code": "200"}, 1},
		{"rounds_ingest_failures_total", map[string]string{"result": "duplicate"}, 0},
		{"rounds_ingest_failures_total", map[string]string{"result": "deadlettered"}, 0},
		{"rounds_ingest_runs_total", map[string]string{"result": "applied"}, 1},
		{"rounds_deadletters_total", map[string]string{"service": "ingest"}, 0},
		{"rounds_diagnosis_duration_seconds", map[string]string{"diagnoser": "heuristic"}, 2}, // observations
		{"rounds_diagnosis_cost_usd_total", map[string]string{"diagnoser": "heuristic"}, 0},
		{"rounds_signatures", nil, 2}, // summed over the statuses
		{"rounds_signatures", map[string]string{"status": string(contract.StatusMuted)}, 0},
	}
	for _, tt := range tests {
		got, ok := value(mfs, tt.name, tt.labels)
		if !ok || got != tt.want {
			t.Errorf("%s%v = %v (present %v), want %v", tt.name, tt.labels, got, ok, tt.want)
		}
	}
	for _, svc := range []string{"ingest", "diagnose", "report", "http"} {
		in, ok := value(mfs, "rounds_messages_in_total", map[string]string{"service": svc})
		out, _ := value(mfs, "rounds_messages_out_total", map[string]string{"service": svc})
		if !ok || in == 0 || out == 0 {
			t.Errorf("rounds_messages_{in,out}_total{service=%q} = %v, %v, want both above 0", svc, in, out)
		}
	}
	if _, ok := value(mfs, "go_goroutines", nil); !ok {
		t.Error("go_goroutines missing: the runtime collector is not registered")
	}
}

func TestReadyzFailsWhenAStreamIsGone(t *testing.T) {
	url := natstest.Start(t)
	base := startAll(t, url)
	_, js := natstest.Connect(t, url)

	// Nothing consumes the dead letters, so deleting their stream stops
	// no service: only readiness notices.
	if err := js.DeleteStream(context.Background(), contract.StreamDeadletter); err != nil {
		t.Fatal(err)
	}
	code, body := get(t, base+"/readyz")
	if code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz answered %d %s, want 503", code, body)
	}
	var st struct {
		Ready  bool              `json:"ready"`
		Checks map[string]string `json:"checks"`
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"streams": "missing: " + contract.StreamDeadletter, "nats": "ok", "ingest": "ok", "diagnose": "ok"}
	for k, v := range want {
		if st.Checks[k] != v {
			t.Errorf("check %s = %q, want %q (all: %v)", k, st.Checks[k], v, st.Checks)
		}
	}
	// Liveness is not readiness.
	if code, _ := get(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz answered %d, want 200", code)
	}
}

func TestNoAuthIsRefusedOffLoopback(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.Listen = "0.0.0.0:0"
	cfg.API.NoAuth = true
	var out bytes.Buffer
	err := Run(context.Background(), TargetAll, cfg, logging.Discard(), &out, Hooks{Started: func(Running) { t.Error("started") }})
	if !errors.Is(err, httpapi.ErrNoAuthNotLoopback) {
		t.Fatalf("Run = %v, want ErrNoAuthNotLoopback", err)
	}
	if out.Len() != 0 {
		t.Errorf("Run printed %q before refusing: nothing should have started", out.String())
	}
}
