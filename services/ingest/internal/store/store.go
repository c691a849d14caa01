// Package store keeps ingest's state in Badger: signatures and their
// occurrences, the ids of the events already counted, the outbox of signature events not yet confirmed
// by JetStream, the events held until their run is judged, runs, and the
// pass and fail facts of tests.
package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/ingest/internal/signatures"
)

const (
	prefixSignature = "sig/"
	prefixEvent     = "evt/"
	prefixRunEvent  = "evr/"
	prefixOutbox    = "outbox/"
	prefixHeld      = "held/"
	prefixRun       = "run/"
	prefixFact      = "fact/"
)

// Options say how long what is kept.
type Options struct {
	// EventTTL is how long an event id is remembered (0: forever).
	EventTTL time.Duration
	// FactTTL is how long a pass or fail fact is kept (0: forever).
	FactTTL time.Duration
	// RunTTL is how long a run is kept (0: forever).
	RunTTL time.Duration
}

// Store is ingest's Badger state.
type Store struct {
	db      *badger.DB
	opts    Options
	outboxN atomic.Uint64

	// cold holds, by key, the digest of each signature's JSON as last
	// committed, so that a batch writes it again only when it changed.
	coldMu sync.Mutex
	cold   map[string]coldSum
}

// New wraps an open database.
func New(db *badger.DB, opts Options) (*Store, error) {
	s := &Store{db: db, opts: opts, cold: make(map[string]coldSum)}
	// Continue outbox numbering after what a previous run left.
	err := db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixOutbox), Reverse: true})
		defer it.Close()
		it.Seek(append([]byte(prefixOutbox), 0xff))
		if it.Valid() {
			s.outboxN.Store(binary.BigEndian.Uint64(it.Item().Key()[len(prefixOutbox):]))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read outbox position: %w", err)
	}
	return s, nil
}

func signatureKey(project, id string) []byte { return []byte(prefixSignature + project + "/" + id) }

// EventKey identifies a counted event: a failure, or a run report's
// message when Run is set.
type EventKey struct {
	Project, ID string
	Run         bool
}

func (k EventKey) bytes() []byte {
	prefix := prefixEvent
	if k.Run {
		prefix = prefixRunEvent
	}
	return []byte(prefix + k.Project + "\x00" + k.ID)
}

// Record returns a stored signature.
func (s *Store) Record(project, id string) (signatures.Record, bool, error) {
	var rec signatures.Record
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(signatureKey(project, id))
		if err != nil {
			return err
		}
		rec, err = readRecord(txn, item)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return signatures.Record{}, false, nil
	}
	if err != nil {
		return signatures.Record{}, false, fmt.Errorf("read signature %s/%s: %w", project, id, err)
	}
	return rec, true, nil
}

// Records calls fn with every stored signature.
func (s *Store) Records(fn func(signatures.Record) error) error {
	return s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixSignature), PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			rec, err := readRecord(txn, it.Item())
			if err != nil {
				return err
			}
			if err := fn(rec); err != nil {
				return err
			}
		}
		return nil
	})
}

// Signatures calls fn with every stored signature, without its lifecycle.
func (s *Store) Signatures(fn func(contract.Signature) error) error {
	return s.Records(func(r signatures.Record) error { return fn(r.Signature) })
}

