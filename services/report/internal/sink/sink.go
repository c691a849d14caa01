// Package sink holds what report's sinks share: the delivery a sink is
// handed, the per-signature page every sink may read, the Sink interface,
// and the runner that drains each sink's outbox on its own.
package sink

import (
	"context"
	"errors"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
)

// Sink names.
const (
	Markdown = "markdown"
	Stdout   = "stdout"
	GitHub   = "github"
	Webhook  = "webhook"
)

// Names lists every known sink.
var Names = []string{Markdown, Stdout, GitHub, Webhook}

// ErrPermanent marks a delivery that retrying cannot fix (a refused
// request, a missing repository): the runner drops it and counts it failed.
var ErrPermanent = errors.New("permanent sink failure")

// Kind says what a delivery carries.
type Kind string

// Delivery kinds.
const (
	// KindReport carries a report made from a diagnosis.
	KindReport Kind = "report"
	// KindChange carries a signature event.
	KindChange Kind = "change"
)

// Delivery is one event for one sink, kept in the sink's outbox until the
// sink took it or gave up on it.
type Delivery struct {
	// Key is the event's id: one sink gets one delivery per event.
	Key string `json:"key"`
	// Seq orders the sink's outbox.
	Seq         uint64                     `json:"seq"`
	Kind        Kind                       `json:"kind"`
	SignatureID string                     `json:"signature_id"`
	Report      *contract.ReportPublished  `json:"report,omitempty"`
	Change      *contract.SignatureChanged `json:"change,omitempty"`
	// Attempts, NextAttempt and LastError are the sink's retry state.
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"next_attempt"`
	LastError   string    `json:"last_error,omitempty"`
}

// TellsAPerson reports whether d is worth telling a person: a report, or a
// lifecycle change (regressed, became flaky, status changed), not every new
// or recurring signature. The sinks that reach people want only these.
func (d *Delivery) TellsAPerson() bool {
	if d.Kind == KindReport {
		return true
	}
	if d.Change == nil {
		return false
	}
	switch d.Change.Change {
	case contract.ChangeRegressed, contract.ChangeFlaky, contract.ChangeStatus:
		return true
	}
	return false
}

// Sink takes deliveries. Deliver must be safe to call again with the same
// delivery after it failed: the runner retries until it returns nil or an
// error wrapping ErrPermanent.
type Sink interface {
	Name() string
	// Wants reports whether the sink has anything to do with d; deliveries
	// it does not want are never queued for it.
	Wants(d *Delivery) bool
	Deliver(ctx context.Context, d *Delivery) error
}

// Entry is one line of a signature's history.
type Entry struct {
	// EventID is the event the entry came from; it makes history
	// idempotent.
	EventID string    `json:"event_id"`
	Time    time.Time `json:"time"`
	// What is the change ("detected", "recurred", "regressed", "flaky"),
	// the status transition ("resolved", "muted", ...) or "diagnosed".
	What        string `json:"what"`
	Occurrences int64  `json:"occurrences"`
	Commit      string `json:"commit,omitempty"`
	Reason      string `json:"reason,omitempty"`
	// DiagnosisID, Category and Confidence are set on "diagnosed".
	DiagnosisID string  `json:"diagnosis_id,omitempty"`
	Category    string  `json:"category,omitempty"`
	Confidence  float64 `json:"confidence,omitempty"`
}

// MaxHistory caps a page's history; the oldest entries go first, but the
// first one (how the signature started) is kept.
const MaxHistory = 200

// Page is what report knows about one signature: its latest snapshot, its
// latest diagnosis and its history.
type Page struct {
	Signature contract.Signature `json:"signature"`
	// Updated is the time of the event the snapshot came from; an older
	// event does not overwrite a newer snapshot.
	Updated time.Time `json:"updated"`
	// Diagnosis is the latest diagnosis, if any.
	Diagnosis *contract.DiagnosisCompleted `json:"diagnosis,omitempty"`
	// File is the page's markdown file, relative to the reports directory;
	// chosen once, so the file is rewritten in place.
	File    string  `json:"file"`
	History []Entry `json:"history"`
}

// Add appends e unless an entry of the same event is there, keeping the
// history within MaxHistory. It reports whether e was added.
func (p *Page) Add(e Entry) bool {
	for _, h := range p.History {
		if h.EventID == e.EventID {
			return false
		}
	}
	p.History = append(p.History, e)
	if n := len(p.History); n > MaxHistory {
		p.History = append(p.History[:1], p.History[n-MaxHistory+1:]...)
	}
	return true
}

// Change is what handling one event changes, committed at once.
type Change struct {
	// EventID is the event handled. Without Report it is recorded as a
	// seen signature event; with Report, the report is recorded under
	// DiagnosisID instead.
	EventID     string
	DiagnosisID string
	Report      *contract.ReportPublished
	Page        *Page
	// Deliveries are queued, one per sink named, unless that sink already
	// took the event.
	Deliveries map[string]Delivery
}

// Issue is the GitHub issue opened for a signature.
type Issue struct {
	Number int    `json:"number"`
	URL    string `json:"url"`
	// Tags are the signature's tags last set as the issue's labels.
	Tags []string `json:"tags,omitempty"`
}
