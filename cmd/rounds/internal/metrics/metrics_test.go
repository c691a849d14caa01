package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/logging"
	"github.com/rounds-dev/rounds/services/diagnose"
)

func TestDiagnosisMetrics(t *testing.T) {
	m := New(logging.Discard())
	m.ObserveDiagnosis(diagnose.Observation{Diagnoser: "openai", Answered: "openai", Duration: 2 * time.Second, CostUSD: 0.03})
	m.ObserveDiagnosis(diagnose.Observation{Diagnoser: "openai", Answered: "heuristic", Duration: time.Second, Fallback: true})
	m.ObserveDiagnosis(diagnose.Observation{Diagnoser: "openai", Duration: time.Second, Err: errors.New("boom")})
	want := `
# HELP rounds_diagnoses_total Calls of the diagnoser, by configured diagnoser and outcome: answered, fallback (the heuristic answered for it) or error.
# TYPE rounds_diagnoses_total counter
rounds_diagnoses_total{diagnoser="openai",outcome="answered"} 1
rounds_diagnoses_total{diagnoser="openai",outcome="error"} 1
rounds_diagnoses_total{diagnoser="openai",outcome="fallback"} 1
# HELP rounds_diagnosis_cost_usd_total What diagnoses cost, in US dollars, by the diagnoser that answered.
# TYPE rounds_diagnosis_cost_usd_total counter
rounds_diagnosis_cost_usd_total{diagnoser="heuristic"} 0
rounds_diagnosis_cost_usd_total{diagnoser="openai"} 0.03
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "rounds_diagnoses_total", "rounds_diagnosis_cost_usd_total"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(m.diagnosisSeconds); n != 1 {
		t.Fatalf("%d duration series, want 1 (by configured diagnoser)", n)
	}
}

func TestSinkMetrics(t *testing.T) {
	m := New(logging.Discard())
	m.WatchSinks(func() map[string]SinkCounts {
		return map[string]SinkCounts{"github": {Delivered: 3, Failed: 2, Dropped: 1}, "markdown": {Delivered: 5}}
	})
	want := `
# HELP rounds_report_sink_deliveries_total Report deliveries by sink and result: delivered (the sink took it) or dropped (given up on after a permanent failure).
# TYPE rounds_report_sink_deliveries_total counter
rounds_report_sink_deliveries_total{result="delivered",sink="github"} 3
rounds_report_sink_deliveries_total{result="delivered",sink="markdown"} 5
rounds_report_sink_deliveries_total{result="dropped",sink="github"} 1
rounds_report_sink_deliveries_total{result="dropped",sink="markdown"} 0
# HELP rounds_report_sink_failures_total Failed delivery attempts by sink, retried or not.
# TYPE rounds_report_sink_failures_total counter
rounds_report_sink_failures_total{sink="github"} 2
rounds_report_sink_failures_total{sink="markdown"} 0
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "rounds_report_sink_deliveries_total", "rounds_report_sink_failures_total"); err != nil {
		t.Fatal(err)
	}
}

func TestSignatureCountsAreCachedAndLeftOutWhenUnknown(t *testing.T) {
	calls := 0
	var fail error
	c := &signatureStatuses{log: logging.Discard(), every: time.Hour, gap: time.Hour, count: func(context.Context) (map[contract.SignatureStatus]int, error) {
		calls++
		if fail != nil {
			return nil, fail
		}
		return map[contract.SignatureStatus]int{contract.StatusNew: 3, contract.StatusMuted: 1}, nil
	}}
	if n := testutil.CollectAndCount(c); n != 6 {
		t.Fatalf("%d series, want one per status (6)", n)
	}
	if v := testutil.ToFloat64(onlyStatus{c, contract.StatusNew}); v != 3 {
		t.Fatalf("new = %v, want 3", v)
	}
	if calls != 1 {
		t.Fatalf("counted %d times within the refresh interval, want 1", calls)
	}
	// A new signature event within the gap waits for the gap.
	version := int64(1)
	c.version, c.gap = func() int64 { return version }, time.Hour
	testutil.CollectAndCount(c)
	if calls != 1 {
		t.Fatalf("counted %d times, want still 1 within the gap", calls)
	}
	// Past the gap, a new event makes a new count.
	c.gap = 0
	testutil.CollectAndCount(c)
	testutil.CollectAndCount(c)
	if calls != 2 {
		t.Fatalf("counted %d times, want 2: once for the new event, not again without one", calls)
	}
	// Past the interval a failing count leaves the gauge out rather than
	// reporting zeros.
	c.every, fail = 0, errors.New("not running")
	if n := testutil.CollectAndCount(c); n != 0 {
		t.Fatalf("%d series after a failed count, want none", n)
	}
}

// onlyStatus is c reduced to one status's sample, for testutil.ToFloat64.
type onlyStatus struct {
	c      *signatureStatuses
	status contract.SignatureStatus
}

func (o onlyStatus) Describe(ch chan<- *prometheus.Desc) { o.c.Describe(ch) }
func (o onlyStatus) Collect(ch chan<- prometheus.Metric) {
	all := make(chan prometheus.Metric, 16)
	o.c.Collect(all)
	close(all)
	for m := range all {
		if strings.Contains(m.Desc().String(), "rounds_signatures") && hasLabel(m, string(o.status)) {
			ch <- m
		}
	}
}

func hasLabel(m prometheus.Metric, value string) bool {
	var pb dto.Metric
	m.Write(&pb)
	for _, l := range pb.GetLabel() {
		if l.GetValue() == value {
			return true
		}
	}
	return false
}

func TestHandlerServesTheRegistryOnly(t *testing.T) {
	m := New(logging.Discard())
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	// Something registered on the global default registry must not show.
	body := new(strings.Builder)
	if _, err := io.Copy(body, resp.Body); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body.String(), "go_goroutines") || strings.Contains(body.String(), "promhttp_metric_handler_requests_total") {
		t.Fatalf("metrics %q: want the process's registry (go_goroutines), not the default one's handler metrics", body.String()[:min(200, len(body.String()))])
	}
}
