// Package store keeps diagnose's state in Badger: which signature events
// were handled (and the diagnosis each produced), the latest diagnosis of
// each signature, and its recent occurrences as evidence.
package store

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/rounds-dev/rounds/pkg/contract"
)

// RecentOccurrences is how many occurrences are kept per signature.
const RecentOccurrences = 5

// Store is diagnose's Badger state.
type Store struct{ db *badger.DB }

// New wraps an open database.
func New(db *badger.DB) *Store { return &Store{db: db} }

func handledKey(eventID string) []byte { return []byte("handled/" + eventID) }
func diagnosisKey(project, sigID string) []byte {
	return []byte("diagnosis/" + project + "/" + sigID)
}
func occurrencesKey(project, sigID string) []byte {
	return []byte("occurrences/" + project + "/" + sigID)
}

// Handled says whether a signature event was handled, and returns the
// diagnosis it produced, if any.
func (s *Store) Handled(eventID string) (handled bool, produced *contract.DiagnosisCompleted, err error) {
	err = s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(handledKey(eventID))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		handled = true
		return item.Value(func(v []byte) error {
			if len(v) == 0 {
				return nil
			}
			produced = &contract.DiagnosisCompleted{}
			return json.Unmarshal(v, produced)
		})
	})
	if err != nil {
		return false, nil, fmt.Errorf("look up handled event %s: %w", eventID, err)
	}
	return handled, produced, nil
}

// Latest returns the latest diagnosis of a signature.
func (s *Store) Latest(project, sigID string) (*contract.DiagnosisCompleted, error) {
	var d *contract.DiagnosisCompleted
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(diagnosisKey(project, sigID))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		d = &contract.DiagnosisCompleted{}
		return item.Value(func(v []byte) error { return json.Unmarshal(v, d) })
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
		item, err := txn.Get(occurrencesKey(project, sigID))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error { return json.Unmarshal(v, &occ) })
	})
	if err != nil {
		return nil, fmt.Errorf("read occurrences of %s/%s: %w", project, sigID, err)
	}
	return occ, nil
}

// Record stores, in one transaction, that ev was handled, the occurrences
// to keep as evidence, and the diagnosis it produced (nil when triage
// passed on it).
func (s *Store) Record(ev *contract.SignatureChanged, occurrences []contract.Failure, produced *contract.DiagnosisCompleted) error {
	err := s.db.Update(func(txn *badger.Txn) error {
		var handled []byte
		if produced != nil {
			v, err := json.Marshal(produced)
			if err != nil {
				return fmt.Errorf("encode diagnosis: %w", err)
			}
			if err := txn.Set(diagnosisKey(ev.Signature.Project, ev.Signature.ID), v); err != nil {
				return err
			}
			handled = v
		}
		if len(occurrences) > 0 {
			v, err := json.Marshal(occurrences)
			if err != nil {
				return fmt.Errorf("encode occurrences: %w", err)
			}
			if err := txn.Set(occurrencesKey(ev.Signature.Project, ev.Signature.ID), v); err != nil {
				return err
			}
		}
		return txn.Set(handledKey(ev.ID), handled)
	})
	if err != nil {
		return fmt.Errorf("record signature event %s: %w", ev.ID, err)
	}
	return nil
}
