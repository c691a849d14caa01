package contract

import (
	"fmt"
	"time"
)

// SignatureChange names why ingest announced a signature. It is the last
// token of the subject rounds.signatures.<project>.<change>.
type SignatureChange string

// Signature changes. Recurred is sent on meaningful growth only (the 2nd,
// 4th, 8th... occurrence), not per occurrence, so diagnose's input stays small.
const (
	ChangeDetected  SignatureChange = "detected"
	ChangeRecurred  SignatureChange = "recurred"
	ChangeRegressed SignatureChange = "regressed"
	ChangeFlaky     SignatureChange = "flaky"
	ChangeStatus    SignatureChange = "status"
)

// Valid reports whether c is a known change.
func (c SignatureChange) Valid() bool {
	switch c {
	case ChangeDetected, ChangeRecurred, ChangeRegressed, ChangeFlaky, ChangeStatus,
		ChangeRetriage, ChangeTagged: // see manage.go
		return true
	}
	return false
}

// SignatureTransition names the change of status a signature event came
// with: on a status change, what happened to the signature; on a regressed
// change, "regressed".
type SignatureTransition string

// Signature transitions.
const (
	TransitionResolved     SignatureTransition = "resolved"
	TransitionAutoResolved SignatureTransition = "auto-resolved"
	TransitionMuted        SignatureTransition = "muted"
	TransitionUnmuted      SignatureTransition = "unmuted"
	TransitionReopened     SignatureTransition = "reopened"
	TransitionRegressed    SignatureTransition = "regressed"
	// TransitionDiagnosed: diagnose completed a diagnosis of the
	// signature (rounds.diagnoses.<project>), and ingest marked it
	// diagnosed.
	TransitionDiagnosed SignatureTransition = "diagnosed"
)

// Valid reports whether t is a known transition.
func (t SignatureTransition) Valid() bool {
	switch t {
	case TransitionResolved, TransitionAutoResolved, TransitionMuted, TransitionUnmuted, TransitionReopened, TransitionRegressed, TransitionDiagnosed:
		return true
	}
	return false
}

// SignatureStatus is where a signature is in its lifecycle.
type SignatureStatus string

// Signature statuses.
const (
	StatusNew        SignatureStatus = "new"
	StatusDiagnosing SignatureStatus = "diagnosing"
	StatusDiagnosed  SignatureStatus = "diagnosed"
	StatusResolved   SignatureStatus = "resolved"
	StatusMuted      SignatureStatus = "muted"
	StatusRegressed  SignatureStatus = "regressed"
)

// Signature is one bug: every occurrence whose fingerprint is the same.
type Signature struct {
	ID                 string           `json:"id"`
	Project            string           `json:"project"`
	Fingerprint        string           `json:"fingerprint"`
	FingerprintVersion int              `json:"fingerprint_version"`
	Title              string           `json:"title"`
	Kind               FailureKind      `json:"kind"`
	Test               *TestIdentity    `json:"test,omitempty"`
	Service            *ServiceIdentity `json:"service,omitempty"`
	ErrorType          string           `json:"error_type,omitempty"`
	MessageTemplate    string           `json:"message_template,omitempty"`
	// Components say why occurrences grouped here: every value that went
	// into the fingerprint.
	Components  []Component     `json:"components"`
	Status      SignatureStatus `json:"status"`
	Occurrences int64           `json:"occurrences"`
	FirstSeen   time.Time       `json:"first_seen"`
	LastSeen    time.Time       `json:"last_seen"`
	FirstCommit string          `json:"first_commit,omitempty"`
	LastCommit  string          `json:"last_commit,omitempty"`
	Flaky       bool            `json:"flaky"`
	Regressed   bool            `json:"regressed"`
	// Tags are users' labels (rounds signatures tag), sorted; set by
	// ingest, so that every event about the signature carries them.
	Tags []string `json:"tags,omitempty"`
}

// Component is one input of a fingerprint.
type Component struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// SignatureChanged announces a change of a signature (rounds.signature.v1),
// with the occurrence that caused it.
type SignatureChanged struct {
	Schema     string          `json:"schema"`
	ID         string          `json:"id"`
	Time       time.Time       `json:"time"`
	Change     SignatureChange `json:"change"`
	Signature  Signature       `json:"signature"`
	Occurrence *Failure        `json:"occurrence,omitempty"`
	// Storm is set when the change came during an infrastructure storm
	// (many signatures failing at once, as when a network or a database
	// is down); diagnose leaves such changes alone.
	Storm bool `json:"storm,omitempty"`
	// Transition is the change of status that came with the event: always
	// set on a status change, and "regressed" on a regressed change.
	Transition SignatureTransition `json:"transition,omitempty"`
	// Reason says why, in words: who muted or resolved the signature and
	// why, what made it flaky, on which commit it came back.
	Reason string `json:"reason,omitempty"`
}

// Validate reports the first reason the event cannot be processed.
func (e *SignatureChanged) Validate() error {
	switch {
	case e.Schema != SchemaSignature:
		return fmt.Errorf("%w: schema %q is not %q", ErrInvalidEvent, e.Schema, SchemaSignature)
	case e.ID == "":
		return fmt.Errorf("%w: id is required", ErrInvalidEvent)
	case !e.Change.Valid():
		return fmt.Errorf("%w: change %q is unknown", ErrInvalidEvent, e.Change)
	case e.Transition != "" && !e.Transition.Valid():
		return fmt.Errorf("%w: transition %q is unknown", ErrInvalidEvent, e.Transition)
	case e.Signature.ID == "":
		return fmt.Errorf("%w: signature.id is required", ErrInvalidEvent)
	case !ValidToken(e.Signature.Project):
		return fmt.Errorf("%w: signature.project %q is not a subject token", ErrInvalidEvent, e.Signature.Project)
	}
	return nil
}

// DecodeSignatureChanged decodes and validates a signature event.
func DecodeSignatureChanged(data []byte) (SignatureChanged, error) {
	var e SignatureChanged
	if err := decodeStrict("signature event", data, 4*MaxFailureBytes, &e); err != nil {
		return SignatureChanged{}, err
	}
	if err := e.Validate(); err != nil {
		return SignatureChanged{}, err
	}
	return e, nil
}
