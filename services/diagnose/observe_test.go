package diagnose

import (
	"context"
	"errors"
	"testing"

	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/diagnose/internal/heuristic"
)

// answering is a diagnoser that answers what it was given.
type answering struct {
	d   contract.Diagnosis
	err error
}

func (a answering) Diagnose(context.Context, heuristic.Input) (contract.Diagnosis, error) {
	return a.d, a.err
}

func TestObserveSeesEveryCall(t *testing.T) {
	boom := errors.New("model unavailable")
	tests := []struct {
		name  string
		inner answering
		want  Observation
	}{
		{
			name:  "an answer reports its diagnoser and cost",
			inner: answering{d: contract.Diagnosis{Diagnoser: DiagnoserOpenAI, CostUSD: 0.02}},
			want:  Observation{Diagnoser: DiagnoserOpenAI, Answered: DiagnoserOpenAI, CostUSD: 0.02},
		},
		{
			name:  "a fallback says the heuristic answered",
			inner: answering{d: contract.Diagnosis{Diagnoser: DiagnoserHeuristic, Fallback: true, CostUSD: 0.01}},
			want:  Observation{Diagnoser: DiagnoserOpenAI, Answered: DiagnoserHeuristic, CostUSD: 0.01, Fallback: true},
		},
		{
			name:  "an error is reported with no answer",
			inner: answering{err: boom},
			want:  Observation{Diagnoser: DiagnoserOpenAI, Err: boom},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []Observation
			s := &Service{cfg: Config{Diagnoser: DiagnoserOpenAI, Observe: func(o Observation) { got = append(got, o) }}}
			d, err := s.observed(tt.inner).Diagnose(context.Background(), heuristic.Input{})
			if !errors.Is(err, tt.inner.err) || d.Diagnoser != tt.inner.d.Diagnoser {
				t.Fatalf("Diagnose = %+v, %v; want the inner diagnoser's answer passed on", d, err)
			}
			if len(got) != 1 {
				t.Fatalf("observed %d calls, want 1", len(got))
			}
			o := got[0]
			if o.Duration < 0 {
				t.Errorf("duration %s is negative", o.Duration)
			}
			o.Duration = 0
			if o != tt.want {
				t.Errorf("observation %+v, want %+v", o, tt.want)
			}
		})
	}
	// Without an observer the diagnoser is not wrapped at all.
	inner := answering{}
	if d := (&Service{}).observed(inner); d == nil {
		t.Fatal("observed returned nil")
	} else if _, wrapped := d.(observedDiagnoser); wrapped {
		t.Errorf("observed without Observe = %T, want the diagnoser itself", d)
	}
}

func TestReadyBeforeRun(t *testing.T) {
	s := &Service{}
	if err := s.Ready(context.Background()); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Ready before Run = %v, want ErrNotRunning", err)
	}
}
