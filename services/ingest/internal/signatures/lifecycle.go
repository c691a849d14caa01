package signatures

import (
	"fmt"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
)

// The lifecycle of a signature:
//
//	new ──(occurrences)──▶ new (diagnosing and diagnosed are open too)
//	new / regressed ──diagnosis (see Diagnosed)──▶ diagnosed
//	open ──Resolve / quiet period / passes──▶ resolved
//	resolved ──occurrence on a later commit──▶ regressed (open)
//	resolved ──Reopen──▶ the status it had
//	open ──Mute──▶ muted ──Unmute / until / N more occurrences──▶ the status it had
//
// Every change of status is audited on the signature and announced as a
// status change (regressed as a regressed change).

// lookup returns a signature held in memory.
func (t *Tracker) lookup(project, id string) (*Record, error) {
	rec, ok := t.records[sigKey{project, id}]
	if !ok {
		return nil, fmt.Errorf("%w: %s/%s", ErrSignatureNotFound, project, id)
	}
	return rec, nil
}

// Mute mutes a signature: its occurrences are counted but not announced
// until the mute ends. It ends at until (zero: no end in time), after
// occurrences more occurrences (0: no end in count), whichever comes first,
// or at Unmute. Muting a muted signature changes the terms; a resolved
// signature cannot be muted.
func (t *Tracker) Mute(u *Unit, project, id string, until time.Time, occurrences int64, who Who) (*Record, error) {
	rec, err := t.lookup(project, id)
	if err != nil {
		return nil, err
	}
	switch {
	case occurrences < 0:
		return nil, fmt.Errorf("%w: mute for %d more occurrences", ErrInvalidRequest, occurrences)
	case !until.IsZero() && !until.After(u.Now):
		return nil, fmt.Errorf("%w: mute until %s, which has passed", ErrInvalidRequest, until.Format(time.RFC3339))
	case rec.Status == contract.StatusResolved:
		return nil, fmt.Errorf("%w: %s is resolved; reopen it to mute it", ErrTransition, id)
	}
	from := rec.Status
	previous := rec.Status
	if rec.Mute != nil {
		previous = rec.Mute.Previous
	}
	m := &Mute{Until: until, Previous: previous, By: who.Actor, Reason: who.Reason, At: u.Now}
	if occurrences > 0 {
		m.UntilOccurrences = rec.Occurrences + occurrences
	}
	rec.Mute = m
	rec.Status = contract.StatusMuted
	terms := "muted"
	switch {
	case !until.IsZero() && occurrences > 0:
		terms = fmt.Sprintf("muted until %s or %d more occurrences", until.UTC().Format(time.RFC3339), occurrences)
	case !until.IsZero():
		terms = fmt.Sprintf("muted until %s", until.UTC().Format(time.RFC3339))
	case occurrences > 0:
		terms = fmt.Sprintf("muted for %d more occurrences", occurrences)
	}
	rec.audit(u.Now, who, string(contract.TransitionMuted), from, who.Reason)
	u.touch(rec)
	return rec, t.emit(u, rec, nil, contract.ChangeStatus, contract.TransitionMuted, describe(terms, who))
}

// Unmute ends a mute: the signature goes back to the status it had.
func (t *Tracker) Unmute(u *Unit, project, id string, who Who) (*Record, error) {
	rec, err := t.lookup(project, id)
	if err != nil {
		return nil, err
	}
	if rec.Status != contract.StatusMuted {
		return nil, fmt.Errorf("%w: %s is %s, not muted", ErrTransition, id, rec.Status)
	}
	t.unmute(u, rec, who)
	return rec, t.emit(u, rec, nil, contract.ChangeStatus, contract.TransitionUnmuted, describe("unmuted", who))
}

func (t *Tracker) unmute(u *Unit, rec *Record, who Who) {
	from := rec.Status
	rec.Status = contract.StatusNew
	if rec.Mute != nil && rec.Mute.Previous != "" && rec.Mute.Previous != contract.StatusMuted {
		rec.Status = rec.Mute.Previous
	}
	rec.Mute = nil
	rec.audit(u.Now, who, string(contract.TransitionUnmuted), from, who.Reason)
	u.touch(rec)
}

