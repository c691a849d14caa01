package store_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/rounds-dev/rounds/services/ingest/internal/signatures"
	"github.com/rounds-dev/rounds/services/ingest/internal/store"
)

func record(t *testing.T, s *store.Store, project, id string) signatures.Record {
	t.Helper()
	rec, ok, err := s.Record(project, id)
	if err != nil || !ok {
		t.Fatalf("Record(%s, %s) = _, %v, %v; want it found", project, id, ok, err)
	}
	return rec
}

func records(t *testing.T, s *store.Store) []signatures.Record {
	t.Helper()
	var out []signatures.Record
	if err := s.Records(func(r signatures.Record) error { out = append(out, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSignatureReadsBackAsCommittedWhateverChanged commits one signature
// batch after batch, changing its counts alone or the rest of it too, and
// reads it back after each, in the same store and in a new one (as after
// a restart). Its JSON is written again only when more than its counts
// changed.
func TestSignatureReadsBackAsCommittedWhateverChanged(t *testing.T) {
	paris := time.FixedZone("", 2*3600)
	steps := []struct {
		name        string
		rewriteJSON bool
		change      func(*signatures.Record)
	}{
		{"a new signature", true, func(*signatures.Record) {}},
		{"another occurrence changes its counts", false, func(r *signatures.Record) {
			r.Occurrences++
			r.LastSeen = r.LastSeen.Add(time.Minute)
			r.LastCommit = strings.Repeat("b", 40)
			r.LastCounted = time.Date(2026, 3, 1, 13, 0, 0, 123, time.UTC)
			r.PassesSinceFailure = 0
		}},
		{"an occurrence from a zone keeps its offset", false, func(r *signatures.Record) {
			r.Occurrences++
			r.FirstSeen = time.Date(2026, 2, 1, 9, 0, 0, 0, paris)
			r.FirstCommit = "v1.2.3"
		}},
		{"a change of status alone is stored", true, func(r *signatures.Record) {
			r.Status = "acknowledged"
			r.Audit = append(r.Audit, signatures.AuditEntry{Seq: 1, At: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), Actor: "ana"})
			r.AuditSeq = 1
		}},
		{"counts and tags change together", true, func(r *signatures.Record) {
			r.Occurrences += 5
			r.PassesSinceFailure = 2
			r.Tags = []string{"checkout"}
		}},
		{"nothing changes", false, func(*signatures.Record) {}},
		{"the title changes", true, func(r *signatures.Record) { r.Title = "cart.TestAdd: other" }},
	}
	dir := t.TempDir()
	db, _ := openDB(t, dir)
	s := newStore(t, db, 0)
	rec := signature("shop", "s1", 1)
	rec.FirstCommit, rec.LastCommit = strings.Repeat("a", 40), strings.Repeat("a", 40)
	other := signature("shop", "s2", 7)
	jsonVersion := func() uint64 {
		var v uint64
		if err := db.View(func(txn *badger.Txn) error {
			item, err := txn.Get([]byte("sig/shop/s1"))
			if err == nil {
				v = item.Version()
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return v
	}
	var version uint64
	for _, step := range steps {
		step.change(rec)
		if err := s.Commit(&store.Batch{Records: []*signatures.Record{rec}}); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if v := jsonVersion(); (v != version) != step.rewriteJSON {
			t.Errorf("%s: JSON rewritten: %v, want %v", step.name, v != version, step.rewriteJSON)
		}
		version = jsonVersion()
		if got := record(t, s, "shop", "s1"); !reflect.DeepEqual(got, *rec) {
			t.Errorf("%s: Record =\n%+v\nwant\n%+v", step.name, got, *rec)
		}
		if err := s.Commit(&store.Batch{Records: []*signatures.Record{other}}); err != nil {
			t.Fatal(err)
		}
		if got := records(t, s); !reflect.DeepEqual(got, []signatures.Record{*rec, *other}) {
			t.Errorf("%s: Records =\n%+v\nwant\n%+v", step.name, got, []signatures.Record{*rec, *other})
		}
		if got := record(t, newStore(t, db, 0), "shop", "s1"); !reflect.DeepEqual(got, *rec) {
			t.Errorf("%s, in a new store: Record =\n%+v\nwant\n%+v", step.name, got, *rec)
		}
	}
}

// TestSignatureStoredWholeAsJSONReadsBack reads a signature written before
// its counts had their own key: its JSON holds them.
func TestSignatureStoredWholeAsJSONReadsBack(t *testing.T) {
	db, _ := openDB(t, t.TempDir())
	rec := signature("shop", "s1", 4)
	rec.LastCounted = time.Date(2026, 3, 1, 12, 6, 0, 0, time.UTC)
	rec.PassesSinceFailure = 3
	v, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(txn *badger.Txn) error { return txn.Set([]byte("sig/shop/s1"), v) }); err != nil {
		t.Fatal(err)
	}
	s := newStore(t, db, 0)
	if got := record(t, s, "shop", "s1"); !reflect.DeepEqual(got, *rec) {
		t.Errorf("Record =\n%+v\nwant\n%+v", got, *rec)
	}

	// Counting an occurrence then stores it in the new form.
	rec.Occurrences++
	if err := s.Commit(&store.Batch{Records: []*signatures.Record{rec}}); err != nil {
		t.Fatal(err)
	}
	if got := records(t, s); !reflect.DeepEqual(got, []signatures.Record{*rec}) {
		t.Errorf("Records =\n%+v\nwant\n%+v", got, []signatures.Record{*rec})
	}
}

func TestMalformedSignatureCountsAreAnErrorNamingTheSignature(t *testing.T) {
	for _, v := range []string{"", "\x02", "\x01\x05", "\x01\x05\x00\x0fxx", "\x01\x05\x00\x00\x00\x00\x00\x00\x01"} {
		db, _ := openDB(t, t.TempDir())
		s := newStore(t, db, 0)
		if err := s.Commit(&store.Batch{Records: []*signatures.Record{signature("shop", "s1", 1)}}); err != nil {
			t.Fatal(err)
		}
		if err := db.Update(func(txn *badger.Txn) error { return txn.Set([]byte("sigc/shop/s1"), []byte(v)) }); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Record("shop", "s1"); err == nil || !strings.Contains(err.Error(), "shop/s1") {
			t.Errorf("Record with counts %q: error %v, want one naming shop/s1", v, err)
		}
		if err := s.Records(func(signatures.Record) error { return nil }); err == nil || !strings.Contains(err.Error(), "shop/s1") {
			t.Errorf("Records with counts %q: error %v, want one naming shop/s1", v, err)
		}
	}
}
