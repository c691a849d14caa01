package reporting

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/rounds-dev/rounds/pkg/badgerdb"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/logging"
	"github.com/rounds-dev/rounds/services/report/internal/markdown"
	"github.com/rounds-dev/rounds/services/report/internal/store"
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

type fixture struct {
	uc         *Reporting
	store      *store.Store
	publisher  *fakePublisher
	reportsDir string
}

var t0 = time.Date(2026, 3, 1, 12, 30, 45, 0, time.UTC)

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db, err := badgerdb.Open(t.TempDir(), logging.Discard())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close badger: %v", err)
		}
	})
	f := &fixture{store: store.New(db), publisher: &fakePublisher{}, reportsDir: t.TempDir()}
	f.uc = New(f.store, f.publisher, f.reportsDir, logging.Discard())
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
			Status: contract.StatusDiagnosed, Occurrences: 1, FirstSeen: t0, LastSeen: t0,
		},
		Diagnosis: contract.Diagnosis{
			Category: "assertion", RootCause: "TestAdd expected 3 but got 4.", Confidence: 0.7, Diagnoser: "heuristic",
			Evidence:     []contract.Evidence{{Kind: "frame", Summary: "failing frame", File: "cart_test.go", Line: 12}},
			SuggestedFix: "Check Add.",
		},
	}
}

