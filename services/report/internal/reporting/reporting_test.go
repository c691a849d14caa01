package reporting

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rounds-dev/rounds/pkg/badgerdb"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/logging"
	"github.com/rounds-dev/rounds/services/report/internal/console"
	"github.com/rounds-dev/rounds/services/report/internal/markdown"
	"github.com/rounds-dev/rounds/services/report/internal/sink"
	"github.com/rounds-dev/rounds/services/report/internal/store"
	"github.com/rounds-dev/rounds/services/report/internal/webhook"
)

// fakePublisher records every report it is asked to publish, and fails
// while err is set.
type fakePublisher struct {
	mu        sync.Mutex
	err       error
	attempts  int
	published []contract.ReportPublished
}

func (p *fakePublisher) PublishReport(_ context.Context, r *contract.ReportPublished) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.attempts++
	if p.err != nil {
		return p.err
	}
	p.published = append(p.published, *r)
	return nil
}

func (p *fakePublisher) failWith(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.err = err
}

func (p *fakePublisher) calls() (attempts int, published []contract.ReportPublished) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.attempts, append([]contract.ReportPublished(nil), p.published...)
}

// syncBuffer is the stdout sink's writer, read while the runner writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// settleWatch is the markdown sink, watched: it counts deliveries and the
// deliveries its last completed Settle covered, so that a test can wait
// for summary.md to be written after the last page.
type settleWatch struct {
	*markdown.Sink
	mu                  sync.Mutex
	delivered, coverage int
}

func (w *settleWatch) Deliver(ctx context.Context, d *sink.Delivery) error {
	err := w.Sink.Deliver(ctx, d)
	if err == nil {
		w.mu.Lock()
		w.delivered++
		w.mu.Unlock()
	}
	return err
}

func (w *settleWatch) Settle(ctx context.Context) error {
	w.mu.Lock()
	covers := w.delivered
	w.mu.Unlock()
	err := w.Sink.Settle(ctx)
	if err == nil {
		w.mu.Lock()
		w.coverage = covers
		w.mu.Unlock()
	}
	return err
}

func (w *settleWatch) settled() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.coverage == w.delivered
}

type fixture struct {
	markdown   *settleWatch
	uc         *Reporting
	store      *store.Store
	publisher  *fakePublisher
	stdout     *syncBuffer
	stats      *sink.Counters
	reportsDir string
	sinks      []sink.Sink
}

var t0 = time.Date(2026, 3, 1, 12, 30, 45, 0, time.UTC)

// newFixture runs the use case over real Badger with the markdown and
// stdout sinks plus extra, their outboxes drained in the background until
// the test ends.
func newFixture(t *testing.T, extra ...sink.Sink) *fixture {
	t.Helper()
	db, err := badgerdb.Open(t.TempDir(), logging.Discard())
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: store.New(db), publisher: &fakePublisher{}, stdout: &syncBuffer{}, reportsDir: t.TempDir()}
	f.markdown = &settleWatch{Sink: markdown.NewSink(f.reportsDir, f.store)}
	f.sinks = append([]sink.Sink{f.markdown, console.New(f.stdout)}, extra...)
	var names []string
	for _, s := range f.sinks {
		names = append(names, s.Name())
	}
	f.stats = sink.NewCounters(names)
	runner := sink.NewRunner(f.store, f.sinks, f.stats, logging.Discard())
	runner.Backoff = func(int) time.Duration { return time.Millisecond }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { runner.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		if err := db.Close(); err != nil {
			t.Errorf("close badger: %v", err)
		}
	})
	f.uc = New(f.store, f.sinks, runner.Notify, logging.Discard())
	var mu sync.Mutex
	now := t0
	f.uc.now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Second)
		return now
	}
	return f
}

func diagnosisCompleted() *contract.DiagnosisCompleted {
	return &contract.DiagnosisCompleted{
		Schema: contract.SchemaDiagnosis,
		ID:     "diagnosis.s1.detected.1",
		Time:   t0,
		Signature: contract.Signature{
			ID: "3f2a9c1d4e5b6a70", Project: "shop", Fingerprint: "fp", FingerprintVersion: 1,
			Title: "cart.TestAdd: AssertionError: expected <*>, got <*>", Kind: contract.KindTest,
			Test:      &contract.TestIdentity{Suite: "cart", Name: "TestAdd"},
			ErrorType: "AssertionError", MessageTemplate: "expected <*>, got <*>",
			Status: contract.StatusDiagnosing, Occurrences: 1, FirstSeen: t0, LastSeen: t0,
		},
		Diagnosis: contract.Diagnosis{
			Category: "assertion", RootCause: "TestAdd expected 3 but got 4.", Confidence: 0.7, Diagnoser: "heuristic",
			Evidence:     []contract.Evidence{{Kind: "frame", Summary: "failing frame", File: "cart_test.go", Line: 12}},
			SuggestedFix: "Check Add.",
		},
	}
}

