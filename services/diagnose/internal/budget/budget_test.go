package budget_test

import (
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rounds-dev/rounds/pkg/badgerdb"
	"github.com/rounds-dev/rounds/pkg/logging"
	"github.com/rounds-dev/rounds/services/diagnose/internal/budget"
	"github.com/rounds-dev/rounds/services/diagnose/internal/store"
)

// memLedger is a Ledger in memory that can be made to fail.
type memLedger struct {
	mu    sync.Mutex
	spent map[string]float64
	err   error
}

func newMemLedger(spent map[string]float64) *memLedger {
	if spent == nil {
		spent = map[string]float64{}
	}
	return &memLedger{spent: spent}
}

func (l *memLedger) SpentOn(day string) (float64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return 0, l.err
	}
	return l.spent[day], nil
}

func (l *memLedger) Add(day string, usd float64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return l.err
	}
	l.spent[day] += usd
	return nil
}

var noon = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestLimitsValidate(t *testing.T) {
	tests := []struct {
		name    string
		limits  budget.Limits
		wantErr string
	}{
		{name: "the default limits are valid", limits: budget.DefaultLimits()},
		{name: "a daily cap equal to the per-diagnosis cap is valid", limits: budget.Limits{PerDiagnosis: 1, Daily: 1}},
		{name: "a zero per-diagnosis cap is refused", limits: budget.Limits{Daily: 1}, wantErr: "per-diagnosis cap"},
		{name: "a negative daily cap is refused", limits: budget.Limits{PerDiagnosis: 1, Daily: -1}, wantErr: "daily cap"},
		{name: "a daily cap that is not a number is refused", limits: budget.Limits{PerDiagnosis: 1, Daily: math.NaN()}, wantErr: "daily cap"},
		{name: "a daily cap below the per-diagnosis cap is refused", limits: budget.Limits{PerDiagnosis: 2, Daily: 1}, wantErr: "no diagnosis could ever run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.limits.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Validate() = %v, want an error about %q", err, tt.wantErr)
			}
		})
	}
}

func TestAllow(t *testing.T) {
	limits := budget.Limits{PerDiagnosis: 0.5, Daily: 2}
	tests := []struct {
		name       string
		spent      map[string]float64
		now        time.Time
		ledgerErr  error
		inFlight   int
		want       bool
		wantReason string
	}{
		{name: "a call is allowed when nothing was spent today", now: noon, want: true},
		{name: "a call is allowed when it exactly fits the daily cap", spent: map[string]float64{"2026-03-01": 1.5}, now: noon, want: true},
		{name: "a call is refused when it may overrun the daily cap", spent: map[string]float64{"2026-03-01": 1.6}, now: noon, wantReason: "daily cap $2.00 reached on 2026-03-01"},
		{name: "yesterday's spending does not count today", spent: map[string]float64{"2026-02-28": 2}, now: noon, want: true},
		{name: "the day is the UTC day, not the local one", spent: map[string]float64{"2026-03-01": 2}, now: time.Date(2026, 3, 2, 0, 30, 0, 0, time.FixedZone("CET", 3600)), wantReason: "reached on 2026-03-01"},
		{name: "calls in flight count as if they cost the per-diagnosis cap", spent: map[string]float64{"2026-03-01": 0.5}, now: noon, inFlight: 3, wantReason: "reserved by calls in flight"},
		{name: "a budget that cannot be read is treated as spent", ledgerErr: errors.New("disk on fire"), now: noon, wantReason: "disk on fire"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ledger := newMemLedger(tt.spent)
			b, err := budget.New(limits, ledger)
			if err != nil {
				t.Fatal(err)
			}
			for range tt.inFlight {
				if ok, reason := b.Allow(noon); !ok {
					t.Fatalf("setting up a call in flight: %s", reason)
				}
			}
			ledger.err = tt.ledgerErr
			got, reason := b.Allow(tt.now)
			if got != tt.want {
				t.Errorf("Allow() = %v (%s), want %v", got, reason, tt.want)
			}
			if !strings.Contains(reason, tt.wantReason) {
				t.Errorf("Allow() reason = %q, want it to contain %q", reason, tt.wantReason)
			}
		})
	}
}

