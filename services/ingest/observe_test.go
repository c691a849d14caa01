package ingest

import (
	"context"
	"errors"
	"testing"
)

func TestReadyAndCountsBeforeRun(t *testing.T) {
	s := &Service{}
	if err := s.Ready(context.Background()); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Ready before Run = %v, want ErrNotRunning", err)
	}
	if counts, err := s.SignaturesByStatus(context.Background()); !errors.Is(err, ErrNotRunning) || counts != nil {
		t.Fatalf("SignaturesByStatus before Run = %v, %v; want nothing and ErrNotRunning", counts, err)
	}
}
