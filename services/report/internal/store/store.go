// Package store keeps report's state in Badger: for every diagnosis event
// handled, the report event it produced.
package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/rounds-dev/rounds/pkg/contract"
)

// Store is report's Badger state.
type Store struct {
	db *badger.DB
	// markTTL is how long the marks that make handling idempotent (an
	// event seen, a delivery made) are kept; 0 keeps them forever.
	markTTL time.Duration
}

// New wraps an open database.
func New(db *badger.DB) *Store { return &Store{db: db} }

// ExpireMarks keeps the marks of events seen and deliveries made for ttl
// rather than forever, and returns s. A mark only has to outlive the
// event's redeliveries: past its stream's max age, no message comes again.
func (s *Store) ExpireMarks(ttl time.Duration) *Store {
	s.markTTL = ttl
	return s
}

// setMark writes an empty mark under key, expiring after markTTL.
func (s *Store) setMark(txn *badger.Txn, key []byte) error {
	e := badger.NewEntry(key, nil)
	if s.markTTL > 0 {
		e = e.WithTTL(s.markTTL)
	}
	return txn.SetEntry(e)
}

func reportKey(diagnosisID string) []byte { return []byte("report/" + diagnosisID) }

// Report returns the report produced for a diagnosis event, if any.
func (s *Store) Report(diagnosisID string) (*contract.ReportPublished, error) {
	var r *contract.ReportPublished
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(reportKey(diagnosisID))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		r = &contract.ReportPublished{}
		return item.Value(func(v []byte) error { return json.Unmarshal(v, r) })
	})
	if err != nil {
		return nil, fmt.Errorf("read report of %s: %w", diagnosisID, err)
	}
	return r, nil
}

// Record stores the report produced for a diagnosis event.
func (s *Store) Record(diagnosisID string, r *contract.ReportPublished) error {
	v, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(reportKey(diagnosisID), v) }); err != nil {
		return fmt.Errorf("record report of %s: %w", diagnosisID, err)
	}
	return nil
}
