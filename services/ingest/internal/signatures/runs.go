package signatures

import (
	"fmt"
	"strconv"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
)

// RunKey identifies a CI run.
type RunKey struct{ Project, ID string }

// Run is what ingest knows of a CI run: how many tests its reports had and
// how many failed, and whether the events of its failures wait for them.
//
// Storms are judged per run, from its reports: a run in which more than
// Policy.StormShare of the tests failed (and at least StormMinFailed) is
// an infrastructure storm, and the events its failures cause are flagged
// so that diagnose leaves them alone. The failures themselves are counted
// as always.
//
// Failures may come before their run's report. The events of a run's
// failures then wait (in the store, so a restart keeps them) until the
// first report of the run comes, or Policy.StormWait has passed; then they
// go, flagged or not. A failure that comes after the run's report is
// judged at once. After a wait that ran out, the run's later failures no
// longer wait, and are judged if a report comes after all.
type Run struct {
	Project string `json:"project"`
	ID      string `json:"id"`
	// Reports are the counts of each report of the run, by source and
	// attempt ("junit.xml#1").
	Reports map[string]RunCounts `json:"reports,omitempty"`
	// HeldUntil is when the events waiting for the run's report go
	// without it; zero when none wait.
	HeldUntil time.Time `json:"held_until,omitzero"`
	// Missing is set when the wait ran out before any report came.
	Missing bool `json:"missing,omitempty"`
	// Storm is the last verdict.
	Storm bool `json:"storm,omitempty"`
}

// RunCounts are the counts of one report.
type RunCounts struct {
	Total  int `json:"total"`
	Failed int `json:"failed"`
}

// Reported reports whether any report of the run has come.
func (r *Run) Reported() bool { return len(r.Reports) > 0 }

// Counts sums the run's reports.
func (r *Run) Counts() (total, failed int) {
	for _, c := range r.Reports {
		total += c.Total
		failed += c.Failed
	}
	return total, failed
}

// storm judges a run by its reports so far.
func (p Policy) storm(r *Run) bool {
	if p.StormShare <= 0 {
		return false
	}
	total, failed := r.Counts()
	return failed >= max(p.StormMinFailed, 1) && float64(failed) > p.StormShare*float64(total)
}

// run returns the run, from memory, the repository or new.
func (t *Tracker) run(k RunKey) (*Run, error) {
	if r, ok := t.runs[k]; ok {
		return r, nil
	}
	stored, found, err := t.repo.Run(k.Project, k.ID)
	if err != nil {
		return nil, fmt.Errorf("load run %s/%s: %w", k.Project, k.ID, err)
	}
	r := &stored
	if !found {
		r = &Run{Project: k.Project, ID: k.ID}
	}
	if len(t.runs) >= maxRuns {
		for key := range t.runs {
			if _, held := t.held[key]; !held {
				delete(t.runs, key)
			}
		}
	}
	t.runs[k] = r
	return r, nil
}

// judge decides, once per occurrence, whether the events it causes are
// part of a storm, or wait for the run's report.
func (t *Tracker) judge(u *Unit, o *occurrence) error {
	if o.judged {
		return nil
	}
	o.judged = true
	f := o.f
	if f.Kind != contract.KindTest || f.Run.ID == "" || t.policy.StormShare <= 0 {
		return nil
	}
	k := RunKey{f.Project, f.Run.ID}
	run, err := t.run(k)
	if err != nil {
		return err
	}
	switch {
	case run.Reported():
		o.storm = t.policy.storm(run)
	case run.Missing || t.policy.StormWait <= 0:
	default:
		if _, waiting := t.held[k]; !waiting {
			run.HeldUntil = u.Now.Add(t.policy.StormWait)
			t.held[k] = struct{}{}
			u.touchRun(run)
		}
		o.hold = &k
	}
	return nil
}

// RecordRun applies one message of a run report: the run's counts (which
// judge it, and let the events waiting for it go) and the tests that
// passed (which may make signatures flaky, count towards their automatic
// resolution and update their failure rate).
func (t *Tracker) RecordRun(u *Unit, r *contract.RunReported) error {
	if r.Run.ID != "" {
		k := RunKey{r.Project, r.Run.ID}
		run, err := t.run(k)
		if err != nil {
			return err
		}
		source := r.Source + "#" + strconv.Itoa(r.Run.Attempt)
		if c := (RunCounts{Total: r.Total, Failed: r.Failed}); run.Reports[source] != c {
			if run.Reports == nil {
				run.Reports = make(map[string]RunCounts)
			}
			run.Reports[source] = c
			run.Missing = false
			u.touchRun(run)
		}
		if storm := t.policy.storm(run); storm != run.Storm {
			run.Storm = storm
			u.touchRun(run)
		}
		if _, waiting := t.held[k]; waiting {
			u.Releases = append(u.Releases, Release{Run: k, Storm: run.Storm})
			run.HeldUntil = time.Time{}
			delete(t.held, k)
			u.touchRun(run)
		}
	}
	at, ok := whereOf(r.Run.Commit, r.Run.ID)
	if !ok {
		return nil // nowhere to place the passes
	}
	for suite, names := range r.PassedOnRetry {
		for _, name := range names {
			if err := t.pass(u, r, TestKey{r.Project, suite, name}, at, true); err != nil {
				return err
			}
		}
	}
	for suite, names := range r.Passed {
		retried := r.PassedOnRetry[suite]
		for _, name := range names {
			if contains(retried, name) {
				continue
			}
			if err := t.pass(u, r, TestKey{r.Project, suite, name}, at, false); err != nil {
				return err
			}
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// releaseExpired lets the events of runs whose wait ran out go: unflagged,
// unless a report came meanwhile (and a crash kept them from going then).
func (t *Tracker) releaseExpired(u *Unit) {
	for k := range t.held {
		run := t.runs[k]
		if run == nil || u.Now.Before(run.HeldUntil) {
			continue
		}
		storm := run.Reported() && t.policy.storm(run)
		u.Releases = append(u.Releases, Release{Run: k, Storm: storm})
		run.HeldUntil = time.Time{}
		run.Missing = !run.Reported()
		delete(t.held, k)
		u.touchRun(run)
	}
}
