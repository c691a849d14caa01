package signatures

import (
	"fmt"

	"github.com/rounds-dev/rounds/pkg/contract"
)

// DiagnoseActor is the actor of the changes a diagnosis makes.
const DiagnoseActor = "diagnose"

// Diagnosed applies a completed diagnosis: an open signature that awaited
// one (new, diagnosing, or regressed when the diagnosis is of the
// regression) becomes diagnosed, announced as a status change
// "diagnosed". A muted or resolved signature keeps its status, but goes
// back to diagnosed rather than to what it was when unmuted or reopened.
// A diagnosed signature, or a diagnosis of a signature as it was before it
// regressed, changes nothing: the same diagnosis applied twice changes
// nothing either.
func (t *Tracker) Diagnosed(u *Unit, d *contract.DiagnosisCompleted) (*Record, error) {
	rec, err := t.lookup(d.Signature.Project, d.Signature.ID)
	if err != nil {
		return nil, err
	}
	switch rec.Status {
	case contract.StatusMuted:
		if rec.Mute != nil && awaitsDiagnosis(rec.Mute.Previous, d) {
			rec.Mute.Previous = contract.StatusDiagnosed
			u.touch(rec)
		}
		return rec, nil
	case contract.StatusResolved:
		if rec.Resolution != nil && awaitsDiagnosis(rec.Resolution.Previous, d) {
			rec.Resolution.Previous = contract.StatusDiagnosed
			u.touch(rec)
		}
		return rec, nil
	}
	if !awaitsDiagnosis(rec.Status, d) {
		return rec, nil
	}
	from := rec.Status
	rec.Status = contract.StatusDiagnosed
	reason := fmt.Sprintf("diagnosed by %s", orUnknown(d.Diagnosis.Diagnoser))
	if d.Diagnosis.Category != "" {
		reason += fmt.Sprintf(" as %s (confidence %.2f)", d.Diagnosis.Category, d.Diagnosis.Confidence)
	}
	reason += " in " + d.ID
	rec.audit(u.Now, Who{Actor: DiagnoseActor, Reason: reason}, string(contract.TransitionDiagnosed), from, reason)
	u.touch(rec)
	return rec, t.emit(u, rec, nil, contract.ChangeStatus, contract.TransitionDiagnosed, reason)
}

// awaitsDiagnosis reports whether a signature of status s becomes
// diagnosed with d. A regressed one does only when d is of the
// regression: diagnose saw it regressed.
func awaitsDiagnosis(s contract.SignatureStatus, d *contract.DiagnosisCompleted) bool {
	switch s {
	case contract.StatusNew, contract.StatusDiagnosing, "":
		return true
	case contract.StatusRegressed:
		return d.Signature.Status == contract.StatusRegressed
	}
	return false
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
