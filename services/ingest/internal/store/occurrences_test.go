package store_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/ingest/internal/signatures"
	"github.com/rounds-dev/rounds/services/ingest/internal/store"
)

func TestOccurrencesAreStoredWithTheirCountAndReadBackInOrder(t *testing.T) {
	db, _ := openDB(t, t.TempDir())
	s := newStore(t, db, time.Hour)
	at := time.Date(2026, 3, 1, 12, 0, 0, 123, time.UTC)
	occ := []contract.Occurrence{
		{EventID: "f-1", RunID: "run-1", Commit: "abc", Time: at, Test: &contract.OccurrenceTest{Suite: "cart", Name: "TestAdd"}},
		{EventID: "f-2", Time: at.Add(time.Second), Test: &contract.OccurrenceTest{Name: "TestAdd"}},
		{EventID: "f-3", RunID: "run-2", Time: at.Add(-time.Hour)},
		{EventID: "", Time: time.Unix(0, 0).UTC()},
		// Commits that are stored as bytes, and one that only looks so.
		{EventID: "f-5", Commit: strings.Repeat("0123456789", 4), Time: at, Test: &contract.OccurrenceTest{Suite: "cart", Name: "TestAdd"}},
		{EventID: "f-6", Commit: strings.Repeat("abcdef0123456789", 4), Time: at},
		{EventID: "f-7", Commit: strings.Repeat("ABCDEF0123", 4), Time: at, Test: &contract.OccurrenceTest{Suite: "cart", Name: "TestRemove"}},
	}
	// Two signatures of one project, one of another whose name is the
	// first's with more: neither lists the other's occurrences.
	b := &store.Batch{Records: []*signatures.Record{signature("shop", "aaaa", 3), signature("shop", "bbbb", 1), signature("shop2", "aaaa", 1)}}
	for i, o := range occ[:3] {
		b.Occurrences = append(b.Occurrences, store.Occurrence{Project: "shop", Signature: "aaaa", N: int64(3 - i), Occurrence: o})
	}
	b.Occurrences = append(b.Occurrences,
		store.Occurrence{Project: "shop", Signature: "bbbb", N: 1, Occurrence: occ[3]},
		store.Occurrence{Project: "shop2", Signature: "aaaa", N: 1, Occurrence: occ[0], SignatureTest: true},
		// Of the signature's own test: read back from the signature.
		store.Occurrence{Project: "shop2", Signature: "aaaa", N: 2, Occurrence: occ[4], SignatureTest: true},
		store.Occurrence{Project: "shop2", Signature: "aaaa", N: 3, Occurrence: occ[5]},
		store.Occurrence{Project: "shop2", Signature: "aaaa", N: 4, Occurrence: occ[6]})
	if err := s.Commit(b); err != nil {
		t.Fatal(err)
	}

	list := func(project, id string) ([]contract.Occurrence, bool) {
		t.Helper()
		var out []contract.Occurrence
		found, err := s.Occurrences(project, id, func(o contract.Occurrence) error { out = append(out, o); return nil })
		if err != nil {
			t.Fatal(err)
		}
		return out, found
	}
	tests := []struct {
		name, project, id string
		want              []contract.Occurrence
		found             bool
	}{
		{"a signature lists its occurrences by their number, not by time", "shop", "aaaa", []contract.Occurrence{occ[2], occ[1], occ[0]}, true},
		{"an occurrence with no run, test or id reads back as it was", "shop", "bbbb", []contract.Occurrence{occ[3]}, true},
		{"another project's signature of the same id lists its own, commits and tests as they were", "shop2", "aaaa", []contract.Occurrence{occ[0], occ[4], occ[5], occ[6]}, true},
		{"an unknown signature is not found", "shop", "cccc", nil, false},
		{"a project that is a prefix of another does not see the other's", "sho", "aaaa", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, found := list(tt.project, tt.id)
			if found != tt.found || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v (found %v), want %+v (found %v)", got, found, tt.want, tt.found)
			}
		})
	}

	var all []string
	if err := s.AllOccurrences(func(project, id string, o contract.Occurrence) error {
		all = append(all, project+"/"+id+"/"+o.EventID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"shop/aaaa/f-3", "shop/aaaa/f-2", "shop/aaaa/f-1", "shop/bbbb/", "shop2/aaaa/f-1", "shop2/aaaa/f-5", "shop2/aaaa/f-6", "shop2/aaaa/f-7"}; !reflect.DeepEqual(all, want) {
		t.Errorf("all occurrences: %v, want %v", all, want)
	}

	stop := errors.New("stop")
	calls := 0
	if _, err := s.Occurrences("shop", "aaaa", func(contract.Occurrence) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
		t.Errorf("fn failing: %v after %d calls, want its error after 1", err, calls)
	}
}

func TestOccurrencesOfABatchTooBigAreNotStored(t *testing.T) {
	db, _ := openDB(t, t.TempDir())
	s := newStore(t, db, 0)
	b := tooBigBatch(db)
	b.Records = append(b.Records, signature("shop", "aaaa", 1))
	b.Occurrences = []store.Occurrence{{Project: "shop", Signature: "aaaa", N: 1, Occurrence: contract.Occurrence{EventID: "f-1"}}}
	if err := s.Commit(b); !errors.Is(err, store.ErrBatchTooBig) {
		t.Fatalf("commit: %v, want ErrBatchTooBig", err)
	}
	n := 0
	if err := s.AllOccurrences(func(string, string, contract.Occurrence) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d occurrences stored by a batch that was not", n)
	}
}
