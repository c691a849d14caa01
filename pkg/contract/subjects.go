// Package contract holds what the Rounds services and their clients agree on:
// the events they exchange, the subjects and streams that carry them, the
// headers they set and the schema version stamped into every payload.
//
// It depends on the standard library only, so any Go program can import it.
package contract

import (
	"errors"
	"fmt"
)

// Streams that carry each family of subjects. Whichever service starts first
// creates or updates them (see pkg/messaging).
const (
	StreamFailures   = "ROUNDS_FAILURES"
	StreamSignatures = "ROUNDS_SIGNATURES"
	StreamDiagnoses  = "ROUNDS_DIAGNOSES"
	StreamReports    = "ROUNDS_REPORTS"
	StreamDeadletter = "ROUNDS_DEADLETTER"
	StreamRuns       = "ROUNDS_RUNS"
)

// Subject filters covering every subject of each stream.
const (
	FailuresAll   = "rounds.failures.>"
	SignaturesAll = "rounds.signatures.>"
	DiagnosesAll  = "rounds.diagnoses.>"
	ReportsAll    = "rounds.reports.>"
	DeadletterAll = "rounds.deadletter.>"
	RunsAll       = "rounds.runs.>"
)

// Headers set on Rounds messages.
const (
	// HeaderMsgID is JetStream's de-duplication header; every Rounds event
	// carries its idempotency id there.
	HeaderMsgID = "Nats-Msg-Id"
	// HeaderDeadletterReason says why a message was dead-lettered.
	HeaderDeadletterReason = "Rounds-Deadletter-Reason"
	// HeaderDeadletterSubject is the subject the dead-lettered message came from.
	HeaderDeadletterSubject = "Rounds-Deadletter-Subject"
	// HeaderDeadletterService is the service that gave up on the message.
	HeaderDeadletterService = "Rounds-Deadletter-Service"
)

// ErrInvalidToken is returned when a project or service name cannot be used
// as a subject token.
var ErrInvalidToken = errors.New("invalid subject token")

// ValidToken reports whether s can be one token of a NATS subject: 1 to 64
// characters of ASCII letters, digits, '-' and '_'.
func ValidToken(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

func checkToken(what, s string) error {
	if !ValidToken(s) {
		return fmt.Errorf("%s %q: %w (use 1-64 of A-Z a-z 0-9 - _)", what, s, ErrInvalidToken)
	}
	return nil
}

// FailureSubject is where failures of a project are published.
func FailureSubject(project string) (string, error) {
	if err := checkToken("project", project); err != nil {
		return "", err
	}
	return "rounds.failures." + project, nil
}

// RunSubject is where the run reports of a project are published: which
// tests passed (RunReported).
func RunSubject(project string) (string, error) {
	if err := checkToken("project", project); err != nil {
		return "", err
	}
	return "rounds.runs." + project, nil
}

// SignatureSubject is where ingest announces a change of a signature.
func SignatureSubject(project string, change SignatureChange) (string, error) {
	if err := checkToken("project", project); err != nil {
		return "", err
	}
	if !change.Valid() {
		return "", fmt.Errorf("signature change %q: %w", change, ErrInvalidToken)
	}
	return "rounds.signatures." + project + "." + string(change), nil
}

// DiagnosisSubject is where diagnose publishes completed diagnoses.
func DiagnosisSubject(project string) (string, error) {
	if err := checkToken("project", project); err != nil {
		return "", err
	}
	return "rounds.diagnoses." + project, nil
}

// ReportSubject is where report publishes report events.
func ReportSubject(project string) (string, error) {
	if err := checkToken("project", project); err != nil {
		return "", err
	}
	return "rounds.reports." + project, nil
}

// ReportFilter is the subject filter for the reports of one project, or of
// every project when project is empty.
func ReportFilter(project string) (string, error) {
	if project == "" {
		return ReportsAll, nil
	}
	return ReportSubject(project)
}

// DeadletterSubject is where a service puts messages it cannot process.
func DeadletterSubject(service string) (string, error) {
	if err := checkToken("service", service); err != nil {
		return "", err
	}
	return "rounds.deadletter." + service, nil
}
