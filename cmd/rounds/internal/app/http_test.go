package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/rounds-dev/rounds/cmd/rounds/internal/app"
	"github.com/rounds-dev/rounds/cmd/rounds/internal/app/apptest"
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
	cfg := apptest.Config(t)
	cfg.NATSURL = natsURL
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.API.Token = apiToken
	base := "http://" + apptest.Start(t, cfg).HTTPAddr
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
		// The count of signatures may lag the events by a second.
		signatures, _ := value(mfs, "rounds_signatures", nil)
		// Report's markdown sink has taken the diagnoses' pages.
		delivered, _ := value(mfs, "rounds_report_sink_deliveries_total", map[string]string{"sink": "markdown", "result": "delivered"})
		return applied == 2 && diagnosed == 2 && signatures == 2 && delivered >= 2
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
		{"rounds_report_sink_failures_total", map[string]string{"sink": "markdown"}, 0},
		{"rounds_report_sink_deliveries_total", map[string]string{"sink": "markdown", "result": "dropped"}, 0},
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
	cfg := app.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.Listen = "0.0.0.0:0"
	cfg.API.NoAuth = true
	var out bytes.Buffer
	err := app.Run(context.Background(), app.TargetAll, cfg, logging.Discard(), &out, app.Hooks{Started: func(app.Running) { t.Error("started") }})
	if !errors.Is(err, httpapi.ErrNoAuthNotLoopback) {
		t.Fatalf("Run = %v, want ErrNoAuthNotLoopback", err)
	}
	if out.Len() != 0 {
		t.Errorf("Run printed %q before refusing: nothing should have started", out.String())
	}
}

// call sends an authorized request and decodes the JSON answer into out
// (when not nil); it returns the status and the raw answer.
func call(t *testing.T, method, url, body string, out any) (int, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+apiToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: answer %s: %v", method, url, raw, err)
		}
	}
	return resp.StatusCode, string(raw)
}

func TestManagementOverHTTP(t *testing.T) {
	base := startAll(t, natstest.Start(t))
	if code, raw := call(t, http.MethodPost, base+httpapi.PathReports+"?project=shop&run_id=ci-1", junitTwoFailures, nil); code != http.StatusOK {
		t.Fatalf("POST report: %d %s", code, raw)
	}
	var list contract.ListReply
	eventually(t, "both signatures listed", func() bool {
		code, _ := call(t, http.MethodGet, base+httpapi.PathSignatures+"?project=shop", "", &list)
		return code == http.StatusOK && list.Total == 2
	})
	sig := list.Signatures[0]
	one := base + httpapi.PathSignatures + "/shop/" + sig.ID

	var d contract.SignatureDetail
	if code, raw := call(t, http.MethodGet, one, "", &d); code != http.StatusOK || d.ID != sig.ID || d.Project != "shop" {
		t.Fatalf("GET signature: %d %s", code, raw)
	}

	// Each change answers the signature as it is after it.
	steps := []struct {
		name       string
		op, body   string
		wantCode   int
		wantStatus contract.SignatureStatus // when 200
		wantErr    string                   // otherwise
	}{
		{name: "a mute without who is 400", op: "mute", body: `{"reason":"noisy"}`, wantCode: 400, wantErr: "by is required"},
		{name: "an empty body is 400", op: "mute", body: "", wantCode: 400, wantErr: "the body is empty"},
		{name: "an unknown field is 400", op: "mute", body: `{"by":"ana","untill":"2030-01-01T00:00:00Z"}`, wantCode: 400, wantErr: "untill"},
		{name: "a body naming another signature is 400", op: "mute", body: `{"by":"ana","project":"other"}`, wantCode: 400, wantErr: "the body names signature other/"},
		{name: "a mute mutes", op: "mute", body: `{"by":"ana","reason":"known, fixing"}`, wantCode: 200, wantStatus: contract.StatusMuted},
		{name: "unmute goes back", op: "unmute", body: `{"by":"ana"}`, wantCode: 200},
		{name: "unmuting again is a conflict", op: "unmute", body: `{"by":"ana"}`, wantCode: 409},
		{name: "resolve resolves", op: "resolve", body: `{"by":"ana","in_commit":"abc123"}`, wantCode: 200, wantStatus: contract.StatusResolved},
		{name: "reopen reopens", op: "reopen", body: `{"by":"ana"}`, wantCode: 200},
		{name: "tag tags", op: "tag", body: `{"by":"ana","add":["infra"]}`, wantCode: 200},
		{name: "retriage is accepted", op: "retriage", body: `{"by":"ana","reason":"new model"}`, wantCode: 200},
	}
	for _, st := range steps {
		var d contract.SignatureDetail
		code, raw := call(t, http.MethodPost, one+"/"+st.op, st.body, &d)
		if code != st.wantCode {
			t.Fatalf("%s: %d %s, want %d", st.name, code, raw, st.wantCode)
		}
		if code == http.StatusOK && st.wantStatus != "" && d.Status != st.wantStatus {
			t.Fatalf("%s: status %s, want %s", st.name, d.Status, st.wantStatus)
		}
		if !strings.Contains(raw, st.wantErr) {
			t.Fatalf("%s: answer %s, want it to mention %q", st.name, raw, st.wantErr)
		}
	}
	if code, _ := call(t, http.MethodGet, base+httpapi.PathSignatures+"?tag=infra", "", &list); code != http.StatusOK || list.Total != 1 || list.Signatures[0].ID != sig.ID {
		t.Fatalf("list by tag: %d %+v, want the tagged signature only", code, list)
	}
	if code, raw := call(t, http.MethodGet, base+httpapi.PathSignatures+"/shop/nope", "", nil); code != http.StatusNotFound || !strings.Contains(raw, `"error"`) {
		t.Fatalf("unknown signature: %d %s, want 404 with an error", code, raw)
	}
	if code, raw := call(t, http.MethodGet, base+httpapi.PathSignatures+"?status=bogus", "", nil); code != http.StatusBadRequest {
		t.Fatalf("bad status filter: %d %s, want 400", code, raw)
	}
	var export contract.ExportReply
	if code, raw := call(t, http.MethodGet, base+httpapi.PathExport+"?project=shop", "", &export); code != http.StatusOK || len(export.Signatures) != 2 || export.Next != nil {
		t.Fatalf("export: %d %s, want both signatures on one page", code, raw)
	}
	for _, e := range export.Signatures {
		if int64(len(e.Occurrences)) != e.Count || e.Count != 1 {
			t.Errorf("export of %s: %d occurrences, count %d, want 1 and 1", e.ID, len(e.Occurrences), e.Count)
		}
	}
	// Management asks for the token like the rest of /v1/.
	resp, err := http.Get(one)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET signature without a token: %d, want 401", resp.StatusCode)
	}
}
