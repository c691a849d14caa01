// Package fallback makes a paid diagnoser safe to depend on: it keeps it
// within budget, retries its transient failures with backoff, and falls
// back to the heuristic diagnosis when it cannot answer, so that a
// signature always gets a diagnosis.
package fallback

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/rounds-dev/rounds/pkg/backoff"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/diagnose/internal/budget"
	"github.com/rounds-dev/rounds/services/diagnose/internal/heuristic"
	"github.com/rounds-dev/rounds/services/diagnose/internal/prompt"
)

// ReasonBudgetSpent starts the fallback reason of a diagnosis the budget
// did not allow.
const ReasonBudgetSpent = "budget spent"

// maxReasonBytes bounds a fallback reason, which travels in every report.
const maxReasonBytes = 400

// Inner is a diagnoser the fallback wraps: the paid one, and the
// heuristic one it falls back to. A paid diagnoser's failures should be
// *prompt.CallError, which say whether to retry and what was spent; any
// other error is taken as transient and free.
type Inner interface {
	Diagnose(ctx context.Context, in heuristic.Input) (contract.Diagnosis, error)
}

// Config configures retries and the budget.
type Config struct {
	// Attempts is how many calls a diagnosis may make, retries included.
	Attempts int
	// BaseDelay is the wait before the first retry; it doubles for each
	// next one, up to MaxDelay.
	BaseDelay time.Duration
	// MaxDelay caps the wait between calls. A server that asks to wait
	// longer (Retry-After) gets the fallback at once instead.
	MaxDelay time.Duration
	// Budget caps spending; nil means no cap.
	Budget *budget.Budget
	// Log receives retries and fallbacks; nil discards them.
	Log *slog.Logger
	// Now tells the time, for the budget's days; nil means time.Now.
	Now func() time.Time
}

// DefaultConfig returns three attempts, two seconds then four between
// them, and waits of at most thirty seconds. The budget is the caller's.
func DefaultConfig() Config {
	return Config{Attempts: 3, BaseDelay: 2 * time.Second, MaxDelay: 30 * time.Second}
}

// Validate reports settings that make no sense.
func (c Config) Validate() error {
	switch {
	case c.Attempts < 1:
		return fmt.Errorf("fallback: attempts must be at least 1, got %d", c.Attempts)
	case c.BaseDelay < 0:
		return fmt.Errorf("fallback: base delay must not be negative, got %v", c.BaseDelay)
	case c.MaxDelay < c.BaseDelay:
		return fmt.Errorf("fallback: max delay %v is below the base delay %v", c.MaxDelay, c.BaseDelay)
	}
	return nil
}

// MaxDuration returns the longest a diagnosis can take when each call is
// bounded by callTimeout: every attempt timing out, with the longest wait
// between them: how long diagnose's worker may spend on one signature.
func (c Config) MaxDuration(callTimeout time.Duration) time.Duration {
	return time.Duration(c.Attempts)*callTimeout + time.Duration(max(c.Attempts-1, 0))*c.MaxDelay
}

// Diagnoser is a paid diagnoser behind a budget, retries and the
// heuristic fallback. It is safe for concurrent use if its inner
// diagnosers are.
type Diagnoser struct {
	primary   Inner
	heuristic Inner
	cfg       Config
	log       *slog.Logger
	now       func() time.Time
}

// New wraps primary, falling back to heuristic.
func New(primary, heuristic Inner, cfg Config) (*Diagnoser, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if primary == nil || heuristic == nil {
		return nil, errors.New("fallback: a primary and a heuristic diagnoser are required")
	}
	d := &Diagnoser{primary: primary, heuristic: heuristic, cfg: cfg, log: cfg.Log, now: cfg.Now}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if d.now == nil {
		d.now = time.Now
	}
	return d, nil
}