// signatureChanged is a change of the signature of diagnosisCompleted, at
// minutes after t0.
func signatureChanged(id string, change contract.SignatureChange, transition contract.SignatureTransition, status contract.SignatureStatus, minutes int) *contract.SignatureChanged {
	sig := diagnosisCompleted().Signature
	at := t0.Add(time.Duration(minutes) * time.Minute)
	sig.Status, sig.Occurrences, sig.LastSeen = status, int64(1+minutes), at
	sig.Regressed = status == contract.StatusRegressed
	return &contract.SignatureChanged{
		Schema: contract.SchemaSignature, ID: id, Time: at, Change: change, Transition: transition,
		Signature: sig, Reason: "because " + id,
	}
}

const page = "shop/AssertionError_3f2a9c1d4e5b6a70.md"

func (f *fixture) deliver(t *testing.T, ev *contract.DiagnosisCompleted) {
	t.Helper()
	if err := f.uc.OnDiagnosisCompleted(context.Background(), ev, f.publisher); err != nil {
		t.Fatalf("OnDiagnosisCompleted(%s) = %v", ev.ID, err)
	}
}

func (f *fixture) change(t *testing.T, ev *contract.SignatureChanged) {
	t.Helper()
	if err := f.uc.OnSignatureChanged(context.Background(), ev); err != nil {
		t.Fatalf("OnSignatureChanged(%s) = %v", ev.ID, err)
	}
}

