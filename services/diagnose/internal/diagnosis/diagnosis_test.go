package diagnosis

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/rounds-dev/rounds/pkg/badgerdb"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/logging"
	"github.com/rounds-dev/rounds/services/diagnose/internal/heuristic"
	"github.com/rounds-dev/rounds/services/diagnose/internal/store"
	"github.com/rounds-dev/rounds/services/diagnose/internal/triage"
)

// fakePublisher records every diagnosis it is asked to publish, and fails
// while err is set.
type fakePublisher struct {
	mu        sync.Mutex
	err       error
	attempts  int
	published []contract.DiagnosisCompleted
}

func (p *fakePublisher) PublishDiagnosis(_ context.Context, d *contract.DiagnosisCompleted) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.attempts++
	if p.err != nil {
		return p.err
	}
	p.published = append(p.published, *d)
	return nil
}

func (p *fakePublisher) failWith(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.err = err
}

func (p *fakePublisher) calls() (attempts int, published []contract.DiagnosisCompleted) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.attempts, append([]contract.DiagnosisCompleted(nil), p.published...)
}

// countingDiagnoser is the real heuristic diagnoser, counting its calls and
// keeping the inputs it was given.
type countingDiagnoser struct {
	mu     sync.Mutex
	real   *heuristic.Diagnoser
	inputs []heuristic.Input
}

func (d *countingDiagnoser) Diagnose(ctx context.Context, in heuristic.Input) (contract.Diagnosis, error) {
	d.mu.Lock()
	d.inputs = append(d.inputs, in)
	d.mu.Unlock()
	return d.real.Diagnose(ctx, in)
}

func (d *countingDiagnoser) calls() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.inputs)
}

