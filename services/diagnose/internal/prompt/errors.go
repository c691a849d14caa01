package prompt

import (
	"fmt"
	"time"
)

// Kind says what a failed call to a model calls for.
type Kind int

// Kinds of failed calls.
const (
	// Transient failures may pass when the call is made again: a timeout,
	// a crash, a rate limit, an overloaded server, a malformed answer.
	Transient Kind = iota + 1
	// Permanent failures will not pass by trying again: a missing binary,
	// a rejected key, a request the server refuses.
	Permanent
	// OverLimit means the diagnoser's own limit on turns or dollars
	// stopped the call; trying again would hit it again.
	OverLimit
)

// String names the kind for logs and fallback reasons.
func (k Kind) String() string {
	switch k {
	case Transient:
		return "transient"
	case Permanent:
		return "permanent"
	case OverLimit:
		return "over limit"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// CallError is the error of a failed call to a model: what kind of
// failure it is, what the call cost when that is known, and how long the
// server asked to wait before the next one.
type CallError struct {
	// Diagnoser names the diagnoser, as in Diagnosis.Diagnoser.
	Diagnoser string
	Kind      Kind
	// Err says what failed; it wraps the diagnoser's sentinel errors.
	Err error
	// CostUSD is what the call cost, when CostKnown. A call that timed out
	// or crashed after it reached the model may have cost money nobody
	// reported: CostKnown is false then.
	CostUSD   float64
	CostKnown bool
	// RetryAfter is the wait the server asked for, 0 when it did not.
	RetryAfter time.Duration
}

// Error says which diagnoser failed and how.
func (e *CallError) Error() string {
	return fmt.Sprintf("%s: %v", e.Diagnoser, e.Err)
}

// Unwrap returns the underlying error.
func (e *CallError) Unwrap() error { return e.Err }