// Resolve marks a signature resolved in a commit (empty when unknown). An
// occurrence after now on another commit is then a regression; one on
// inCommit leaves it resolved, and is counted.
func (t *Tracker) Resolve(u *Unit, project, id, inCommit string, who Who) (*Record, error) {
	rec, err := t.lookup(project, id)
	if err != nil {
		return nil, err
	}
	if rec.Status == contract.StatusResolved {
		return nil, fmt.Errorf("%w: %s is resolved already", ErrTransition, id)
	}
	t.resolve(u, rec, inCommit, u.Now, false, who)
	what := "resolved"
	if inCommit != "" {
		what = "resolved in " + short(inCommit)
	}
	return rec, t.emit(u, rec, nil, contract.ChangeStatus, contract.TransitionResolved, describe(what, who))
}

func (t *Tracker) resolve(u *Unit, rec *Record, commit string, at time.Time, auto bool, who Who) {
	from := rec.Status
	previous := rec.Status
	if rec.Mute != nil {
		previous = rec.Mute.Previous
		rec.Mute = nil
	}
	rec.Resolution = &Resolution{Commit: commit, At: at, Auto: auto, Previous: previous}
	rec.Status = contract.StatusResolved
	action := contract.TransitionResolved
	if auto {
		action = contract.TransitionAutoResolved
	}
	rec.audit(u.Now, who, string(action), from, who.Reason)
	u.touch(rec)
}

// Reopen reopens a resolved signature: it goes back to the status it had.
func (t *Tracker) Reopen(u *Unit, project, id string, who Who) (*Record, error) {
	rec, err := t.lookup(project, id)
	if err != nil {
		return nil, err
	}
	if rec.Status != contract.StatusResolved {
		return nil, fmt.Errorf("%w: %s is %s, not resolved", ErrTransition, id, rec.Status)
	}
	from := rec.Status
	rec.Status = contract.StatusNew
	if res := rec.Resolution; res != nil && res.Previous != "" && open(res.Previous) {
		rec.Status = res.Previous
	}
	rec.Resolution = nil
	rec.audit(u.Now, who, string(contract.TransitionReopened), from, who.Reason)
	u.touch(rec)
	return rec, t.emit(u, rec, nil, contract.ChangeStatus, contract.TransitionReopened, describe("reopened", who))
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// SweepLimit is the most signatures one Sweep changes, so that its unit
// fits in one transaction; the next sweep goes on.
const SweepLimit = 256

// Sweep applies the passing of time at u.Now: mutes whose time is up end,
// open signatures quiet for Policy.AutoResolveAfter are resolved (at most
// SweepLimit signatures change), and the events of runs whose report did
// not come in time go.
func (t *Tracker) Sweep(u *Unit) error {
	after := t.policy.AutoResolveAfter
	for _, rec := range t.records {
		if len(u.Records) >= SweepLimit {
			break
		}
		switch {
		case rec.Status == contract.StatusMuted && rec.Mute != nil && !rec.Mute.Until.IsZero() && !u.Now.Before(rec.Mute.Until):
			reason := fmt.Sprintf("its mute ended at %s", rec.Mute.Until.UTC().Format(time.RFC3339))
			t.unmute(u, rec, Who{Actor: AutoActor, Reason: reason})
			if err := t.emit(u, rec, nil, contract.ChangeStatus, contract.TransitionUnmuted, "unmuted by ingest: "+reason); err != nil {
				return err
			}
		case after > 0 && open(rec.Status) && u.Now.Sub(latest(rec.LastSeen, rec.LastCounted)) >= after:
			reason := fmt.Sprintf("no occurrence for %s", FormatDuration(after))
			t.resolve(u, rec, "", u.Now, true, Who{Actor: AutoActor, Reason: reason})
			if err := t.emit(u, rec, nil, contract.ChangeStatus, contract.TransitionAutoResolved, "auto-resolved: "+reason); err != nil {
				return err
			}
		}
	}
	t.releaseExpired(u)
	return nil
}
