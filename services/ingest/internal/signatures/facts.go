package signatures

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
)

// TestKey identifies a test of a project.
type TestKey struct{ Project, Suite, Name string }

// Where places a pass or a failure: "c" and the commit, or "r" and the run
// id when the commit is unknown.
type Where string

// whereOf places a run; ok is false when neither is known (or either holds
// a NUL byte, which the store's keys cannot).
func whereOf(commit, run string) (Where, bool) {
	switch {
	case strings.IndexByte(commit, 0) >= 0 || strings.IndexByte(run, 0) >= 0:
		return "", false
	case commit != "":
		return Where("c" + commit), true
	case run != "":
		return Where("r" + run), true
	}
	return "", false
}

// Commit returns the commit of a place, or "" when it is a run.
func (w Where) Commit() string {
	if strings.HasPrefix(string(w), "c") {
		return string(w[1:])
	}
	return ""
}

// Valid reports whether a test can be keyed in the store.
func (k TestKey) Valid() bool {
	return strings.IndexByte(k.Suite, 0) < 0 && strings.IndexByte(k.Name, 0) < 0
}

// Fact is a pass or a failure of a test at a place, kept for the flakiness
// window. Facts are written blind: writing one again changes nothing but
// its time and run.
type Fact struct {
	Test  TestKey
	Where Where
	// Passed is set for a pass; a failure names its Signature.
	Passed    bool
	Signature string
	// Run is the run of the fact, the latest written.
	Run string
	// Retry is set on a pass that came after failed attempts in its run.
	Retry bool
	Time  time.Time
}

// failed records the fact of a test failure on its signature, once per
// test, place and signature, and checks it against a pass at the same
// place: the test failed and passed on the same commit (or in the same
// run), so the signature is flaky.
func (t *Tracker) failed(u *Unit, rec *Record, o *occurrence) error {
	f := o.f
	if f.Kind != contract.KindTest || f.Test == nil {
		return nil
	}
	m := failMark{f.Project, f.Test.Suite, f.Test.Name, f.Run.Commit, "", rec.ID}
	if m.commit == "" {
		m.run = f.Run.ID
	}
	if _, done := t.marks[m]; done {
		return nil
	}
	at, ok := whereOf(f.Run.Commit, f.Run.ID)
	tk := TestKey{f.Project, f.Test.Suite, f.Test.Name}
	if !ok || !tk.Valid() {
		return nil
	}
	if len(t.marks) >= maxMarks {
		clear(t.marks)
	}
	t.marks[m] = struct{}{}
	// A signature grouping several tests (by a rule) hears of each.
	t.indexTest(tk, rec)
	u.addFact(Fact{Test: tk, Where: at, Signature: rec.ID, Run: f.Run.ID, Time: f.Time}, true)
	if rec.Flaky {
		return nil
	}
	pass, found, err := t.repo.PassedOn(tk, at)
	if err != nil {
		return fmt.Errorf("look up passes of %s: %w", tk.Suite+"."+tk.Name, err)
	}
	if !found {
		return nil
	}
	return t.becomeFlaky(u, rec, o, flakyReason(at, pass, f.Run.ID))
}

func flakyReason(at Where, pass Fact, failedRun string) string {
	switch {
	case pass.Retry && (failedRun == "" || pass.Run == failedRun):
		return fmt.Sprintf("its test passed on a retry in run %s", pass.Run)
	case failedRun != "" && pass.Run == failedRun:
		return fmt.Sprintf("its test failed and passed in run %s", pass.Run)
	case at.Commit() != "":
		return fmt.Sprintf("its test failed and passed on commit %s", short(at.Commit()))
	}
	return fmt.Sprintf("its test failed and passed in run %s", pass.Run)
}

// becomeFlaky marks a signature flaky, and announces it unless it is
// muted.
func (t *Tracker) becomeFlaky(u *Unit, rec *Record, o *occurrence, reason string) error {
	rec.Flaky = true
	rec.FlakyReason = reason
	rec.audit(u.Now, Who{Actor: AutoActor}, ActionFlaky, rec.Status, reason)
	u.touch(rec)
	if rec.Status == contract.StatusMuted {
		return nil
	}
	return t.emit(u, rec, o, contract.ChangeFlaky, "", reason)
}

