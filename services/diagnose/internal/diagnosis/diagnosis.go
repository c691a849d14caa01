// Package diagnosis is diagnose's use case. Each signature change is
// triaged and, when worth a diagnosis, queued, at once and exactly once
// per event; a worker then diagnoses the queued signatures one at a time,
// the most urgent first, with the evidence gathered for each, records each
// diagnosis and publishes it.
//
// The queue and the flight of each diagnosis are kept in the store, so
// that a process dying mid-diagnosis leaves the signature waiting again,
// and a diagnosis recorded but not yet published is published after a
// restart.
package diagnosis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/diagnose/internal/evidence"
	"github.com/rounds-dev/rounds/services/diagnose/internal/heuristic"
	"github.com/rounds-dev/rounds/services/diagnose/internal/triage"
)

const (
	// RecentOccurrences is how many occurrences are kept per signature.
	RecentOccurrences = 5
	// maxKnownSignatures bounds the signatures searched for related ones.
	maxKnownSignatures = 5000
	// maxAttempts is how often a signature's diagnosis may fail before it
	// is given up on until its next event.
	maxAttempts = 5
	// idlePoll is how long an idle worker waits without being woken; a
	// safety net only, as queuing wakes it.
	idlePoll = time.Minute
)

// Store is what the use case keeps: the events handled, the signatures
// seen and their recent occurrences, the queue, the diagnoses and their
// outbox.
type Store interface {
	Handled(eventID string) (bool, error)
	Latest(project, sigID string) (*contract.DiagnosisCompleted, error)
	Occurrences(project, sigID string) ([]contract.Failure, error)
	Signatures(project string, limit int) ([]contract.Signature, error)
	Enqueue(ev *contract.SignatureChanged, occurrences []contract.Failure, update func(old *triage.Pending) *triage.Pending) error
	Pending() ([]triage.Pending, error)
	Claim(project, sigID string) (*triage.Pending, error)
	Complete(claimed *triage.Pending, d *contract.DiagnosisCompleted) error
	Drop(claimed *triage.Pending) error
	Release(claimed *triage.Pending, attempts int, notBefore time.Time) error
	Recover() (int, error)
	Unpublished() ([]contract.DiagnosisCompleted, error)
	Published(diagnosisID string) error
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

// Diagnosing handles signature changes and diagnoses what they queue.
type Diagnosing struct {
	store     Store
	publisher Publisher
	diagnoser Diagnoser
	rules     triage.Rules
	gatherer  *evidence.Gatherer
	log       *slog.Logger
	now       func() time.Time
	// wake tells an idle worker that a signature was queued.
	wake chan struct{}
	// retryMin and retryMax bound the waits after a failure: of the
	// store or the publisher, and between attempts of a diagnosis.
	retryMin, retryMax time.Duration
}

// New returns the use case; gatherer gathers the evidence of each
// diagnosis and may be nil for none.
func New(st Store, pub Publisher, d Diagnoser, rules triage.Rules, gatherer *evidence.Gatherer, log *slog.Logger) *Diagnosing {
	return &Diagnosing{
		store: st, publisher: pub, diagnoser: d, rules: rules, gatherer: gatherer, log: log,
		now:      time.Now,
		wake:     make(chan struct{}, 1),
		retryMin: 100 * time.Millisecond,
		retryMax: 30 * time.Second,
	}
}

// OnSignatureChanged triages one signature event and queues its signature
// when it is worth a diagnosis, recording in the same transaction that the
// event was handled, so that a redelivered event changes nothing. It does
// not diagnose: the worker (Run) does.
func (u *Diagnosing) OnSignatureChanged(ctx context.Context, ev *contract.SignatureChanged) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	handled, err := u.store.Handled(ev.ID)
	if err != nil || handled {
		return err
	}

	sig := &ev.Signature
	occurrences, err := u.store.Occurrences(sig.Project, sig.ID)
	if err != nil {
		return err
	}
	if ev.Occurrence != nil {
		occurrences = append(occurrences, *ev.Occurrence)
		if len(occurrences) > RecentOccurrences {
			occurrences = occurrences[len(occurrences)-RecentOccurrences:]
		}
	}
	latest, err := u.store.Latest(sig.Project, sig.ID)
	if err != nil {
		return err
	}
	var last time.Time
	if latest != nil {
		last = latest.Time
	}
	now := u.now()
	decision := u.rules.Decide(ev, last, now)
	if decision.Diagnose && len(occurrences) == 0 {
		decision = triage.Decision{Reason: "no occurrence to diagnose from"}
	}
	critical := false
	for i := range occurrences {
		critical = critical || triage.Critical(&occurrences[i])
	}
	priority := triage.PriorityOf(ev, latest != nil, critical)

	err = u.store.Enqueue(ev, occurrences, func(old *triage.Pending) *triage.Pending {
		switch {
		case decision.Cancel:
			return nil
		case !decision.Diagnose:
			if old != nil && priority.Critical && !old.Priority.Critical {
				// Tagged critical while it waits: it goes first now.
				bumped := *old
				bumped.Priority.Critical = true
				return &bumped
			}
			return old
		}
		next := triage.Merge(old, triage.NewPending(ev, priority, decision.Reason, now))
		return &next
	})
	if err != nil {
		return err
	}
	log := u.log.With("signature_id", sig.ID, "event_id", ev.ID, "change", ev.Change)
	if !decision.Diagnose {
		log.Debug("not diagnosing", "reason", decision.Reason)
		return nil
	}
	log.Debug("queued for diagnosis", "reason", decision.Reason, "critical", critical)
	select {
	case u.wake <- struct{}{}:
	default: // the worker is awake already
	}
	return nil
}

