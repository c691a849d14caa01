package diagnosis

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/rounds-dev/rounds/pkg/badgerdb"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/logging"
	"github.com/rounds-dev/rounds/services/diagnose/internal/evidence"
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
// keeping the inputs it was given. during, when set, runs in the middle of
// a diagnosis; fail, when set, fails it.
type countingDiagnoser struct {
	mu     sync.Mutex
	real   *heuristic.Diagnoser
	inputs []heuristic.Input
	during func(ctx context.Context, in heuristic.Input)
	fail   error
}

func (d *countingDiagnoser) Diagnose(ctx context.Context, in heuristic.Input) (contract.Diagnosis, error) {
	d.mu.Lock()
	d.inputs = append(d.inputs, in)
	during, fail := d.during, d.fail
	d.mu.Unlock()
	if during != nil {
		during(ctx, in)
	}
	if fail != nil {
		return contract.Diagnosis{}, fail
	}
	return d.real.Diagnose(ctx, in)
}

func (d *countingDiagnoser) calls() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.inputs)
}

func (d *countingDiagnoser) diagnosed() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var ids []string
	for _, in := range d.inputs {
		ids = append(ids, in.Signature.ID)
	}
	return ids
}

// clock moves a second per reading, so that no two diagnoses share a
// time, and jumps when told.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Second)
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type fixture struct {
	uc        *Diagnosing
	db        *badger.DB
	store     *store.Store
	publisher *fakePublisher
	diagnoser *countingDiagnoser
	clock     *clock
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// newFixture opens a store in dir (a new temporary one when empty) and
// builds the use case on it with the default rules.
func newFixture(t *testing.T, dir string, gatherer *evidence.Gatherer) *fixture {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	db, err := badgerdb.Open(dir, logging.Discard())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !db.IsClosed() {
			if err := db.Close(); err != nil {
				t.Errorf("close badger: %v", err)
			}
		}
	})
	f := &fixture{
		db:        db,
		store:     store.New(db),
		publisher: &fakePublisher{},
		diagnoser: &countingDiagnoser{real: heuristic.New()},
		clock:     &clock{now: t0},
	}
	f.uc = New(f.store, f.publisher, f.diagnoser, triage.DefaultRules(), gatherer, logging.Discard())
	f.uc.now = f.clock.Now
	f.uc.retryMin, f.uc.retryMax = time.Millisecond, 10*time.Millisecond
	return f
}

func occurrence(sigID, id string) *contract.Failure {
	return &contract.Failure{
		Schema: contract.SchemaFailure, ID: id, Project: "shop", Time: t0, Kind: contract.KindTest,
		Test: &contract.TestIdentity{Suite: "cart", Name: "Test" + strings.ToUpper(sigID)},
		Error: contract.ErrorInfo{
			Type:    "AssertionError",
			Message: "expected 3, got 4",
			Stack:   "\tat cart.TestAdd(cart_test.go:12)",
		},
		Run: contract.RunInfo{Commit: "abc123"},
	}
}

// event is a signature change of signature sigID of shop at its n-th
// occurrence, carrying that occurrence.
func event(sigID string, change contract.SignatureChange, n int64, status contract.SignatureStatus) *contract.SignatureChanged {
	return &contract.SignatureChanged{
		Schema: contract.SchemaSignature,
		ID:     fmt.Sprintf("%s.%s.%d", sigID, change, n),
		Time:   t0,
		Change: change,
		Signature: contract.Signature{
			ID: sigID, Project: "shop", Title: "cart.TestAdd: AssertionError: expected <*>, got <*>",
			Kind: contract.KindTest, ErrorType: "AssertionError", Status: status, Occurrences: n,
			FirstSeen: t0, LastSeen: t0.Add(time.Duration(n) * time.Minute),
			Regressed: change == contract.ChangeRegressed,
		},
		Occurrence: occurrence(sigID, fmt.Sprint(sigID, "-e", n)),
	}
}

func (f *fixture) deliver(t *testing.T, ev *contract.SignatureChanged) {
	t.Helper()
	if err := f.uc.OnSignatureChanged(context.Background(), ev); err != nil {
		t.Fatalf("OnSignatureChanged(%s) = %v", ev.ID, err)
	}
}

// work runs the worker's steps until it has nothing left to do at once,
// and returns the first error.
func (f *fixture) work(t *testing.T) error {
	t.Helper()
	for range 100 {
		wait, err := f.uc.step(context.Background())
		if err != nil {
			return err
		}
		if wait > 0 {
			return nil
		}
	}
	t.Fatal("the worker never went idle")
	return nil
}

