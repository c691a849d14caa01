package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/rounds-dev/rounds/services/ingest/internal/signatures"
)

// A fact's key is
//
//	fact/<project> 0 <suite> 0 <name> 0 <where> 0 P
//	fact/<project> 0 <suite> 0 <name> 0 <where> 0 F<signature>
//
// so that the facts of a test, and of a test at one place, are a prefix
// each, and a pass at a place is one key. Its value is the time (unix
// nanoseconds, 8 bytes), a flags byte and the run id.

const factRetry = 1

func testPrefix(t signatures.TestKey) []byte {
	b := make([]byte, 0, len(prefixFact)+len(t.Project)+len(t.Suite)+len(t.Name)+3)
	b = append(b, prefixFact...)
	b = append(b, t.Project...)
	b = append(b, 0)
	b = append(b, t.Suite...)
	b = append(b, 0)
	b = append(b, t.Name...)
	return append(b, 0)
}

func placePrefix(t signatures.TestKey, at signatures.Where) []byte {
	return append(append(testPrefix(t), at...), 0)
}

func factKey(f signatures.Fact) []byte {
	k := placePrefix(f.Test, f.Where)
	if f.Passed {
		return append(k, 'P')
	}
	return append(append(k, 'F'), f.Signature...)
}

func factValue(f signatures.Fact) []byte {
	v := make([]byte, 9, 9+len(f.Run))
	binary.BigEndian.PutUint64(v, uint64(f.Time.UnixNano()))
	if f.Retry {
		v[8] = factRetry
	}
	return append(v, f.Run...)
}

func (s *Store) withTTL(e *badger.Entry, ttl time.Duration) *badger.Entry {
	if ttl > 0 {
		return e.WithTTL(ttl)
	}
	return e
}

func (s *Store) factEntry(f signatures.Fact) *badger.Entry {
	return s.withTTL(badger.NewEntry(factKey(f), factValue(f)), s.opts.FactTTL)
}

// decodeFact reads a fact of test back from its key (after the test's
// prefix) and value.
func decodeFact(test signatures.TestKey, rest, value []byte) (signatures.Fact, bool) {
	i := bytes.IndexByte(rest, 0)
	if i < 0 || i+1 >= len(rest) || len(value) < 9 {
		return signatures.Fact{}, false
	}
	f := signatures.Fact{
		Test:  test,
		Where: signatures.Where(rest[:i]),
		Time:  time.Unix(0, int64(binary.BigEndian.Uint64(value))).UTC(),
		Retry: value[8]&factRetry != 0,
		Run:   string(value[9:]),
	}
	switch kind := rest[i+1:]; kind[0] {
	case 'P':
		f.Passed = true
	case 'F':
		f.Signature = string(kind[1:])
	default:
		return signatures.Fact{}, false
	}
	return f, true
}

// WriteFacts writes facts in as many transactions as they need. Writing a
// fact again changes nothing but its time and run, so facts can be written
// ahead of the batch that records them: a batch of run reports can name
// more passes than one transaction holds.
func (s *Store) WriteFacts(facts []signatures.Fact) error {
	if len(facts) == 0 {
		return nil
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, f := range facts {
		if err := wb.SetEntry(s.factEntry(f)); err != nil {
			return fmt.Errorf("write facts: %w", err)
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("write facts: %w", err)
	}
	return nil
}

// PassedOn returns the pass of a test at a place.
func (s *Store) PassedOn(test signatures.TestKey, at signatures.Where) (signatures.Fact, bool, error) {
	key := factKey(signatures.Fact{Test: test, Where: at, Passed: true})
	var f signatures.Fact
	var ok bool
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			f, ok = decodeFact(test, key[len(testPrefix(test)):], v)
			return nil
		})
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return signatures.Fact{}, false, nil
	}
	if err != nil {
		return signatures.Fact{}, false, fmt.Errorf("read pass: %w", err)
	}
	return f, ok, nil
}

