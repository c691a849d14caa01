// Package signatures keeps the signatures of failures: it records each
// occurrence on its signature, follows each signature through its
// lifecycle (new, resolved, muted, regressed...), sees flaky tests and
// infrastructure storms, and decides which changes are worth announcing.
// It knows neither Badger nor NATS.
//
// A Tracker is used by one goroutine at a time. Every change goes into a
// Unit, which the caller stores at once (signatures, facts, runs and the
// events to publish) or, if it cannot, throws away with Reset.
package signatures

import (
	"fmt"
	"math/bits"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/ingest/grouping"
)

// Policy is what the lifecycle, flakiness and storms depend on.
type Policy struct {
	// AutoResolveAfter resolves an open signature with no occurrence for
	// that long; 0: never.
	AutoResolveAfter time.Duration
	// AutoResolvePasses resolves an open signature, not flaky, whose test
	// passed in that many runs since it last occurred; 0: never.
	AutoResolvePasses int64
	// FlakyWindow is how long pass and fail facts are kept: the window of
	// the failure rate, and of "failed and passed on the same commit".
	FlakyWindow time.Duration
	// FlakyMinSamples is how many commits (or runs, without a commit) a
	// test must have run on within the window before its failure rate
	// can make it flaky.
	FlakyMinSamples int
	// StormShare is the share of a run's tests that must fail for the run
	// to be an infrastructure storm; 0: no storms.
	StormShare float64
	// StormMinFailed is how many tests at least must fail for a storm:
	// two failures out of three tests are no storm.
	StormMinFailed int
	// StormWait is how long the events of a run's failures wait for the
	// run's report, which says how many tests it had; 0: they do not wait.
	StormWait time.Duration
}

// DefaultPolicy returns ingest's defaults.
func DefaultPolicy() Policy {
	return Policy{
		AutoResolveAfter: 7 * 24 * time.Hour,
		FlakyWindow:      14 * 24 * time.Hour,
		FlakyMinSamples:  10,
		StormShare:       0.5,
		StormMinFailed:   10,
		StormWait:        10 * time.Second,
	}
}

// Repository reads what the tracker does not hold in memory.
type Repository interface {
	// Records calls fn with every stored signature.
	Records(fn func(Record) error) error
	// Run returns a stored run, or found=false.
	Run(project, id string) (run Run, found bool, err error)
	// HeldRuns lists the runs that hold events.
	HeldRuns() ([]RunKey, error)
	// PassedOn returns the pass of a test at a place, or found=false.
	PassedOn(test TestKey, at Where) (fact Fact, found bool, err error)
	// FailedOn calls fn with every failure of a test at a place.
	FailedOn(test TestKey, at Where, fn func(Fact) error) error
	// TestFacts calls fn with every fact of a test.
	TestFacts(test TestKey, fn func(Fact) error) error
}

// Event is a signature change to announce.
type Event struct {
	// ID is the event's idempotency id, derived from the state so that a
	// replay gives the same one.
	ID         string
	Change     contract.SignatureChange
	Transition contract.SignatureTransition
	Reason     string
	// Signature is the signature as the change left it.
	Signature  contract.Signature
	Occurrence *contract.Failure
	Storm      bool
	// Hold, when set, keeps the event back until its run is judged (see
	// Unit.Releases).
	Hold *RunKey
}

// Release lets the events held for a run go, flagged as a storm or not.
type Release struct {
	Run   RunKey
	Storm bool
}

// Unit collects what one batch (or one operation) changes, to be stored at
// once.
type Unit struct {
	// Now is the time of the unit's changes.
	Now time.Time
	// Records are the changed signatures, each once.
	Records []*Record
	// Events are the changes to announce, in order.
	Events []Event
	// Facts are the passes and failures to keep for the flakiness window.
	Facts []Fact
	// Runs are the changed runs, each once.
	Runs []*Run
	// Releases are the runs whose held events go now.
	Releases []Release

	dirty     map[*Record]struct{}
	dirtyRuns map[*Run]struct{}
	// pending holds the unit's facts of tests with signatures, which the
	// repository cannot see yet.
	pending map[TestKey][]Fact
}

// NewUnit returns an empty unit at now.
func NewUnit(now time.Time) *Unit {
	return &Unit{Now: now}
}

// Empty reports whether the unit changes nothing.
func (u *Unit) Empty() bool {
	return len(u.Records) == 0 && len(u.Events) == 0 && len(u.Facts) == 0 && len(u.Runs) == 0 && len(u.Releases) == 0
}

func (u *Unit) touch(r *Record) {
	if u.dirty == nil {
		u.dirty = make(map[*Record]struct{})
	}
	if _, ok := u.dirty[r]; !ok {
		u.dirty[r] = struct{}{}
		u.Records = append(u.Records, r)
	}
}

func (u *Unit) touchRun(r *Run) {
	if u.dirtyRuns == nil {
		u.dirtyRuns = make(map[*Run]struct{})
	}
	if _, ok := u.dirtyRuns[r]; !ok {
		u.dirtyRuns[r] = struct{}{}
		u.Runs = append(u.Runs, r)
	}
}

