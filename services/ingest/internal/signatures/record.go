package signatures

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
)

// Record is a signature with what ingest keeps about its lifecycle. It is
// stored as one JSON object: the signature's fields, then these.
type Record struct {
	contract.Signature
	// Mute holds the terms of a mute while the signature is muted.
	Mute *Mute `json:"mute,omitempty"`
	// Resolution says where and when the signature was resolved, while it
	// is.
	Resolution *Resolution `json:"resolution,omitempty"`
	// FlakyReason says what made the signature flaky.
	FlakyReason string `json:"flaky_reason,omitempty"`
	// FailureRate is how often its test failed with it over the flakiness
	// window, as last computed when the test passed somewhere.
	FailureRate *FailureRate `json:"failure_rate,omitempty"`
	// PassesSinceFailure counts the runs its test passed in since the
	// signature last occurred.
	PassesSinceFailure int64 `json:"passes_since_failure,omitempty"`
	// LastCounted is when ingest last counted an occurrence, by its own
	// clock: the quiet period runs from it or from LastSeen, whichever is
	// later, so that old failures published late are not resolved at once.
	LastCounted time.Time `json:"last_counted,omitzero"`
	// Audit lists the latest changes of status, oldest first: who made
	// them, when and why. At most maxAudit are kept.
	Audit []AuditEntry `json:"audit,omitempty"`
	// AuditSeq is the number of the last audit entry, trimmed ones
	// included; status events are numbered by it.
	AuditSeq int64 `json:"audit_seq,omitempty"`
}

// Mute is how long a signature stays muted.
type Mute struct {
	// Until is when the mute ends; zero: no end in time.
	Until time.Time `json:"until,omitzero"`
	// UntilOccurrences is the occurrence count at which the mute ends; 0:
	// no end in count. With neither, the mute lasts until Unmute.
	UntilOccurrences int64 `json:"until_occurrences,omitempty"`
	// Previous is the status the signature goes back to when unmuted.
	Previous contract.SignatureStatus `json:"previous"`
	By       string                   `json:"by"`
	Reason   string                   `json:"reason,omitempty"`
	At       time.Time                `json:"at"`
}

// Resolution is where and when a signature was resolved.
type Resolution struct {
	// Commit is the commit the fix is in; empty when unknown (then any
	// later occurrence is a regression).
	Commit string    `json:"commit,omitempty"`
	At     time.Time `json:"at"`
	// Auto is set when ingest resolved it, after a quiet period or passes.
	Auto bool `json:"auto,omitempty"`
	// Previous is the status the signature goes back to when reopened.
	Previous contract.SignatureStatus `json:"previous"`
}

// FailureRate is how often a test failed with a signature over the
// flakiness window: on how many of the commits (or runs, where the commit
// is unknown) it ran on.
type FailureRate struct {
	Failed  int `json:"failed"`
	Commits int `json:"commits"`
}

// AuditEntry records one change of a signature's status or flakiness.
type AuditEntry struct {
	Seq int64     `json:"seq"`
	At  time.Time `json:"at"`
	// Actor is who made the change: a user, or "ingest" for what ingest
	// decided itself.
	Actor string `json:"actor"`
	// Action is the transition (muted, unmuted, resolved, auto-resolved,
	// reopened, regressed), or "flaky".
	Action string                   `json:"action"`
	From   contract.SignatureStatus `json:"from"`
	To     contract.SignatureStatus `json:"to"`
	Reason string                   `json:"reason,omitempty"`
}

// maxAudit bounds the audit entries kept on a signature.
const maxAudit = 32

// AutoActor is the actor of the changes ingest makes itself.
const AutoActor = "ingest"

// ActionFlaky is the audit action of a signature becoming flaky.
const ActionFlaky = "flaky"

// Who says who asks for a change, and why.
type Who struct {
	Actor  string
	Reason string
}

// Errors of the lifecycle operations.
var (
	// ErrSignatureNotFound means no signature has the project and id.
	ErrSignatureNotFound = errors.New("signature not found")
	// ErrTransition means the signature's status does not allow the
	// change (unmuting a signature that is not muted...).
	ErrTransition = errors.New("status does not allow this change")
	// ErrInvalidRequest means the request itself is wrong (a mute that
	// ends in the past...).
	ErrInvalidRequest = errors.New("invalid request")
)

// open reports whether a status counts a signature as open: not resolved
// and not muted.
func open(s contract.SignatureStatus) bool {
	switch s {
	case contract.StatusResolved, contract.StatusMuted:
		return false
	}
	return true
}

// audit appends an entry, trimming the oldest beyond maxAudit, and returns
// its number.
func (r *Record) audit(at time.Time, who Who, action string, from contract.SignatureStatus, reason string) int64 {
	r.AuditSeq++
	actor := who.Actor
	if actor == "" {
		actor = "unknown"
	}
	e := AuditEntry{Seq: r.AuditSeq, At: at, Actor: actor, Action: action, From: from, To: r.Status, Reason: reason}
	if len(r.Audit) >= maxAudit {
		// A new array: event snapshots may share the old one.
		r.Audit = append(append(make([]AuditEntry, 0, maxAudit), r.Audit[len(r.Audit)-maxAudit+1:]...), e)
	} else {
		r.Audit = append(r.Audit, e)
	}
	return r.AuditSeq
}

// describe is who.Reason prefixed by the actor, for an event's reason.
func describe(what string, who Who) string {
	actor := who.Actor
	if actor == "" {
		actor = "unknown"
	}
	if who.Reason == "" {
		return fmt.Sprintf("%s by %s", what, actor)
	}
	return fmt.Sprintf("%s by %s: %s", what, actor, who.Reason)
}

// Clone returns a copy of r that shares nothing with it: what the tracker
// hands out of its loop, so that callers on other goroutines read a
// snapshot while the loop goes on changing the record.
func (r *Record) Clone() Record {
	c := *r
	c.Components = slices.Clone(r.Components)
	if r.Test != nil {
		t := *r.Test
		c.Test = &t
	}
	if r.Service != nil {
		s := *r.Service
		c.Service = &s
	}
	if r.Mute != nil {
		m := *r.Mute
		c.Mute = &m
	}
	if r.Resolution != nil {
		res := *r.Resolution
		c.Resolution = &res
	}
	if r.FailureRate != nil {
		fr := *r.FailureRate
		c.FailureRate = &fr
	}
	c.Audit = slices.Clone(r.Audit)
	c.Signature.Tags = slices.Clone(r.Tags)
	return c
}
