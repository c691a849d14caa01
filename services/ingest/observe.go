package ingest

import (
	"context"
	"fmt"

	"github.com/rounds-dev/rounds/pkg/contract"
)

// Ready reports whether ingest has its streams provisioned and its Badger
// state open: nil while Run consumes, an error wrapping ErrNotRunning
// before and after. It is the readiness check of the process.
func (s *Service) Ready(ctx context.Context) error {
	s.stateMu.RLock()
	defer s.stateMu.RUnlock()
	if s.state == nil {
		return fmt.Errorf("ingest: %w: streams and state not ready yet", ErrNotRunning)
	}
	return ctx.Err()
}

// SignaturesByStatus counts the signatures in ingest's state by status. It
// reads every signature, so callers should not call it often (metrics
// cache it); it stops early when ctx ends.
func (s *Service) SignaturesByStatus(ctx context.Context) (map[contract.SignatureStatus]int, error) {
	s.stateMu.RLock()
	defer s.stateMu.RUnlock()
	if s.state == nil {
		return nil, fmt.Errorf("ingest: count signatures: %w", ErrNotRunning)
	}
	counts := map[contract.SignatureStatus]int{}
	err := s.state.Signatures(func(sig contract.Signature) error {
		counts[sig.Status]++
		return ctx.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("ingest: count signatures: %w", err)
	}
	return counts, nil
}