// settle waits until the named sinks' outboxes are empty and, for
// markdown, summary.md is written after the last page.
func (f *fixture) settle(t *testing.T, names ...string) {
	t.Helper()
	eventually(t, "outboxes "+strings.Join(names, ", ")+" drained", func() bool {
		for _, n := range names {
			if p, err := f.store.Pending(n); err != nil || p > 0 {
				return false
			}
			if n == sink.Markdown && !f.markdown.settled() {
				return false
			}
		}
		return true
	})
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (f *fixture) read(t *testing.T, rel string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(f.reportsDir, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func (f *fixture) files(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(f.reportsDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(f.reportsDir, path)
		out = append(out, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestADiagnosisIsWrittenToItsSignaturesPageThatTheReportEventNames(t *testing.T) {
	f := newFixture(t)
	ev := diagnosisCompleted()
	f.deliver(t, ev)
	f.settle(t, sink.Markdown, sink.Stdout)

	if got, want := f.files(t), []string{page, markdown.SummaryName}; !reflect.DeepEqual(got, want) {
		t.Fatalf("reports directory holds %v, want %v", got, want)
	}
	body := f.read(t, page)
	diagnosed := *ev
	diagnosed.Signature.Status = contract.StatusDiagnosed
	rendered := string(markdown.Render(diagnosed))
	head := rendered[:strings.Index(rendered, "\n---\n")]
	if !strings.HasPrefix(body, head) {
		t.Errorf("the page does not start with the rendered diagnosis:\n%s", body)
	}
	if !strings.Contains(body, "## History") || !strings.Contains(body, "| diagnosed | 1 | diagnosis `diagnosis.s1.detected.1`: assertion, 70% confident |") {
		t.Errorf("the page lacks its history:\n%s", body)
	}

	attempts, published := f.publisher.calls()
	if attempts != 1 || len(published) != 1 {
		t.Fatalf("published %d times (%d attempts), want once", len(published), attempts)
	}
	want := contract.ReportPublished{
		Schema: contract.SchemaReport, ID: "report." + ev.ID, Time: t0.Add(time.Second),
		Signature: ev.Signature, Diagnosis: ev.Diagnosis, Reported: contract.Reported{File: page},
	}
	if !reflect.DeepEqual(published[0], want) {
		t.Errorf("published\n%+v\nwant\n%+v", published[0], want)
	}
	if out := f.stdout.String(); strings.Count(out, "● report") != 1 || !strings.Contains(out, "cause: TestAdd expected 3 but got 4.") || !strings.Contains(out, "file:  "+page) {
		t.Errorf("stdout:\n%s\nwant one block for the report", out)
	}
}

func TestARedeliveryRepublishesTheSameReportAndReachesNoSinkAgain(t *testing.T) {
	f := newFixture(t)
	ev := diagnosisCompleted()
	f.deliver(t, ev)
	f.settle(t, sink.Markdown, sink.Stdout)
	before := f.read(t, page)

	for range 2 {
		f.deliver(t, ev)
	}
	f.settle(t, sink.Markdown, sink.Stdout)

	_, published := f.publisher.calls()
	if len(published) != 3 || !reflect.DeepEqual(published[1], published[0]) || !reflect.DeepEqual(published[2], published[0]) {
		t.Fatalf("published %+v, want the same report once per delivery", published)
	}
	if got := f.read(t, page); got != before {
		t.Errorf("the redelivery changed the page:\n%s", got)
	}
	if n := strings.Count(f.stdout.String(), "● report"); n != 1 {
		t.Errorf("stdout printed %d blocks, want 1", n)
	}
	if got := f.stats.Snapshot(); got[sink.Stdout].Delivered != 1 || got[sink.Markdown].Delivered != 1 {
		t.Errorf("stats %+v, want one delivery per sink", got)
	}
}

func TestSignatureEventsRewriteThePageInPlaceAndTheSummary(t *testing.T) {
	f := newFixture(t)
	f.change(t, signatureChanged("sig.detected", contract.ChangeDetected, "", contract.StatusNew, 0))
	f.settle(t, sink.Markdown)
	if body := f.read(t, page); !strings.Contains(body, "_Not diagnosed yet._") || !strings.Contains(body, "| detected | 1 |") {
		t.Errorf("page of a new signature:\n%s", body)
	}

	f.deliver(t, diagnosisCompleted())
	regressed := signatureChanged("sig.regressed", contract.ChangeRegressed, contract.TransitionRegressed, contract.StatusRegressed, 10)
	regressed.Occurrence = &contract.Failure{Run: contract.RunInfo{Commit: "abc123"}}
	f.change(t, signatureChanged("sig.resolved", contract.ChangeStatus, contract.TransitionResolved, contract.StatusResolved, 5))
	f.change(t, regressed)
	f.change(t, regressed) // redelivered
	f.settle(t, sink.Markdown, sink.Stdout)

	if got, want := f.files(t), []string{page, markdown.SummaryName}; !reflect.DeepEqual(got, want) {
		t.Fatalf("reports directory holds %v, want %v: one page per signature", got, want)
	}
	body := f.read(t, page)
	history := body[strings.Index(body, "## History"):]
	wantOrder := []string{"| regressed | 11 | commit `abc123`; because sig.regressed |", "| resolved | 6 | because sig.resolved |", "| diagnosed | 1 |", "| detected | 1 |"}
	last := -1
	for _, w := range wantOrder {
		i := strings.Index(history, w)
		if i <= last {
			t.Fatalf("history lacks %q after the entries before it (newest first):\n%s", w, history)
		}
		last = i
	}
	if n := strings.Count(history, "| regressed |"); n != 1 {
		t.Errorf("history has %d regressed entries, want 1 (the redelivery adds none)", n)
	}
	if !strings.Contains(body, "| Status | regressed |") || !strings.Contains(body, "## Diagnosis") || strings.Contains(body, "_Not diagnosed yet._") {
		t.Errorf("the page shows neither the latest status nor the diagnosis:\n%s", body)
	}

	summary := f.read(t, markdown.SummaryName)
	for _, w := range []string{"# Rounds summary", "1 signature.", "## regressed (1)", "[3f2a9c1d4e5b6a70](" + page + ")", "| 11 | 2026-03-01T12:40:45Z | regressed |"} {
		if !strings.Contains(summary, w) {
			t.Errorf("summary lacks %q:\n%s", w, summary)
		}
	}
	out := f.stdout.String()
	if strings.Contains(out, "● detected") || strings.Count(out, "● regressed") != 1 || strings.Count(out, "● resolved") != 1 {
		t.Errorf("stdout:\n%s\nwant one block per report and lifecycle change, none for detection", out)
	}
}

func TestAnOlderSnapshotDoesNotOverwriteANewerOne(t *testing.T) {
	f := newFixture(t)
	f.change(t, signatureChanged("sig.resolved", contract.ChangeStatus, contract.TransitionResolved, contract.StatusResolved, 30))
	f.deliver(t, diagnosisCompleted()) // completed at t0, before the resolution
	f.settle(t, sink.Markdown)
	if body := f.read(t, page); !strings.Contains(body, "| Status | resolved |") || !strings.Contains(body, "### Root cause") {
		t.Errorf("page:\n%s\nwant the resolved status with the diagnosis", body)
	}
}

func TestAFailingSinkDoesNotBlockTheOthers(t *testing.T) {
	var posts atomic.Int64
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		http.Error(w, "down", http.StatusBadGateway)
	}))
	t.Cleanup(down.Close)
	hook, err := webhook.New(webhook.Config{URL: down.URL, Secret: []byte("s"), Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, hook)

	f.deliver(t, diagnosisCompleted())
	f.change(t, signatureChanged("sig.resolved", contract.ChangeStatus, contract.TransitionResolved, contract.StatusResolved, 5))
	f.settle(t, sink.Markdown, sink.Stdout)
	eventually(t, "the webhook retried", func() bool { return f.stats.Snapshot()[sink.Webhook].Failed >= 3 })

	if body := f.read(t, page); !strings.Contains(body, "| resolved |") {
		t.Errorf("markdown did not get past the failing webhook:\n%s", body)
	}
	if p, err := f.store.Pending(sink.Webhook); err != nil || p != 2 {
		t.Errorf("webhook outbox holds %d (%v), want both deliveries kept for retry", p, err)
	}
	got := f.stats.Snapshot()
	if got[sink.Markdown].Delivered != 2 || got[sink.Markdown].Failed != 0 || got[sink.Webhook].Delivered != 0 || got[sink.Webhook].Dropped != 0 {
		t.Errorf("stats %+v", got)
	}
	head, err := f.store.Head(sink.Webhook)
	if err != nil || head == nil || head.Key != "diagnosis.s1.detected.1" || head.Attempts < 1 || !strings.Contains(head.LastError, "502") {
		t.Errorf("webhook head %+v (%v), want the first delivery with its retry state", head, err)
	}
}

func TestAPublisherFailureKeepsTheRecordForTheRedelivery(t *testing.T) {
	f := newFixture(t)
	ev := diagnosisCompleted()
	down := errors.New("jetstream unavailable")
	f.publisher.failWith(down)
	if err := f.uc.OnDiagnosisCompleted(context.Background(), ev, f.publisher); !errors.Is(err, down) {
		t.Fatalf("OnDiagnosisCompleted = %v, want %v", err, down)
	}
	stored, err := f.store.Report(ev.ID)
	if err != nil || stored == nil || stored.Reported.File != page {
		t.Fatalf("stored report = %+v, %v; want one naming %s", stored, err, page)
	}
	f.publisher.failWith(nil)
	f.deliver(t, ev)
	f.settle(t, sink.Stdout)
	attempts, published := f.publisher.calls()
	if attempts != 2 || len(published) != 1 || !reflect.DeepEqual(published[0], *stored) {
		t.Fatalf("%d attempts, published %+v; want the stored report once", attempts, published)
	}
	if n := strings.Count(f.stdout.String(), "● report"); n != 1 {
		t.Errorf("stdout printed %d blocks, want 1", n)
	}
}

func TestAPageThatCannotBeWrittenIsRetriedWhileTheReportGoesOut(t *testing.T) {
	f := newFixture(t)
	// The reports directory is a file, so nothing can be written under it.
	if err := os.RemoveAll(f.reportsDir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.reportsDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	f.deliver(t, diagnosisCompleted())
	eventually(t, "markdown failed twice", func() bool { return f.stats.Snapshot()[sink.Markdown].Failed >= 2 })
	if _, published := f.publisher.calls(); len(published) != 1 {
		t.Errorf("published %d reports, want 1", len(published))
	}
	f.settle(t, sink.Stdout)

	if err := os.Remove(f.reportsDir); err != nil {
		t.Fatal(err)
	}
	f.settle(t, sink.Markdown)
	if body := f.read(t, page); !strings.Contains(body, "### Root cause") {
		t.Errorf("page after the directory came back:\n%s", body)
	}
}

func TestADeliveryASinkRefusesIsDroppedAndCounted(t *testing.T) {
	gone := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "gone", http.StatusGone) }))
	t.Cleanup(gone.Close)
	hook, err := webhook.New(webhook.Config{URL: gone.URL, Secret: []byte("s")})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, hook)
	f.deliver(t, diagnosisCompleted())
	f.settle(t, sink.Webhook, sink.Markdown)
	if got := f.stats.Snapshot()[sink.Webhook]; got.Dropped != 1 || got.Failed != 1 || got.Delivered != 0 {
		t.Errorf("webhook stats %+v, want one dropped", got)
	}
}
