// Package triage decides whether a signature change is worth a diagnosis.
package triage

import (
	"fmt"

	"github.com/rounds-dev/rounds/pkg/contract"
)

// Rules configure triage.
type Rules struct {
	// MinOccurrences is how often a signature must have occurred before it
	// is diagnosed.
	MinOccurrences int64
}

// DefaultRules diagnose a signature from its first occurrence: a single
// failing test is already worth a look.
func DefaultRules() Rules { return Rules{MinOccurrences: 1} }

// Validate reports rules that make no sense.
func (r Rules) Validate() error {
	if r.MinOccurrences < 1 {
		return fmt.Errorf("triage: min occurrences must be at least 1, got %d", r.MinOccurrences)
	}
	return nil
}

// Decision is triage's answer, with the reason in words for logs.
type Decision struct {
	Diagnose bool
	Reason   string
}

// Decide says whether ev should be diagnosed, knowing whether its signature
// was diagnosed before.
func (r Rules) Decide(ev *contract.SignatureChanged, diagnosedBefore bool) Decision {
	sig := &ev.Signature
	switch {
	case sig.Status == contract.StatusMuted:
		return Decision{false, "signature is muted"}
	case sig.Status == contract.StatusResolved:
		return Decision{false, "signature is resolved"}
	case ev.Change == contract.ChangeRegressed:
		return Decision{true, "signature regressed"}
	case sig.Occurrences < r.MinOccurrences:
		return Decision{false, fmt.Sprintf("%d occurrences, fewer than %d", sig.Occurrences, r.MinOccurrences)}
	case diagnosedBefore:
		return Decision{false, "already diagnosed"}
	case ev.Change == contract.ChangeDetected || ev.Change == contract.ChangeRecurred:
		return Decision{true, fmt.Sprintf("%s with %d occurrences", ev.Change, sig.Occurrences)}
	}
	return Decision{false, fmt.Sprintf("change %q does not call for a diagnosis", ev.Change)}
}