// pass records a pass of a test. For each signature of the test: a
// failure at the same place makes it flaky; otherwise, a pass after its
// last occurrence counts towards its automatic resolution. Then its
// failure rate is computed again.
func (t *Tracker) pass(u *Unit, r *contract.RunReported, tk TestKey, at Where, retry bool) error {
	if !tk.Valid() {
		return nil
	}
	recs := t.byTest[tk]
	fact := Fact{Test: tk, Where: at, Passed: true, Run: r.Run.ID, Retry: retry, Time: r.Time}
	u.addFact(fact, len(recs) > 0)
	if len(recs) == 0 {
		return nil
	}
	failedHere := map[string]Fact{}
	err := t.repo.FailedOn(tk, at, func(f Fact) error {
		failedHere[f.Signature] = f
		return nil
	})
	if err != nil {
		return fmt.Errorf("look up failures of %s: %w", tk.Suite+"."+tk.Name, err)
	}
	for _, f := range u.pending[tk] {
		if !f.Passed && f.Where == at {
			failedHere[f.Signature] = f
		}
	}
	for _, rec := range recs {
		if fail, ok := failedHere[rec.ID]; ok {
			if !rec.Flaky {
				if err := t.becomeFlaky(u, rec, nil, flakyReason(at, fact, fail.Run)); err != nil {
					return err
				}
			}
			continue
		}
		if fact.Time.Before(rec.LastSeen) {
			continue // a pass from before its last occurrence
		}
		rec.PassesSinceFailure++
		u.touch(rec)
		if n := t.policy.AutoResolvePasses; n > 0 && rec.PassesSinceFailure >= n && !rec.Flaky && open(rec.Status) {
			reason := fmt.Sprintf("its test passed in %d runs since it last failed", rec.PassesSinceFailure)
			t.resolve(u, rec, at.Commit(), fact.Time, true, Who{Actor: AutoActor, Reason: reason})
			if err := t.emit(u, rec, nil, contract.ChangeStatus, contract.TransitionAutoResolved, "auto-resolved: "+reason); err != nil {
				return err
			}
		}
	}
	return t.rate(u, tk, recs)
}

// placeFacts sums the facts of one place of a test.
type placeFacts struct {
	at     Where
	time   time.Time
	passed bool
	failed []string // signatures
}

// rate computes the failure rate of each signature of a test over the
// window, from the facts of the test. A signature that failed on some of
// at least FlakyMinSamples places and passed on the others, failing again
// after it had passed, is flaky: its failures come and go on their own.
func (t *Tracker) rate(u *Unit, tk TestKey, recs []*Record) error {
	places := map[Where]*placeFacts{}
	add := func(f Fact) {
		p := places[f.Where]
		if p == nil {
			p = &placeFacts{at: f.Where}
			places[f.Where] = p
		}
		if f.Time.After(p.time) {
			p.time = f.Time
		}
		if f.Passed {
			p.passed = true
		} else if !slices.Contains(p.failed, f.Signature) {
			p.failed = append(p.failed, f.Signature)
		}
	}
	if err := t.repo.TestFacts(tk, func(f Fact) error { add(f); return nil }); err != nil {
		return fmt.Errorf("read facts of %s: %w", tk.Suite+"."+tk.Name, err)
	}
	for _, f := range u.pending[tk] {
		add(f)
	}
	ordered := make([]*placeFacts, 0, len(places))
	for _, p := range places {
		ordered = append(ordered, p)
	}
	slices.SortFunc(ordered, func(a, b *placeFacts) int { return a.time.Compare(b.time) })
	for _, rec := range recs {
		rate := FailureRate{Commits: len(ordered)}
		// 0: no failure yet; 1: failed; 2: passed after failing.
		state, intermittent := 0, false
		for _, p := range ordered {
			failed := slices.Contains(p.failed, rec.ID)
			if failed {
				rate.Failed++
			}
			switch {
			case failed && state == 2:
				intermittent = true
			case failed:
				state = 1
			case p.passed && state == 1:
				state = 2
			}
		}
		if rec.FailureRate == nil || *rec.FailureRate != rate {
			rec.FailureRate = &rate
			u.touch(rec)
		}
		if !rec.Flaky && intermittent && rate.Commits >= t.policy.FlakyMinSamples && rate.Failed < rate.Commits {
			reason := fmt.Sprintf("its test failed on %d of the %d commits it ran on in the last %s, and failed again after passing",
				rate.Failed, rate.Commits, FormatDuration(t.policy.FlakyWindow))
			if err := t.becomeFlaky(u, rec, nil, reason); err != nil {
				return err
			}
		}
	}
	return nil
}

// ranBefore reports whether a test ran on commit before at, as far as the
// facts of the window tell.
func (t *Tracker) ranBefore(tk TestKey, commit string, at time.Time) (bool, error) {
	if !tk.Valid() {
		return false, nil
	}
	place, ok := whereOf(commit, "")
	if !ok {
		return false, nil
	}
	found := false
	err := t.repo.TestFacts(tk, func(f Fact) error {
		if f.Where == place && f.Time.Before(at) {
			found = true
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("read facts of %s: %w", tk.Suite+"."+tk.Name, err)
	}
	return found, nil
}

// FormatDuration writes whole days as "7d", other durations as Go does.
func FormatDuration(d time.Duration) string {
	const day = 24 * time.Hour
	if d > 0 && d%day == 0 {
		return fmt.Sprintf("%dd", d/day)
	}
	return d.String()
}