// Diagnose asks the primary diagnoser, within budget, retrying transient
// failures; when it cannot answer, it returns the heuristic diagnosis
// with Fallback set and the reason. It fails only when ctx is done (or
// the heuristic diagnoser fails, which it does only without occurrences).
//
// Before each call the budget must allow it: the daily cap, and the
// per-diagnosis cap, which the spending so far plus the dearest call so
// far must not pass. After each call its cost is recorded, failed calls
// included; a call whose cost is unknown (killed, timed out) is recorded
// at the per-diagnosis cap. The diagnosis carries the cost of all its
// calls.
func (d *Diagnoser) Diagnose(ctx context.Context, in heuristic.Input) (contract.Diagnosis, error) {
	log := d.log.With("signature_id", in.Signature.ID)
	var spent, dearest float64
	lastErr := ""
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return contract.Diagnosis{}, fmt.Errorf("diagnose signature %s: %w", in.Signature.ID, err)
		}
		if reason, ok := d.allow(spent, dearest); !ok {
			log.Warn("diagnosis over budget: falling back to the heuristic", "reason", reason, "attempt", attempt, "spent_usd", spent)
			reason = ReasonBudgetSpent + ": " + reason
			if lastErr != "" {
				reason += "; the last call failed: " + lastErr
			}
			return d.fallback(ctx, in, reason, spent)
		}

		diag, err := d.primary.Diagnose(ctx, in)
		cost := d.cost(diag, err)
		if rerr := d.record(cost); rerr != nil {
			log.Error("cannot record what a diagnosis cost", "cost_usd", cost, "error", rerr)
		}
		spent += cost
		dearest = max(dearest, cost)
		if err == nil {
			diag.CostUSD = spent
			return diag, nil
		}
		if ctx.Err() != nil {
			return contract.Diagnosis{}, fmt.Errorf("diagnose signature %s: %w", in.Signature.ID, err)
		}

		kind, wait := prompt.Transient, time.Duration(0)
		var ce *prompt.CallError
		if errors.As(err, &ce) {
			kind, wait = ce.Kind, ce.RetryAfter
		}
		reason := describe(err)
		lastErr = reason
		switch {
		case kind != prompt.Transient:
			log.Warn("diagnoser failed: falling back to the heuristic", "error", reason, "kind", kind.String(), "attempt", attempt)
			return d.fallback(ctx, in, reason, spent)
		case attempt >= d.cfg.Attempts:
			log.Warn("diagnoser failed: falling back to the heuristic", "error", reason, "attempts", attempt)
			return d.fallback(ctx, in, fmt.Sprintf("%s (after %d attempts)", reason, attempt), spent)
		case wait > d.cfg.MaxDelay:
			log.Warn("diagnoser asked to wait too long: falling back to the heuristic", "error", reason, "retry_after", wait)
			return d.fallback(ctx, in, fmt.Sprintf("%s (asked to retry after %v)", reason, wait.Round(time.Second)), spent)
		}
		delay := max(d.backoff(attempt), wait)
		log.Info("diagnoser failed: retrying", "error", reason, "attempt", attempt, "delay", delay)
		if err := backoff.Sleep(ctx, delay); err != nil {
			return contract.Diagnosis{}, fmt.Errorf("diagnose signature %s: %w", in.Signature.ID, err)
		}
	}
}

// allow checks both caps before a call.
func (d *Diagnoser) allow(spent, dearest float64) (string, bool) {
	b := d.cfg.Budget
	if b == nil {
		return "", true
	}
	limit := b.Limits().PerDiagnosis
	if spent > 0 && spent+dearest > limit+1e-9 {
		return fmt.Sprintf("this diagnosis spent $%.4f of its $%.2f cap, and another call may cost $%.4f", spent, limit, dearest), false
	}
	ok, reason := b.Allow(d.now())
	return reason, ok
}

// cost is what a call cost: from its diagnosis, from its error, or the
// per-diagnosis cap when nobody knows.
func (d *Diagnoser) cost(diag contract.Diagnosis, err error) float64 {
	if err == nil {
		return max(diag.CostUSD, 0)
	}
	var ce *prompt.CallError
	if !errors.As(err, &ce) {
		return 0
	}
	if ce.CostKnown {
		return max(ce.CostUSD, 0)
	}
	if d.cfg.Budget != nil {
		return d.cfg.Budget.Limits().PerDiagnosis
	}
	return 0
}

// record books a call's cost and releases its reservation.
func (d *Diagnoser) record(cost float64) error {
	if d.cfg.Budget == nil {
		return nil
	}
	return d.cfg.Budget.Record(d.now(), cost)
}

func (d *Diagnoser) backoff(attempt int) time.Duration {
	delay := d.cfg.BaseDelay
	for i := 1; i < attempt && delay < d.cfg.MaxDelay; i++ {
		delay *= 2
	}
	return min(delay, d.cfg.MaxDelay)
}

// fallback returns the heuristic diagnosis, marked as a fallback, with
// what the failed calls cost.
func (d *Diagnoser) fallback(ctx context.Context, in heuristic.Input, reason string, spent float64) (contract.Diagnosis, error) {
	diag, err := d.heuristic.Diagnose(ctx, in)
	if err != nil {
		return contract.Diagnosis{}, fmt.Errorf("fall back to the heuristic diagnosis (%s): %w", reason, err)
	}
	diag.Fallback = true
	diag.FallbackReason = prompt.Quote(reason, maxReasonBytes)
	diag.CostUSD = spent
	return diag, nil
}

// describe is an error as a single scrubbed line, for a fallback reason
// that ends up in reports.
func describe(err error) string { return prompt.Quote(err.Error(), maxReasonBytes) }
