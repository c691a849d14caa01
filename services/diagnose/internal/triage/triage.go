// Package triage decides whether a signature change is worth a diagnosis,
// and in what order the signatures waiting for one are diagnosed.
package triage

import (
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
)

// Rules configure triage.
type Rules struct {
	// MinOccurrences is how often a signature must have occurred before it
	// is diagnosed; a regression is diagnosed whatever its count.
	MinOccurrences int64
	// Cooldown is how long after its last diagnosis a signature is not
	// diagnosed again; a regression ignores it.
	Cooldown time.Duration
	// Flaky diagnoses flaky signatures too, which are otherwise left
	// alone: their failures say more about timing than about a bug.
	Flaky bool
}

// DefaultRules diagnose a signature from its first occurrence (a single
// failing test is already worth a look), at most once an hour, and leave
// flaky signatures alone.
func DefaultRules() Rules { return Rules{MinOccurrences: 1, Cooldown: time.Hour} }

// Validate reports rules that make no sense.
func (r Rules) Validate() error {
	if r.MinOccurrences < 1 {
		return fmt.Errorf("triage: min occurrences must be at least 1, got %d", r.MinOccurrences)
	}
	if r.Cooldown < 0 {
		return fmt.Errorf("triage: cooldown must not be negative, got %v", r.Cooldown)
	}
	return nil
}

// Decision is triage's answer, with the reason in words for logs.
type Decision struct {
	Diagnose bool
	// Cancel says that a diagnosis still waiting for the signature must be
	// dropped too: the signature was muted or resolved meanwhile.
	Cancel bool
	Reason string
}

// Decide says whether ev should be diagnosed, given when its signature
// was last diagnosed (the zero time when never) and the time now.
func (r Rules) Decide(ev *contract.SignatureChanged, lastDiagnosis, now time.Time) Decision {
	sig := &ev.Signature
	switch {
	case ev.Change == contract.ChangeRetriage:
		// Someone asked: diagnosed whatever the status, the cooldown, the
		// flakiness or the count.
		return Decision{Diagnose: true, Reason: "retriage asked (" + ev.Reason + ")"}
	case sig.Status == contract.StatusMuted:
		return Decision{Cancel: true, Reason: "signature is muted"}
	case sig.Status == contract.StatusResolved:
		return Decision{Cancel: true, Reason: "signature is resolved"}
	case ev.Storm:
		return Decision{Reason: "the change came with an infrastructure storm"}
	case ev.Change == contract.ChangeRegressed:
		return Decision{Diagnose: true, Reason: "signature regressed"}
	case (sig.Flaky || ev.Change == contract.ChangeFlaky) && !r.Flaky:
		return Decision{Reason: "signature is flaky (flaky signatures are not diagnosed unless asked)"}
	case ev.Change != contract.ChangeDetected && ev.Change != contract.ChangeRecurred && ev.Change != contract.ChangeFlaky:
		return Decision{Reason: fmt.Sprintf("change %q does not call for a diagnosis", ev.Change)}
	case sig.Occurrences < r.MinOccurrences:
		return Decision{Reason: fmt.Sprintf("%d occurrences, fewer than %d", sig.Occurrences, r.MinOccurrences)}
	}
	if d, cooling := r.cooling(lastDiagnosis, now); cooling {
		return d
	}
	return Decision{Diagnose: true, Reason: fmt.Sprintf("%s with %d occurrences", ev.Change, sig.Occurrences)}
}

// Recheck says whether a signature that waited is still worth its
// diagnosis, now that it is its turn: it may have been diagnosed while it
// waited.
func (r Rules) Recheck(p *Pending, lastDiagnosis, now time.Time) Decision {
	if p.Regression > 0 {
		return Decision{Diagnose: true, Reason: "signature regressed"}
	}
	if p.Retriage > 0 {
		return Decision{Diagnose: true, Reason: "retriage asked"}
	}
	if d, cooling := r.cooling(lastDiagnosis, now); cooling {
		return d
	}
	return Decision{Diagnose: true, Reason: p.Reason}
}