// FailedOn calls fn with every failure of a test at a place.
func (s *Store) FailedOn(test signatures.TestKey, at signatures.Where, fn func(signatures.Fact) error) error {
	return s.facts(test, append(placePrefix(test, at), 'F'), fn)
}

// TestFacts calls fn with every fact of a test.
func (s *Store) TestFacts(test signatures.TestKey, fn func(signatures.Fact) error) error {
	return s.facts(test, testPrefix(test), fn)
}

func (s *Store) facts(test signatures.TestKey, prefix []byte, fn func(signatures.Fact) error) error {
	skip := len(testPrefix(test))
	return s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 64})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			var f signatures.Fact
			var ok bool
			if err := item.Value(func(v []byte) error {
				f, ok = decodeFact(test, item.Key()[skip:], v)
				return nil
			}); err != nil {
				return fmt.Errorf("read fact: %w", err)
			}
			if !ok {
				continue
			}
			if err := fn(f); err != nil {
				return err
			}
		}
		return nil
	})
}

func runKey(project, id string) []byte { return []byte(prefixRun + project + "\x00" + id) }

// Run returns a stored run.
func (s *Store) Run(project, id string) (signatures.Run, bool, error) {
	var run signatures.Run
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(runKey(project, id))
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error { return json.Unmarshal(v, &run) })
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return signatures.Run{}, false, nil
	}
	if err != nil {
		return signatures.Run{}, false, fmt.Errorf("read run %s/%s: %w", project, id, err)
	}
	return run, true, nil
}

// HeldRuns lists the runs that hold events.
func (s *Store) HeldRuns() ([]signatures.RunKey, error) {
	var out []signatures.RunKey
	seen := map[signatures.RunKey]struct{}{}
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixHeld)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			rest := it.Item().Key()[len(prefixHeld):]
			project, after, ok := bytes.Cut(rest, []byte{0})
			if !ok {
				continue
			}
			id, _, ok := bytes.Cut(after, []byte{0})
			if !ok {
				continue
			}
			k := signatures.RunKey{Project: string(project), ID: string(id)}
			if _, dup := seen[k]; !dup {
				seen[k] = struct{}{}
				out = append(out, k)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list runs holding events: %w", err)
	}
	return out, nil
}

// Held returns the events a run holds.
func (s *Store) Held(run signatures.RunKey) ([]HeldEntry, error) {
	var out []HeldEntry
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: heldPrefix(run), PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			h := HeldEntry{Run: run}
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &h.Entry) }); err != nil {
				return fmt.Errorf("decode held event: %w", err)
			}
			out = append(out, h)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read events held for run %s/%s: %w", run.Project, run.ID, err)
	}
	return out, nil
}

// maxReleaseBytes bounds the held events moved to the outbox in one
// transaction.
const maxReleaseBytes = 1 << 20

// ReleaseHeld moves the events a run holds to the outbox, in as many
// transactions as they need: each moves whole entries, so that an event is
// never both held and in the outbox, nor neither. edit, when not nil, may
// change each event on the way. It returns the entries now in the outbox,
// numbered.
func (s *Store) ReleaseHeld(run signatures.RunKey, edit func([]byte) ([]byte, error)) ([]OutboxEntry, error) {
	held, err := s.Held(run)
	if err != nil {
		return nil, err
	}
	var out []OutboxEntry
	for start := 0; start < len(held); {
		b := &Batch{}
		size := 0
		end := start
		for ; end < len(held) && (end == start || size+len(held[end].Entry.Data) <= maxReleaseBytes); end++ {
			h := held[end]
			size += len(h.Entry.Data)
			e := h.Entry
			if edit != nil {
				if e.Data, err = edit(e.Data); err != nil {
					return out, err
				}
			}
			b.Outbox = append(b.Outbox, e)
			b.Unheld = append(b.Unheld, h)
		}
		if err := s.Commit(b); err != nil {
			return out, fmt.Errorf("release events held for run %s/%s: %w", run.Project, run.ID, err)
		}
		out = append(out, b.Outbox...)
		start = end
	}
	return out, nil
}