func (f *fixture) mustWork(t *testing.T) {
	t.Helper()
	if err := f.work(t); err != nil {
		t.Fatalf("worker: %v", err)
	}
}

func (f *fixture) waiting(t *testing.T) []triage.Pending {
	t.Helper()
	p, err := f.store.Pending()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func publishedIDs(ds []contract.DiagnosisCompleted) []string {
	var ids []string
	for _, d := range ds {
		ids = append(ids, d.ID)
	}
	return ids
}

func TestTheHandlerOnlyQueuesAndTheWorkerDiagnosesRecordsAndPublishesOnce(t *testing.T) {
	f := newFixture(t, "", nil)
	ev := event("s1", contract.ChangeDetected, 1, contract.StatusNew)
	f.deliver(t, ev)

	if n := f.diagnoser.calls(); n != 0 {
		t.Fatalf("the handler diagnosed %d times, want none", n)
	}
	if ok, err := f.store.Handled(ev.ID); !ok || err != nil {
		t.Fatalf("Handled(%s) = %v, %v; want the event recorded as handled", ev.ID, ok, err)
	}
	if w := f.waiting(t); len(w) != 1 || w[0].SignatureID != "s1" {
		t.Fatalf("queue = %+v, want s1", w)
	}

	f.mustWork(t)
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
	if in := f.diagnoser.inputs[0]; len(in.Occurrences) != 1 || in.Occurrences[0].ID != "s1-e1" || in.Evidence == nil {
		t.Errorf("diagnoser was given %+v, want occurrence s1-e1 and gathered evidence", in)
	}
	latest, err := f.store.Latest("shop", "s1")
	if err != nil || latest == nil || !reflect.DeepEqual(*latest, got) {
		t.Errorf("Latest = %+v, %v; want the published diagnosis", latest, err)
	}
	if w := f.waiting(t); len(w) != 0 {
		t.Errorf("queue after the diagnosis = %+v, want empty", w)
	}
	if out, _ := f.store.Unpublished(); len(out) != 0 {
		t.Errorf("outbox after publishing = %+v, want empty", out)
	}

	f.mustWork(t)
	if attempts, _ := f.publisher.calls(); attempts != 1 || f.diagnoser.calls() != 1 {
		t.Errorf("an idle worker published %d times and diagnosed %d, want nothing more", attempts-1, f.diagnoser.calls()-1)
	}
}

func TestARedeliveredEventChangesNothing(t *testing.T) {
	f := newFixture(t, "", nil)
	ev := event("s1", contract.ChangeDetected, 1, contract.StatusNew)
	for range 3 {
		f.deliver(t, ev)
	}
	if w := f.waiting(t); len(w) != 1 || w[0].Version != 1 {
		t.Fatalf("queue = %+v, want s1 once at version 1", w)
	}
	f.mustWork(t)
	f.deliver(t, ev)
	f.mustWork(t)
	if n := f.diagnoser.calls(); n != 1 {
		t.Errorf("diagnosed %d times, want once", n)
	}
	if _, published := f.publisher.calls(); len(published) != 1 {
		t.Errorf("published %d times, want once", len(published))
	}
}

func TestWhatTriagePassesOnIsRecordedButNotQueued(t *testing.T) {
	flaky := event("s1", contract.ChangeRecurred, 2, contract.StatusNew)
	flaky.Signature.Flaky = true
	storm := event("s1", contract.ChangeDetected, 1, contract.StatusNew)
	storm.Storm = true
	noOccurrence := event("s1", contract.ChangeDetected, 1, contract.StatusNew)
	noOccurrence.Occurrence = nil
	tests := []struct {
		name  string
		rules triage.Rules
		ev    *contract.SignatureChanged
	}{
		{"a muted signature", triage.DefaultRules(), event("s1", contract.ChangeDetected, 1, contract.StatusMuted)},
		{"a resolved signature", triage.DefaultRules(), event("s1", contract.ChangeRecurred, 2, contract.StatusResolved)},
		{"a status change", triage.DefaultRules(), event("s1", contract.ChangeStatus, 1, contract.StatusNew)},
		{"a flaky signature", triage.DefaultRules(), flaky},
		{"a change from an infrastructure storm", triage.DefaultRules(), storm},
		{"a signature below the threshold", triage.Rules{MinOccurrences: 3, Cooldown: time.Hour}, event("s1", contract.ChangeRecurred, 2, contract.StatusNew)},
		{"a signature event without an occurrence and none stored", triage.DefaultRules(), noOccurrence},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is not diagnosed", func(t *testing.T) {
			f := newFixture(t, "", nil)
			f.uc.rules = tt.rules
			f.deliver(t, tt.ev)
			f.mustWork(t)

			if n := f.diagnoser.calls(); n != 0 {
				t.Errorf("diagnosed %d times, want none", n)
			}
			if attempts, _ := f.publisher.calls(); attempts != 0 {
				t.Errorf("published %d times, want none", attempts)
			}
			if ok, _ := f.store.Handled(tt.ev.ID); !ok {
				t.Errorf("Handled(%s) = false, want the event recorded", tt.ev.ID)
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

func TestCooldownAndRegressions(t *testing.T) {
	f := newFixture(t, "", nil)
	f.deliver(t, event("s1", contract.ChangeDetected, 1, contract.StatusNew))
	f.mustWork(t)

	f.deliver(t, event("s1", contract.ChangeRecurred, 2, contract.StatusDiagnosed))
	f.mustWork(t)
	if n := f.diagnoser.calls(); n != 1 {
		t.Fatalf("a recurrence within the cooldown was diagnosed (%d diagnoses)", n)
	}

	f.deliver(t, event("s1", contract.ChangeRegressed, 3, contract.StatusRegressed))
	f.mustWork(t)
	if n := f.diagnoser.calls(); n != 2 {
		t.Fatalf("a regression within the cooldown was not diagnosed (%d diagnoses)", n)
	}

	f.clock.advance(2 * time.Hour)
	f.deliver(t, event("s1", contract.ChangeRecurred, 4, contract.StatusDiagnosed))
	f.mustWork(t)
	if n := f.diagnoser.calls(); n != 3 {
		t.Fatalf("a recurrence past the cooldown was not diagnosed (%d diagnoses)", n)
	}
	_, published := f.publisher.calls()
	want := []string{"diagnosis.s1.detected.1", "diagnosis.s1.regressed.3", "diagnosis.s1.recurred.4"}
	if got := publishedIDs(published); !reflect.DeepEqual(got, want) {
		t.Errorf("published %v, want %v", got, want)
	}
}

func TestASignatureMutedWhileWaitingIsDropped(t *testing.T) {
	f := newFixture(t, "", nil)
	f.deliver(t, event("s1", contract.ChangeDetected, 1, contract.StatusNew))
	muted := event("s1", contract.ChangeStatus, 1, contract.StatusMuted)
	muted.Occurrence = nil
	f.deliver(t, muted)
	f.mustWork(t)
	if n := f.diagnoser.calls(); n != 0 {
		t.Errorf("diagnosed %d times, want none", n)
	}
	if w := f.waiting(t); len(w) != 0 {
		t.Errorf("queue = %+v, want empty", w)
	}
}

func TestWaitingSignaturesAreDiagnosedMostUrgentFirst(t *testing.T) {
	f := newFixture(t, "", nil)
	critical := event("critical", contract.ChangeDetected, 1, contract.StatusNew)
	critical.Occurrence.Attributes = map[string]string{"tags": "payments,critical"}
	regressed := event("regressed", contract.ChangeRegressed, 2, contract.StatusRegressed)
	frequent := event("frequent", contract.ChangeRecurred, 64, contract.StatusNew)
	rare := event("rare", contract.ChangeDetected, 1, contract.StatusNew)
	for _, ev := range []*contract.SignatureChanged{rare, frequent, regressed, critical} {
		f.deliver(t, ev)
	}
	// A signature diagnosed before comes after every new one.
	f.mustWork(t) // diagnoses all four
	f.clock.advance(2 * time.Hour)
	again := event("rare", contract.ChangeRecurred, 128, contract.StatusDiagnosed)
	fresh := event("fresh", contract.ChangeDetected, 1, contract.StatusNew)
	f.deliver(t, again)
	f.deliver(t, fresh)
	f.mustWork(t)

	want := []string{"critical", "regressed", "frequent", "rare", "fresh", "rare"}
	if got := f.diagnoser.diagnosed(); !reflect.DeepEqual(got, want) {
		t.Errorf("diagnosed in the order %v, want %v", got, want)
	}
}

func TestASignatureTaggedCriticalWhileWaitingGoesFirst(t *testing.T) {
	f := newFixture(t, "", nil)
	regressed := event("regressed", contract.ChangeRegressed, 2, contract.StatusRegressed)
	frequent := event("frequent", contract.ChangeRecurred, 64, contract.StatusNew)
	rare := event("rare", contract.ChangeDetected, 1, contract.StatusNew)
	// Tagged by a user while it waits: a tag change is not diagnosed by
	// itself, but makes what waits critical; the tag is in any case.
	tagged := event("rare", contract.ChangeTagged, 1, contract.StatusNew)
	tagged.Occurrence = nil
	tagged.Signature.Tags = []string{"Critical", "payments"}
	// Tagged while nothing waits: nothing is queued.
	idle := event("idle", contract.ChangeTagged, 3, contract.StatusDiagnosed)
	idle.Occurrence = nil
	idle.Signature.Tags = []string{"critical"}
	for _, ev := range []*contract.SignatureChanged{regressed, frequent, rare, tagged, idle} {
		f.deliver(t, ev)
	}
	f.mustWork(t)
	want := []string{"rare", "regressed", "frequent"}
	if got := f.diagnoser.diagnosed(); !reflect.DeepEqual(got, want) {
		t.Errorf("diagnosed in the order %v, want %v", got, want)
	}
}

func TestAnEventDuringADiagnosisIsMergedAndTriagedAgainAfterIt(t *testing.T) {
	tests := []struct {
		name      string
		during    *contract.SignatureChanged
		diagnoses int
	}{
		{"a recurrence during the diagnosis is not diagnosed again", event("s1", contract.ChangeRecurred, 2, contract.StatusNew), 1},
		{"a regression during the diagnosis is diagnosed after it", event("s1", contract.ChangeRegressed, 2, contract.StatusRegressed), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, "", nil)
			f.deliver(t, event("s1", contract.ChangeDetected, 1, contract.StatusNew))
			var once sync.Once
			f.diagnoser.during = func(context.Context, heuristic.Input) {
				once.Do(func() {
					f.deliver(t, tt.during)
					if w := f.waiting(t); len(w) != 1 || !w[0].InFlight {
						t.Errorf("queue during the diagnosis = %+v, want s1 once, in flight", w)
					}
				})
			}
			f.mustWork(t)
			if n := f.diagnoser.calls(); n != tt.diagnoses {
				t.Errorf("diagnosed %d times, want %d", n, tt.diagnoses)
			}
			if w := f.waiting(t); len(w) != 0 {
				t.Errorf("queue after = %+v, want empty", w)
			}
		})
	}
}

func TestAPublisherFailureLeavesTheDiagnosisInTheOutboxUntilItIsPublished(t *testing.T) {
	f := newFixture(t, "", nil)
	ev := event("s1", contract.ChangeDetected, 1, contract.StatusNew)
	down := errors.New("jetstream unavailable")
	f.publisher.failWith(down)
	f.deliver(t, ev)

	if err := f.work(t); !errors.Is(err, down) {
		t.Fatalf("worker = %v, want %v", err, down)
	}
	out, err := f.store.Unpublished()
	if err != nil || len(out) != 1 || out[0].ID != "diagnosis."+ev.ID {
		t.Fatalf("outbox = %+v, %v; want the diagnosis", out, err)
	}
	if err := f.work(t); !errors.Is(err, down) {
		t.Fatalf("worker while still down = %v, want %v", err, down)
	}

	f.publisher.failWith(nil)
	f.mustWork(t)
	if n := f.diagnoser.calls(); n != 1 {
		t.Errorf("diagnosed %d times, want once", n)
	}
	attempts, published := f.publisher.calls()
	if attempts != 3 || len(published) != 1 || !reflect.DeepEqual(published[0], out[0]) {
		t.Errorf("%d attempts and %v published, want 3 attempts and the recorded diagnosis once", attempts, publishedIDs(published))
	}
}

func TestADiagnoserFailureIsRetriedLaterThenGivenUp(t *testing.T) {
	f := newFixture(t, "", nil)
	f.uc.retryMin, f.uc.retryMax = 10*time.Second, time.Minute
	f.diagnoser.fail = errors.New("model exploded")
	f.deliver(t, event("s1", contract.ChangeDetected, 1, contract.StatusNew))

	for attempt := 1; attempt < maxAttempts; attempt++ {
		f.mustWork(t)
		w := f.waiting(t)
		if len(w) != 1 || w[0].InFlight || w[0].Attempts != attempt || w[0].NotBefore.IsZero() {
			t.Fatalf("queue after attempt %d = %+v; want s1 waiting with %d attempts and a time to retry", attempt, w, attempt)
		}
		if n := f.diagnoser.calls(); n != attempt {
			t.Fatalf("diagnosed %d times before the retry is due, want %d", n, attempt)
		}
		f.clock.advance(time.Minute)
	}
	f.mustWork(t)
	if w := f.waiting(t); len(w) != 0 {
		t.Errorf("queue after %d failures = %+v, want it given up", maxAttempts, w)
	}
	if attempts, _ := f.publisher.calls(); attempts != 0 {
		t.Errorf("published %d times, want none", attempts)
	}

	// The signature's next event tries again.
	f.diagnoser.fail = nil
	f.clock.advance(2 * time.Hour)
	f.deliver(t, event("s1", contract.ChangeRecurred, 2, contract.StatusNew))
	f.mustWork(t)
	if _, published := f.publisher.calls(); len(published) != 1 {
		t.Errorf("published %d after the next event, want 1", len(published))
	}
}

// TestACrashLeavesNothingStuck: the process dies while one signature is
// being diagnosed and another's diagnosis is recorded but unpublished.
// After a restart on the same state, the first is diagnosed again and
// both are published, each once.
func TestACrashLeavesNothingStuck(t *testing.T) {
	dir := t.TempDir()
	f := newFixture(t, dir, nil)
	down := errors.New("jetstream unavailable")
	f.publisher.failWith(down)
	f.deliver(t, event("recorded", contract.ChangeRegressed, 2, contract.StatusRegressed))
	f.deliver(t, event("inflight", contract.ChangeDetected, 1, contract.StatusNew))

	ctx, crash := context.WithCancel(context.Background())
	entered := make(chan struct{})
	f.diagnoser.during = func(ctx context.Context, in heuristic.Input) {
		if in.Signature.ID == "inflight" {
			close(entered)
			<-ctx.Done() // dies mid-diagnosis
		}
	}
	stopped := make(chan error)
	go func() { stopped <- f.uc.Run(ctx) }()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the worker never reached the second diagnosis")
	}
	crash()
	if err := <-stopped; err != nil {
		t.Fatalf("Run = %v", err)
	}
	if err := f.db.Close(); err != nil {
		t.Fatal(err)
	}

	g := newFixture(t, dir, nil)
	w := g.waiting(t)
	if len(w) != 1 || w[0].SignatureID != "inflight" || !w[0].InFlight {
		t.Fatalf("state after the crash = %+v, want inflight in flight", w)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() { stopped <- g.uc.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, published := g.publisher.calls(); len(published) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			_, published := g.publisher.calls()
			t.Fatalf("published %v after the restart, want both diagnoses", publishedIDs(published))
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	if err := <-stopped; err != nil {
		t.Fatalf("Run = %v", err)
	}
	_, published := g.publisher.calls()
	want := []string{"diagnosis.recorded.regressed.2", "diagnosis.inflight.detected.1"}
	if got := publishedIDs(published); !reflect.DeepEqual(got, want) {
		t.Errorf("published after the restart %v, want %v, each once", got, want)
	}
	if got := g.diagnoser.diagnosed(); !reflect.DeepEqual(got, []string{"inflight"}) {
		t.Errorf("diagnosed after the restart %v, want inflight alone", got)
	}
	if w := g.waiting(t); len(w) != 0 {
		t.Errorf("queue = %+v, want empty", w)
	}
}

func TestRunWakesUpWhenASignatureIsQueued(t *testing.T) {
	f := newFixture(t, "", nil)
	ctx, stop := context.WithCancel(context.Background())
	stopped := make(chan error)
	go func() { stopped <- f.uc.Run(ctx) }()
	for i := range 3 {
		f.deliver(t, event(fmt.Sprint("s", i), contract.ChangeDetected, 1, contract.StatusNew))
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, published := f.publisher.calls(); len(published) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the worker did not diagnose the queued signatures within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	if err := <-stopped; err != nil {
		t.Errorf("Run = %v", err)
	}
}

func TestOccurrencesKeptAreCappedAtRecentOccurrences(t *testing.T) {
	f := newFixture(t, "", nil)
	const n = RecentOccurrences + 4
	f.deliver(t, event("s1", contract.ChangeDetected, 1, contract.StatusNew))
	f.mustWork(t)
	for i := int64(2); i < n; i++ {
		f.deliver(t, event("s1", contract.ChangeRecurred, i, contract.StatusDiagnosed))
	}
	// A regression is diagnosed again, from the recent occurrences only.
	f.deliver(t, event("s1", contract.ChangeRegressed, n, contract.StatusRegressed))
	f.mustWork(t)

	var want []string
	for i := n - RecentOccurrences + 1; i <= n; i++ {
		want = append(want, fmt.Sprint("s1-e", i))
	}
	occ, err := f.store.Occurrences("shop", "s1")
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(occ); !reflect.DeepEqual(got, want) {
		t.Errorf("Occurrences kept %v, want the last %d, oldest first: %v", got, RecentOccurrences, want)
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
