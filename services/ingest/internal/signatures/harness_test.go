package signatures_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rounds-dev/rounds/pkg/badgerdb"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/logging"
	"github.com/rounds-dev/rounds/services/ingest/grouping"
	"github.com/rounds-dev/rounds/services/ingest/internal/signatures"
	"github.com/rounds-dev/rounds/services/ingest/internal/store"
)

// t0 is when every test's story starts.
var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// harness drives a tracker over a real Badger store, storing every unit
// the way the consumer does, and keeps the events it caused.
type harness struct {
	t       *testing.T
	store   *store.Store
	tracker *signatures.Tracker
	policy  signatures.Policy
	now     time.Time
	// events are the announced changes, in order, as "change" or
	// "status:transition"; storms and held events are marked.
	events   []string
	last     []signatures.Event
	releases []signatures.Release
	n        int
}

// quietPolicy has no time-based behaviour unless a test asks for it.
func quietPolicy() signatures.Policy {
	return signatures.Policy{
		FlakyWindow:     14 * 24 * time.Hour,
		FlakyMinSamples: 4,
		StormShare:      0.5,
		StormMinFailed:  3,
	}
}

func newHarness(t *testing.T, policy signatures.Policy) *harness {
	t.Helper()
	db, err := badgerdb.Open(t.TempDir(), logging.Discard())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st, err := store.New(db, store.Options{FactTTL: policy.FlakyWindow})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, store: st, policy: policy, now: t0}
	h.tracker = signatures.NewTracker(st, policy)
	if err := h.tracker.Reset(); err != nil {
		t.Fatal(err)
	}
	return h
}

// unit runs fn in a unit at the harness's time and stores what it changed.
func (h *harness) unit(fn func(u *signatures.Unit) error) error {
	h.t.Helper()
	u := signatures.NewUnit(h.now)
	if err := fn(u); err != nil {
		if !u.Empty() {
			h.t.Fatalf("an operation that failed changed something: %+v", u)
		}
		return err
	}
	// Held events and their release, as the consumer stores them.
	for _, rel := range u.Releases {
		if _, err := h.store.ReleaseHeld(rel.Run, nil); err != nil {
			h.t.Fatal(err)
		}
	}
	b := &store.Batch{Records: u.Records, Runs: u.Runs, Facts: u.Facts}
	for _, ev := range u.Events {
		if ev.Hold != nil {
			b.Held = append(b.Held, store.HeldEntry{Run: *ev.Hold, Entry: store.OutboxEntry{Subject: "s", MsgID: ev.ID, Data: []byte("{}")}})
		}
	}
	if err := h.store.Commit(b); err != nil {
		h.t.Fatal(err)
	}
	h.last = u.Events
	for _, ev := range u.Events {
		s := string(ev.Change)
		if ev.Transition != "" && ev.Change == contract.ChangeStatus {
			s += ":" + string(ev.Transition)
		}
		if ev.Storm {
			s += "(storm)"
		}
		if ev.Hold != nil {
			s += "(held)"
		}
		h.events = append(h.events, s)
	}
	h.releases = append(h.releases, u.Releases...)
	return nil
}

// failure is a failure of test at the harness's time (or at).
func (h *harness) failure(test, commit, run string, at time.Time) *contract.Failure {
	h.n++
	suite, name, _ := strings.Cut(test, ".")
	return &contract.Failure{
		Schema: contract.SchemaFailure, ID: fmt.Sprint("f", h.n), Project: "shop", Time: at, Kind: contract.KindTest,
		Test:  &contract.TestIdentity{Suite: suite, Name: name},
		Error: contract.ErrorInfo{Type: "AssertionError", Message: "expected 3, got 4"},
		Run:   contract.RunInfo{ID: run, Commit: commit},
	}
}

// fail records a failure of test on commit in run, now.
func (h *harness) fail(test, commit, run string) *signatures.Record {
	h.t.Helper()
	return h.record(h.failure(test, commit, run, h.now))
}

