package store_test

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/rounds-dev/rounds/pkg/badgerdb"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/logging"
	"github.com/rounds-dev/rounds/services/ingest/internal/signatures"
	"github.com/rounds-dev/rounds/services/ingest/internal/store"
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

func newStore(t *testing.T, db *badger.DB, ttl time.Duration) *store.Store {
	t.Helper()
	s, err := store.New(db, store.Options{EventTTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func signature(project, id string, occurrences int64) *signatures.Record {
	return &signatures.Record{Signature: contract.Signature{
		ID: id, Project: project, Fingerprint: "fp-" + id, FingerprintVersion: 1,
		Title: "cart.TestAdd: expected <*>, got <*>", Kind: contract.KindTest,
		Test:       &contract.TestIdentity{Suite: "cart", Name: "TestAdd"},
		Components: []contract.Component{{Name: "test", Value: "cart.TestAdd"}},
		Status:     contract.StatusNew, Occurrences: occurrences,
		FirstSeen: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		LastSeen:  time.Date(2026, 3, 1, 12, 5, 0, 0, time.UTC),
	}}
}

func entry(msgID string) store.OutboxEntry {
	return store.OutboxEntry{Subject: "rounds.signatures.shop.detected", MsgID: msgID, Data: []byte(`{"id":"` + msgID + `"}`)}
}

func outbox(t *testing.T, s *store.Store) []store.OutboxEntry {
	t.Helper()
	out, err := s.Outbox()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func seqs(entries []store.OutboxEntry) []uint64 {
	out := make([]uint64, len(entries))
	for i, e := range entries {
		out[i] = e.Seq
	}
	return out
}

func msgIDs(entries []store.OutboxEntry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.MsgID
	}
	return out
}

func seen(t *testing.T, s *store.Store, keys ...store.EventKey) []bool {
	t.Helper()
	got, err := s.Seen(keys)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func allSignatures(t *testing.T, s *store.Store) []contract.Signature {
	t.Helper()
	var out []contract.Signature
	if err := s.Signatures(func(sig contract.Signature) error { out = append(out, sig); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCommitStoresEventsSignaturesAndOutboxTogether(t *testing.T) {
	db, _ := openDB(t, t.TempDir())
	s := newStore(t, db, 0)
	sig := signature("shop", "s1", 1)
	b := &store.Batch{
		Events:  []store.EventKey{{Project: "shop", ID: "e1"}, {Project: "shop", ID: "e2"}},
		Records: []*signatures.Record{sig},
		Outbox:  []store.OutboxEntry{entry("s1.detected.1")},
	}
	if err := s.Commit(b); err != nil {
		t.Fatal(err)
	}

	if got := seen(t, s, b.Events...); !reflect.DeepEqual(got, []bool{true, true}) {
		t.Errorf("Seen(committed events) = %v, want both", got)
	}
	got, ok, err := s.Record("shop", "s1")
	if err != nil || !ok {
		t.Fatalf("Signature(shop, s1) = _, %v, %v; want it found", ok, err)
	}
	if !reflect.DeepEqual(got, *sig) {
		t.Errorf("Signature(shop, s1) =\n%+v\nwant\n%+v", got, *sig)
	}
	if b.Outbox[0].Seq != 1 {
		t.Errorf("Commit numbered the first outbox entry %d, want 1", b.Outbox[0].Seq)
	}
	want := []store.OutboxEntry{{Seq: 1, Subject: "rounds.signatures.shop.detected", MsgID: "s1.detected.1", Data: []byte(`{"id":"s1.detected.1"}`)}}
	if got := outbox(t, s); !reflect.DeepEqual(got, want) {
		t.Errorf("Outbox() = %+v, want %+v", got, want)
	}
}

func TestCommitOfAnEmptyBatchChangesNothing(t *testing.T) {
	db, _ := openDB(t, t.TempDir())
	s := newStore(t, db, 0)
	if err := s.Commit(&store.Batch{}); err != nil {
		t.Fatal(err)
	}
	if got := outbox(t, s); len(got) != 0 {
		t.Errorf("Outbox() = %+v, want none", got)
	}
	if got := allSignatures(t, s); len(got) != 0 {
		t.Errorf("Signatures() = %+v, want none", got)
	}
}

func TestSignatureThatWasNeverStoredIsNotFound(t *testing.T) {
	db, _ := openDB(t, t.TempDir())
	s := newStore(t, db, 0)
	if err := s.Commit(&store.Batch{Records: []*signatures.Record{signature("shop", "s1", 1)}}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []struct{ project, id string }{{"shop", "s2"}, {"billing", "s1"}, {"shop", ""}} {
		if _, ok, err := s.Record(k.project, k.id); ok || err != nil {
			t.Errorf("Signature(%q, %q) = _, %v, %v; want not found and no error", k.project, k.id, ok, err)
		}
	}
}

func TestCommitOverwritesASignature(t *testing.T) {
	db, _ := openDB(t, t.TempDir())
	s := newStore(t, db, 0)
	for n := int64(1); n <= 3; n++ {
		if err := s.Commit(&store.Batch{Records: []*signatures.Record{signature("shop", "s1", n)}}); err != nil {
			t.Fatal(err)
		}
	}
	got, _, err := s.Record("shop", "s1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Occurrences != 3 {
		t.Errorf("Occurrences = %d, want the last committed, 3", got.Occurrences)
	}
}

func TestSeen(t *testing.T) {
	db, _ := openDB(t, t.TempDir())
	s := newStore(t, db, 0)
	err := s.Commit(&store.Batch{Events: []store.EventKey{{Project: "shop", ID: "e1"}, {Project: "billing", ID: "e2"}}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		key  store.EventKey
		want bool
	}{
		{"a committed event is seen", store.EventKey{Project: "shop", ID: "e1"}, true},
		{"a committed event of another project is seen", store.EventKey{Project: "billing", ID: "e2"}, true},
		{"an event never committed is not seen", store.EventKey{Project: "shop", ID: "e3"}, false},
		{"the same id in another project is not seen", store.EventKey{Project: "billing", ID: "e1"}, false},
		{"a prefix of a committed id is not seen", store.EventKey{Project: "shop", ID: "e"}, false},
		{"an id extending a committed one is not seen", store.EventKey{Project: "shop", ID: "e10"}, false},
		{"a project that is a prefix of another is not confused with it", store.EventKey{Project: "sho", ID: "p\x00e1"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := seen(t, s, tt.key); got[0] != tt.want {
				t.Errorf("Seen(%+v) = %v, want %v", tt.key, got[0], tt.want)
			}
		})
	}
	t.Run("answers come in the order of the keys asked", func(t *testing.T) {
		got := seen(t, s, tests[2].key, tests[0].key, tests[3].key, tests[1].key)
		if want := []bool{false, true, false, true}; !reflect.DeepEqual(got, want) {
			t.Errorf("Seen = %v, want %v", got, want)
		}
	})
	t.Run("no keys give no answers", func(t *testing.T) {
		if got := seen(t, s); len(got) != 0 {
			t.Errorf("Seen() = %v, want empty", got)
		}
	})
}

func TestOutboxReturnsEntriesOldestFirstAndPublishedDeletesThem(t *testing.T) {
	db, _ := openDB(t, t.TempDir())
	s := newStore(t, db, 0)
	// More than 255 entries, so that sequence numbers past one byte must
	// still sort after the small ones.
	var all []string
	for batch := range 3 {
		b := &store.Batch{}
		for i := range 100 {
			id := fmt.Sprintf("m%d-%d", batch, i)
			all = append(all, id)
			b.Outbox = append(b.Outbox, entry(id))
		}
		if err := s.Commit(b); err != nil {
			t.Fatal(err)
		}
		if first, last := b.Outbox[0].Seq, b.Outbox[99].Seq; first != uint64(batch*100+1) || last != uint64(batch*100+100) {
			t.Fatalf("batch %d numbered %d..%d, want %d..%d", batch, first, last, batch*100+1, batch*100+100)
		}
	}

	got := outbox(t, s)
	if !reflect.DeepEqual(msgIDs(got), all) {
		t.Fatalf("Outbox() gave entries in another order: %v", msgIDs(got))
	}
	for i, e := range got {
		if e.Seq != uint64(i+1) {
			t.Fatalf("entry %d has Seq %d, want %d", i, e.Seq, i+1)
		}
	}

	// Confirm the first 150 and a few later ones, in the same batch as a
	// new entry.
	var published []uint64
	for seq := uint64(1); seq <= 150; seq++ {
		published = append(published, seq)
	}
	published = append(published, 200, 300)
	b := &store.Batch{Outbox: []store.OutboxEntry{entry("new")}, Published: published}
	if err := s.Commit(b); err != nil {
		t.Fatal(err)
	}
	if b.Outbox[0].Seq != 301 {
		t.Errorf("new entry numbered %d, want 301", b.Outbox[0].Seq)
	}
	var want []uint64
	for seq := uint64(151); seq <= 301; seq++ {
		if seq != 200 && seq != 300 {
			want = append(want, seq)
		}
	}
	if got := seqs(outbox(t, s)); !reflect.DeepEqual(got, want) {
		t.Errorf("after publishing, Outbox() has %v, want %v", got, want)
	}
}

func TestPublishedOfAnUnknownSequenceIsHarmless(t *testing.T) {
	db, _ := openDB(t, t.TempDir())
	s := newStore(t, db, 0)
	if err := s.Commit(&store.Batch{Outbox: []store.OutboxEntry{entry("a")}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(&store.Batch{Published: []uint64{1, 1, 42}}); err != nil {
		t.Fatal(err)
	}
	if got := outbox(t, s); len(got) != 0 {
		t.Errorf("Outbox() = %+v, want empty", got)
	}
}

func TestOutboxNumberingContinuesAfterReopening(t *testing.T) {
	tests := []struct {
		name      string
		committed int      // entries committed before closing
		published []uint64 // of those, confirmed before closing
		wantNext  uint64
	}{
		{"a fresh database numbers from one", 0, nil, 1},
		{"numbering continues after the last entry", 3, nil, 4},
		{"numbering continues after the last entry when older ones were published", 5, []uint64{1, 2, 3}, 6},
		{"numbering continues past one byte", 300, nil, 301},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			db, closeDB := openDB(t, dir)
			s := newStore(t, db, 0)
			if tt.committed > 0 {
				b := &store.Batch{}
				for i := range tt.committed {
					b.Outbox = append(b.Outbox, entry(fmt.Sprint("old", i)))
				}
				if err := s.Commit(b); err != nil {
					t.Fatal(err)
				}
			}
			if len(tt.published) > 0 {
				if err := s.Commit(&store.Batch{Published: tt.published}); err != nil {
					t.Fatal(err)
				}
			}
			closeDB()

			db, _ = openDB(t, dir)
			s = newStore(t, db, 0)
			b := &store.Batch{Outbox: []store.OutboxEntry{entry("new")}}
			if err := s.Commit(b); err != nil {
				t.Fatal(err)
			}
			if b.Outbox[0].Seq != tt.wantNext {
				t.Errorf("first entry after reopening numbered %d, want %d", b.Outbox[0].Seq, tt.wantNext)
			}
			got := outbox(t, s)
			if last := got[len(got)-1]; last.MsgID != "new" || last.Seq != tt.wantNext {
				t.Errorf("Outbox() ends with %+v, want the new entry at %d", last, tt.wantNext)
			}
			if wantLen := tt.committed - len(tt.published) + 1; len(got) != wantLen {
				t.Errorf("Outbox() has %d entries, want %d", len(got), wantLen)
			}
		})
	}
}

func TestCommitSurvivesReopening(t *testing.T) {
	dir := t.TempDir()
	db, closeDB := openDB(t, dir)
	s := newStore(t, db, time.Hour)
	sig := signature("shop", "s1", 2)
	err := s.Commit(&store.Batch{
		Events:  []store.EventKey{{Project: "shop", ID: "e1"}},
		Records: []*signatures.Record{sig},
		Outbox:  []store.OutboxEntry{entry("s1.recurred.2")},
	})
	if err != nil {
		t.Fatal(err)
	}
	closeDB()

	db, _ = openDB(t, dir)
	s = newStore(t, db, time.Hour)
	if got := seen(t, s, store.EventKey{Project: "shop", ID: "e1"}); !got[0] {
		t.Error("the event is not seen after reopening")
	}
	if got, ok, err := s.Record("shop", "s1"); err != nil || !ok || !reflect.DeepEqual(got, *sig) {
		t.Errorf("Signature after reopening = %+v, %v, %v; want %+v", got, ok, err, *sig)
	}
	if got := msgIDs(outbox(t, s)); !reflect.DeepEqual(got, []string{"s1.recurred.2"}) {
		t.Errorf("Outbox after reopening = %v", got)
	}
}

// tooBigBatch builds a batch that cannot fit in one transaction of a
// database opened by badgerdb.Open: its values add up to more than 15% of a
// 32 MiB memtable, each small enough to be counted whole (under Badger's
// 1 MiB value threshold).
func tooBigBatch(db *badger.DB) *store.Batch {
	big := strings.Repeat("x", 64<<10)
	b := &store.Batch{}
	const n = 100
	for i := range n {
		b.Events = append(b.Events, store.EventKey{Project: "shop", ID: fmt.Sprint("big-event-", i)})
		sig := signature("shop", fmt.Sprint("big-", i), 1)
		sig.MessageTemplate = big
		b.Records = append(b.Records, sig)
		b.Outbox = append(b.Outbox, store.OutboxEntry{Subject: "rounds.signatures.shop.detected", MsgID: fmt.Sprint("big-", i), Data: []byte(big)})
	}
	if part := int64(n * len(big)); part <= db.MaxBatchSize() {
		panic(fmt.Sprintf("%d bytes of signatures or outbox fit in %d", part, db.MaxBatchSize()))
	}
	return b
}

func TestCommitOfABatchTooBigStoresNothingOfIt(t *testing.T) {
	tests := []struct {
		name string
		// arrange trims the batch so that it overflows at a chosen place.
		arrange func(b *store.Batch)
	}{
		{"a batch overflowing in its signatures", func(b *store.Batch) { b.Outbox = b.Outbox[:1] }},
		{"a batch overflowing in its outbox", func(b *store.Batch) { b.Records = b.Records[:1] }},
		{"a batch overflowing in both", func(*store.Batch) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, _ := openDB(t, t.TempDir())
			s := newStore(t, db, time.Hour)
			before := &store.Batch{Outbox: []store.OutboxEntry{entry("kept-1"), entry("kept-2")}}
			if err := s.Commit(before); err != nil {
				t.Fatal(err)
			}

			b := tooBigBatch(db)
			tt.arrange(b)
			b.Published = []uint64{1} // must not be deleted either
			err := s.Commit(b)
			if !errors.Is(err, store.ErrBatchTooBig) {
				t.Fatalf("Commit(too big) = %v, want ErrBatchTooBig", err)
			}

			for i, ok := range seen(t, s, b.Events...) {
				if ok {
					t.Errorf("event %s was stored", b.Events[i].ID)
				}
			}
			for _, sig := range b.Records {
				if _, ok, err := s.Record(sig.Project, sig.ID); ok || err != nil {
					t.Errorf("signature %s: found %v, error %v; want it not stored", sig.ID, ok, err)
				}
			}
			if got := allSignatures(t, s); len(got) != 0 {
				t.Errorf("Signatures() has %d, want none", len(got))
			}
			if got := msgIDs(outbox(t, s)); !reflect.DeepEqual(got, []string{"kept-1", "kept-2"}) {
				t.Errorf("Outbox() = %v, want only the entries committed before", got)
			}

			// The numbering did not move: the next entry follows the kept ones.
			next := &store.Batch{Outbox: []store.OutboxEntry{entry("after")}}
			if err := s.Commit(next); err != nil {
				t.Fatal(err)
			}
			if next.Outbox[0].Seq != 3 {
				t.Errorf("the entry after a failed commit is numbered %d, want 3", next.Outbox[0].Seq)
			}
		})
	}
}

func TestCommitOfTooManyPublishedDeletionsIsTooBig(t *testing.T) {
	db, _ := openDB(t, t.TempDir())
	s := newStore(t, db, 0)
	if err := s.Commit(&store.Batch{Outbox: []store.OutboxEntry{entry("kept")}}); err != nil {
		t.Fatal(err)
	}
	published := make([]uint64, db.MaxBatchCount()+1)
	for i := range published {
		published[i] = uint64(i + 1)
	}
	err := s.Commit(&store.Batch{Events: []store.EventKey{{Project: "shop", ID: "e1"}}, Published: published})
	if !errors.Is(err, store.ErrBatchTooBig) {
		t.Fatalf("Commit = %v, want ErrBatchTooBig", err)
	}
	if got := seen(t, s, store.EventKey{Project: "shop", ID: "e1"}); got[0] {
		t.Error("the event of the failed batch was stored")
	}
	if got := msgIDs(outbox(t, s)); !reflect.DeepEqual(got, []string{"kept"}) {
		t.Errorf("Outbox() = %v, want the entry kept", got)
	}
}

func TestSignaturesIteratesAll(t *testing.T) {
	db, _ := openDB(t, t.TempDir())
	s := newStore(t, db, 0)
	want := []string{"billing/b1", "shop/s1", "shop/s2", "shop/s3"}
	err := s.Commit(&store.Batch{
		Records: []*signatures.Record{signature("shop", "s1", 1), signature("shop", "s2", 1), signature("billing", "b1", 1)},
		Events:  []store.EventKey{{Project: "shop", ID: "e1"}},
		Outbox:  []store.OutboxEntry{entry("x")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(&store.Batch{Records: []*signatures.Record{signature("shop", "s3", 1)}}); err != nil {
		t.Fatal(err)
	}

	var got []string
	for _, sig := range allSignatures(t, s) {
		got = append(got, sig.Project+"/"+sig.ID)
	}
	sort.Strings(got)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Signatures() gave %v, want %v", got, want)
	}

	t.Run("an error from the callback stops the iteration and is returned", func(t *testing.T) {
		stop := errors.New("stop")
		calls := 0
		err := s.Signatures(func(contract.Signature) error { calls++; return stop })
		if !errors.Is(err, stop) || calls != 1 {
			t.Errorf("Signatures = %v after %d calls, want %v after 1", err, calls, stop)
		}
	})
}

func TestEventTTL(t *testing.T) {
	tests := []struct {
		name string
		ttl  time.Duration
	}{
		{"events are kept forever without a TTL", 0},
		{"events expire after a TTL", 72 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, _ := openDB(t, t.TempDir())
			s := newStore(t, db, tt.ttl)
			before := time.Now()
			if err := s.Commit(&store.Batch{Events: []store.EventKey{{Project: "shop", ID: "e1"}}}); err != nil {
				t.Fatal(err)
			}
			after := time.Now()

			var expiresAt uint64
			err := db.View(func(txn *badger.Txn) error {
				item, err := txn.Get([]byte("evt/shop\x00e1"))
				if err != nil {
					return err
				}
				if v, err := item.ValueCopy(nil); err != nil || len(v) != 0 {
					return fmt.Errorf("value %q, %v; want empty", v, err)
				}
				expiresAt = item.ExpiresAt()
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if tt.ttl == 0 {
				if expiresAt != 0 {
					t.Errorf("ExpiresAt = %d, want 0 (never)", expiresAt)
				}
				return
			}
			// Badger keeps expiry in whole seconds.
			lo, hi := uint64(before.Add(tt.ttl).Unix()), uint64(after.Add(tt.ttl).Unix())+1
			if expiresAt < lo || expiresAt > hi {
				t.Errorf("ExpiresAt = %d, want within [%d, %d]", expiresAt, lo, hi)
			}
		})
	}
}

func TestEventTTLDoesNotApplyToSignaturesOrOutbox(t *testing.T) {
	db, _ := openDB(t, t.TempDir())
	s := newStore(t, db, time.Hour)
	err := s.Commit(&store.Batch{Records: []*signatures.Record{signature("shop", "s1", 1)}, Outbox: []store.OutboxEntry{entry("a")}})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.DefaultIteratorOptions)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if exp := it.Item().ExpiresAt(); exp != 0 {
				t.Errorf("key %q expires at %d, want never", it.Item().Key(), exp)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