func (r Rules) cooling(lastDiagnosis, now time.Time) (Decision, bool) {
	if lastDiagnosis.IsZero() {
		return Decision{}, false
	}
	if ago := now.Sub(lastDiagnosis); ago < r.Cooldown {
		return Decision{Reason: fmt.Sprintf("diagnosed %v ago, within the cooldown of %v", ago.Round(time.Second), r.Cooldown)}, true
	}
	return Decision{}, false
}

// Priority says how urgently a signature should be diagnosed. Signatures
// come first when tagged critical, then when regressed, then when never
// diagnosed, then by frequency (in powers of two), then by recency.
type Priority struct {
	Critical    bool      `json:"critical,omitempty"`
	Regressed   bool      `json:"regressed,omitempty"`
	New         bool      `json:"new,omitempty"`
	Occurrences int64     `json:"occurrences"`
	LastSeen    time.Time `json:"last_seen"`
}

// PriorityOf is the priority of the signature of ev, given whether it was
// diagnosed before and whether any of its recent occurrences is tagged
// critical. A signature a user tagged critical (rounds signatures tag) is
// critical too.
func PriorityOf(ev *contract.SignatureChanged, diagnosedBefore, critical bool) Priority {
	return Priority{
		Critical:    critical || TaggedCritical(&ev.Signature),
		Regressed:   ev.Change == contract.ChangeRegressed,
		New:         !diagnosedBefore,
		Occurrences: ev.Signature.Occurrences,
		LastSeen:    ev.Signature.LastSeen,
	}
}

// Compare returns a positive number when p comes before q, a negative one
// when q comes first, and 0 when neither does.
func (p Priority) Compare(q Priority) int {
	if c := compareBool(p.Critical, q.Critical); c != 0 {
		return c
	}
	if c := compareBool(p.Regressed, q.Regressed); c != 0 {
		return c
	}
	if c := compareBool(p.New, q.New); c != 0 {
		return c
	}
	// 5 and 7 occurrences are as frequent as each other; 40 is more.
	if c := bits.Len64(uint64(max(p.Occurrences, 0))) - bits.Len64(uint64(max(q.Occurrences, 0))); c != 0 {
		return c
	}
	if c := p.LastSeen.Compare(q.LastSeen); c != 0 {
		return c
	}
	switch {
	case p.Occurrences > q.Occurrences:
		return 1
	case p.Occurrences < q.Occurrences:
		return -1
	}
	return 0
}

func compareBool(a, b bool) int {
	switch {
	case a && !b:
		return 1
	case b && !a:
		return -1
	}
	return 0
}

// TaggedCritical reports whether a user tagged the signature critical, in
// any case.
func TaggedCritical(sig *contract.Signature) bool {
	return slices.ContainsFunc(sig.Tags, func(tag string) bool { return strings.EqualFold(tag, "critical") })
}

// Critical reports whether a failure is tagged critical: its attribute
// "critical" is true (as strconv.ParseBool reads it), or its attribute
// "tags", a comma-separated list, holds "critical" in any case.
func Critical(f *contract.Failure) bool {
	if f == nil {
		return false
	}
	if v, ok := f.Attributes["critical"]; ok {
		if b, err := strconv.ParseBool(strings.TrimSpace(v)); err == nil && b {
			return true
		}
	}
	for tag := range strings.SplitSeq(f.Attributes["tags"], ",") {
		if strings.EqualFold(strings.TrimSpace(tag), "critical") {
			return true
		}
	}
	return false
}