// Run is the worker: it puts the signatures a dead process left in
// flight back in the queue, then publishes what the outbox holds and
// diagnoses the queued signatures, the most urgent first, until ctx ends.
// A failure of the store or the publisher is retried with backoff; Run
// fails only when it cannot read the queue to start with.
func (u *Diagnosing) Run(ctx context.Context) error {
	n, err := u.store.Recover()
	if err != nil {
		return fmt.Errorf("recover the diagnoses in flight: %w", err)
	}
	if n > 0 {
		u.log.Info("signatures left in flight by the last run are waiting again", "count", n)
	}
	delay := time.Duration(0)
	for ctx.Err() == nil {
		wait, err := u.step(ctx)
		switch {
		case ctx.Err() != nil:
		case err != nil:
			delay = min(max(2*delay, u.retryMin), u.retryMax)
			u.log.Error("diagnose worker: will retry", "err", err, "retry_in", delay)
			u.sleep(ctx, delay, false)
		default:
			delay = 0
			if wait > 0 {
				u.sleep(ctx, wait, true)
			}
		}
	}
	return nil
}

// sleep waits for d, for ctx to end, or, when wakeable, for a signature
// to be queued.
func (u *Diagnosing) sleep(ctx context.Context, d time.Duration, wakeable bool) {
	t := time.NewTimer(d)
	defer t.Stop()
	var wake <-chan struct{}
	if wakeable {
		wake = u.wake
	}
	select {
	case <-ctx.Done():
	case <-t.C:
	case <-wake:
	}
}

// step publishes the outbox, then diagnoses the most urgent signature
// that may be. It returns how long to wait before the next step: 0 when
// there may be more to do at once. A publisher down does not hold up the
// diagnoses: they wait in the outbox, and the error is returned for the
// worker to slow down.
func (u *Diagnosing) step(ctx context.Context) (time.Duration, error) {
	flushErr := u.flush(ctx)
	pending, err := u.store.Pending()
	if err != nil {
		return 0, errors.Join(flushErr, err)
	}
	now := u.now()
	var next *triage.Pending
	wait := idlePoll
	for i := range pending {
		p := &pending[i]
		switch {
		case p.InFlight:
		case p.NotBefore.After(now):
			wait = min(wait, p.NotBefore.Sub(now))
		case next == nil || p.Before(next):
			next = p
		}
	}
	if next == nil {
		return wait, flushErr
	}
	claimed, err := u.store.Claim(next.Project, next.SignatureID)
	if err != nil || claimed == nil {
		return 0, errors.Join(flushErr, err) // gone or taken meanwhile: look again
	}
	return 0, errors.Join(flushErr, u.diagnose(ctx, claimed))
}

// flush publishes the diagnoses recorded but not yet published.
func (u *Diagnosing) flush(ctx context.Context) error {
	outbox, err := u.store.Unpublished()
	if err != nil {
		return err
	}
	for i := range outbox {
		if err := u.publish(ctx, &outbox[i]); err != nil {
			return err
		}
	}
	return nil
}

