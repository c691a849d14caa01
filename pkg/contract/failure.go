package contract

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Schema versions stamped into the "schema" field of every payload. A
// consumer rejects (dead-letters) a payload whose schema it does not know.
const (
	SchemaFailure   = "rounds.failure.v1"
	SchemaSignature = "rounds.signature.v1"
	SchemaDiagnosis = "rounds.diagnosis.v1"
	SchemaReport    = "rounds.report.v1"
)

// Limits on a failure event. Larger payloads are refused rather than cut, so
// that nothing is silently lost.
const (
	MaxFailureBytes = 1 << 20 // whole encoded event
	MaxIDLen        = 256
	MaxMessageBytes = 64 << 10
	MaxStackBytes   = 512 << 10
	MaxFrames       = 512
)

// ErrInvalidEvent is wrapped by every validation and decoding error: the
// payload can never be processed and belongs in the dead-letter subject.
var ErrInvalidEvent = errors.New("invalid event")

// FailureKind says whether a failure came from a test or from a running service.
type FailureKind string

// Failure kinds.
const (
	KindTest    FailureKind = "test"
	KindRuntime FailureKind = "runtime"
)

// Failure is one occurrence of a failed test or a runtime error
// (rounds.failure.v1), published on rounds.failures.<project>.
type Failure struct {
	Schema  string      `json:"schema"`
	ID      string      `json:"id"`
	Project string      `json:"project"`
	Time    time.Time   `json:"time"`
	Kind    FailureKind `json:"kind"`
	// Test identifies the failed test; required when Kind is "test".
	Test *TestIdentity `json:"test,omitempty"`
	// Service identifies the process that raised a runtime error.
	Service    *ServiceIdentity  `json:"service,omitempty"`
	Error      ErrorInfo         `json:"error"`
	Run        RunInfo           `json:"run"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

// TestIdentity names a test as its runner reported it.
type TestIdentity struct {
	Framework string `json:"framework,omitempty"`
	// Suite is the test's class, package or enclosing suites.
	Suite string `json:"suite,omitempty"`
	Name  string `json:"name"`
	File  string `json:"file,omitempty"`
	Line  int    `json:"line,omitempty"`
}

// ServiceIdentity names the process a runtime error came from.
type ServiceIdentity struct {
	Name        string `json:"name"`
	Version     string `json:"version,omitempty"`
	Environment string `json:"environment,omitempty"`
	Host        string `json:"host,omitempty"`
}

// ErrorInfo is what went wrong: a type, a message and a stack, as raw text,
// structured frames or both.
type ErrorInfo struct {
	Type    string  `json:"type,omitempty"`
	Message string  `json:"message,omitempty"`
	Stack   string  `json:"stack,omitempty"`
	Frames  []Frame `json:"frames,omitempty"`
}

// Frame is one stack frame, innermost first.
type Frame struct {
	Function string `json:"function,omitempty"`
	Module   string `json:"module,omitempty"`
	File     string `json:"file,omitempty"`
	Line     int    `json:"line,omitempty"`
	Column   int    `json:"column,omitempty"`
	// InApp says whether the frame belongs to the project rather than to a
	// library or the runtime; nil leaves the decision to ingest.
	InApp *bool `json:"in_app,omitempty"`
}

// RunInfo places a failure in a CI run or deployment.
type RunInfo struct {
	ID      string `json:"id,omitempty"`
	Commit  string `json:"commit,omitempty"`
	Branch  string `json:"branch,omitempty"`
	Attempt int    `json:"attempt,omitempty"`
	CIURL   string `json:"ci_url,omitempty"`
}

// Validate reports the first reason the failure cannot be processed, wrapped
// around ErrInvalidEvent.
func (f *Failure) Validate() error {
	invalid := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidEvent, fmt.Sprintf(format, args...))
	}
	switch {
	case f.Schema != SchemaFailure:
		return invalid("schema %q is not %q", f.Schema, SchemaFailure)
	case f.ID == "":
		return invalid("id is required")
	case len(f.ID) > MaxIDLen:
		return invalid("id is %d bytes, more than %d", len(f.ID), MaxIDLen)
	case !ValidToken(f.Project):
		return invalid("project %q is not a subject token (1-64 of A-Z a-z 0-9 - _)", f.Project)
	case f.Time.IsZero():
		return invalid("time is required")
	case f.Kind != KindTest && f.Kind != KindRuntime:
		return invalid("kind %q is neither %q nor %q", f.Kind, KindTest, KindRuntime)
	case f.Kind == KindTest && (f.Test == nil || f.Test.Name == ""):
		return invalid("test.name is required for a test failure")
	case f.Kind == KindRuntime && (f.Service == nil || f.Service.Name == ""):
		return invalid("service.name is required for a runtime failure")
	case f.Error.Type == "" && f.Error.Message == "":
		return invalid("error.type or error.message is required")
	case len(f.Error.Message) > MaxMessageBytes:
		return invalid("error.message is %d bytes, more than %d", len(f.Error.Message), MaxMessageBytes)
	case len(f.Error.Stack) > MaxStackBytes:
		return invalid("error.stack is %d bytes, more than %d", len(f.Error.Stack), MaxStackBytes)
	case len(f.Error.Frames) > MaxFrames:
		return invalid("error.frames has %d frames, more than %d", len(f.Error.Frames), MaxFrames)
	}
	return nil
}

// DecodeFailure decodes and validates one failure event. Every error wraps
// ErrInvalidEvent.
func DecodeFailure(data []byte) (Failure, error) {
	var f Failure
	if err := decodeFailure(data, &f); err != nil {
		return Failure{}, err
	}
	if err := f.Validate(); err != nil {
		return Failure{}, err
	}
	return f, nil
}

// decodeStrict refuses what encoding/json would quietly accept: oversized
// payloads and invalid UTF-8 (which it would turn into U+FFFD).
func decodeStrict(what string, data []byte, limit int, v any) error {
	if len(data) > limit {
		return fmt.Errorf("%w: %s is %d bytes, more than %d", ErrInvalidEvent, what, len(data), limit)
	}
	if !utf8.Valid(data) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalidEvent, what)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w: decode %s: %v", ErrInvalidEvent, what, err)
	}
	return nil
}
