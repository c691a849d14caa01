package store_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/rounds-dev/rounds/pkg/badgerdb"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/logging"
	"github.com/rounds-dev/rounds/services/report/internal/store"
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

func reportOf(diagnosisID, file string) *contract.ReportPublished {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	return &contract.ReportPublished{
		Schema: contract.SchemaReport,
		ID:     "report." + diagnosisID,
		Time:   t0,
		Signature: contract.Signature{
			ID: "s1", Project: "shop", Title: "cart.TestAdd: expected <*>, got <*>", Kind: contract.KindTest,
			Status: contract.StatusDiagnosed, Occurrences: 1, FirstSeen: t0, LastSeen: t0,
		},
		Diagnosis: contract.Diagnosis{Category: "assertion", RootCause: "3 is not 4", Confidence: 0.7, Diagnoser: "heuristic"},
		Reported:  contract.Reported{File: file},
	}
}

func report(t *testing.T, s *store.Store, diagnosisID string) *contract.ReportPublished {
	t.Helper()
	r, err := s.Report(diagnosisID)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRecordOfAReportRoundTrips(t *testing.T) {
	db, _ := openDB(t, t.TempDir())
	s := store.New(db)
	r := reportOf("diagnosis.s1.detected.1", "2026-03-01/12-00-00_shop_AssertionError_s1.md")
	if err := s.Record("diagnosis.s1.detected.1", r); err != nil {
		t.Fatal(err)
	}
	if got := report(t, s, "diagnosis.s1.detected.1"); !reflect.DeepEqual(got, r) {
		t.Errorf("Report = %+v, want %+v", got, r)
	}
}

func TestRecordReplacesTheReportOfADiagnosis(t *testing.T) {
	db, _ := openDB(t, t.TempDir())
	s := store.New(db)
	if err := s.Record("d1", reportOf("d1", "a.md")); err != nil {
		t.Fatal(err)
	}
	want := reportOf("d1", "b.md")
	if err := s.Record("d1", want); err != nil {
		t.Fatal(err)
	}
	if got := report(t, s, "d1"); !reflect.DeepEqual(got, want) {
		t.Errorf("Report = %+v, want the last recorded %+v", got, want)
	}
}

func TestReportOfAnUnknownDiagnosisIsNotFound(t *testing.T) {
	db, _ := openDB(t, t.TempDir())
	s := store.New(db)
	if err := s.Record("diagnosis.s1.detected.1", reportOf("diagnosis.s1.detected.1", "a.md")); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, id string }{
		{"a diagnosis never reported", "diagnosis.s2.detected.1"},
		{"a prefix of a reported diagnosis id", "diagnosis.s1.detected"},
		{"an id extending a reported one", "diagnosis.s1.detected.10"},
		{"the empty id", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is not found", func(t *testing.T) {
			if got := report(t, s, tt.id); got != nil {
				t.Errorf("Report(%q) = %+v, want nil", tt.id, got)
			}
		})
	}
}

func TestReportsSurviveReopening(t *testing.T) {
	dir := t.TempDir()
	db, closeDB := openDB(t, dir)
	s := store.New(db)
	want := reportOf("d1", "2026-03-01/12-00-00_shop_AssertionError_s1.md")
	if err := s.Record("d1", want); err != nil {
		t.Fatal(err)
	}
	closeDB()

	db, _ = openDB(t, dir)
	s = store.New(db)
	if got := report(t, s, "d1"); !reflect.DeepEqual(got, want) {
		t.Errorf("Report after reopening = %+v, want %+v", got, want)
	}
}