type fixture struct {
	uc        *Diagnosing
	store     *store.Store
	publisher *fakePublisher
	diagnoser *countingDiagnoser
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

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
	f := &fixture{
		store:     store.New(db),
		publisher: &fakePublisher{},
		diagnoser: &countingDiagnoser{real: heuristic.New()},
	}
	f.uc = New(f.store, f.publisher, f.diagnoser, triage.DefaultRules(), nil, logging.Discard())
	// A clock that moves a second per reading, so that a second diagnosis
	// could never carry the first one's time.
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

func occurrence(id string) *contract.Failure {
	return &contract.Failure{
		Schema: contract.SchemaFailure, ID: id, Project: "shop", Time: t0, Kind: contract.KindTest,
		Test: &contract.TestIdentity{Suite: "cart", Name: "TestAdd"},
		Error: contract.ErrorInfo{
			Type:    "AssertionError",
			Message: "expected 3, got 4",
			Stack:   "\tat cart.TestAdd(cart_test.go:12)",
		},
		Run: contract.RunInfo{Commit: "abc123"},
	}
}

// event is a signature change for signature s1 of shop at its n-th
// occurrence, carrying that occurrence.
func event(change contract.SignatureChange, n int64, status contract.SignatureStatus) *contract.SignatureChanged {
	return &contract.SignatureChanged{
		Schema: contract.SchemaSignature,
		ID:     fmt.Sprintf("s1.%s.%d", change, n),
		Time:   t0,
		Change: change,
		Signature: contract.Signature{
			ID: "s1", Project: "shop", Title: "cart.TestAdd: AssertionError: expected <*>, got <*>",
			Kind: contract.KindTest, ErrorType: "AssertionError", Status: status, Occurrences: n,
			FirstSeen: t0, LastSeen: t0,
		},
		Occurrence: occurrence(fmt.Sprint("e", n)),
	}
}

func (f *fixture) handled(t *testing.T, eventID string) (bool, *contract.DiagnosisCompleted) {
	t.Helper()
	ok, produced, err := f.store.Handled(eventID)
	if err != nil {
		t.Fatal(err)
	}
	return ok, produced
}

func (f *fixture) deliver(t *testing.T, ev *contract.SignatureChanged) {
	t.Helper()
	if err := f.uc.OnSignatureChanged(context.Background(), ev); err != nil {
		t.Fatalf("OnSignatureChanged(%s) = %v", ev.ID, err)
	}
}

func TestADetectedSignatureIsDiagnosedRecordedAndPublishedOnce(t *testing.T) {
	f := newFixture(t)
	ev := event(contract.ChangeDetected, 1, contract.StatusNew)
	f.deliver(t, ev)

	if n := f.diagnoser.calls(); n != 1 {
		t.Fatalf("diagnosed %d times, want once", n)
	}
	attempts, published := f.publisher.calls()
	if attempts != 1 || len(published) != 1 {
		t.Fatalf("published %d times (%d attempts), want once", len(published), attempts)
	}
	got := published[0]
	if got.ID != "diagnosis."+ev.ID || got.Schema != contract.SchemaDiagnosis {
		t.Errorf("published id %q schema %q, want %q %q", got.ID, got.Schema, "diagnosis."+ev.ID, contract.SchemaDiagnosis)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("published diagnosis is invalid: %v", err)
	}
	if got.Signature.ID != "s1" || got.Signature.Status != contract.StatusDiagnosed {
		t.Errorf("published signature %s with status %q, want s1 diagnosed", got.Signature.ID, got.Signature.Status)
	}
	if got.Diagnosis.Diagnoser != heuristic.Name || got.Diagnosis.Category != heuristic.CategoryAssertion {
		t.Errorf("diagnosis by %q of category %q, want %q %q", got.Diagnosis.Diagnoser, got.Diagnosis.Category, heuristic.Name, heuristic.CategoryAssertion)
	}
	if in := f.diagnoser.inputs[0]; len(in.Occurrences) != 1 || in.Occurrences[0].ID != "e1" || in.Signature.ID != "s1" {
		t.Errorf("diagnoser was given %+v, want signature s1 and occurrence e1", in)
	}

	ok, produced := f.handled(t, ev.ID)
	if !ok || produced == nil || !reflect.DeepEqual(*produced, got) {
		t.Errorf("Handled(%s) = %v, %+v; want the published diagnosis", ev.ID, ok, produced)
	}
	latest, err := f.store.Latest("shop", "s1")
	if err != nil || latest == nil || !reflect.DeepEqual(*latest, got) {
		t.Errorf("Latest = %+v, %v; want the published diagnosis", latest, err)
	}
	occ, err := f.store.Occurrences("shop", "s1")
	if err != nil || len(occ) != 1 || occ[0].ID != "e1" {
		t.Errorf("Occurrences = %+v, %v; want e1", occ, err)
	}
}

func TestARedeliveredEventRepublishesTheSameDiagnosisWithoutDiagnosingAgain(t *testing.T) {
	f := newFixture(t)
	ev := event(contract.ChangeDetected, 1, contract.StatusNew)
	f.deliver(t, ev)
	_, stored := f.handled(t, ev.ID)

	for range 2 {
		f.deliver(t, ev)
	}

	if n := f.diagnoser.calls(); n != 1 {
		t.Errorf("diagnosed %d times, want once", n)
	}
	_, published := f.publisher.calls()
	if len(published) != 3 {
		t.Fatalf("published %d times, want 3 (once per delivery)", len(published))
	}
	for i, p := range published[1:] {
		if !reflect.DeepEqual(p, published[0]) {
			t.Errorf("delivery %d published\n%+v\nwant the first diagnosis\n%+v", i+2, p, published[0])
		}
	}
	_, again := f.handled(t, ev.ID)
	if !again.Time.Equal(stored.Time) || again.ID != stored.ID {
		t.Errorf("stored diagnosis became %s at %v, was %s at %v", again.ID, again.Time, stored.ID, stored.Time)
	}
}

func TestEventsTriagePassesOnAreRecordedButNotPublished(t *testing.T) {
	tests := []struct {
		name   string
		before []*contract.SignatureChanged // delivered first
		ev     *contract.SignatureChanged
		// wantPublished counts publications of the earlier events.
		wantPublished int
	}{
		{name: "a muted signature is not diagnosed", ev: event(contract.ChangeDetected, 1, contract.StatusMuted)},
		{name: "a resolved signature is not diagnosed", ev: event(contract.ChangeRecurred, 2, contract.StatusResolved)},
		{name: "a status change is not diagnosed", ev: event(contract.ChangeStatus, 1, contract.StatusNew)},
		{
			name:          "a recurrence of a diagnosed signature is not diagnosed again",
			before:        []*contract.SignatureChanged{event(contract.ChangeDetected, 1, contract.StatusNew)},
			ev:            event(contract.ChangeRecurred, 2, contract.StatusDiagnosed),
			wantPublished: 1,
		},
		{
			name: "a signature event without an occurrence and none stored is not diagnosed",
			ev: func() *contract.SignatureChanged {
				ev := event(contract.ChangeDetected, 1, contract.StatusNew)
				ev.Occurrence = nil
				return ev
			}(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			for _, ev := range tt.before {
				f.deliver(t, ev)
			}
			diagnosedBefore := f.diagnoser.calls()

			for range 2 { // and its redelivery
				f.deliver(t, tt.ev)
			}

			if n := f.diagnoser.calls(); n != diagnosedBefore {
				t.Errorf("diagnosed %d more times, want none", n-diagnosedBefore)
			}
			if attempts, _ := f.publisher.calls(); attempts != tt.wantPublished {
				t.Errorf("published %d times, want %d", attempts, tt.wantPublished)
			}
			ok, produced := f.handled(t, tt.ev.ID)
			if !ok || produced != nil {
				t.Errorf("Handled(%s) = %v, %+v; want handled with no diagnosis", tt.ev.ID, ok, produced)
			}
			if tt.ev.Occurrence != nil {
				occ, err := f.store.Occurrences("shop", "s1")
				if err != nil || len(occ) == 0 || occ[len(occ)-1].ID != tt.ev.Occurrence.ID {
					t.Errorf("Occurrences = %+v, %v; want the event's occurrence kept last", occ, err)
				}
			}
		})
	}
}

func TestAPublisherFailureIsReturnedAndTheRedeliveryPublishesTheStoredDiagnosis(t *testing.T) {
	f := newFixture(t)
	ev := event(contract.ChangeDetected, 1, contract.StatusNew)
	down := errors.New("jetstream unavailable")
	f.publisher.failWith(down)

	err := f.uc.OnSignatureChanged(context.Background(), ev)
	if !errors.Is(err, down) {
		t.Fatalf("OnSignatureChanged = %v, want %v", err, down)
	}
	ok, stored := f.handled(t, ev.ID)
	if !ok || stored == nil {
		t.Fatalf("Handled(%s) = %v, %+v; want the diagnosis recorded before publishing", ev.ID, ok, stored)
	}

	// Still down: the redelivery fails the same way, without diagnosing.
	if err := f.uc.OnSignatureChanged(context.Background(), ev); !errors.Is(err, down) {
		t.Fatalf("redelivery while down = %v, want %v", err, down)
	}

	f.publisher.failWith(nil)
	f.deliver(t, ev)

	if n := f.diagnoser.calls(); n != 1 {
		t.Errorf("diagnosed %d times, want once", n)
	}
	attempts, published := f.publisher.calls()
	if attempts != 3 || len(published) != 1 {
		t.Fatalf("%d attempts and %d publications, want 3 and 1", attempts, len(published))
	}
	if !reflect.DeepEqual(published[0], *stored) {
		t.Errorf("redelivery published\n%+v\nwant the stored diagnosis\n%+v", published[0], *stored)
	}
}

func TestADiagnoserFailureRecordsNothingSoTheRedeliveryDiagnoses(t *testing.T) {
	f := newFixture(t)
	ev := event(contract.ChangeDetected, 1, contract.StatusNew)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the heuristic diagnoser refuses a done context

	if err := f.uc.OnSignatureChanged(ctx, ev); !errors.Is(err, context.Canceled) {
		t.Fatalf("OnSignatureChanged = %v, want %v", err, context.Canceled)
	}
	if ok, _ := f.handled(t, ev.ID); ok {
		t.Error("the event was recorded as handled though its diagnosis failed")
	}
	if attempts, _ := f.publisher.calls(); attempts != 0 {
		t.Errorf("published %d times, want none", attempts)
	}

	f.deliver(t, ev)
	if n := f.diagnoser.calls(); n != 2 {
		t.Errorf("diagnosed %d times, want twice", n)
	}
	if _, published := f.publisher.calls(); len(published) != 1 || published[0].ID != "diagnosis."+ev.ID {
		t.Errorf("published %+v, want the diagnosis of %s once", published, ev.ID)
	}
}

func TestOccurrencesKeptAreCappedAtRecentOccurrences(t *testing.T) {
	f := newFixture(t)
	const n = store.RecentOccurrences + 4
	f.deliver(t, event(contract.ChangeDetected, 1, contract.StatusNew))
	for i := int64(2); i < n; i++ {
		f.deliver(t, event(contract.ChangeRecurred, i, contract.StatusDiagnosed))
	}
	// A regression is diagnosed again, from the recent occurrences only.
	f.deliver(t, event(contract.ChangeRegressed, n, contract.StatusRegressed))

	var want []string
	for i := n - store.RecentOccurrences + 1; i <= n; i++ {
		want = append(want, fmt.Sprint("e", i))
	}
	occ, err := f.store.Occurrences("shop", "s1")
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(occ); !reflect.DeepEqual(got, want) {
		t.Errorf("Occurrences kept %v, want the last %d, oldest first: %v", got, store.RecentOccurrences, want)
	}
	if f.diagnoser.calls() != 2 {
		t.Fatalf("diagnosed %d times, want twice (detected and regressed)", f.diagnoser.calls())
	}
	if got := ids(f.diagnoser.inputs[1].Occurrences); !reflect.DeepEqual(got, want) {
		t.Errorf("the regression was diagnosed from %v, want %v", got, want)
	}
	latest, err := f.store.Latest("shop", "s1")
	if err != nil || latest == nil || latest.ID != fmt.Sprintf("diagnosis.s1.regressed.%d", n) {
		t.Errorf("Latest = %+v, %v; want the regression's diagnosis", latest, err)
	}
}

func ids(occ []contract.Failure) []string {
	out := make([]string, len(occ))
	for i, o := range occ {
		out[i] = o.ID
	}
	return out
}
