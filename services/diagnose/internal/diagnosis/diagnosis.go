// Package diagnosis is diagnose's use case: on each signature change,
// decide through triage whether to diagnose, gather the evidence, run the
// diagnoser, record the result and publish it, exactly once per event.
package diagnosis

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/diagnose/internal/codebase"
	"github.com/rounds-dev/rounds/services/diagnose/internal/heuristic"
	"github.com/rounds-dev/rounds/services/diagnose/internal/store"
	"github.com/rounds-dev/rounds/services/diagnose/internal/triage"
)

// Store is what the use case keeps.
type Store interface {
	Handled(eventID string) (bool, *contract.DiagnosisCompleted, error)
	Latest(project, sigID string) (*contract.DiagnosisCompleted, error)
	Occurrences(project, sigID string) ([]contract.Failure, error)
	Record(ev *contract.SignatureChanged, occurrences []contract.Failure, produced *contract.DiagnosisCompleted) error
}

// Publisher announces a diagnosis. Publishing the same diagnosis twice
// must be harmless (its id is the de-duplication key).
type Publisher interface {
	PublishDiagnosis(ctx context.Context, d *contract.DiagnosisCompleted) error
}

// Diagnoser diagnoses a signature.
type Diagnoser interface {
	Diagnose(ctx context.Context, in heuristic.Input) (contract.Diagnosis, error)
}

// Diagnosing handles signature changes.
type Diagnosing struct {
	store     Store
	publisher Publisher
	diagnoser Diagnoser
	rules     triage.Rules
	tree      *codebase.Tree
	log       *slog.Logger
	now       func() time.Time
}

// New returns the use case; tree may be nil when no codebase is mounted.
func New(st Store, pub Publisher, d Diagnoser, rules triage.Rules, tree *codebase.Tree, log *slog.Logger) *Diagnosing {
	return &Diagnosing{store: st, publisher: pub, diagnoser: d, rules: rules, tree: tree, log: log, now: time.Now}
}

// OnSignatureChanged handles one signature event. A redelivered event is
// not diagnosed again; the diagnosis it produced is published again, which
// JetStream drops if the first publication got through.
func (u *Diagnosing) OnSignatureChanged(ctx context.Context, ev *contract.SignatureChanged) error {
	handled, produced, err := u.store.Handled(ev.ID)
	if err != nil {
		return err
	}
	if handled {
		if produced != nil {
			return u.publisher.PublishDiagnosis(ctx, produced)
		}
		return nil
	}

	sig := &ev.Signature
	occurrences, err := u.store.Occurrences(sig.Project, sig.ID)
	if err != nil {
		return err
	}
	if ev.Occurrence != nil {
		occurrences = append(occurrences, *ev.Occurrence)
		if len(occurrences) > store.RecentOccurrences {
			occurrences = occurrences[len(occurrences)-store.RecentOccurrences:]
		}
	}
	latest, err := u.store.Latest(sig.Project, sig.ID)
	if err != nil {
		return err
	}
	decision := u.rules.Decide(ev, latest != nil)
	log := u.log.With("signature_id", sig.ID, "event_id", ev.ID, "change", ev.Change)
	if !decision.Diagnose || len(occurrences) == 0 {
		log.Debug("not diagnosing", "reason", decision.Reason)
		return u.store.Record(ev, occurrences, nil)
	}

	started := u.now()
	d, err := u.diagnoser.Diagnose(ctx, heuristic.Input{Signature: *sig, Occurrences: occurrences, Tree: u.tree})
	if err != nil {
		return fmt.Errorf("diagnose signature %s: %w", sig.ID, err)
	}
	done := &contract.DiagnosisCompleted{
		Schema:    contract.SchemaDiagnosis,
		ID:        "diagnosis." + ev.ID,
		Time:      u.now().UTC(),
		Signature: *sig,
		Diagnosis: d,
	}
	done.Signature.Status = contract.StatusDiagnosed
	if err := u.store.Record(ev, occurrences, done); err != nil {
		return err
	}
	log.Info("diagnosed", "reason", decision.Reason, "category", d.Category, "confidence", d.Confidence, "took", u.now().Sub(started).Round(time.Millisecond))
	return u.publisher.PublishDiagnosis(ctx, done)
}
