// Package store keeps ingest's state in Badger: signatures, the ids of the
// events already counted, and the outbox of signature events not yet
// confirmed by JetStream.
package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/rounds-dev/rounds/pkg/contract"
)

const (
	prefixSignature = "sig/"
	prefixEvent     = "evt/"
	prefixOutbox    = "outbox/"
)

// Store is ingest's Badger state.
type Store struct {
	db       *badger.DB
	eventTTL time.Duration
	outboxN  atomic.Uint64
}

// New wraps an open database. Event ids are remembered for eventTTL (0:
// forever).
func New(db *badger.DB, eventTTL time.Duration) (*Store, error) {
	s := &Store{db: db, eventTTL: eventTTL}
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

// EventKey identifies a counted event.
type EventKey struct{ Project, ID string }

func (k EventKey) bytes() []byte { return []byte(prefixEvent + k.Project + "\x00" + k.ID) }

// Signature returns a stored signature.
func (s *Store) Signature(project, id string) (contract.Signature, bool, error) {
	var sig contract.Signature
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(signatureKey(project, id))
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error { return json.Unmarshal(v, &sig) })
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return contract.Signature{}, false, nil
	}
	if err != nil {
		return contract.Signature{}, false, fmt.Errorf("read signature %s/%s: %w", project, id, err)
	}
	return sig, true, nil
}

// Signatures calls fn with every stored signature.
func (s *Store) Signatures(fn func(contract.Signature) error) error {
	return s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixSignature), PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var sig contract.Signature
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &sig) }); err != nil {
				return fmt.Errorf("decode signature %q: %w", it.Item().Key(), err)
			}
			if err := fn(sig); err != nil {
				return err
			}
		}
		return nil
	})
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

// Batch is what one batch of failures changes, committed at once.
type Batch struct {
	Events     []EventKey
	Signatures []*contract.Signature
	Outbox     []OutboxEntry
	// Published are outbox entries JetStream has confirmed, to delete.
	Published []uint64
}

// ErrBatchTooBig means a batch does not fit in one Badger transaction;
// commit it in smaller parts.
var ErrBatchTooBig = errors.New("batch too big for one transaction")

// Commit stores a batch atomically in one transaction, numbering its outbox
// entries. It returns once the write is synced to disk: either all of the
// batch is stored or none of it, so an event id is never recorded without
// its count.
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
		if s.eventTTL > 0 {
			e = e.WithTTL(s.eventTTL)
		}
		if err := set(e, "event id"); err != nil {
			return err
		}
	}
	for _, sig := range b.Signatures {
		v, err := json.Marshal(sig)
		if err != nil {
			return fmt.Errorf("encode signature %s: %w", sig.ID, err)
		}
		if err := set(badger.NewEntry(signatureKey(sig.Project, sig.ID), v), "signature"); err != nil {
			return err
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
