package store

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// maxBudgetConflicts bounds the retries of an Add that raced another
// transaction writing the same day; each retry waits a little longer, with
// jitter, so that concurrent writers spread out.
const maxBudgetConflicts = 100

func budgetKey(day string) []byte { return []byte("budget/" + day) }

// SpentOn returns the US dollars booked on day (YYYY-MM-DD, UTC), 0 when
// nothing was. It makes Store a budget.Ledger.
func (s *Store) SpentOn(day string) (float64, error) {
	if err := checkDay(day); err != nil {
		return 0, fmt.Errorf("read spending of %q: %w", day, err)
	}
	var spent float64
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		spent, err = readSpent(txn, day)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("read spending of %s: %w", day, err)
	}
	return spent, nil
}

// Add books usd on day in one read-modify-write transaction, retried when
// another transaction wrote the same day meanwhile, so that no cost is
// lost to a race.
func (s *Store) Add(day string, usd float64) error {
	if err := checkDay(day); err != nil {
		return fmt.Errorf("book $%v on %q: %w", usd, day, err)
	}
	if math.IsNaN(usd) || math.IsInf(usd, 0) || usd < 0 {
		return fmt.Errorf("book $%v on %s: not a non-negative number of dollars", usd, day)
	}
	var err error
	for attempt := range maxBudgetConflicts {
		if attempt > 0 {
			time.Sleep(rand.N(time.Duration(attempt) * 100 * time.Microsecond))
		}
		err = s.db.Update(func(txn *badger.Txn) error {
			spent, err := readSpent(txn, day)
			if err != nil {
				return err
			}
			return txn.Set(budgetKey(day), strconv.AppendFloat(nil, spent+usd, 'g', -1, 64))
		})
		if !errors.Is(err, badger.ErrConflict) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("book $%v on %s: %w", usd, day, err)
	}
	return nil
}

func readSpent(txn *badger.Txn, day string) (float64, error) {
	item, err := txn.Get(budgetKey(day))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var spent float64
	err = item.Value(func(v []byte) error {
		spent, err = strconv.ParseFloat(string(v), 64)
		if err != nil {
			return fmt.Errorf("decode spending %q: %w", v, err)
		}
		return nil
	})
	return spent, err
}

// checkDay refuses anything but a YYYY-MM-DD date, which keeps the key
// space clean.
func checkDay(day string) error {
	if _, err := time.Parse(time.DateOnly, day); err != nil || len(day) != len(time.DateOnly) {
		return errors.New("day is not a YYYY-MM-DD date")
	}
	return nil
}