// files lists every file under the reports directory, hidden ones included.
func (f *fixture) files(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(f.reportsDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, err := filepath.Rel(f.reportsDir, path)
			if err != nil {
				return err
			}
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (f *fixture) deliver(t *testing.T, ev *contract.DiagnosisCompleted) {
	t.Helper()
	if err := f.uc.OnDiagnosisCompleted(context.Background(), ev); err != nil {
		t.Fatalf("OnDiagnosisCompleted(%s) = %v", ev.ID, err)
	}
}

// tamper overwrites a report so that a rewrite would show.
func (f *fixture) tamper(t *testing.T, rel string) []byte {
	t.Helper()
	marker := []byte("edited by hand\n")
	if err := os.WriteFile(filepath.Join(f.reportsDir, rel), marker, 0o644); err != nil {
		t.Fatal(err)
	}
	return marker
}

func (f *fixture) read(t *testing.T, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(f.reportsDir, rel))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestADiagnosisIsWrittenToOneFileThatTheReportEventNames(t *testing.T) {
	f := newFixture(t)
	ev := diagnosisCompleted()
	f.deliver(t, ev)

	wantFile := markdown.FileName(ev.Time, ev.Signature.Project, ev.Signature.ErrorType, ev.Signature.ID)
	if wantFile != "2026-03-01/12-30-45_shop_AssertionError_3f2a9c1d4e5b6a70.md" {
		t.Fatalf("FileName = %q; the test expects the documented layout", wantFile)
	}
	if got := f.files(t); !reflect.DeepEqual(got, []string{wantFile}) {
		t.Fatalf("reports directory holds %v, want only %s", got, wantFile)
	}
	if got := f.read(t, wantFile); !bytes.Equal(got, markdown.Render(*ev)) {
		t.Errorf("the file is not the rendered diagnosis:\n%s", got)
	}

	attempts, published := f.publisher.calls()
	if attempts != 1 || len(published) != 1 {
		t.Fatalf("published %d times (%d attempts), want once", len(published), attempts)
	}
	r := published[0]
	want := contract.ReportPublished{
		Schema:    contract.SchemaReport,
		ID:        "report." + ev.ID,
		Time:      t0.Add(time.Second),
		Signature: ev.Signature,
		Diagnosis: ev.Diagnosis,
		Reported:  contract.Reported{File: wantFile},
	}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("published\n%+v\nwant\n%+v", r, want)
	}
	if err := r.Validate(); err != nil {
		t.Errorf("published report is invalid: %v", err)
	}
	stored, err := f.store.Report(ev.ID)
	if err != nil || stored == nil || !reflect.DeepEqual(*stored, r) {
		t.Errorf("stored report = %+v, %v; want the published one", stored, err)
	}
}

func TestARedeliveryWritesNoFileAndRepublishesTheSameReport(t *testing.T) {
	f := newFixture(t)
	ev := diagnosisCompleted()
	f.deliver(t, ev)
	rel := f.files(t)[0]
	marker := f.tamper(t, rel)

	for range 2 {
		f.deliver(t, ev)
	}

	if got := f.files(t); !reflect.DeepEqual(got, []string{rel}) {
		t.Errorf("reports directory holds %v, want only %s", got, rel)
	}
	if got := f.read(t, rel); !bytes.Equal(got, marker) {
		t.Errorf("the redelivery rewrote the report:\n%s", got)
	}
	_, published := f.publisher.calls()
	if len(published) != 3 {
		t.Fatalf("published %d times, want 3 (once per delivery)", len(published))
	}
	for i, p := range published[1:] {
		if !reflect.DeepEqual(p, published[0]) {
			t.Errorf("delivery %d published\n%+v\nwant the first report\n%+v", i+2, p, published[0])
		}
	}
}

func TestAPublisherFailureKeepsTheFileAndTheRecordForTheRedelivery(t *testing.T) {
	f := newFixture(t)
	ev := diagnosisCompleted()
	down := errors.New("jetstream unavailable")
	f.publisher.failWith(down)

	if err := f.uc.OnDiagnosisCompleted(context.Background(), ev); !errors.Is(err, down) {
		t.Fatalf("OnDiagnosisCompleted = %v, want %v", err, down)
	}
	files := f.files(t)
	if len(files) != 1 {
		t.Fatalf("reports directory holds %v, want one report", files)
	}
	stored, err := f.store.Report(ev.ID)
	if err != nil || stored == nil || stored.Reported.File != files[0] {
		t.Fatalf("stored report = %+v, %v; want one naming %s", stored, err, files[0])
	}
	marker := f.tamper(t, files[0])

	f.publisher.failWith(nil)
	f.deliver(t, ev)

	attempts, published := f.publisher.calls()
	if attempts != 2 || len(published) != 1 {
		t.Fatalf("%d attempts and %d publications, want 2 and 1", attempts, len(published))
	}
	if !reflect.DeepEqual(published[0], *stored) {
		t.Errorf("redelivery published\n%+v\nwant the stored report\n%+v", published[0], *stored)
	}
	if got := f.files(t); !reflect.DeepEqual(got, files) {
		t.Errorf("reports directory holds %v after the redelivery, want %v", got, files)
	}
	if got := f.read(t, files[0]); !bytes.Equal(got, marker) {
		t.Errorf("the redelivery rewrote the report:\n%s", got)
	}
}

func TestAReportThatCannotBeWrittenIsNeitherRecordedNorPublished(t *testing.T) {
	f := newFixture(t)
	// The reports directory is a file, so nothing can be written under it.
	blocked := filepath.Join(t.TempDir(), "reports")
	if err := os.WriteFile(blocked, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	f.uc.reportsDir = blocked
	ev := diagnosisCompleted()

	if err := f.uc.OnDiagnosisCompleted(context.Background(), ev); err == nil {
		t.Fatal("OnDiagnosisCompleted succeeded without a reports directory")
	}
	if stored, err := f.store.Report(ev.ID); err != nil || stored != nil {
		t.Errorf("stored report = %+v, %v; want none", stored, err)
	}
	if attempts, _ := f.publisher.calls(); attempts != 0 {
		t.Errorf("published %d times, want none", attempts)
	}
}

func TestDiagnosesOfDifferentSignaturesGetTheirOwnFiles(t *testing.T) {
	f := newFixture(t)
	first := diagnosisCompleted()
	second := diagnosisCompleted()
	second.ID = "diagnosis.s2.detected.1"
	second.Signature.ID = "9e8d7c6b5a4f3e2d"
	second.Signature.ErrorType = "*net.OpError"
	f.deliver(t, first)
	f.deliver(t, second)

	want := []string{
		"2026-03-01/12-30-45_shop_AssertionError_3f2a9c1d4e5b6a70.md",
		"2026-03-01/12-30-45_shop_net.OpError_9e8d7c6b5a4f3e2d.md",
	}
	if got := f.files(t); !reflect.DeepEqual(got, want) {
		t.Errorf("reports directory holds %v, want %v", got, want)
	}
	_, published := f.publisher.calls()
	if len(published) != 2 || published[0].Reported.File != want[0] || published[1].Reported.File != want[1] {
		t.Errorf("published %+v, want one report per file", published)
	}
}
