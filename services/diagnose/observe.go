package diagnose

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/diagnose/internal/diagnosis"
	"github.com/rounds-dev/rounds/services/diagnose/internal/heuristic"
)

// ErrNotRunning means diagnose has not opened its state yet, or has closed
// it: Run has not got that far, or has returned.
var ErrNotRunning = errors.New("not running")

// Ready reports whether diagnose has its Badger state open: nil while Run
// runs, an error wrapping ErrNotRunning before and after.
func (s *Service) Ready(ctx context.Context) error {
	if !s.open.Load() {
		return fmt.Errorf("diagnose: %w: state not open yet", ErrNotRunning)
	}
	return ctx.Err()
}

// Observation is what one call of the diagnoser did, for Config.Observe.
type Observation struct {
	// Diagnoser is the configured diagnoser (heuristic, claude-code or
	// openai); Answered the one that answered, which differs after a
	// fallback, and is empty on error.
	Diagnoser, Answered string
	// Duration is how long the call took, retries and fallback included;
	// gathering the evidence before it is not.
	Duration time.Duration
	// CostUSD is what the call cost, as the diagnosis says.
	CostUSD float64
	// Fallback is set when the configured diagnoser did not answer and
	// the heuristic did.
	Fallback bool
	// Err is the error of a call that gave no diagnosis.
	Err error
}

// observed wraps d to tell Config.Observe about each call; d itself when
// nothing observes.
func (s *Service) observed(d diagnosis.Diagnoser) diagnosis.Diagnoser {
	if s.cfg.Observe == nil {
		return d
	}
	return observedDiagnoser{inner: d, name: s.cfg.Diagnoser, observe: s.cfg.Observe}
}

type observedDiagnoser struct {
	inner   diagnosis.Diagnoser
	name    string
	observe func(Observation)
}

func (o observedDiagnoser) Diagnose(ctx context.Context, in heuristic.Input) (contract.Diagnosis, error) {
	started := time.Now()
	d, err := o.inner.Diagnose(ctx, in)
	obs := Observation{Diagnoser: o.name, Duration: time.Since(started), Err: err}
	if err == nil {
		obs.Answered, obs.CostUSD, obs.Fallback = d.Diagnoser, d.CostUSD, d.Fallback
	}
	o.observe(obs)
	return d, err
}
