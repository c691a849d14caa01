package store_test

import (
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/report/internal/sink"
	"github.com/rounds-dev/rounds/services/report/internal/store"
)

func change(eventID string, sinks ...string) sink.Change {
	p := &sink.Page{Signature: contract.Signature{ID: "s1", Project: "shop"}, File: "shop/x_s1.md"}
	p.Add(sink.Entry{EventID: eventID, What: "detected"})
	ds := map[string]sink.Delivery{}
	for _, n := range sinks {
		ds[n] = sink.Delivery{Key: eventID, Kind: sink.KindChange, SignatureID: "s1"}
	}
	return sink.Change{EventID: eventID, Page: p, Deliveries: ds}
}

func TestTheOutboxKeepsEachSinksDeliveriesInOrderAndOnce(t *testing.T) {
	dir := t.TempDir()
	db, closeDB := openDB(t, dir)
	s := store.New(db)
	for _, c := range []sink.Change{change("e1", sink.Markdown, sink.GitHub), change("e2", sink.GitHub), change("e3", sink.Markdown)} {
		if err := s.Commit(c); err != nil {
			t.Fatal(err)
		}
	}
	head := func(name string) string {
		t.Helper()
		d, err := s.Head(name)
		if err != nil {
			t.Fatal(err)
		}
		if d == nil {
			return ""
		}
		return d.Key
	}
	if head(sink.Markdown) != "e1" || head(sink.GitHub) != "e1" || head(sink.Webhook) != "" {
		t.Fatalf("heads %q %q %q, want e1 e1 and none", head(sink.Markdown), head(sink.GitHub), head(sink.Webhook))
	}
	if seen, err := s.Seen("e2"); err != nil || !seen {
		t.Errorf("Seen(e2) = %v, %v", seen, err)
	}

	d, _ := s.Head(sink.GitHub)
	d.Attempts, d.LastError, d.NextAttempt = 2, "502", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	if err := s.Retry(sink.GitHub, d); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Head(sink.GitHub); got.Key != "e1" || got.Attempts != 2 || got.LastError != "502" || !got.NextAttempt.Equal(d.NextAttempt) {
		t.Errorf("head after retry %+v", got)
	}
	if err := s.Done(sink.GitHub, d); err != nil {
		t.Fatal(err)
	}
	if head(sink.GitHub) != "e2" || head(sink.Markdown) != "e1" {
		t.Errorf("heads %q %q after github took e1, want e2 and e1", head(sink.GitHub), head(sink.Markdown))
	}

	// A sink that took an event is not given it again, even across a
	// restart.
	closeDB()
	db, _ = openDB(t, dir)
	s = store.New(db)
	if err := s.Commit(change("e1", sink.GitHub)); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Pending(sink.GitHub); err != nil || n != 1 {
		t.Errorf("github pending %d (%v), want only e2", n, err)
	}
	if n, err := s.Pending(sink.Markdown); err != nil || n != 2 {
		t.Errorf("markdown pending %d (%v), want e1 and e3", n, err)
	}
}

func TestIssuesAndPagesRoundTrip(t *testing.T) {
	db, _ := openDB(t, t.TempDir())
	s := store.New(db)
	if is, err := s.Issue("s1"); err != nil || is != nil {
		t.Fatalf("Issue before any = %+v, %v", is, err)
	}
	if err := s.SetIssue("s1", sink.Issue{Number: 42, URL: "https://github.example/acme/shop/issues/42"}); err != nil {
		t.Fatal(err)
	}
	if is, err := s.Issue("s1"); err != nil || is == nil || is.Number != 42 {
		t.Errorf("Issue = %+v, %v", is, err)
	}
	if err := s.Commit(change("e1")); err != nil {
		t.Fatal(err)
	}
	pages, err := s.Pages()
	if err != nil || len(pages) != 1 || pages[0].File != "shop/x_s1.md" || len(pages[0].History) != 1 {
		t.Errorf("Pages = %+v, %v", pages, err)
	}
}

// The marks that drop redelivered events and repeated deliveries expire
// when asked to (report keeps them twice the streams' max age); the
// report of a diagnosis and the page never do.
func TestMarksExpireWhenAskedAndTheStateDoesNot(t *testing.T) {
	tests := []struct {
		name string
		ttl  time.Duration
	}{
		{name: "kept forever by default", ttl: 0},
		{name: "kept for two weeks", ttl: 14 * 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, _ := openDB(t, t.TempDir())
			s := store.New(db)
			if tt.ttl > 0 {
				s = s.ExpireMarks(tt.ttl)
			}
			before := time.Now()
			if err := s.Commit(change("e1", sink.Markdown)); err != nil {
				t.Fatal(err)
			}
			d, err := s.Head(sink.Markdown)
			if err != nil || d == nil {
				t.Fatalf("head %v, %v", d, err)
			}
			if err := s.Done(sink.Markdown, d); err != nil {
				t.Fatal(err)
			}
			after := time.Now()
			expiry := map[string]uint64{}
			err = db.View(func(txn *badger.Txn) error {
				it := txn.NewIterator(badger.DefaultIteratorOptions)
				defer it.Close()
				for it.Rewind(); it.Valid(); it.Next() {
					expiry[string(it.Item().Key())] = it.Item().ExpiresAt()
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for key, want := range map[string]bool{"seen/e1": true, "delivered/markdown/e1": true, "page/s1": false} {
				at, ok := expiry[key]
				switch {
				case !ok:
					t.Errorf("%s missing; keys %v", key, expiry)
				case !want || tt.ttl == 0:
					if at != 0 {
						t.Errorf("%s expires at %d, want never", key, at)
					}
				case at < uint64(before.Add(tt.ttl).Unix()) || at > uint64(after.Add(tt.ttl).Unix())+1:
					t.Errorf("%s expires at %s, want %s from now", key, time.Unix(int64(at), 0), tt.ttl)
				}
			}
			// Within its time, a mark still drops the repeat.
			if seen, err := s.Seen("e1"); err != nil || !seen {
				t.Errorf("Seen(e1) = %v, %v; want true", seen, err)
			}
		})
	}
}
