package contract

import (
	"fmt"
	"time"
)

// Diagnosis is what a diagnoser concluded about a signature.
type Diagnosis struct {
	// Category is a short machine-readable class such as
	// "assertion", "nil-dereference" or "timeout".
	Category     string     `json:"category"`
	RootCause    string     `json:"root_cause"`
	Evidence     []Evidence `json:"evidence"`
	SuggestedFix string     `json:"suggested_fix"`
	// Confidence is between 0 and 1.
	Confidence float64 `json:"confidence"`
	Diagnoser  string  `json:"diagnoser"`
	Model      string  `json:"model,omitempty"`
	CostUSD    float64 `json:"cost_usd"`
	// Fallback is set when the configured diagnoser could not answer and
	// the heuristic one did instead; FallbackReason says why.
	Fallback       bool   `json:"fallback,omitempty"`
	FallbackReason string `json:"fallback_reason,omitempty"`
}

// Evidence is one fact a diagnosis rests on.
type Evidence struct {
	// Kind is "frame", "source", "occurrence", "commit" or "note".
	Kind    string `json:"kind"`
	Summary string `json:"summary"`
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Snippet string `json:"snippet,omitempty"`
}

// DiagnosisCompleted carries a diagnosis of a signature
// (rounds.diagnosis.v1) on rounds.diagnoses.<project>.
type DiagnosisCompleted struct {
	Schema    string    `json:"schema"`
	ID        string    `json:"id"`
	Time      time.Time `json:"time"`
	Signature Signature `json:"signature"`
	Diagnosis Diagnosis `json:"diagnosis"`
}

// Validate reports the first reason the event cannot be processed.
func (e *DiagnosisCompleted) Validate() error {
	switch {
	case e.Schema != SchemaDiagnosis:
		return fmt.Errorf("%w: schema %q is not %q", ErrInvalidEvent, e.Schema, SchemaDiagnosis)
	case e.ID == "":
		return fmt.Errorf("%w: id is required", ErrInvalidEvent)
	case e.Time.IsZero():
		return fmt.Errorf("%w: time is required", ErrInvalidEvent)
	case e.Signature.ID == "":
		return fmt.Errorf("%w: signature.id is required", ErrInvalidEvent)
	case !ValidToken(e.Signature.Project):
		return fmt.Errorf("%w: signature.project %q is not a subject token", ErrInvalidEvent, e.Signature.Project)
	}
	return nil
}

// DecodeDiagnosisCompleted decodes and validates a diagnosis event.
func DecodeDiagnosisCompleted(data []byte) (DiagnosisCompleted, error) {
	var e DiagnosisCompleted
	if err := decodeStrict("diagnosis event", data, 4*MaxFailureBytes, &e); err != nil {
		return DiagnosisCompleted{}, err
	}
	if err := e.Validate(); err != nil {
		return DiagnosisCompleted{}, err
	}
	return e, nil
}
