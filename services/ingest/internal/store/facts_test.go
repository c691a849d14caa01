package store_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/rounds-dev/rounds/services/ingest/internal/signatures"
	"github.com/rounds-dev/rounds/services/ingest/internal/store"
)

var (
	cartAdd = signatures.TestKey{Project: "shop", Suite: "cart", Name: "TestAdd"}
	at0     = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
)

func pass(test signatures.TestKey, at signatures.Where, run string, retry bool) signatures.Fact {
	return signatures.Fact{Test: test, Where: at, Passed: true, Run: run, Retry: retry, Time: at0}
}

func fail(test signatures.TestKey, at signatures.Where, run, sig string) signatures.Fact {
	return signatures.Fact{Test: test, Where: at, Signature: sig, Run: run, Time: at0.Add(time.Minute)}
}

func testFacts(t *testing.T, s *store.Store, test signatures.TestKey) []signatures.Fact {
	t.Helper()
	var out []signatures.Fact
	if err := s.TestFacts(test, func(f signatures.Fact) error { out = append(out, f); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFactsAreFoundByTestAndPlace(t *testing.T) {
	db, _ := openDB(t, t.TempDir())
	s, err := store.New(db, store.Options{FactTTL: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	cartAddLonger := signatures.TestKey{Project: "shop", Suite: "cart", Name: "TestAddMore"}
	facts := []signatures.Fact{
		pass(cartAdd, "cc1", "r1", true),
		fail(cartAdd, "cc1", "r2", "s1"),
		fail(cartAdd, "cc1", "r2", "s2"),
		fail(cartAdd, "cc2", "r3", "s1"),
		pass(cartAdd, "rr9", "r9", false),
		pass(cartAddLonger, "cc1", "r1", false),
		fail(signatures.TestKey{Project: "shop", Suite: "cart.TestAdd", Name: ""}, "cc1", "r1", "s9"),
	}
	if err := s.Commit(&store.Batch{Facts: facts[:3]}); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteFacts(facts[3:]); err != nil {
		t.Fatal(err)
	}

	t.Run("a pass is found at its place, with its run and retry", func(t *testing.T) {
		got, ok, err := s.PassedOn(cartAdd, "cc1")
		if err != nil || !ok || !reflect.DeepEqual(got, facts[0]) {
			t.Errorf("PassedOn = %+v, %v, %v; want %+v", got, ok, err, facts[0])
		}
	})
	t.Run("no pass is found where there was none", func(t *testing.T) {
		if _, ok, err := s.PassedOn(cartAdd, "cc2"); ok || err != nil {
			t.Errorf("PassedOn(c2) = %v, %v", ok, err)
		}
	})
	t.Run("the failures at a place are every signature's", func(t *testing.T) {
		var got []signatures.Fact
		err := s.FailedOn(cartAdd, "cc1", func(f signatures.Fact) error { got = append(got, f); return nil })
		if err != nil || !reflect.DeepEqual(got, facts[1:3]) {
			t.Errorf("FailedOn = %+v, %v; want %+v", got, err, facts[1:3])
		}
	})
	t.Run("the facts of a test are its own, not those of a test whose name extends it", func(t *testing.T) {
		got := testFacts(t, s, cartAdd)
		want := facts[:5]
		key := func(f signatures.Fact) string { return fmt.Sprint(f.Where, f.Passed, f.Signature) }
		sort.Slice(got, func(i, j int) bool { return key(got[i]) < key(got[j]) })
		sort.Slice(want, func(i, j int) bool { return key(want[i]) < key(want[j]) })
		if !reflect.DeepEqual(got, want) {
			t.Errorf("TestFacts =\n%+v\nwant\n%+v", got, want)
		}
	})
	t.Run("writing a fact again keeps one, with the latest run", func(t *testing.T) {
		again := pass(cartAdd, "cc1", "r7", false)
		if err := s.WriteFacts([]signatures.Fact{again}); err != nil {
			t.Fatal(err)
		}
		got, _, _ := s.PassedOn(cartAdd, "cc1")
		if got.Run != "r7" || got.Retry {
			t.Errorf("PassedOn after writing again = %+v", got)
		}
	})
	t.Run("facts expire after their TTL", func(t *testing.T) {
		err := db.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte("fact/")})
			defer it.Close()
			for it.Rewind(); it.Valid(); it.Next() {
				if it.Item().ExpiresAt() == 0 {
					t.Errorf("fact %q never expires", it.Item().Key())
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func TestRunsRoundTripAndExpire(t *testing.T) {
	db, _ := openDB(t, t.TempDir())
	s, err := store.New(db, store.Options{RunTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	run := &signatures.Run{Project: "shop", ID: "r1", Reports: map[string]signatures.RunCounts{"junit.xml#1": {Total: 10, Failed: 6}}, HeldUntil: at0, Storm: true}
	if err := s.Commit(&store.Batch{Runs: []*signatures.Run{run}}); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.Run("shop", "r1")
	if err != nil || !ok || !reflect.DeepEqual(got, *run) {
		t.Errorf("Run = %+v, %v, %v; want %+v", got, ok, err, *run)
	}
	if _, ok, err := s.Run("shop", "r2"); ok || err != nil {
		t.Errorf("Run(r2) = %v, %v; want not found", ok, err)
	}
	err = db.View(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte("run/shop\x00r1"))
		if err == nil && item.ExpiresAt() == 0 {
			t.Error("the run never expires")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRunReportIdsAndFailureIdsAreApart(t *testing.T) {
	db, _ := openDB(t, t.TempDir())
	s := newStore(t, db, 0)
	if err := s.Commit(&store.Batch{Events: []store.EventKey{{Project: "shop", ID: "x.0", Run: true}}}); err != nil {
		t.Fatal(err)
	}
	got := seen(t, s, store.EventKey{Project: "shop", ID: "x.0"}, store.EventKey{Project: "shop", ID: "x.0", Run: true})
	if !reflect.DeepEqual(got, []bool{false, true}) {
		t.Errorf("Seen = %v, want a run report's id not to count as a failure's", got)
	}
}

func heldEntry(run signatures.RunKey, msgID string, size int) store.HeldEntry {
	data, _ := json.Marshal(map[string]string{"id": msgID, "pad": strings.Repeat("x", size)})
	return store.HeldEntry{Run: run, Entry: store.OutboxEntry{Subject: "rounds.signatures.shop.detected", MsgID: msgID, Data: data}}
}

func TestHeldEventsAreReleasedWholeIntoTheOutbox(t *testing.T) {
	db, _ := openDB(t, t.TempDir())
	s := newStore(t, db, 0)
	r1 := signatures.RunKey{Project: "shop", ID: "r1"}
	r2 := signatures.RunKey{Project: "shop", ID: "r2"}
	r10 := signatures.RunKey{Project: "shop", ID: "r10"}
	b := &store.Batch{}
	// More than one transaction's worth for r1.
	for i := range 40 {
		b.Held = append(b.Held, heldEntry(r1, fmt.Sprint("a", i), 60<<10))
	}
	b.Held = append(b.Held, heldEntry(r2, "b", 10), heldEntry(r10, "c", 10))
	for i := 0; i < len(b.Held); i += 10 {
		if err := s.Commit(&store.Batch{Held: b.Held[i:min(i+10, len(b.Held))]}); err != nil {
			t.Fatal(err)
		}
	}
	runs, err := s.HeldRuns()
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].ID < runs[j].ID })
	if want := []signatures.RunKey{r1, r10, r2}; !reflect.DeepEqual(runs, want) {
		t.Fatalf("HeldRuns = %v, want %v", runs, want)
	}

	edited := 0
	released, err := s.ReleaseHeld(r1, func(data []byte) ([]byte, error) {
		edited++
		return append(data[:len(data)-1], []byte(`,"storm":true}`)...), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(released) != 40 || edited != 40 {
		t.Fatalf("released %d, edited %d; want 40", len(released), edited)
	}
	out := outbox(t, s)
	if len(out) != 40 {
		t.Fatalf("outbox has %d entries, want 40", len(out))
	}
	for i, e := range out {
		if e.Seq != released[i].Seq || !strings.HasSuffix(string(e.Data), `"storm":true}`) {
			t.Fatalf("outbox entry %d: seq %d (released as %d), data ends %q", i, e.Seq, released[i].Seq, e.Data[len(e.Data)-20:])
		}
	}
	if held, _ := s.Held(r1); len(held) != 0 {
		t.Errorf("r1 still holds %d events", len(held))
	}
	if held, _ := s.Held(r2); len(held) != 1 {
		t.Errorf("r2 holds %d events, want its 1: releasing r1 took them", len(held))
	}
	if held, _ := s.Held(r10); len(held) != 1 {
		t.Errorf("r10 holds %d events, want its 1: releasing r1 took them", len(held))
	}
	if again, err := s.ReleaseHeld(r1, nil); err != nil || len(again) != 0 {
		t.Errorf("releasing r1 again = %d, %v; want nothing", len(again), err)
	}
}
