package store_test

import (
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/rounds-dev/rounds/pkg/badgerdb"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/logging"
	"github.com/rounds-dev/rounds/services/diagnose/internal/store"
	"github.com/rounds-dev/rounds/services/diagnose/internal/triage"
)

// openDB opens a Badger database in dir and closes it when the test ends,
// unless the returned close function did so first.
func openDB(t *testing.T, dir string) (*badger.DB, func()) {
	t.Helper()
	db, err := badgerdb.Open(dir, logging.Discard())
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	closeDB := func() {
		if closed {
			return
		}
		closed = true
		if err := db.Close(); err != nil {
			t.Errorf("close badger: %v", err)
		}
	}
	t.Cleanup(closeDB)
	return db, closeDB
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func signatureEvent(project, sigID string, change contract.SignatureChange, n int64) *contract.SignatureChanged {
	return &contract.SignatureChanged{
		Schema: contract.SchemaSignature,
		ID:     fmt.Sprintf("%s.%s.%d", sigID, change, n),
		Time:   t0,
		Change: change,
		Signature: contract.Signature{
			ID: sigID, Project: project, Title: "cart.TestAdd: expected <*>, got <*>",
			Kind: contract.KindTest, Status: contract.StatusNew, Occurrences: n,
			Components: []contract.Component{{Name: "test", Value: "cart.TestAdd"}},
			FirstSeen:  t0, LastSeen: t0,
		},
	}
}

func occurrence(id string) contract.Failure {
	return contract.Failure{
		Schema: contract.SchemaFailure, ID: id, Project: "shop", Time: t0, Kind: contract.KindTest,
		Test:  &contract.TestIdentity{Suite: "cart", Name: "TestAdd"},
		Error: contract.ErrorInfo{Type: "AssertionError", Message: "expected 3, got 4", Stack: "at cart_test.go:12"},
		Run:   contract.RunInfo{Commit: "abc123"},
	}
}

func diagnosis(ev *contract.SignatureChanged, rootCause string) *contract.DiagnosisCompleted {
	return &contract.DiagnosisCompleted{
		Schema:    contract.SchemaDiagnosis,
		ID:        "diagnosis." + ev.ID,
		Time:      t0.Add(time.Minute),
		Signature: ev.Signature,
		Diagnosis: contract.Diagnosis{
			Category: "assertion", RootCause: rootCause, Confidence: 0.7, Diagnoser: "heuristic",
			Evidence: []contract.Evidence{{Kind: "frame", Summary: "failing frame", File: "cart_test.go", Line: 12}},
		},
	}
}

// queue is an update for Enqueue that queues ev, merged with what waits.
func queue(ev *contract.SignatureChanged) func(*triage.Pending) *triage.Pending {
	return func(old *triage.Pending) *triage.Pending {
		p := triage.Merge(old, triage.NewPending(ev, triage.Priority{Occurrences: ev.Signature.Occurrences}, string(ev.Change), t0))
		return &p
	}
}

func keep(old *triage.Pending) *triage.Pending { return old }
func drop(*triage.Pending) *triage.Pending     { return nil }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func pendingIDs(t *testing.T, s *store.Store) map[string]triage.Pending {
	t.Helper()
	ps, err := s.Pending()
	must(t, err)
	out := map[string]triage.Pending{}
	for _, p := range ps {
		out[p.Project+"/"+p.SignatureID] = p
	}
	return out
}

func TestEnqueueRecordsTheEventTheOccurrencesAndTheSignatureTogether(t *testing.T) {
	db, _ := openDB(t, t.TempDir())
	s := store.New(db)
	ev := signatureEvent("shop", "s1", contract.ChangeDetected, 1)
	occ := []contract.Failure{occurrence("e1")}
	must(t, s.Enqueue(ev, occ, queue(ev)))

	if ok, err := s.Handled(ev.ID); err != nil || !ok {
		t.Errorf("Handled(%s) = %v, %v; want true", ev.ID, ok, err)
	}
	if got, err := s.Occurrences("shop", "s1"); err != nil || !reflect.DeepEqual(got, occ) {
		t.Errorf("Occurrences = %+v, %v; want %+v", got, err, occ)
	}
	sigs, err := s.Signatures("shop", 10)
	if err != nil || len(sigs) != 1 || sigs[0].ID != "s1" || sigs[0].Components != nil {
		t.Errorf("Signatures = %+v, %v; want s1 without its components", sigs, err)
	}
	p, ok := pendingIDs(t, s)["shop/s1"]
	if !ok || p.Event.ID != ev.ID || p.Version != 1 || p.InFlight {
		t.Errorf("Pending = %+v; want s1 waiting with its event", p)
	}

	// Not queued, but recorded: the occurrences stored are kept when the
	// event brings none, and what waits is kept.
	status := signatureEvent("shop", "s1", contract.ChangeStatus, 1)
	must(t, s.Enqueue(status, nil, keep))
	if ok, _ := s.Handled(status.ID); !ok {
		t.Errorf("Handled(%s) = false", status.ID)
	}
	if got, _ := s.Occurrences("shop", "s1"); !reflect.DeepEqual(got, occ) {
		t.Errorf("Occurrences after an event without any = %+v, want %+v", got, occ)
	}
	if p := pendingIDs(t, s)["shop/s1"]; p.Version != 1 {
		t.Errorf("Pending after a kept update = %+v, want version 1", p)
	}

	muted := signatureEvent("shop", "s1", contract.ChangeStatus, 2)
	must(t, s.Enqueue(muted, nil, drop))
	if got := pendingIDs(t, s); len(got) != 0 {
		t.Errorf("Pending after a drop = %v, want none", got)
	}
}

func TestReenqueuingAWaitingSignatureUpdatesIt(t *testing.T) {
	db, _ := openDB(t, t.TempDir())
	s := store.New(db)
	first := signatureEvent("shop", "s1", contract.ChangeDetected, 1)
	must(t, s.Enqueue(first, []contract.Failure{occurrence("e1")}, queue(first)))
	second := signatureEvent("shop", "s1", contract.ChangeRecurred, 2)
	must(t, s.Enqueue(second, []contract.Failure{occurrence("e1"), occurrence("e2")}, queue(second)))

	got := pendingIDs(t, s)
	if len(got) != 1 || got["shop/s1"].Event.ID != second.ID || got["shop/s1"].Version != 2 {
		t.Errorf("Pending = %+v; want s1 once, with the second event, at version 2", got)
	}
}

func TestAClaimedSignatureIsInFlightUntilItLands(t *testing.T) {
	db, _ := openDB(t, t.TempDir())
	s := store.New(db)
	ev := signatureEvent("shop", "s1", contract.ChangeDetected, 1)
	must(t, s.Enqueue(ev, []contract.Failure{occurrence("e1")}, queue(ev)))

	claimed, err := s.Claim("shop", "s1")
	if err != nil || claimed == nil || !claimed.InFlight {
		t.Fatalf("Claim = %+v, %v; want s1 in flight", claimed, err)
	}
	if again, err := s.Claim("shop", "s1"); err != nil || again != nil {
		t.Errorf("a second Claim = %+v, %v; want nothing: one flight per signature", again, err)
	}
	if none, err := s.Claim("shop", "s2"); err != nil || none != nil {
		t.Errorf("Claim of a signature not waiting = %+v, %v; want nothing", none, err)
	}

	d := diagnosis(ev, "3 is not 4")
	must(t, s.Complete(claimed, d))
	if got := pendingIDs(t, s); len(got) != 0 {
		t.Errorf("Pending after Complete = %v, want none", got)
	}
	if got, err := s.Latest("shop", "s1"); err != nil || !reflect.DeepEqual(got, d) {
		t.Errorf("Latest = %+v, %v; want the diagnosis", got, err)
	}
	out, err := s.Unpublished()
	if err != nil || len(out) != 1 || !reflect.DeepEqual(out[0], *d) {
		t.Errorf("Unpublished = %+v, %v; want the diagnosis", out, err)
	}
	must(t, s.Published(d.ID))
	if out, err := s.Unpublished(); err != nil || len(out) != 0 {
		t.Errorf("Unpublished after Published = %+v, %v; want none", out, err)
	}
}

func TestAnEventDuringAFlightWaitsForItsTurn(t *testing.T) {
	db, _ := openDB(t, t.TempDir())
	s := store.New(db)
	ev := signatureEvent("shop", "s1", contract.ChangeDetected, 1)
	must(t, s.Enqueue(ev, []contract.Failure{occurrence("e1")}, queue(ev)))
	claimed, err := s.Claim("shop", "s1")
	must(t, err)

	regressed := signatureEvent("shop", "s1", contract.ChangeRegressed, 2)
	must(t, s.Enqueue(regressed, []contract.Failure{occurrence("e2")}, queue(regressed)))
	if p := pendingIDs(t, s)["shop/s1"]; !p.InFlight || p.Version != 2 || p.Regression != 2 {
		t.Fatalf("Pending during the flight = %+v; want still in flight, version 2, regression at 2", p)
	}

	must(t, s.Complete(claimed, diagnosis(ev, "first")))
	p, ok := pendingIDs(t, s)["shop/s1"]
	if !ok || p.InFlight || p.Event.ID != regressed.ID || p.Regression != 2 || p.Priority.New {
		t.Errorf("Pending after the flight = %+v, %v; want the regression waiting, not in flight", p, ok)
	}
}

func TestReleaseAndDrop(t *testing.T) {
	db, _ := openDB(t, t.TempDir())
	s := store.New(db)
	ev := signatureEvent("shop", "s1", contract.ChangeDetected, 1)
	must(t, s.Enqueue(ev, []contract.Failure{occurrence("e1")}, queue(ev)))
	claimed, err := s.Claim("shop", "s1")
	must(t, err)

	later := t0.Add(time.Minute)
	must(t, s.Release(claimed, 2, later))
	p := pendingIDs(t, s)["shop/s1"]
	if p.InFlight || p.Attempts != 2 || !p.NotBefore.Equal(later) {
		t.Errorf("Pending after Release = %+v; want waiting, 2 attempts, not before %v", p, later)
	}

	claimed, err = s.Claim("shop", "s1")
	must(t, err)
	must(t, s.Drop(claimed))
	if got := pendingIDs(t, s); len(got) != 0 {
		t.Errorf("Pending after Drop = %v, want none", got)
	}
	// Landing what was dropped meanwhile (a mute) changes nothing.
	must(t, s.Drop(claimed))
	must(t, s.Complete(claimed, diagnosis(ev, "x")))
	if got := pendingIDs(t, s); len(got) != 0 {
		t.Errorf("Pending after landing a dropped claim = %v, want none", got)
	}
}

func TestAfterACrashTheSignatureInFlightWaitsAgainAndTheOutboxIsKept(t *testing.T) {
	dir := t.TempDir()
	db, closeDB := openDB(t, dir)
	s := store.New(db)
	a := signatureEvent("shop", "a", contract.ChangeDetected, 1)
	b := signatureEvent("shop", "b", contract.ChangeDetected, 1)
	must(t, s.Enqueue(a, []contract.Failure{occurrence("a1")}, queue(a)))
	must(t, s.Enqueue(b, []contract.Failure{occurrence("b1")}, queue(b)))
	claimedA, err := s.Claim("shop", "a")
	must(t, err)
	d := diagnosis(a, "done, not published")
	must(t, s.Complete(claimedA, d))
	_, err = s.Claim("shop", "b")
	must(t, err)
	closeDB() // the process dies with b in flight and a unpublished

	db, _ = openDB(t, dir)
	s = store.New(db)
	n, err := s.Recover()
	if err != nil || n != 1 {
		t.Fatalf("Recover = %d, %v; want 1", n, err)
	}
	got := pendingIDs(t, s)
	if p, ok := got["shop/b"]; len(got) != 1 || !ok || p.InFlight {
		t.Errorf("Pending after recovery = %+v; want b waiting, not in flight", got)
	}
	if out, err := s.Unpublished(); err != nil || len(out) != 1 || out[0].ID != d.ID {
		t.Errorf("Unpublished after reopening = %+v, %v; want %s", out, err, d.ID)
	}
	if ok, _ := s.Handled(a.ID); !ok {
		t.Errorf("Handled(%s) after reopening = false", a.ID)
	}
	if n, err := s.Recover(); err != nil || n != 0 {
		t.Errorf("a second Recover = %d, %v; want 0", n, err)
	}
}

func TestUnknownIDsAreNotFound(t *testing.T) {
	db, _ := openDB(t, t.TempDir())
	s := store.New(db)
	ev := signatureEvent("shop", "s1", contract.ChangeDetected, 1)
	must(t, s.Enqueue(ev, []contract.Failure{occurrence("e1")}, queue(ev)))
	claimed, err := s.Claim("shop", "s1")
	must(t, err)
	must(t, s.Complete(claimed, diagnosis(ev, "x")))

	tests := []struct {
		name           string
		eventID        string
		project, sigID string
	}{
		{"an event never handled", "s1.recurred.2", "shop", "s2"},
		{"a signature of the same id in another project", "s1.detected.1x", "billing", "s1"},
		{"a signature whose id extends a known one", "s1.detected", "shop", "s10"},
		{"empty ids", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is not found", func(t *testing.T) {
			if ok, err := s.Handled(tt.eventID); ok || err != nil {
				t.Errorf("Handled(%q) = %v, %v; want false", tt.eventID, ok, err)
			}
			if got, err := s.Latest(tt.project, tt.sigID); got != nil || err != nil {
				t.Errorf("Latest(%q, %q) = %+v, %v; want nil", tt.project, tt.sigID, got, err)
			}
			if got, err := s.Occurrences(tt.project, tt.sigID); got != nil || err != nil {
				t.Errorf("Occurrences(%q, %q) = %+v, %v; want nil", tt.project, tt.sigID, got, err)
			}
		})
	}
	if sigs, err := s.Signatures("billing", 10); err != nil || len(sigs) != 0 {
		t.Errorf("Signatures(billing) = %+v, %v; want none", sigs, err)
	}
}