// Seen returns which of keys were counted before.
func (s *Store) Seen(keys []EventKey) ([]bool, error) {
	seen := make([]bool, len(keys))
	err := s.db.View(func(txn *badger.Txn) error {
		for i, k := range keys {
			_, err := txn.Get(k.bytes())
			switch {
			case err == nil:
				seen[i] = true
			case !errors.Is(err, badger.ErrKeyNotFound):
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("look up event ids: %w", err)
	}
	return seen, nil
}

// OutboxEntry is a message to publish once its batch is committed.
type OutboxEntry struct {
	Seq     uint64 `json:"-"`
	Subject string `json:"subject"`
	MsgID   string `json:"msg_id"`
	Data    []byte `json:"data"`
}

// HeldEntry is a signature event held until its run is judged.
type HeldEntry struct {
	Run   signatures.RunKey
	Entry OutboxEntry
}

func heldPrefix(k signatures.RunKey) []byte {
	return []byte(prefixHeld + k.Project + "\x00" + k.ID + "\x00")
}

func (h HeldEntry) key() []byte { return append(heldPrefix(h.Run), h.Entry.MsgID...) }

// Batch is what one batch of failures or run reports (or one operation)
// changes, committed at once.
type Batch struct {
	Events  []EventKey
	Records []*signatures.Record
	// Occurrences are the occurrences the batch counts on Records.
	Occurrences []Occurrence
	Runs        []*signatures.Run
	// Facts are written with the batch; they could be written before it
	// too (see WriteFacts), since writing one again changes nothing.
	Facts  []signatures.Fact
	Outbox []OutboxEntry
	// Held are events to keep until their run is judged; Unheld are held
	// events that go now, into the outbox.
	Held   []HeldEntry
	Unheld []HeldEntry
	// Published are outbox entries JetStream has confirmed, to delete.
	Published []uint64
}

// ErrBatchTooBig means a batch does not fit in one Badger transaction;
// commit it in smaller parts.
var ErrBatchTooBig = errors.New("batch too big for one transaction")

// Commit stores a batch atomically in one transaction, numbering its outbox
// entries. It returns once the write is synced to disk: either all of the
// batch is stored or none of it, so an event id is never recorded without
// its count. Batches are committed one at a time (by ingest's consumer):
// the outbox numbering and the digests of signatures' JSON assume it.
func (s *Store) Commit(b *Batch) error {
	txn := s.db.NewTransaction(true)
	defer txn.Discard()
	set := func(e *badger.Entry, what string) error {
		if err := txn.SetEntry(e); err != nil {
			if errors.Is(err, badger.ErrTxnTooBig) {
				return ErrBatchTooBig
			}
			return fmt.Errorf("stage %s: %w", what, err)
		}
		return nil
	}
	for _, k := range b.Events {
		e := badger.NewEntry(k.bytes(), nil)
		if s.opts.EventTTL > 0 {
			e = e.WithTTL(s.opts.EventTTL)
		}
		if err := set(e, "event id"); err != nil {
			return err
		}
	}
	var coldKeys []string
	var coldSums []coldSum
	for _, rec := range b.Records {
		k, sum, staged, err := s.stageRecord(rec, set)
		if err != nil {
			return err
		}
		if staged {
			coldKeys, coldSums = append(coldKeys, k), append(coldSums, sum)
		}
	}
	for i := range b.Occurrences {
		o := &b.Occurrences[i]
		if err := set(badger.NewEntry(o.key(), o.value()), "occurrence"); err != nil {
			return err
		}
	}
	for _, run := range b.Runs {
		v, err := json.Marshal(run)
		if err != nil {
			return fmt.Errorf("encode run %s: %w", run.ID, err)
		}
		if err := set(s.withTTL(badger.NewEntry(runKey(run.Project, run.ID), v), s.opts.RunTTL), "run"); err != nil {
			return err
		}
	}
	for _, f := range b.Facts {
		if err := set(s.factEntry(f), "fact"); err != nil {
			return err
		}
	}
	for _, h := range b.Held {
		v, err := json.Marshal(h.Entry)
		if err != nil {
			return fmt.Errorf("encode held event: %w", err)
		}
		if err := set(badger.NewEntry(h.key(), v), "held event"); err != nil {
			return err
		}
	}
	for _, h := range b.Unheld {
		if err := txn.Delete(h.key()); err != nil {
			if errors.Is(err, badger.ErrTxnTooBig) {
				return ErrBatchTooBig
			}
			return fmt.Errorf("stage held event deletion: %w", err)
		}
	}
	next := s.outboxN.Load()
	for i := range b.Outbox {
		next++
		b.Outbox[i].Seq = next
		v, err := json.Marshal(b.Outbox[i])
		if err != nil {
			return fmt.Errorf("encode outbox entry: %w", err)
		}
		if err := set(badger.NewEntry(outboxKey(next), v), "outbox entry"); err != nil {
			return err
		}
	}
	for _, seq := range b.Published {
		if err := txn.Delete(outboxKey(seq)); err != nil {
			if errors.Is(err, badger.ErrTxnTooBig) {
				return ErrBatchTooBig
			}
			return fmt.Errorf("stage outbox deletion: %w", err)
		}
	}
	if err := txn.Commit(); err != nil {
		return fmt.Errorf("commit batch: %w", err)
	}
	s.outboxN.Store(next)
	s.remember(coldKeys, coldSums)
	return nil
}

func outboxKey(seq uint64) []byte {
	k := make([]byte, len(prefixOutbox)+8)
	copy(k, prefixOutbox)
	binary.BigEndian.PutUint64(k[len(prefixOutbox):], seq)
	return k
}

// Outbox returns the entries not yet confirmed published, oldest first.
func (s *Store) Outbox() ([]OutboxEntry, error) {
	var out []OutboxEntry
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixOutbox), PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var e OutboxEntry
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &e) }); err != nil {
				return fmt.Errorf("decode outbox entry: %w", err)
			}
			e.Seq = binary.BigEndian.Uint64(it.Item().Key()[len(prefixOutbox):])
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	return out, nil
}
