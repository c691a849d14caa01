// Package store keeps diagnose's state in Badger: which signature events
// were handled, the signatures seen and their recent occurrences, the
// queue of signatures waiting for a diagnosis (and the one in flight), the
// latest diagnosis of each signature, and the outbox of diagnoses recorded
// but not yet published.
package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/rounds-dev/rounds/pkg/badgerdb"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/diagnose/internal/triage"
)

// maxConflicts bounds the retries of a transaction that raced another
// writing the same keys: the handler queues while the worker dequeues.
const maxConflicts = 100

// Store is diagnose's Badger state.
type Store struct {
	db *badger.DB
	// handledTTL is how long the marks of events handled are kept; 0
	// keeps them forever.
	handledTTL time.Duration
}

// New wraps an open database.
func New(db *badger.DB) *Store { return &Store{db: db} }

// ExpireHandled keeps the marks of signature events handled for ttl rather
// than forever, and returns s. A mark only has to outlive the event's
// redeliveries: past its stream's max age, no message comes again.
func (s *Store) ExpireHandled(ttl time.Duration) *Store {
	s.handledTTL = ttl
	return s
}

func handledKey(eventID string) []byte { return []byte("handled/" + eventID) }
func diagnosisKey(project, sigID string) []byte {
	return []byte("diagnosis/" + project + "/" + sigID)
}
func occurrencesKey(project, sigID string) []byte {
	return []byte("occurrences/" + project + "/" + sigID)
}
func seenKey(project, sigID string) []byte { return []byte("seen/" + project + "/" + sigID) }
func seenPrefix(project string) []byte     { return []byte("seen/" + project + "/") }
func pendingKey(project, sigID string) []byte {
	return []byte("pending/" + project + "/" + sigID)
}

var pendingPrefix = []byte("pending/")

func outboxKey(diagnosisID string) []byte { return []byte("outbox/" + diagnosisID) }

var outboxPrefix = []byte("outbox/")

// Handled says whether a signature event was handled.
func (s *Store) Handled(eventID string) (bool, error) {
	handled := false
	err := s.db.View(func(txn *badger.Txn) error {
		_, err := txn.Get(handledKey(eventID))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		handled = err == nil
		return err
	})
	if err != nil {
		return false, fmt.Errorf("look up handled event %s: %w", eventID, err)
	}
	return handled, nil
}

// Latest returns the latest diagnosis of a signature, nil when it has none.
func (s *Store) Latest(project, sigID string) (*contract.DiagnosisCompleted, error) {
	var d *contract.DiagnosisCompleted
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		d, err = badgerdb.GetJSON[contract.DiagnosisCompleted](txn, diagnosisKey(project, sigID))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read diagnosis of %s/%s: %w", project, sigID, err)
	}
	return d, nil
}

// Occurrences returns the recent occurrences of a signature, oldest first.
func (s *Store) Occurrences(project, sigID string) ([]contract.Failure, error) {
	var occ []contract.Failure
	err := s.db.View(func(txn *badger.Txn) error {
		p, err := badgerdb.GetJSON[[]contract.Failure](txn, occurrencesKey(project, sigID))
		if p != nil {
			occ = *p
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read occurrences of %s/%s: %w", project, sigID, err)
	}
	return occ, nil
}

// Signatures returns up to limit of the signatures of project seen so
// far, as their latest event showed them, without their components.
func (s *Store) Signatures(project string, limit int) ([]contract.Signature, error) {
	var sigs []contract.Signature
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 100, Prefix: seenPrefix(project)})
		defer it.Close()
		for it.Rewind(); it.Valid() && len(sigs) < limit; it.Next() {
			var sig contract.Signature
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &sig) }); err != nil {
				return fmt.Errorf("decode %s: %w", it.Item().Key(), err)
			}
			sigs = append(sigs, sig)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read signatures of %s: %w", project, err)
	}
	return sigs, nil
}

// Enqueue records, in one transaction, that ev was handled, the
// occurrences to keep as evidence (none: those stored are kept), the
// signature as ev shows it, and what waits for a diagnosis of it: update
// gets what waited (nil when nothing did) and returns what waits now (nil
// for nothing). update may be called more than once and must not keep
// what it is given.
func (s *Store) Enqueue(ev *contract.SignatureChanged, occurrences []contract.Failure, update func(old *triage.Pending) *triage.Pending) error {
	project, sigID := ev.Signature.Project, ev.Signature.ID
	seen := ev.Signature
	seen.Components = nil
	err := s.update(func(txn *badger.Txn) error {
		if len(occurrences) > 0 {
			if err := put(txn, occurrencesKey(project, sigID), occurrences); err != nil {
				return err
			}
		}
		if err := put(txn, seenKey(project, sigID), seen); err != nil {
			return err
		}
		old, err := badgerdb.GetJSON[triage.Pending](txn, pendingKey(project, sigID))
		if err != nil {
			return err
		}
		switch next := update(old); {
		case next != nil:
			if err := put(txn, pendingKey(project, sigID), next); err != nil {
				return err
			}
		case old != nil:
			if err := txn.Delete(pendingKey(project, sigID)); err != nil {
				return err
			}
		}
		mark := badger.NewEntry(handledKey(ev.ID), nil)
		if s.handledTTL > 0 {
			mark = mark.WithTTL(s.handledTTL)
		}
		return txn.SetEntry(mark)
	})
	if err != nil {
		return fmt.Errorf("record signature event %s: %w", ev.ID, err)
	}
	return nil
}

