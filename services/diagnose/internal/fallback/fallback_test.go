package fallback_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/diagnose/internal/budget"
	"github.com/rounds-dev/rounds/services/diagnose/internal/fallback"
	"github.com/rounds-dev/rounds/services/diagnose/internal/heuristic"
	"github.com/rounds-dev/rounds/services/diagnose/internal/prompt"
)

var noon = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// result is one scripted answer of the fake primary diagnoser.
type result struct {
	diag contract.Diagnosis
	err  error
}

// scripted answers with its script, one result a call, repeating the last.
type scripted struct {
	mu     sync.Mutex
	script []result
	calls  int
}

func (s *scripted) Diagnose(ctx context.Context, _ heuristic.Input) (contract.Diagnosis, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.script[min(s.calls, len(s.script)-1)]
	s.calls++
	return r.diag, r.err
}

func (s *scripted) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// ledger is a budget.Ledger in memory.
type ledger struct {
	mu    sync.Mutex
	spent map[string]float64
}

func (l *ledger) SpentOn(day string) (float64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.spent[day], nil
}

func (l *ledger) Add(day string, usd float64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.spent[day] += usd
	return nil
}

func answered(cost float64) result {
	return result{diag: contract.Diagnosis{Category: "assertion", RootCause: "r", SuggestedFix: "f", Confidence: 0.8, Diagnoser: "openai", Model: "m", CostUSD: cost}}
}

func failed(kind prompt.Kind, cost float64, known bool, msg string) result {
	return result{err: &prompt.CallError{Diagnoser: "openai", Kind: kind, CostUSD: cost, CostKnown: known, Err: errors.New(msg)}}
}

func input() heuristic.Input {
	return heuristic.Input{
		Signature: contract.Signature{ID: "sig_1", Project: "shop", Title: "TestTotal", Kind: contract.KindTest, Occurrences: 1},
		Occurrences: []contract.Failure{{
			Schema: contract.SchemaFailure, ID: "f1", Project: "shop", Time: noon, Kind: contract.KindTest,
			Test:  &contract.TestIdentity{Name: "TestTotal"},
			Error: contract.ErrorInfo{Message: "expected 3, got 4"},
		}},
	}
}

