package fallback_test

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rounds-dev/rounds/pkg/badgerdb"
	"github.com/rounds-dev/rounds/pkg/logging"
	"github.com/rounds-dev/rounds/services/diagnose/internal/budget"
	"github.com/rounds-dev/rounds/services/diagnose/internal/fallback"
	"github.com/rounds-dev/rounds/services/diagnose/internal/heuristic"
	"github.com/rounds-dev/rounds/services/diagnose/internal/openai"
	"github.com/rounds-dev/rounds/services/diagnose/internal/store"
)

// TestTheOpenAIDiagnoserBehindTheFallbackAndABadgerBudget wires the parts
// as diagnose does and runs them against a fake endpoint.
func TestTheOpenAIDiagnoserBehindTheFallbackAndABadgerBudget(t *testing.T) {
	const content = `{"root_cause": "3 is compared with 4.", "suggested_fix": "Fix the sum.", "confidence": 0.7, "category": "assertion", "evidence": []}`
	tests := []struct {
		name         string
		statuses     []int // one a call, the last repeated
		wantCalls    int32
		wantFallback string
		wantBooked   float64
	}{
		{name: "a rate-limited call is retried after Retry-After and its answer kept", statuses: []int{429, 200}, wantCalls: 2, wantBooked: 0.0006},
		{name: "a failing server falls back to the heuristic after every attempt", statuses: []int{500}, wantCalls: 3, wantFallback: "openai: server error: 500 Internal Server Error"},
		{name: "a rejected key falls back at once", statuses: []int{401}, wantCalls: 1, wantFallback: "request rejected: 401"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := calls.Add(1)
				code := tt.statuses[min(int(n), len(tt.statuses))-1]
				if code != http.StatusOK {
					w.Header().Set("Retry-After", "0.01")
					http.Error(w, `{"error":{"message":"nope"}}`, code)
					return
				}
				_ = json.NewEncoder(w).Encode(map[string]any{
					"model":   "llama3.1",
					"choices": []any{map[string]any{"message": map[string]any{"role": "assistant", "content": content}, "finish_reason": "stop"}},
					"usage":   map[string]any{"prompt_tokens": 1000, "completion_tokens": 100},
				})
			}))
			defer srv.Close()

			db, err := badgerdb.Open(t.TempDir(), logging.Discard())
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			st := store.New(db)
			b, err := budget.New(budget.DefaultLimits(), st)
			if err != nil {
				t.Fatal(err)
			}
			h := heuristic.New()
			ocfg := openai.DefaultConfig()
			ocfg.BaseURL, ocfg.Model, ocfg.Hint = srv.URL+"/v1", "llama3.1", h
			ocfg.InputUSDPerMTok, ocfg.OutputUSDPerMTok = 0.5, 1
			primary, err := openai.New(ocfg)
			if err != nil {
				t.Fatal(err)
			}
			d, err := fallback.New(primary, h, fallback.Config{Attempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Second, Budget: b, Now: func() time.Time { return noon }})
			if err != nil {
				t.Fatal(err)
			}

			got, err := d.Diagnose(context.Background(), input())
			if err != nil {
				t.Fatal(err)
			}
			if n := calls.Load(); n != tt.wantCalls {
				t.Errorf("the endpoint was called %d times, want %d", n, tt.wantCalls)
			}
			if tt.wantFallback == "" {
				if got.Fallback || got.Diagnoser != "openai" || got.Model != "llama3.1" {
					t.Errorf("want the model's answer, got %+v", got)
				}
			} else if !got.Fallback || got.Diagnoser != heuristic.Name || !strings.Contains(got.FallbackReason, tt.wantFallback) {
				t.Errorf("want the heuristic diagnosis falling back because %q, got %+v", tt.wantFallback, got)
			}
			spent, err := st.SpentOn("2026-03-01")
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(spent-tt.wantBooked) > 1e-12 || math.Abs(got.CostUSD-tt.wantBooked) > 1e-12 {
				t.Errorf("booked $%v and reported $%v, want $%v", spent, got.CostUSD, tt.wantBooked)
			}
		})
	}
}