func TestSignaturesAreBounded(t *testing.T) {
	db, _ := openDB(t, t.TempDir())
	s := store.New(db)
	for i := range 5 {
		ev := signatureEvent("shop", fmt.Sprint("s", i), contract.ChangeDetected, 1)
		must(t, s.Enqueue(ev, nil, keep))
	}
	if sigs, err := s.Signatures("shop", 3); err != nil || len(sigs) != 3 {
		t.Errorf("Signatures(shop, 3) = %d of them, %v; want 3", len(sigs), err)
	}
}

func TestConcurrentQueuingAndClaimingLoseNoEvent(t *testing.T) {
	db, _ := openDB(t, t.TempDir())
	s := store.New(db)
	first := signatureEvent("shop", "s1", contract.ChangeDetected, 1)
	must(t, s.Enqueue(first, []contract.Failure{occurrence("e1")}, queue(first)))

	const events = 50
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := int64(2); i <= events; i++ {
			ev := signatureEvent("shop", "s1", contract.ChangeRecurred, i)
			if err := s.Enqueue(ev, nil, queue(ev)); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Go(func() {
		for range 20 {
			claimed, err := s.Claim("shop", "s1")
			if err != nil {
				t.Error(err)
				return
			}
			if claimed != nil {
				if err := s.Drop(claimed); err != nil {
					t.Error(err)
				}
			}
		}
	})
	wg.Wait()
	for i := int64(1); i <= events; i++ {
		id := signatureEvent("shop", "s1", contract.ChangeRecurred, i).ID
		if i == 1 {
			id = first.ID
		}
		if ok, err := s.Handled(id); err != nil || !ok {
			t.Errorf("Handled(%s) = %v, %v", id, ok, err)
		}
	}
	// The last event waits, unless the claimer dropped it after it came.
	if p, ok := pendingIDs(t, s)["shop/s1"]; ok && (p.InFlight || p.Version < 1) {
		t.Errorf("Pending = %+v; want it waiting, not in flight", p)
	}
}

// The marks of events handled expire when asked to (diagnose keeps them
// twice the streams' max age); the queue and what it holds never do.
func TestHandledMarksExpireWhenAsked(t *testing.T) {
	tests := []struct {
		name string
		ttl  time.Duration
	}{
		{name: "kept forever by default", ttl: 0},
		{name: "kept for two weeks", ttl: 14 * 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, _ := openDB(t, t.TempDir())
			s := store.New(db)
			if tt.ttl > 0 {
				s = s.ExpireHandled(tt.ttl)
			}
			ev := signatureEvent("shop", "s1", contract.ChangeDetected, 1)
			before := time.Now()
			must(t, s.Enqueue(ev, []contract.Failure{occurrence("e1")}, queue(ev)))
			after := time.Now()
			expiry := map[string]uint64{}
			must(t, db.View(func(txn *badger.Txn) error {
				it := txn.NewIterator(badger.DefaultIteratorOptions)
				defer it.Close()
				for it.Rewind(); it.Valid(); it.Next() {
					expiry[string(it.Item().Key())] = it.Item().ExpiresAt()
				}
				return nil
			}))
			for key, at := range expiry {
				switch {
				case key != "handled/"+ev.ID || tt.ttl == 0:
					if at != 0 {
						t.Errorf("%s expires at %d, want never", key, at)
					}
				case at < uint64(before.Add(tt.ttl).Unix()) || at > uint64(after.Add(tt.ttl).Unix())+1:
					t.Errorf("%s expires at %s, want %s from now", key, time.Unix(int64(at), 0), tt.ttl)
				}
			}
			if _, ok := expiry["handled/"+ev.ID]; !ok || len(expiry) < 3 {
				t.Errorf("keys %v; want the mark, the occurrences and the queue entry", expiry)
			}
			if ok, err := s.Handled(ev.ID); err != nil || !ok {
				t.Errorf("Handled = %v, %v; want true within the mark's time", ok, err)
			}
		})
	}
}