// addFact adds a fact to store; watched facts (of tests with signatures)
// are also kept for the checks later in the unit.
func (u *Unit) addFact(f Fact, watched bool) {
	u.Facts = append(u.Facts, f)
	if watched {
		if u.pending == nil {
			u.pending = make(map[TestKey][]Fact)
		}
		u.pending[f.Test] = append(u.pending[f.Test], f)
	}
}

type sigKey struct{ project, id string }

// Limits on what the tracker caches beyond the signatures.
const (
	maxMarks = 200_000
	maxRuns  = 20_000
)

// Tracker applies occurrences, run reports, the passing of time and users'
// requests to signatures. It holds every signature in memory: there are
// few signatures and many occurrences, so the hot path reads no database.
type Tracker struct {
	repo   Repository
	policy Policy

	records map[sigKey]*Record
	// byTest lists the signatures of each test, for its passes.
	byTest map[TestKey][]*Record
	// runs caches runs; held lists those holding events, always cached.
	runs map[RunKey]*Run
	held map[RunKey]struct{}
	// marks are the failure facts written since the last Reset, so that
	// each is written (and checked against passes) once.
	marks map[failMark]struct{}
}

type failMark struct{ project, suite, name, commit, run, signature string }

// NewTracker returns a tracker reading from repo; call Reset to load it.
func NewTracker(repo Repository, policy Policy) *Tracker {
	return &Tracker{repo: repo, policy: policy}
}