func (u *Diagnosing) publish(ctx context.Context, d *contract.DiagnosisCompleted) error {
	if err := u.publisher.PublishDiagnosis(ctx, d); err != nil {
		return fmt.Errorf("publish diagnosis %s: %w", d.ID, err)
	}
	return u.store.Published(d.ID)
}

// diagnose diagnoses a claimed signature, records the diagnosis and
// publishes it. Whatever happens, the claim ends: with the diagnosis, with
// the signature dropped when it no longer needs one, or with it waiting
// again after a failure, which is logged rather than returned; except when
// ctx ends, which leaves it in flight for the next run to recover.
func (u *Diagnosing) diagnose(ctx context.Context, claimed *triage.Pending) (err error) {
	sig := claimed.Event.Signature
	log := u.log.With("signature_id", sig.ID, "event_id", claimed.Event.ID)
	landed := false
	defer func() {
		if landed || ctx.Err() != nil {
			return
		}
		attempts := claimed.Attempts + 1
		if attempts >= maxAttempts {
			if derr := u.store.Drop(claimed); derr != nil {
				err = errors.Join(err, derr)
				return
			}
			log.Error("diagnosis failed: giving up until the signature's next event", "attempts", attempts, "err", err)
			err = nil
			return
		}
		retry := min(u.retryMin<<attempts, u.retryMax)
		if rerr := u.store.Release(claimed, attempts, u.now().Add(retry)); rerr != nil {
			err = errors.Join(err, rerr)
			return
		}
		log.Warn("diagnosis failed: will try again", "attempts", attempts, "retry_in", retry, "err", err)
		err = nil
	}()

	latest, err := u.store.Latest(sig.Project, sig.ID)
	if err != nil {
		return err
	}
	var last time.Time
	if latest != nil {
		last = latest.Time
	}
	if d := u.rules.Recheck(claimed, last, u.now()); !d.Diagnose {
		log.Debug("not diagnosing after all", "reason", d.Reason)
		landed = true
		return u.store.Drop(claimed)
	}
	occurrences, err := u.store.Occurrences(sig.Project, sig.ID)
	if err != nil {
		return err
	}
	if len(occurrences) == 0 {
		log.Warn("no occurrence to diagnose from")
		landed = true
		return u.store.Drop(claimed)
	}

	started := u.now()
	in := heuristic.Input{Signature: sig, Occurrences: occurrences, Tree: u.gatherer.Tree()}
	in.Evidence = u.gather(ctx, in)
	d, err := u.diagnoser.Diagnose(ctx, in)
	if err != nil {
		return fmt.Errorf("diagnose signature %s: %w", sig.ID, err)
	}
	// A paid diagnoser cites what it chose to; the evidence gathered is
	// worth keeping with its answer all the same.
	d.Evidence = evidence.Merge(d.Evidence, in.Evidence.Items())
	done := &contract.DiagnosisCompleted{
		Schema:    contract.SchemaDiagnosis,
		ID:        "diagnosis." + claimed.Event.ID,
		Time:      u.now().UTC(),
		Signature: sig,
		Diagnosis: d,
	}
	done.Signature.Status = contract.StatusDiagnosed
	if err := u.store.Complete(claimed, done); err != nil {
		return err
	}
	landed = true
	log.Info("diagnosed", "reason", claimed.Reason, "category", d.Category, "confidence", d.Confidence,
		"evidence", len(d.Evidence), "took", u.now().Sub(started).Round(time.Millisecond))
	// Left in the outbox on failure, and published by the next step.
	return u.publish(ctx, done)
}

// gather gathers the evidence for a diagnosis: the source of the top
// project frames, the git history, owners and related signatures.
func (u *Diagnosing) gather(ctx context.Context, in heuristic.Input) *evidence.Set {
	latest := in.Occurrences[len(in.Occurrences)-1]
	known, err := u.store.Signatures(in.Signature.Project, maxKnownSignatures)
	if err != nil {
		u.log.Warn("no related signatures", "signature_id", in.Signature.ID, "err", err)
	}
	return u.gatherer.Gather(ctx, evidence.Request{
		Signature: in.Signature,
		Sources:   heuristic.Sources(ctx, in, evidence.MaxSources),
		At:        latest.Run.Commit,
		Known:     known,
	})
}
