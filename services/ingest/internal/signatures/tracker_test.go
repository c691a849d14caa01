package signatures

import (
	"errors"
	"testing"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/ingest/grouping"
)

// fakeRepo records the loads it answers.
type fakeRepo struct {
	sigs  map[string]contract.Signature
	loads int
	err   error
}

func (r *fakeRepo) Signature(project, id string) (contract.Signature, bool, error) {
	r.loads++
	if r.err != nil {
		return contract.Signature{}, false, r.err
	}
	s, ok := r.sigs[project+"/"+id]
	return s, ok, nil
}

func failure(id string, at time.Time, commit string) *contract.Failure {
	return &contract.Failure{
		Schema: contract.SchemaFailure, ID: id, Project: "shop", Time: at, Kind: contract.KindTest,
		Test:  &contract.TestIdentity{Suite: "cart", Name: "TestAdd"},
		Error: contract.ErrorInfo{Type: "AssertionError", Message: "expected 3, got 4"},
		Run:   contract.RunInfo{Commit: commit},
	}
}

func TestRecord(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		occurrences int
		wantChanges map[int][]contract.SignatureChange // by occurrence number
	}{
		{name: "the first occurrence is detected", occurrences: 1, wantChanges: map[int][]contract.SignatureChange{1: {contract.ChangeDetected}}},
		{
			name:        "growth is announced on powers of two only",
			occurrences: 9,
			wantChanges: map[int][]contract.SignatureChange{1: {contract.ChangeDetected}, 2: {contract.ChangeRecurred}, 4: {contract.ChangeRecurred}, 8: {contract.ChangeRecurred}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := &fakeRepo{}
			tr := NewTracker(repo)
			var last *contract.Signature
			for n := 1; n <= tt.occurrences; n++ {
				f := failure("e", t0.Add(time.Duration(n)*time.Minute), "c")
				sig, changes, err := tr.Record(f, grouping.Fingerprint(f))
				if err != nil {
					t.Fatal(err)
				}
				if got, want := changes, tt.wantChanges[n]; len(got) != len(want) || (len(want) > 0 && got[0] != want[0]) {
					t.Errorf("occurrence %d: changes %v, want %v", n, got, want)
				}
				last = sig
			}
			if last.Occurrences != int64(tt.occurrences) {
				t.Errorf("occurrences %d, want %d", last.Occurrences, tt.occurrences)
			}
			if repo.loads != 1 {
				t.Errorf("repository loaded %d times, want once (then from memory)", repo.loads)
			}
		})
	}
}

func TestRecordKeepsFirstAndLastSeenInOrderWhateverTheArrivalOrder(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	tr := NewTracker(&fakeRepo{})
	late := failure("late", t0.Add(time.Hour), "c2")
	early := failure("early", t0, "c1")
	tr.Record(late, grouping.Fingerprint(late))
	sig, _, _ := tr.Record(early, grouping.Fingerprint(early))
	if !sig.FirstSeen.Equal(t0) || !sig.LastSeen.Equal(t0.Add(time.Hour)) {
		t.Errorf("first/last seen %v/%v", sig.FirstSeen, sig.LastSeen)
	}
	if sig.FirstCommit != "c1" || sig.LastCommit != "c2" {
		t.Errorf("first/last commit %q/%q, want c1/c2", sig.FirstCommit, sig.LastCommit)
	}
}

func TestRecordOnAResolvedSignatureRegresses(t *testing.T) {
	f := failure("e", time.Now(), "c9")
	g := grouping.Fingerprint(f)
	id := grouping.SignatureID("shop", g.Fingerprint)
	repo := &fakeRepo{sigs: map[string]contract.Signature{"shop/" + id: {ID: id, Project: "shop", Status: contract.StatusResolved, Occurrences: 5, FirstSeen: f.Time.Add(-time.Hour), LastSeen: f.Time.Add(-time.Hour)}}}
	sig, changes, err := NewTracker(repo).Record(f, g)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 1 || changes[0] != contract.ChangeRegressed || sig.Status != contract.StatusRegressed || !sig.Regressed {
		t.Errorf("changes %v status %s regressed %v", changes, sig.Status, sig.Regressed)
	}
}

func TestRecordReturnsTheRepositoryError(t *testing.T) {
	f := failure("e", time.Now(), "")
	boom := errors.New("disk gone")
	if _, _, err := NewTracker(&fakeRepo{err: boom}).Record(f, grouping.Fingerprint(f)); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want %v", err, boom)
	}
}

func TestForgetReloadsFromTheRepository(t *testing.T) {
	repo := &fakeRepo{}
	tr := NewTracker(repo)
	f := failure("e", time.Now(), "")
	tr.Record(f, grouping.Fingerprint(f))
	tr.Forget()
	_, changes, _ := tr.Record(f, grouping.Fingerprint(f))
	if repo.loads != 2 || changes[0] != contract.ChangeDetected {
		t.Errorf("loads %d changes %v: after Forget the repository (empty here) is asked again", repo.loads, changes)
	}
}
