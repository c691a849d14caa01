package ingest

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/rounds-dev/rounds/pkg/badgerdb"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/ingest/internal/store"
)

func (s *Service) setState(st *store.Store) {
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	s.state = st
}

// Occurrences calls fn with every counted occurrence of a signature, in
// the order they were counted, while the service runs. They are read in
// one snapshot, so there are as many as the signature's count in that
// snapshot. It returns ErrNotRunning when the service is not running,
// ErrSignatureNotFound when no signature has the project and id, and fn's
// error when fn fails; ingest does not stop for it, but cannot shut down
// until fn returns.
func (s *Service) Occurrences(ctx context.Context, project, id string, fn func(contract.Occurrence) error) error {
	s.stateMu.RLock()
	defer s.stateMu.RUnlock()
	if s.state == nil {
		return ErrNotRunning
	}
	found, err := s.state.Occurrences(project, id, func(o contract.Occurrence) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return fn(o)
	})
	if err != nil {
		return fmt.Errorf("ingest: occurrences of %s/%s: %w", project, id, err)
	}
	if !found {
		return fmt.Errorf("%w: %s/%s", ErrSignatureNotFound, project, id)
	}
	return nil
}

// ReadOccurrences calls fn with every counted occurrence in an ingest data
// dir that no process has open, signature by signature, each signature's
// in the order they were counted.
func ReadOccurrences(dataDir string, log *slog.Logger, fn func(project, signatureID string, o contract.Occurrence) error) error {
	db, err := badgerdb.OpenReadOnly(dataDir, log)
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	defer db.Close()
	st, err := store.New(db, store.Options{})
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	if err := st.AllOccurrences(fn); err != nil {
		return fmt.Errorf("ingest: read occurrences: %w", err)
	}
	return nil
}