// Pending returns every signature waiting for a diagnosis or in one.
func (s *Store) Pending() ([]triage.Pending, error) {
	var out []triage.Pending
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 100, Prefix: pendingPrefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var p triage.Pending
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &p) }); err != nil {
				return fmt.Errorf("decode %s: %w", it.Item().Key(), err)
			}
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the queue: %w", err)
	}
	return out, nil
}

// Claim marks the signature in flight and returns its record as it is
// now; nil when nothing waits for it or it is in flight already.
func (s *Store) Claim(project, sigID string) (*triage.Pending, error) {
	var claimed *triage.Pending
	err := s.update(func(txn *badger.Txn) error {
		claimed = nil
		p, err := badgerdb.GetJSON[triage.Pending](txn, pendingKey(project, sigID))
		if err != nil || p == nil || p.InFlight {
			return err
		}
		p.InFlight = true
		if err := put(txn, pendingKey(project, sigID), p); err != nil {
			return err
		}
		claimed = p
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim %s/%s: %w", project, sigID, err)
	}
	return claimed, nil
}

// Complete records, in one transaction, the diagnosis of a claimed
// signature as its latest and in the outbox, and ends its flight (see
// Drop).
func (s *Store) Complete(claimed *triage.Pending, d *contract.DiagnosisCompleted) error {
	err := s.update(func(txn *badger.Txn) error {
		if err := put(txn, diagnosisKey(claimed.Project, claimed.SignatureID), d); err != nil {
			return err
		}
		if err := put(txn, outboxKey(d.ID), d); err != nil {
			return err
		}
		return land(txn, claimed, true, nil)
	})
	if err != nil {
		return fmt.Errorf("record diagnosis %s: %w", d.ID, err)
	}
	return nil
}

// Drop ends the flight of a claimed signature without a diagnosis:
// nothing waits for it any more, unless an event came in during the
// flight, which then waits in its turn.
func (s *Store) Drop(claimed *triage.Pending) error {
	if err := s.update(func(txn *badger.Txn) error { return land(txn, claimed, false, nil) }); err != nil {
		return fmt.Errorf("drop %s/%s from the queue: %w", claimed.Project, claimed.SignatureID, err)
	}
	return nil
}

// Release ends the flight of a claimed signature whose diagnosis failed:
// it waits again, not before notBefore, with its failed attempts counted.
func (s *Store) Release(claimed *triage.Pending, attempts int, notBefore time.Time) error {
	err := s.update(func(txn *badger.Txn) error {
		return land(txn, claimed, false, func(p *triage.Pending) {
			p.Attempts, p.NotBefore = attempts, notBefore
		})
	})
	if err != nil {
		return fmt.Errorf("release %s/%s: %w", claimed.Project, claimed.SignatureID, err)
	}
	return nil
}

// land ends a flight. With retry nil the record goes, unless its version
// moved on since the claim: then it waits again, for the events that came
// in (see triage.Pending.Landed when the diagnosis completed). With retry,
// the record waits again after retry has adjusted it.
func land(txn *badger.Txn, claimed *triage.Pending, completed bool, retry func(*triage.Pending)) error {
	key := pendingKey(claimed.Project, claimed.SignatureID)
	p, err := badgerdb.GetJSON[triage.Pending](txn, key)
	if err != nil || p == nil {
		return err // dropped meanwhile (muted, resolved)
	}
	switch {
	case retry != nil:
		p.InFlight = false
		retry(p)
	case p.Version == claimed.Version:
		return txn.Delete(key)
	case completed:
		p.Landed(claimed.Version)
	default:
		p.InFlight = false
	}
	return put(txn, key, p)
}

// Recover puts every signature left in flight, by a process that died
// mid-diagnosis, back in the queue, and returns how many there were.
// Call it before claiming anything.
func (s *Store) Recover() (int, error) {
	pending, err := s.Pending()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range pending {
		if !p.InFlight {
			continue
		}
		err := s.update(func(txn *badger.Txn) error {
			cur, err := badgerdb.GetJSON[triage.Pending](txn, pendingKey(p.Project, p.SignatureID))
			if err != nil || cur == nil || !cur.InFlight {
				return err
			}
			cur.InFlight = false
			return put(txn, pendingKey(p.Project, p.SignatureID), cur)
		})
		if err != nil {
			return n, fmt.Errorf("recover %s/%s: %w", p.Project, p.SignatureID, err)
		}
		n++
	}
	return n, nil
}

// Unpublished returns the diagnoses recorded but not yet published.
func (s *Store) Unpublished() ([]contract.DiagnosisCompleted, error) {
	var out []contract.DiagnosisCompleted
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 10, Prefix: outboxPrefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var d contract.DiagnosisCompleted
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &d) }); err != nil {
				return fmt.Errorf("decode %s: %w", it.Item().Key(), err)
			}
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the outbox: %w", err)
	}
	return out, nil
}

// Published takes a published diagnosis out of the outbox.
func (s *Store) Published(diagnosisID string) error {
	if err := s.update(func(txn *badger.Txn) error { return txn.Delete(outboxKey(diagnosisID)) }); err != nil {
		return fmt.Errorf("mark %s published: %w", diagnosisID, err)
	}
	return nil
}

// update runs fn in a read-write transaction, again when it raced another
// transaction on the same keys, waiting a little longer each time, with
// jitter.
func (s *Store) update(fn func(txn *badger.Txn) error) error {
	var err error
	for attempt := range maxConflicts {
		if attempt > 0 {
			time.Sleep(rand.N(time.Duration(attempt) * 100 * time.Microsecond))
		}
		if err = s.db.Update(fn); !errors.Is(err, badger.ErrConflict) {
			return err
		}
	}
	return err
}

// put stores v as JSON at key.
func put(txn *badger.Txn, key []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	return txn.Set(key, b)
}