// Pending is a signature waiting for a diagnosis, or in one.
type Pending struct {
	Project     string `json:"project"`
	SignatureID string `json:"signature_id"`
	// Event is the latest signature event that called for the diagnosis,
	// without its occurrence (the occurrences are kept apart).
	Event    contract.SignatureChanged `json:"event"`
	Priority Priority                  `json:"priority"`
	// Reason is what triage said, for logs.
	Reason string `json:"reason"`
	// Regression is the Version at which the latest regression was merged
	// here, 0 when none waits: a regression is diagnosed despite the
	// cooldown, once.
	Regression uint64 `json:"regression,omitempty"`
	// Retriage is the Version at which the latest retriage was merged
	// here, 0 when none waits: like a regression, a retriage is
	// diagnosed despite the cooldown, once.
	Retriage uint64 `json:"retriage,omitempty"`
	// Enqueued is when the signature started waiting; of two signatures of
	// the same priority, the one waiting longer comes first.
	Enqueued time.Time `json:"enqueued"`
	// Version grows with every event merged, so that the end of a
	// diagnosis can tell whether another event came in meanwhile.
	Version uint64 `json:"version"`
	// InFlight is set while the signature is being diagnosed.
	InFlight bool `json:"in_flight,omitempty"`
	// Attempts counts the diagnoses that failed; NotBefore is when the
	// next may start.
	Attempts  int       `json:"attempts,omitempty"`
	NotBefore time.Time `json:"not_before,omitzero"`
}

// NewPending is the record of ev waiting for its diagnosis.
func NewPending(ev *contract.SignatureChanged, priority Priority, reason string, now time.Time) Pending {
	e := *ev
	e.Occurrence = nil
	p := Pending{
		Project:     ev.Signature.Project,
		SignatureID: ev.Signature.ID,
		Event:       e,
		Priority:    priority,
		Reason:      reason,
		Enqueued:    now,
		Version:     1,
	}
	if ev.Change == contract.ChangeRegressed {
		p.Regression = p.Version
	}
	if ev.Change == contract.ChangeRetriage {
		p.Retriage = p.Version
	}
	return p
}

// Merge folds next, a new reason to diagnose a signature, into what was
// waiting for it (nil when nothing was): the signature waits once, with
// the latest event, and keeps its place in the queue, its flight and what
// makes it urgent.
func Merge(old *Pending, next Pending) Pending {
	if old == nil {
		return next
	}
	out := next
	if old.Event.Signature.Occurrences > next.Event.Signature.Occurrences {
		// An event overtaken by a later one: keep the later signature.
		out.Event, out.Priority.Occurrences, out.Priority.LastSeen = old.Event, old.Priority.Occurrences, old.Priority.LastSeen
	}
	out.Priority.Regressed = old.Priority.Regressed || next.Priority.Regressed
	out.Priority.Critical = old.Priority.Critical || next.Priority.Critical
	out.Priority.New = old.Priority.New && next.Priority.New
	out.Enqueued = old.Enqueued
	out.Version = old.Version + 1
	out.Regression = old.Regression
	if next.Regression > 0 {
		out.Regression = out.Version
	}
	out.Retriage = old.Retriage
	if next.Retriage > 0 {
		out.Retriage = out.Version
	}
	out.InFlight = old.InFlight
	out.Attempts, out.NotBefore = old.Attempts, old.NotBefore
	return out
}

// Landed updates p, which was in flight from version claimed on and
// whose diagnosis completed, for the events that came in during the
// flight: the regression diagnosed is no longer waiting, nor is the
// signature new.
func (p *Pending) Landed(claimed uint64) {
	p.InFlight = false
	if p.Regression <= claimed {
		p.Regression = 0
		p.Priority.Regressed = false
	}
	if p.Retriage <= claimed {
		p.Retriage = 0
	}
	p.Priority.New = false
}

// Before reports whether p should be diagnosed before q.
func (p *Pending) Before(q *Pending) bool {
	if c := p.Priority.Compare(q.Priority); c != 0 {
		return c > 0
	}
	if !p.Enqueued.Equal(q.Enqueued) {
		return p.Enqueued.Before(q.Enqueued)
	}
	return p.Project+"/"+p.SignatureID < q.Project+"/"+q.SignatureID
}
