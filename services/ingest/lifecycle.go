package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rounds-dev/rounds/pkg/badgerdb"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/ingest/internal/consumer"
	"github.com/rounds-dev/rounds/services/ingest/internal/signatures"
	"github.com/rounds-dev/rounds/services/ingest/internal/store"
	"github.com/rounds-dev/rounds/services/ingest/manage"
)

// Signature is a signature with its lifecycle as ingest keeps it: mute,
// resolution, flakiness, failure rate and audit.
type Signature = signatures.Record

// The parts of a Signature's lifecycle.
type (
	Mute        = signatures.Mute
	Resolution  = signatures.Resolution
	FailureRate = signatures.FailureRate
	AuditEntry  = signatures.AuditEntry
)

// Errors of the lifecycle operations, for callers to branch on.
var (
	// ErrSignatureNotFound means no signature has the project and id.
	ErrSignatureNotFound = signatures.ErrSignatureNotFound
	// ErrTransition means the signature's status does not allow the
	// change, such as unmuting a signature that is not muted.
	ErrTransition = signatures.ErrTransition
	// ErrInvalidRequest means the request itself is wrong, such as a mute
	// that ends in the past.
	ErrInvalidRequest = signatures.ErrInvalidRequest
	// ErrNotRunning means ingest is not running (yet, or any more).
	ErrNotRunning = consumer.ErrStopped
)

// do runs a lifecycle operation in ingest's loop, between two batches, and
// returns the signature once the change is stored; its events are then
// published like those of failures.
func (s *Service) do(ctx context.Context, op consumer.Op) (Signature, error) {
	c := s.consumer.Load()
	if c == nil {
		return Signature{}, ErrNotRunning
	}
	return c.Do(ctx, op)
}

func who(by, reason string) signatures.Who { return signatures.Who{Actor: by, Reason: reason} }

// Mute mutes a signature on behalf of by, for reason: its occurrences are
// counted but not announced until until (zero: no end in time), or until
// occurrences more have come (0: no end in count), or Unmute. Announced as
// a status change "muted"; its end as "unmuted".
func (s *Service) Mute(ctx context.Context, project, id string, until time.Time, occurrences int64, by, reason string) (Signature, error) {
	return s.do(ctx, func(t *signatures.Tracker, u *signatures.Unit) (*signatures.Record, error) {
		return t.Mute(u, project, id, until, occurrences, who(by, reason))
	})
}

// Unmute ends a mute: the signature goes back to the status it had.
func (s *Service) Unmute(ctx context.Context, project, id, by, reason string) (Signature, error) {
	return s.do(ctx, func(t *signatures.Tracker, u *signatures.Unit) (*signatures.Record, error) {
		return t.Unmute(u, project, id, who(by, reason))
	})
}

// Resolve marks a signature resolved in inCommit (empty when unknown). An
// occurrence on a later commit is then a regression, announced as
// "regressed"; one on inCommit is counted and leaves it resolved.
func (s *Service) Resolve(ctx context.Context, project, id, inCommit, by, reason string) (Signature, error) {
	return s.do(ctx, func(t *signatures.Tracker, u *signatures.Unit) (*signatures.Record, error) {
		return t.Resolve(u, project, id, inCommit, who(by, reason))
	})
}

// Reopen reopens a resolved signature: it goes back to the status it had.
func (s *Service) Reopen(ctx context.Context, project, id, by, reason string) (Signature, error) {
	return s.do(ctx, func(t *signatures.Tracker, u *signatures.Unit) (*signatures.Record, error) {
		return t.Reopen(u, project, id, who(by, reason))
	})
}

// Signature returns a signature as ingest holds it now.
func (s *Service) Signature(ctx context.Context, project, id string) (Signature, error) {
	return s.do(ctx, func(t *signatures.Tracker, u *signatures.Unit) (*signatures.Record, error) {
		rec, ok := t.Get(project, id)
		if !ok {
			return nil, fmt.Errorf("%w: %s/%s", ErrSignatureNotFound, project, id)
		}
		return &rec, nil
	})
}

// Retriage asks for a signature to be diagnosed again now: announced as a
// retriage change, which diagnose takes whatever its cooldown. The status
// stays as it is.
func (s *Service) Retriage(ctx context.Context, project, id, by, reason string) (Signature, error) {
	return s.do(ctx, func(t *signatures.Tracker, u *signatures.Unit) (*signatures.Record, error) {
		return t.Retriage(u, project, id, who(by, reason))
	})
}

// Tag removes the tags remove from a signature, then adds add; a change is
// audited and announced as a tagged change.
func (s *Service) Tag(ctx context.Context, project, id string, add, remove []string, by, reason string) (Signature, error) {
	return s.do(ctx, func(t *signatures.Tracker, u *signatures.Unit) (*signatures.Record, error) {
		return t.Tag(u, project, id, add, remove, who(by, reason))
	})
}

// Signatures returns every signature as ingest holds it now, in no order.
func (s *Service) Signatures(ctx context.Context) ([]Signature, error) {
	var out []Signature
	_, err := s.do(ctx, func(t *signatures.Tracker, u *signatures.Unit) (*signatures.Record, error) {
		out = make([]Signature, 0, t.Len())
		t.Each(func(r signatures.Record) { out = append(out, r) })
		// The loop answers with a record; none is asked for.
		return &signatures.Record{}, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Manager returns the signatures management layer over s: what the NATS
// management API serves, for other transports (HTTP) to call too.
func (s *Service) Manager() *manage.Manager { return manage.New(s, ErrNotRunning) }

// serveManagement serves the management API (a NATS micro service) on nc
// until ctx ends or the returned stop is called; Run calls it once the
// consumer is in place.
func (s *Service) serveManagement(ctx context.Context, nc *nats.Conn) (stop func(), err error) {
	svc, err := manage.Serve(ctx, nc, s.Manager(), s.log)
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	s.log.Info("management API serving", "service", contract.ManageServiceName, "subjects", contract.ManageSubjectPrefix+".>")
	return func() { _ = svc.Stop() }, nil
}

// ReadRecords returns every signature, with its lifecycle, in an ingest
// data dir that no process has open.
func ReadRecords(dataDir string, log *slog.Logger) ([]Signature, error) {
	db, err := badgerdb.OpenReadOnly(dataDir, log)
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	defer db.Close()
	st, err := store.New(db, store.Options{})
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	var out []Signature
	if err := st.Records(func(r signatures.Record) error { out = append(out, r); return nil }); err != nil {
		return nil, fmt.Errorf("ingest: read signatures: %w", err)
	}
	return out, nil
}