func TestRecord(t *testing.T) {
	tests := []struct {
		name      string
		costs     []float64
		wantSpent float64
		wantErr   bool
	}{
		{name: "costs add up on the day", costs: []float64{0.1, 0.2, 0.3}, wantSpent: 0.6},
		{name: "a call that cost nothing books nothing", costs: []float64{0}, wantSpent: 0},
		{name: "a negative cost is refused", costs: []float64{-0.1}, wantErr: true},
		{name: "a cost that is not a number is refused", costs: []float64{math.NaN()}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ledger := newMemLedger(nil)
			b, err := budget.New(budget.Limits{PerDiagnosis: 1, Daily: 10}, ledger)
			if err != nil {
				t.Fatal(err)
			}
			var gotErr error
			for _, c := range tt.costs {
				if ok, reason := b.Allow(noon); !ok {
					t.Fatalf("Allow: %s", reason)
				}
				if err := b.Record(noon, c); err != nil {
					gotErr = err
				}
			}
			if (gotErr != nil) != tt.wantErr {
				t.Errorf("Record error = %v, want error %v", gotErr, tt.wantErr)
			}
			if got := ledger.spent["2026-03-01"]; math.Abs(got-tt.wantSpent) > 1e-12 {
				t.Errorf("spent = %v, want %v", got, tt.wantSpent)
			}
		})
	}
}

func TestRecordReleasesTheReservation(t *testing.T) {
	b, err := budget.New(budget.Limits{PerDiagnosis: 1, Daily: 1}, newMemLedger(nil))
	if err != nil {
		t.Fatal(err)
	}
	if ok, reason := b.Allow(noon); !ok {
		t.Fatalf("the first call was refused: %s", reason)
	}
	if ok, _ := b.Allow(noon); ok {
		t.Fatal("a second call was allowed while the first, which may cost the whole daily cap, was in flight")
	}
	if err := b.Record(noon, 0); err != nil {
		t.Fatal(err)
	}
	if ok, reason := b.Allow(noon); !ok {
		t.Errorf("a call was refused after the one in flight turned out to cost nothing: %s", reason)
	}
}

func TestConcurrentCallsCannotOverrunTheDailyCap(t *testing.T) {
	b, err := budget.New(budget.Limits{PerDiagnosis: 1, Daily: 3}, newMemLedger(nil))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	allowed := 0
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if ok, _ := b.Allow(noon); ok {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if allowed != 3 {
		t.Errorf("%d concurrent calls were allowed under a $3 daily cap at $1 a call, want 3", allowed)
	}
}

func TestSpendingSurvivesARestart(t *testing.T) {
	dir := t.TempDir()
	limits := budget.Limits{PerDiagnosis: 1, Daily: 2}

	db, err := badgerdb.Open(dir, logging.Discard())
	if err != nil {
		t.Fatal(err)
	}
	b, err := budget.New(limits, store.New(db))
	if err != nil {
		t.Fatal(err)
	}
	if ok, reason := b.Allow(noon); !ok {
		t.Fatalf("the first call was refused: %s", reason)
	}
	if err := b.Record(noon, 1.25); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = badgerdb.Open(dir, logging.Discard())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	b, err = budget.New(limits, store.New(db))
	if err != nil {
		t.Fatal(err)
	}
	spent, err := b.SpentOn(noon)
	if err != nil {
		t.Fatal(err)
	}
	if spent != 1.25 {
		t.Errorf("SpentOn after a restart = %v, want 1.25", spent)
	}
	if ok, _ := b.Allow(noon.Add(time.Hour)); ok {
		t.Error("a call was allowed after a restart although $1.25 of $2 was spent and a call may cost $1")
	}
	if ok, reason := b.Allow(noon.Add(24 * time.Hour)); !ok {
		t.Errorf("a call was refused the next day: %s", reason)
	}
}
