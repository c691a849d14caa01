package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/logging"
	"github.com/rounds-dev/rounds/pkg/messaging"
	"github.com/rounds-dev/rounds/pkg/natstest"
)

// runService runs an ingest on a fresh embedded server until the test
// ends, or until the returned stop is called.
func runService(t *testing.T, url, dataDir string) (*Service, func()) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.DataDir = dataDir
	cfg.BatchSize = 7 // many batches, duplicates across and within them
	cfg.StormWait = 0
	s, err := New(cfg, messaging.URLDialer(url, 5*time.Second, logging.Discard()), logging.Discard())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ingest stopped with %v", err)
		}
	}
	t.Cleanup(stop)
	return s, stop
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestOccurrencesListEveryCountedFailureOnceDespiteRepublishing(t *testing.T) {
	url := natstest.Start(t)
	_, js := natstest.Connect(t, url)
	dataDir := filepath.Join(t.TempDir(), "ingest")
	s, stop := runService(t, url, dataDir)
	ctx := context.Background()
	eventually(t, "ingest runs", func() bool { return s.consumer.Load() != nil })

	const n, bugs = 120, 3
	want := map[string]contract.Failure{}
	published := 0
	for i := range n {
		f := contract.Failure{
			Schema: contract.SchemaFailure, ID: fmt.Sprintf("f-%d", i), Project: "shop",
			Time: time.Date(2026, 11, 1, 0, 0, i, 0, time.UTC), Kind: contract.KindTest,
			Test:  &contract.TestIdentity{Suite: "cart", Name: fmt.Sprintf("TestBug%d", i%bugs)},
			Error: contract.ErrorInfo{Type: "AssertionError", Message: fmt.Sprintf("bug %d broke", i%bugs)},
			Run:   contract.RunInfo{ID: fmt.Sprintf("run-%d", i/10), Commit: "c0ffee"},
		}
		if i%4 == 0 {
			f.Test = nil
			f.Kind = contract.KindRuntime
			f.Service = &contract.ServiceIdentity{Name: fmt.Sprintf("svc-%d", i%bugs)}
		}
		want[f.ID] = f
		data, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		// Every third failure is published again without a message id,
		// as a client's retry past JetStream's duplicate window arrives:
		// JetStream keeps both, ingest must count one.
		copies := 1 + boolInt(i%3 == 0)
		for range copies {
			m := nats.NewMsg("rounds.failures.shop")
			m.Data = data
			if _, err := js.PublishMsg(ctx, m); err != nil {
				t.Fatal(err)
			}
			published++
		}
	}
	eventually(t, "ingest has seen every message", func() bool {
		st := s.Stats()
		return st.Applied+st.Duplicates == int64(published)
	})
	if st := s.Stats(); st.Applied != n {
		t.Fatalf("applied %d, want %d (stats %+v)", st.Applied, n, st)
	}

	check := func(t *testing.T, sigs []Signature, list func(project, id string) ([]contract.Occurrence, error)) {
		t.Helper()
		if len(sigs) != 2*bugs {
			t.Fatalf("%d signatures, want %d", len(sigs), 2*bugs)
		}
		seen := map[string]bool{}
		for _, sig := range sigs {
			occ, err := list(sig.Project, sig.ID)
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(occ)) != sig.Occurrences {
				t.Errorf("signature %s counts %d occurrences but lists %d", sig.ID, sig.Occurrences, len(occ))
			}
			for _, o := range occ {
				if seen[o.EventID] {
					t.Errorf("occurrence %s listed twice", o.EventID)
				}
				seen[o.EventID] = true
				f := want[o.EventID]
				if got, want := o, contract.OccurrenceOf(&f); !equalOccurrence(got, want) {
					t.Errorf("occurrence %s is %+v, want %+v", o.EventID, got, want)
				}
			}
		}
		if len(seen) != n {
			t.Errorf("%d distinct occurrences listed, want %d", len(seen), n)
		}
	}

	// While ingest runs.
	var sigs []Signature
	s.stateMu.RLock()
	err := s.state.Records(func(r Signature) error { sigs = append(sigs, r); return nil })
	s.stateMu.RUnlock()
	if err != nil {
		t.Fatal(err)
	}
	check(t, sigs, func(project, id string) ([]contract.Occurrence, error) {
		var out []contract.Occurrence
		err := s.Occurrences(ctx, project, id, func(o contract.Occurrence) error { out = append(out, o); return nil })
		return out, err
	})
	if err := s.Occurrences(ctx, "shop", "0123456789abcdef", func(contract.Occurrence) error { return nil }); !errors.Is(err, ErrSignatureNotFound) {
		t.Errorf("occurrences of an unknown signature: %v, want ErrSignatureNotFound", err)
	}
	stopErr := errors.New("enough")
	calls := 0
	if err := s.Occurrences(ctx, sigs[0].Project, sigs[0].ID, func(contract.Occurrence) error { calls++; return stopErr }); !errors.Is(err, stopErr) || calls != 1 {
		t.Errorf("fn failing: %v after %d calls, want its error after 1", err, calls)
	}

	// Once stopped, offline.
	stop()
	if err := s.Occurrences(ctx, sigs[0].Project, sigs[0].ID, func(contract.Occurrence) error { return nil }); !errors.Is(err, ErrNotRunning) {
		t.Errorf("occurrences after stopping: %v, want ErrNotRunning", err)
	}
	records, err := ReadRecords(dataDir, logging.Discard())
	if err != nil {
		t.Fatal(err)
	}
	all := map[string][]contract.Occurrence{}
	if err := ReadOccurrences(dataDir, logging.Discard(), func(project, id string, o contract.Occurrence) error {
		all[project+"/"+id] = append(all[project+"/"+id], o)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	check(t, records, func(project, id string) ([]contract.Occurrence, error) { return all[project+"/"+id], nil })
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func equalOccurrence(a, b contract.Occurrence) bool {
	if (a.Test == nil) != (b.Test == nil) || (a.Test != nil && *a.Test != *b.Test) {
		return false
	}
	a.Test, b.Test = nil, nil
	return a.EventID == b.EventID && a.RunID == b.RunID && a.Commit == b.Commit && a.Time.Equal(b.Time)
}