// Reset throws away what is in memory and loads the signatures and the
// runs holding events from the repository. Call it first, and whenever a
// unit could not be stored, so that memory goes back to what is stored.
func (t *Tracker) Reset() error {
	t.records = make(map[sigKey]*Record)
	t.byTest = make(map[TestKey][]*Record)
	t.runs = make(map[RunKey]*Run)
	t.held = make(map[RunKey]struct{})
	t.marks = make(map[failMark]struct{})
	err := t.repo.Records(func(r Record) error {
		rec := r
		t.records[sigKey{rec.Project, rec.ID}] = &rec
		if rec.Test != nil {
			t.indexTest(TestKey{rec.Project, rec.Test.Suite, rec.Test.Name}, &rec)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("load signatures: %w", err)
	}
	keys, err := t.repo.HeldRuns()
	if err != nil {
		return fmt.Errorf("load runs holding events: %w", err)
	}
	for _, k := range keys {
		run, err := t.run(k)
		if err != nil {
			return err
		}
		// Events left held for a run that no longer waits (a crash while
		// they were being released, or a run record expired) go at the
		// next sweep.
		t.held[k] = struct{}{}
		if run.HeldUntil.IsZero() {
			run.HeldUntil = time.Unix(1, 0)
		}
	}
	return nil
}

// Len returns the number of signatures held.
func (t *Tracker) Len() int { return len(t.records) }

// Get returns a copy of a signature that shares nothing with the tracker.
func (t *Tracker) Get(project, id string) (Record, bool) {
	r, ok := t.records[sigKey{project, id}]
	if !ok {
		return Record{}, false
	}
	return r.Clone(), true
}

func (t *Tracker) indexTest(k TestKey, r *Record) {
	for _, have := range t.byTest[k] {
		if have == r {
			return
		}
	}
	t.byTest[k] = append(t.byTest[k], r)
}

// occurrence is a failure being recorded, with its run's verdict once
// asked for.
type occurrence struct {
	f      *contract.Failure
	judged bool
	storm  bool
	hold   *RunKey
}

// Record counts one occurrence, grouped as g, on its signature and adds
// the changes worth announcing to u: detected for a new signature;
// recurred on the 2nd, 4th, 8th... occurrence, so that diagnose hears of a
// growing bug without hearing of every one; regressed when a resolved
// signature comes back on a later commit; flaky when its test passed where
// it failed; unmuted when a mute runs out of occurrences. A muted
// signature, or a resolved one seen again on the commit it was resolved
// in, is counted silently.
func (t *Tracker) Record(u *Unit, f *contract.Failure, g grouping.Result) (*Record, error) {
	k := sigKey{f.Project, grouping.SignatureID(f.Project, g.Fingerprint)}
	o := occurrence{f: f}
	rec, ok := t.records[k]
	if ok {
		u.touch(rec)
	}
	if !ok {
		rec = newRecord(k.id, f, g)
		t.records[k] = rec
		if rec.Test != nil {
			t.indexTest(TestKey{rec.Project, rec.Test.Suite, rec.Test.Name}, rec)
		}
		u.touch(rec)
		if err := t.emit(u, rec, &o, contract.ChangeDetected, "", ""); err != nil {
			return nil, err
		}
	} else if err := t.recur(u, rec, &o); err != nil {
		return nil, err
	}
	rec.LastCounted = u.Now
	if err := t.failed(u, rec, &o); err != nil {
		return nil, err
	}
	return rec, nil
}

func newRecord(id string, f *contract.Failure, g grouping.Result) *Record {
	rec := &Record{Signature: contract.Signature{
		ID:                 id,
		Project:            f.Project,
		Fingerprint:        g.Fingerprint,
		FingerprintVersion: grouping.Version,
		Title:              g.Title,
		Kind:               f.Kind,
		ErrorType:          f.Error.Type,
		MessageTemplate:    g.Template,
		Components:         g.Components,
		Status:             contract.StatusNew,
		Occurrences:        1,
		FirstSeen:          f.Time,
		LastSeen:           f.Time,
		FirstCommit:        f.Run.Commit,
		LastCommit:         f.Run.Commit,
	}}
	if f.Test != nil {
		test := *f.Test
		rec.Test = &test
	}
	if f.Service != nil {
		svc := *f.Service
		rec.Service = &svc
	}
	return rec
}

func (t *Tracker) recur(u *Unit, rec *Record, o *occurrence) error {
	f := o.f
	rec.Occurrences++
	if f.Time.Before(rec.FirstSeen) {
		rec.FirstSeen = f.Time
		if f.Run.Commit != "" {
			rec.FirstCommit = f.Run.Commit
		}
	}
	if !f.Time.Before(rec.LastSeen) {
		rec.LastSeen = f.Time
		if f.Run.Commit != "" {
			rec.LastCommit = f.Run.Commit
		}
	}
	if rec.FirstCommit == "" {
		rec.FirstCommit = f.Run.Commit
	}
	rec.PassesSinceFailure = 0
	switch rec.Status {
	case contract.StatusMuted:
		if m := rec.Mute; m != nil && m.UntilOccurrences > 0 && rec.Occurrences >= m.UntilOccurrences {
			reason := fmt.Sprintf("unmuted by %s: reached %d occurrences, the end of its mute", AutoActor, m.UntilOccurrences)
			t.unmute(u, rec, Who{Actor: AutoActor, Reason: reason})
			return t.emit(u, rec, o, contract.ChangeStatus, contract.TransitionUnmuted, reason)
		}
		return nil
	case contract.StatusResolved:
		regressed, reason, err := t.regresses(rec, f)
		if err != nil || !regressed {
			return err
		}
		from := rec.Status
		rec.Status = contract.StatusRegressed
		rec.Regressed = true
		rec.Resolution = nil
		rec.audit(u.Now, Who{Actor: AutoActor}, string(contract.TransitionRegressed), from, reason)
		return t.emit(u, rec, o, contract.ChangeRegressed, contract.TransitionRegressed, reason)
	}
	if bits.OnesCount64(uint64(rec.Occurrences)) == 1 {
		return t.emit(u, rec, o, contract.ChangeRecurred, "", "")
	}
	return nil
}

// regresses decides whether an occurrence of a resolved signature is a
// regression: it must come after the resolution, and on another commit
// than the one the signature was resolved in. When both commits are
// known, an occurrence on a commit its test already ran on before the
// resolution (an older commit, built late) is no regression either.
func (t *Tracker) regresses(rec *Record, f *contract.Failure) (bool, string, error) {
	res := rec.Resolution
	if res == nil {
		return true, "seen again after it was resolved", nil
	}
	if res.Commit != "" && f.Run.Commit == res.Commit {
		return false, "", nil
	}
	if !f.Time.After(res.At) {
		return false, "", nil
	}
	if res.Commit == "" || f.Run.Commit == "" {
		return true, fmt.Sprintf("seen again on %s, after it was resolved on %s", f.Time.UTC().Format(time.RFC3339), res.At.UTC().Format(time.RFC3339)), nil
	}
	if f.Test != nil {
		older, err := t.ranBefore(TestKey{f.Project, f.Test.Suite, f.Test.Name}, f.Run.Commit, res.At)
		if err != nil || older {
			return false, "", err
		}
	}
	return true, fmt.Sprintf("seen on commit %s after it was resolved in %s", short(f.Run.Commit), short(res.Commit)), nil
}

// short shortens a commit hash for messages.
func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}

// emit adds an event for rec's change to u.
func (t *Tracker) emit(u *Unit, rec *Record, o *occurrence, ch contract.SignatureChange, tr contract.SignatureTransition, reason string) error {
	ev := Event{Change: ch, Transition: tr, Reason: reason, Signature: rec.Signature}
	if ch == contract.ChangeStatus {
		ev.ID = fmt.Sprintf("%s.%s.%d", rec.ID, ch, rec.AuditSeq)
	} else {
		ev.ID = fmt.Sprintf("%s.%s.%d", rec.ID, ch, rec.Occurrences)
	}
	if o != nil {
		ev.Occurrence = o.f
		if err := t.judge(u, o); err != nil {
			return err
		}
		ev.Storm, ev.Hold = o.storm, o.hold
	}
	u.Events = append(u.Events, ev)
	return nil
}
