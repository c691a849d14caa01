package store_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/rounds-dev/rounds/pkg/badgerdb"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/logging"
	"github.com/rounds-dev/rounds/services/diagnose/internal/store"
)

// openDB opens a Badger database in dir and closes it when the test ends,
// unless the returned close function did so first.
func openDB(t *testing.T, dir string) (*badger.DB, func()) {
	t.Helper()
	db, err := badgerdb.Open(dir, logging.Discard())
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	closeDB := func() {
		if closed {
			return
		}
		closed = true
		if err := db.Close(); err != nil {
			t.Errorf("close badger: %v", err)
		}
	}
	t.Cleanup(closeDB)
	return db, closeDB
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func signatureEvent(project, sigID string, change contract.SignatureChange, n int64) *contract.SignatureChanged {
	return &contract.SignatureChanged{
		Schema: contract.SchemaSignature,
		ID:     fmt.Sprintf("%s.%s.%d", sigID, change, n),
		Time:   t0,
		Change: change,
		Signature: contract.Signature{
			ID: sigID, Project: project, Title: "cart.TestAdd: expected <*>, got <*>",
			Kind: contract.KindTest, Status: contract.StatusNew, Occurrences: n,
			Components: []contract.Component{{Name: "test", Value: "cart.TestAdd"}},
			FirstSeen:  t0, LastSeen: t0,
		},
	}
}

func occurrence(id string) contract.Failure {
	return contract.Failure{
		Schema: contract.SchemaFailure, ID: id, Project: "shop", Time: t0, Kind: contract.KindTest,
		Test:  &contract.TestIdentity{Suite: "cart", Name: "TestAdd"},
		Error: contract.ErrorInfo{Type: "AssertionError", Message: "expected 3, got 4", Stack: "at cart_test.go:12"},
		Run:   contract.RunInfo{Commit: "abc123"},
	}
}

func diagnosis(ev *contract.SignatureChanged, rootCause string) *contract.DiagnosisCompleted {
	return &contract.DiagnosisCompleted{
		Schema:    contract.SchemaDiagnosis,
		ID:        "diagnosis." + ev.ID,
		Time:      t0.Add(time.Minute),
		Signature: ev.Signature,
		Diagnosis: contract.Diagnosis{
			Category: "assertion", RootCause: rootCause, Confidence: 0.7, Diagnoser: "heuristic",
			Evidence: []contract.Evidence{{Kind: "frame", Summary: "failing frame", File: "cart_test.go", Line: 12}},
		},
	}
}

func handled(t *testing.T, s *store.Store, eventID string) (bool, *contract.DiagnosisCompleted) {
	t.Helper()
	ok, produced, err := s.Handled(eventID)
	if err != nil {
		t.Fatal(err)
	}
	return ok, produced
}

func latest(t *testing.T, s *store.Store, project, sigID string) *contract.DiagnosisCompleted {
	t.Helper()
	d, err := s.Latest(project, sigID)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func occurrences(t *testing.T, s *store.Store, project, sigID string) []contract.Failure {
	t.Helper()
	occ, err := s.Occurrences(project, sigID)
	if err != nil {
		t.Fatal(err)
	}
	return occ
}

func record(t *testing.T, s *store.Store, ev *contract.SignatureChanged, occ []contract.Failure, d *contract.DiagnosisCompleted) {
	t.Helper()
	if err := s.Record(ev, occ, d); err != nil {
		t.Fatal(err)
	}
}

func TestRecordOfADiagnosisRoundTrips(t *testing.T) {
	db, _ := openDB(t, t.TempDir())
	s := store.New(db)
	ev := signatureEvent("shop", "s1", contract.ChangeDetected, 1)
	occ := []contract.Failure{occurrence("e1")}
	d := diagnosis(ev, "3 is not 4")
	record(t, s, ev, occ, d)

	ok, produced := handled(t, s, ev.ID)
	if !ok || !reflect.DeepEqual(produced, d) {
		t.Errorf("Handled(%s) = %v, %+v; want true, %+v", ev.ID, ok, produced, d)
	}
	if got := latest(t, s, "shop", "s1"); !reflect.DeepEqual(got, d) {
		t.Errorf("Latest = %+v, want %+v", got, d)
	}
	if got := occurrences(t, s, "shop", "s1"); !reflect.DeepEqual(got, occ) {
		t.Errorf("Occurrences = %+v, want %+v", got, occ)
	}
}

func TestRecordWithoutADiagnosis(t *testing.T) {
	db, _ := openDB(t, t.TempDir())
	s := store.New(db)
	first := signatureEvent("shop", "s1", contract.ChangeDetected, 1)
	d := diagnosis(first, "first")
	record(t, s, first, []contract.Failure{occurrence("e1")}, d)

	next := signatureEvent("shop", "s1", contract.ChangeRecurred, 2)
	occ := []contract.Failure{occurrence("e1"), occurrence("e2")}
	record(t, s, next, occ, nil)

	ok, produced := handled(t, s, next.ID)
	if !ok || produced != nil {
		t.Errorf("Handled(%s) = %v, %+v; want true and no diagnosis", next.ID, ok, produced)
	}
	if got := latest(t, s, "shop", "s1"); !reflect.DeepEqual(got, d) {
		t.Errorf("Latest = %+v, want the earlier diagnosis kept", got)
	}
	if got := occurrences(t, s, "shop", "s1"); !reflect.DeepEqual(got, occ) {
		t.Errorf("Occurrences = %d of them, want the %d recorded last", len(got), len(occ))
	}
}

func TestRecordWithoutOccurrencesKeepsThoseStored(t *testing.T) {
	db, _ := openDB(t, t.TempDir())
	s := store.New(db)
	occ := []contract.Failure{occurrence("e1")}
	record(t, s, signatureEvent("shop", "s1", contract.ChangeDetected, 1), occ, nil)
	record(t, s, signatureEvent("shop", "s1", contract.ChangeStatus, 1), nil, nil)
	if got := occurrences(t, s, "shop", "s1"); !reflect.DeepEqual(got, occ) {
		t.Errorf("Occurrences = %+v, want %+v", got, occ)
	}
}

func TestLatestIsTheLastDiagnosisRecorded(t *testing.T) {
	db, _ := openDB(t, t.TempDir())
	s := store.New(db)
	first := signatureEvent("shop", "s1", contract.ChangeDetected, 1)
	record(t, s, first, []contract.Failure{occurrence("e1")}, diagnosis(first, "first"))
	regressed := signatureEvent("shop", "s1", contract.ChangeRegressed, 4)
	d := diagnosis(regressed, "regressed")
	record(t, s, regressed, []contract.Failure{occurrence("e4")}, d)

	if got := latest(t, s, "shop", "s1"); !reflect.DeepEqual(got, d) {
		t.Errorf("Latest = %+v, want %+v", got, d)
	}
	// The first event still names the diagnosis it produced.
	if _, produced := handled(t, s, first.ID); produced == nil || produced.Diagnosis.RootCause != "first" {
		t.Errorf("Handled(%s) produced %+v, want the first diagnosis", first.ID, produced)
	}
}

func TestUnknownIDsAreNotFound(t *testing.T) {
	db, _ := openDB(t, t.TempDir())
	s := store.New(db)
	ev := signatureEvent("shop", "s1", contract.ChangeDetected, 1)
	record(t, s, ev, []contract.Failure{occurrence("e1")}, diagnosis(ev, "x"))

	tests := []struct {
		name           string
		eventID        string
		project, sigID string
	}{
		{"an event never handled", "s1.recurred.2", "shop", "s2"},
		{"a signature of the same id in another project", "s1.detected.1x", "billing", "s1"},
		{"a signature whose id extends a known one", "s1.detected", "shop", "s10"},
		{"empty ids", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is not found", func(t *testing.T) {
			if ok, produced := handled(t, s, tt.eventID); ok || produced != nil {
				t.Errorf("Handled(%q) = %v, %+v; want false, nil", tt.eventID, ok, produced)
			}
			if got := latest(t, s, tt.project, tt.sigID); got != nil {
				t.Errorf("Latest(%q, %q) = %+v, want nil", tt.project, tt.sigID, got)
			}
			if got := occurrences(t, s, tt.project, tt.sigID); got != nil {
				t.Errorf("Occurrences(%q, %q) = %+v, want nil", tt.project, tt.sigID, got)
			}
		})
	}
}

func TestRecordsSurviveReopening(t *testing.T) {
	dir := t.TempDir()
	db, closeDB := openDB(t, dir)
	s := store.New(db)
	ev := signatureEvent("shop", "s1", contract.ChangeDetected, 1)
	occ := []contract.Failure{occurrence("e1"), occurrence("e2")}
	d := diagnosis(ev, "3 is not 4")
	record(t, s, ev, occ, d)
	muted := signatureEvent("shop", "s2", contract.ChangeDetected, 1)
	record(t, s, muted, nil, nil)
	closeDB()

	db, _ = openDB(t, dir)
	s = store.New(db)
	if ok, produced := handled(t, s, ev.ID); !ok || !reflect.DeepEqual(produced, d) {
		t.Errorf("Handled(%s) after reopening = %v, %+v", ev.ID, ok, produced)
	}
	if ok, produced := handled(t, s, muted.ID); !ok || produced != nil {
		t.Errorf("Handled(%s) after reopening = %v, %+v; want true, nil", muted.ID, ok, produced)
	}
	if got := latest(t, s, "shop", "s1"); !reflect.DeepEqual(got, d) {
		t.Errorf("Latest after reopening = %+v", got)
	}
	if got := occurrences(t, s, "shop", "s1"); !reflect.DeepEqual(got, occ) {
		t.Errorf("Occurrences after reopening = %+v", got)
	}
}