func TestDiagnose(t *testing.T) {
	tests := []struct {
		name         string
		script       []result
		spentToday   float64
		limits       budget.Limits
		wantCalls    int
		wantFallback bool
		wantReason   string
		wantCost     float64
		wantBooked   float64
	}{
		{
			name:      "a first answer is returned with its cost",
			script:    []result{answered(0.02)},
			wantCalls: 1, wantCost: 0.02, wantBooked: 0.02,
		},
		{
			name:      "a transient failure is retried and the answer carries the cost of both calls",
			script:    []result{failed(prompt.Transient, 0.01, true, "invalid answer"), answered(0.02)},
			wantCalls: 2, wantCost: 0.03, wantBooked: 0.03,
		},
		{
			name:      "transient failures fall back after the last attempt",
			script:    []result{failed(prompt.Transient, 0.01, true, "server error: 500")},
			wantCalls: 3, wantFallback: true, wantReason: "openai: server error: 500 (after 3 attempts)", wantCost: 0.03, wantBooked: 0.03,
		},
		{
			name:      "an error that is not a call error is retried as transient",
			script:    []result{{err: errors.New("connection reset")}, answered(0.02)},
			wantCalls: 2, wantCost: 0.02, wantBooked: 0.02,
		},
		{
			name:      "a permanent failure falls back at once",
			script:    []result{failed(prompt.Permanent, 0, true, "request rejected: 401 Unauthorized")},
			wantCalls: 1, wantFallback: true, wantReason: "openai: request rejected: 401 Unauthorized",
		},
		{
			name:      "a run stopped at its own limit falls back at once and its cost is booked",
			script:    []result{failed(prompt.OverLimit, 0.31, true, "stopped at its limit: error_max_turns")},
			wantCalls: 1, wantFallback: true, wantReason: "error_max_turns", wantCost: 0.31, wantBooked: 0.31,
		},
		{
			name:      "a call of unknown cost is booked at the per-diagnosis cap",
			script:    []result{failed(prompt.Permanent, 0, false, "killed")},
			wantCalls: 1, wantFallback: true, wantReason: "killed", wantCost: 0.5, wantBooked: 0.5,
		},
		{
			name:       "a spent daily budget falls back without a call",
			script:     []result{answered(0.02)},
			spentToday: 4.6,
			wantCalls:  0, wantFallback: true, wantReason: "budget spent: daily cap $5.00 reached on 2026-03-01", wantBooked: 4.6,
		},
		{
			name:      "the per-diagnosis cap stops a retry that may overrun it",
			script:    []result{failed(prompt.Transient, 0.3, true, "invalid answer")},
			wantCalls: 1, wantFallback: true, wantReason: "budget spent: this diagnosis spent $0.3000 of its $0.50 cap, and another call may cost $0.3000; the last call failed: openai: invalid answer", wantCost: 0.3, wantBooked: 0.3,
		},
		{
			name:       "the daily cap stops a retry once the first call spent it",
			script:     []result{failed(prompt.Transient, 0.1, true, "invalid answer")},
			spentToday: 4.45,
			wantCalls:  1, wantFallback: true, wantReason: "budget spent: daily cap", wantCost: 0.1, wantBooked: 4.55,
		},
		{
			name:      "secrets in an error do not reach the fallback reason",
			script:    []result{failed(prompt.Permanent, 0, true, "request rejected: Incorrect API key provided: sk-proj-abcdefghijklmnopqrstuvwx1234")},
			wantCalls: 1, wantFallback: true, wantReason: "provided: [REDACTED]",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			limits := tt.limits
			if limits == (budget.Limits{}) {
				limits = budget.Limits{PerDiagnosis: 0.5, Daily: 5}
			}
			l := &ledger{spent: map[string]float64{"2026-03-01": tt.spentToday}}
			b, err := budget.New(limits, l)
			if err != nil {
				t.Fatal(err)
			}
			primary := &scripted{script: tt.script}
			d, err := fallback.New(primary, heuristic.New(), fallback.Config{
				Attempts: 3, BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond,
				Budget: b, Now: func() time.Time { return noon },
			})
			if err != nil {
				t.Fatal(err)
			}

			got, err := d.Diagnose(context.Background(), input())
			if err != nil {
				t.Fatalf("Diagnose() error = %v, want a diagnosis", err)
			}
			if n := primary.count(); n != tt.wantCalls {
				t.Errorf("the primary diagnoser was called %d times, want %d", n, tt.wantCalls)
			}
			if got.Fallback != tt.wantFallback {
				t.Errorf("Fallback = %v (reason %q), want %v", got.Fallback, got.FallbackReason, tt.wantFallback)
			}
			if tt.wantFallback {
				if got.Diagnoser != heuristic.Name || got.RootCause == "" {
					t.Errorf("the fallback is not the heuristic diagnosis: %+v", got)
				}
				if !strings.Contains(got.FallbackReason, tt.wantReason) {
					t.Errorf("FallbackReason = %q, want it to contain %q", got.FallbackReason, tt.wantReason)
				}
				if strings.Contains(got.FallbackReason, "sk-proj") {
					t.Errorf("FallbackReason leaks a key: %q", got.FallbackReason)
				}
			} else if got.Diagnoser != "openai" || got.FallbackReason != "" {
				t.Errorf("the primary's answer was not returned as is: %+v", got)
			}
			if math.Abs(got.CostUSD-tt.wantCost) > 1e-9 {
				t.Errorf("CostUSD = %v, want %v", got.CostUSD, tt.wantCost)
			}
			if booked := l.spent["2026-03-01"]; math.Abs(booked-tt.wantBooked) > 1e-9 {
				t.Errorf("the ledger has $%v for the day, want $%v", booked, tt.wantBooked)
			}
			// Every reservation was released: the whole remaining day is
			// available again.
			if ok, reason := b.Allow(noon); ok != (tt.wantBooked+limits.PerDiagnosis <= limits.Daily+1e-9) {
				t.Errorf("after the diagnosis Allow() = %v (%s)", ok, reason)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name         string
		retryAfter   time.Duration
		wantCalls    int
		wantFallback bool
		wantWait     time.Duration
	}{
		{name: "a short Retry-After is waited for", retryAfter: 30 * time.Millisecond, wantCalls: 2, wantWait: 30 * time.Millisecond},
		{name: "a Retry-After beyond the longest wait falls back at once", retryAfter: time.Hour, wantCalls: 1, wantFallback: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			limited := result{err: &prompt.CallError{Diagnoser: "openai", Kind: prompt.Transient, CostKnown: true, RetryAfter: tt.retryAfter, Err: errors.New("rate limited: 429")}}
			primary := &scripted{script: []result{limited, answered(0.01)}}
			d, err := fallback.New(primary, heuristic.New(), fallback.Config{Attempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			started := time.Now()
			got, err := d.Diagnose(context.Background(), input())
			if err != nil {
				t.Fatal(err)
			}
			if took := time.Since(started); took < tt.wantWait {
				t.Errorf("the retry came after %v, want at least %v", took, tt.wantWait)
			}
			if primary.count() != tt.wantCalls || got.Fallback != tt.wantFallback {
				t.Errorf("%d calls, fallback %v (%q); want %d calls, fallback %v", primary.count(), got.Fallback, got.FallbackReason, tt.wantCalls, tt.wantFallback)
			}
			if tt.wantFallback && !strings.Contains(got.FallbackReason, "asked to retry after 1h0m0s") {
				t.Errorf("FallbackReason = %q, want it to say how long the server asked to wait", got.FallbackReason)
			}
		})
	}
}

// blocking waits for its context to end, as a diagnoser cut off by a
// shutdown does.
type blocking struct{}

func (blocking) Diagnose(ctx context.Context, _ heuristic.Input) (contract.Diagnosis, error) {
	<-ctx.Done()
	return contract.Diagnosis{}, &prompt.CallError{Diagnoser: "claude-code", Kind: prompt.Transient, Err: ctx.Err()}
}

func TestADoneContextIsTheOnlyError(t *testing.T) {
	tests := []struct {
		name    string
		primary fallback.Inner
		cancel  bool
	}{
		{name: "a context ended during a call is returned as an error", primary: blocking{}},
		{name: "a context ended during the backoff is returned as an error", primary: &scripted{script: []result{failed(prompt.Transient, 0, true, "500")}}},
		{name: "a context ended before the call is returned as an error", primary: &scripted{script: []result{answered(0)}}, cancel: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &ledger{spent: map[string]float64{}}
			b, err := budget.New(budget.Limits{PerDiagnosis: 0.5, Daily: 5}, l)
			if err != nil {
				t.Fatal(err)
			}
			d, err := fallback.New(tt.primary, heuristic.New(), fallback.Config{Attempts: 3, BaseDelay: time.Hour, MaxDelay: time.Hour, Budget: b})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			if tt.cancel {
				cancel()
			}
			_, err = d.Diagnose(ctx, input())
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				t.Errorf("Diagnose() error = %v, want the context's error", err)
			}
			if ok, reason := b.Allow(time.Now()); !ok {
				t.Errorf("a reservation was left behind: %s", reason)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		cfg    fallback.Config
		wantOK bool
	}{
		{name: "the defaults are valid", cfg: fallback.DefaultConfig(), wantOK: true},
		{name: "zero attempts are refused", cfg: fallback.Config{Attempts: 0, MaxDelay: time.Second}},
		{name: "a negative base delay is refused", cfg: fallback.Config{Attempts: 1, BaseDelay: -1}},
		{name: "a max delay below the base delay is refused", cfg: fallback.Config{Attempts: 1, BaseDelay: time.Second, MaxDelay: time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); (err == nil) != tt.wantOK {
				t.Errorf("Validate() = %v, want ok %v", err, tt.wantOK)
			}
		})
	}
}

func TestMaxDurationCoversEveryAttemptAndWait(t *testing.T) {
	cfg := fallback.Config{Attempts: 3, BaseDelay: 2 * time.Second, MaxDelay: 30 * time.Second}
	if got, want := cfg.MaxDuration(5*time.Minute), 15*time.Minute+time.Minute; got != want {
		t.Errorf("MaxDuration(5m) = %v, want %v", got, want)
	}
}
