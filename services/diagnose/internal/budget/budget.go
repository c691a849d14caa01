// Package budget caps what diagnose spends on paid diagnosers: a cap per
// diagnosis and a cap per day (UTC), both in US dollars. Spending is kept
// in a Ledger so that it survives restarts.
package budget

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"
)

// DayLayout formats the day a cost is booked on, in UTC.
const DayLayout = "2006-01-02"

// epsilon absorbs the rounding of sums of dollar amounts, so that a call
// that exactly fits the daily cap is allowed.
const epsilon = 1e-9

// Ledger keeps the dollars spent per day. Add must be atomic: concurrent
// Adds on the same day must all count.
type Ledger interface {
	// SpentOn returns the dollars spent on day (YYYY-MM-DD), 0 when none.
	SpentOn(day string) (float64, error)
	// Add books usd on day.
	Add(day string, usd float64) error
}

// Limits are the caps, in US dollars.
type Limits struct {
	// PerDiagnosis caps what one diagnosis may cost, retries included. It
	// is also what a call is assumed to cost before it is made.
	PerDiagnosis float64
	// Daily caps what all diagnoses of one UTC day may cost together.
	Daily float64
}

// DefaultLimits are modest caps: fifty cents a diagnosis, five dollars a day.
func DefaultLimits() Limits { return Limits{PerDiagnosis: 0.50, Daily: 5} }

// Validate reports limits that would make no sense or allow no call.
func (l Limits) Validate() error {
	switch {
	case !finite(l.PerDiagnosis) || l.PerDiagnosis <= 0:
		return fmt.Errorf("budget: per-diagnosis cap must be a positive number of dollars, got %v", l.PerDiagnosis)
	case !finite(l.Daily) || l.Daily <= 0:
		return fmt.Errorf("budget: daily cap must be a positive number of dollars, got %v", l.Daily)
	case l.Daily+epsilon < l.PerDiagnosis:
		return fmt.Errorf("budget: daily cap $%.2f is below the per-diagnosis cap $%.2f, so no diagnosis could ever run", l.Daily, l.PerDiagnosis)
	}
	return nil
}

// Budget decides whether a paid call may be made and books what calls
// cost. It is safe for concurrent use.
//
// Allow reserves the per-diagnosis cap until the matching Record, so that
// diagnoses running at the same time cannot together overrun the daily
// cap: every Allow that returns true must be followed by exactly one
// Record, with a cost of 0 when the call cost nothing.
type Budget struct {
	limits Limits
	ledger Ledger

	mu sync.Mutex
	// reserved is the per-diagnosis cap times the calls allowed and not
	// yet recorded.
	reserved float64
}

// New returns a budget over ledger.
func New(limits Limits, ledger Ledger) (*Budget, error) {
	if err := limits.Validate(); err != nil {
		return nil, err
	}
	if ledger == nil {
		return nil, errors.New("budget: a ledger is required")
	}
	return &Budget{limits: limits, ledger: ledger}, nil
}

// Limits returns the caps.
func (b *Budget) Limits() Limits { return b.limits }

// Day returns the UTC day t is booked on.
func Day(t time.Time) string { return t.UTC().Format(DayLayout) }

// Allow says whether a call may be made at now. A call is assumed to cost
// the per-diagnosis cap, so it is allowed only when what was spent today,
// plus the calls in flight, plus that cap stays within the daily cap. When
// the ledger cannot be read the answer is no: a budget that cannot be
// checked is treated as spent. The reason says why in words.
func (b *Budget) Allow(now time.Time) (bool, string) {
	day := Day(now)
	b.mu.Lock()
	defer b.mu.Unlock()
	spent, err := b.ledger.SpentOn(day)
	if err != nil {
		return false, fmt.Sprintf("cannot read what was spent on %s: %v", day, err)
	}
	if spent+b.reserved+b.limits.PerDiagnosis > b.limits.Daily+epsilon {
		if b.reserved > 0 {
			return false, fmt.Sprintf("daily cap $%.2f reached on %s: $%.4f spent, $%.2f reserved by calls in flight, and a call may cost up to $%.2f",
				b.limits.Daily, day, spent, b.reserved, b.limits.PerDiagnosis)
		}
		return false, fmt.Sprintf("daily cap $%.2f reached on %s: $%.4f spent, and a call may cost up to $%.2f",
			b.limits.Daily, day, spent, b.limits.PerDiagnosis)
	}
	b.reserved += b.limits.PerDiagnosis
	return true, fmt.Sprintf("$%.4f of $%.2f spent on %s", spent, b.limits.Daily, day)
}

// Record books what an allowed call cost on the day of now and releases
// its reservation. A negative or non-finite cost is refused, but the
// reservation is released all the same.
func (b *Budget) Record(now time.Time, usd float64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reserved = max(0, b.reserved-b.limits.PerDiagnosis)
	if b.reserved < epsilon {
		b.reserved = 0
	}
	if !finite(usd) || usd < 0 {
		return fmt.Errorf("budget: record a cost of %v: not a non-negative number of dollars", usd)
	}
	if usd == 0 {
		return nil
	}
	day := Day(now)
	if err := b.ledger.Add(day, usd); err != nil {
		return fmt.Errorf("budget: record $%.4f spent on %s: %w", usd, day, err)
	}
	return nil
}

// SpentOn returns what was spent on the UTC day of now.
func (b *Budget) SpentOn(now time.Time) (float64, error) {
	day := Day(now)
	spent, err := b.ledger.SpentOn(day)
	if err != nil {
		return 0, fmt.Errorf("budget: read what was spent on %s: %w", day, err)
	}
	return spent, nil
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