func (h *harness) record(f *contract.Failure) *signatures.Record {
	h.t.Helper()
	var rec *signatures.Record
	err := h.unit(func(u *signatures.Unit) error {
		var err error
		rec, err = h.tracker.Record(u, f, grouping.Fingerprint(f))
		return err
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return rec
}

// report applies a run report.
func (h *harness) report(r contract.RunReported) {
	h.t.Helper()
	if r.Time.IsZero() {
		r.Time = h.now
	}
	if err := h.unit(func(u *signatures.Unit) error { return h.tracker.RecordRun(u, &r) }); err != nil {
		h.t.Fatal(err)
	}
}

// pass reports that tests passed in run on commit, now.
func (h *harness) pass(commit, run string, tests ...string) {
	h.t.Helper()
	var refs []contract.TestRef
	for _, test := range tests {
		suite, name, _ := strings.Cut(test, ".")
		refs = append(refs, contract.TestRef{Suite: suite, Name: name})
	}
	h.report(contract.RunReported{
		Schema: contract.SchemaRun, ID: "r-" + run, Project: "shop", Source: "junit.xml",
		Run: contract.RunInfo{ID: run, Commit: commit}, Passed: contract.GroupTests(refs), Total: len(tests),
		Chunk: contract.Chunk{Count: 1},
	})
}

func (h *harness) sweep() {
	h.t.Helper()
	if err := h.unit(h.tracker.Sweep); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) at(d time.Duration) { h.now = t0.Add(d) }

// get returns the signature of a test's failures as the tracker holds it.
func (h *harness) get(test string) signatures.Record {
	h.t.Helper()
	f := h.failure(test, "", "", t0)
	h.n--
	id := grouping.SignatureID("shop", grouping.Fingerprint(f).Fingerprint)
	rec, ok := h.tracker.Get("shop", id)
	if !ok {
		h.t.Fatalf("no signature for %s", test)
	}
	return rec
}

// do runs a lifecycle operation on the signature of test.
func (h *harness) do(test string, op func(t *signatures.Tracker, u *signatures.Unit, id string) (*signatures.Record, error)) error {
	h.t.Helper()
	id := h.get(test).ID
	return h.unit(func(u *signatures.Unit) error {
		_, err := op(h.tracker, u, id)
		return err
	})
}

func (h *harness) mute(test string, until time.Time, count int64) error {
	return h.do(test, func(t *signatures.Tracker, u *signatures.Unit, id string) (*signatures.Record, error) {
		return t.Mute(u, "shop", id, until, count, signatures.Who{Actor: "alice", Reason: "noisy"})
	})
}

func (h *harness) unmute(test string) error {
	return h.do(test, func(t *signatures.Tracker, u *signatures.Unit, id string) (*signatures.Record, error) {
		return t.Unmute(u, "shop", id, signatures.Who{Actor: "alice"})
	})
}

func (h *harness) resolve(test, commit string) error {
	return h.do(test, func(t *signatures.Tracker, u *signatures.Unit, id string) (*signatures.Record, error) {
		return t.Resolve(u, "shop", id, commit, signatures.Who{Actor: "bob", Reason: "fixed the rounding"})
	})
}

func (h *harness) reopen(test string) error {
	return h.do(test, func(t *signatures.Tracker, u *signatures.Unit, id string) (*signatures.Record, error) {
		return t.Reopen(u, "shop", id, signatures.Who{Actor: "bob"})
	})
}

// must fails the test on err.
func (h *harness) must(err error) {
	h.t.Helper()
	if err != nil {
		h.t.Fatal(err)
	}
}

// wantErr checks that err is target.
func (h *harness) wantErr(err, target error) {
	h.t.Helper()
	if !errors.Is(err, target) {
		h.t.Fatalf("error %v, want %v", err, target)
	}
}

// reload makes a new tracker over the same store, as after a restart.
func (h *harness) reload() {
	h.t.Helper()
	h.tracker = signatures.NewTracker(h.store, h.policy)
	if err := h.tracker.Reset(); err != nil {
		h.t.Fatal(err)
	}
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }
