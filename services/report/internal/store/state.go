package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/dgraph-io/badger/v4"
	"github.com/rounds-dev/rounds/pkg/badgerdb"
	"github.com/rounds-dev/rounds/services/report/internal/sink"
)

// Keys besides report/<diagnosis id>:
//
//	page/<signature id>            the signature's page (sink.Page)
//	seen/<event id>                a signature event already applied
//	outbox-seq                     the last outbox sequence number
//	outbox/<sink>/<seq, 20 digits> a pending delivery (sink.Delivery)
//	delivered/<sink>/<event id>    a delivery the sink took or gave up on
//	github/issue/<signature id>    the signature's GitHub issue number
func pageKey(sigID string) []byte          { return []byte("page/" + sigID) }
func seenKey(eventID string) []byte        { return []byte("seen/" + eventID) }
func outboxPrefix(name string) []byte      { return []byte("outbox/" + name + "/") }
func deliveredKey(name, key string) []byte { return []byte("delivered/" + name + "/" + key) }
func issueKey(sigID string) []byte         { return []byte("github/issue/" + sigID) }

var seqKey = []byte("outbox-seq")

func outboxKey(name string, seq uint64) []byte {
	return fmt.Appendf(outboxPrefix(name), "%020d", seq)
}

// Seen reports whether a signature event was applied.
func (s *Store) Seen(eventID string) (bool, error) {
	var seen bool
	err := s.db.View(func(txn *badger.Txn) error {
		_, err := txn.Get(seenKey(eventID))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		seen = err == nil
		return err
	})
	if err != nil {
		return false, fmt.Errorf("read seen event %s: %w", eventID, err)
	}
	return seen, nil
}

// Page returns the page of a signature, or nil.
func (s *Store) Page(sigID string) (*sink.Page, error) {
	var p *sink.Page
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		p, err = badgerdb.GetJSON[sink.Page](txn, pageKey(sigID))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read page of %s: %w", sigID, err)
	}
	return p, nil
}

// Pages returns every signature's page.
func (s *Store) Pages() ([]sink.Page, error) {
	var pages []sink.Page
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 100, Prefix: []byte("page/")})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var p sink.Page
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &p) }); err != nil {
				return fmt.Errorf("decode %s: %w", it.Item().Key(), err)
			}
			pages = append(pages, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read pages: %w", err)
	}
	return pages, nil
}

// Commit records c in one transaction.
func (s *Store) Commit(c sink.Change) error {
	page, err := json.Marshal(c.Page)
	if err != nil {
		return fmt.Errorf("encode page: %w", err)
	}
	var report []byte
	if c.Report != nil {
		if report, err = json.Marshal(c.Report); err != nil {
			return fmt.Errorf("encode report: %w", err)
		}
	}
	err = s.update(func(txn *badger.Txn) error {
		if c.Report != nil {
			if err := txn.Set(reportKey(c.DiagnosisID), report); err != nil {
				return err
			}
		} else if err := s.setMark(txn, seenKey(c.EventID)); err != nil {
			return err
		}
		if err := txn.Set(pageKey(c.Page.Signature.ID), page); err != nil {
			return err
		}
		return enqueue(txn, c.Deliveries)
	})
	if err != nil {
		return fmt.Errorf("record event %s: %w", c.EventID, err)
	}
	return nil
}

// enqueue queues each delivery in its sink's outbox, unless the sink took
// that key before.
func enqueue(txn *badger.Txn, deliveries map[string]sink.Delivery) error {
	if len(deliveries) == 0 {
		return nil
	}
	var seq uint64
	item, err := txn.Get(seqKey)
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
	case err != nil:
		return err
	default:
		if err := item.Value(func(v []byte) (err error) { seq, err = strconv.ParseUint(string(v), 10, 64); return err }); err != nil {
			return fmt.Errorf("read outbox sequence: %w", err)
		}
	}
	for _, name := range sink.Names { // a fixed order keeps sequence numbers stable
		d, ok := deliveries[name]
		if !ok {
			continue
		}
		if _, err := txn.Get(deliveredKey(name, d.Key)); err == nil {
			continue
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		seq++
		d.Seq = seq
		v, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("encode delivery: %w", err)
		}
		if err := txn.Set(outboxKey(name, seq), v); err != nil {
			return err
		}
	}
	return txn.Set(seqKey, strconv.AppendUint(nil, seq, 10))
}

// Head returns the oldest pending delivery of a sink, or nil.
func (s *Store) Head(name string) (*sink.Delivery, error) {
	var d *sink.Delivery
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchSize: 1, Prefix: outboxPrefix(name)})
		defer it.Close()
		it.Rewind()
		if !it.Valid() {
			return nil
		}
		d = &sink.Delivery{}
		return it.Item().Value(func(v []byte) error { return json.Unmarshal(v, d) })
	})
	if err != nil {
		return nil, fmt.Errorf("read outbox of %s: %w", name, err)
	}
	return d, nil
}

// Pending counts a sink's pending deliveries.
func (s *Store) Pending(name string) (int, error) {
	n := 0
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: outboxPrefix(name)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("count outbox of %s: %w", name, err)
	}
	return n, nil
}

// Done removes d from the sink's outbox and records its key as delivered.
func (s *Store) Done(name string, d *sink.Delivery) error {
	err := s.update(func(txn *badger.Txn) error {
		if err := txn.Delete(outboxKey(name, d.Seq)); err != nil {
			return err
		}
		return s.setMark(txn, deliveredKey(name, d.Key))
	})
	if err != nil {
		return fmt.Errorf("record delivery %s to %s: %w", d.Key, name, err)
	}
	return nil
}

// Retry stores the retry state of a pending delivery.
func (s *Store) Retry(name string, d *sink.Delivery) error {
	v, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encode delivery: %w", err)
	}
	if err := s.update(func(txn *badger.Txn) error { return txn.Set(outboxKey(name, d.Seq), v) }); err != nil {
		return fmt.Errorf("record retry of %s to %s: %w", d.Key, name, err)
	}
	return nil
}

// Issue returns the GitHub issue of a signature, or nil.
func (s *Store) Issue(sigID string) (*sink.Issue, error) {
	var is *sink.Issue
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		is, err = badgerdb.GetJSON[sink.Issue](txn, issueKey(sigID))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read issue of %s: %w", sigID, err)
	}
	return is, nil
}

// SetIssue records the GitHub issue of a signature.
func (s *Store) SetIssue(sigID string, is sink.Issue) error {
	v, err := json.Marshal(is)
	if err != nil {
		return fmt.Errorf("encode issue: %w", err)
	}
	if err := s.update(func(txn *badger.Txn) error { return txn.Set(issueKey(sigID), v) }); err != nil {
		return fmt.Errorf("record issue of %s: %w", sigID, err)
	}
	return nil
}

// update runs fn in a read-write transaction, again when it conflicts with
// another (the handlers and the sinks' runners write concurrently).
func (s *Store) update(fn func(*badger.Txn) error) error {
	var err error
	for range 5 {
		if err = s.db.Update(fn); !errors.Is(err, badger.ErrConflict) {
			return err
		}
	}
	return err
}
