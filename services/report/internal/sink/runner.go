package sink

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Queue is a per-sink outbox kept in report's state.
type Queue interface {
	// Head returns the sink's oldest pending delivery, or nil.
	Head(sink string) (*Delivery, error)
	// Done removes d from the sink's outbox and records its key as
	// delivered.
	Done(sink string, d *Delivery) error
	// Retry stores d's new retry state.
	Retry(sink string, d *Delivery) error
}

// Settler is a sink with work that sums up many deliveries, such as a
// summary of every signature: rather than once per delivery, the runner
// calls Settle once its outbox is drained for now, at most MaxUnsettled
// after a delivery while deliveries keep coming, and once at start (a
// crash may have come between a delivery and its settling). An error is
// retried a second later.
type Settler interface {
	Settle(ctx context.Context) error
}

// MaxUnsettled is how long a settler's deliveries wait at most for their
// Settle while its outbox stays busy.
const MaxUnsettled = 5 * time.Second

// Runner drains each sink's outbox in its own goroutine, oldest delivery
// first, so a sink that keeps failing delays only its own deliveries.
type Runner struct {
	queue Queue
	sinks []Sink
	stats *Counters
	log   *slog.Logger
	wake  map[string]chan struct{}
	// Now and Backoff are the clock and the wait after the n-th failed
	// attempt (n from 1); tests shorten them.
	Now     func() time.Time
	Backoff func(n int) time.Duration
	// MaxUnsettled bounds how long a Settler's deliveries wait for Settle
	// while its outbox stays busy.
	MaxUnsettled time.Duration
}

// NewRunner returns a runner of sinks over queue, counting into stats.
func NewRunner(queue Queue, sinks []Sink, stats *Counters, log *slog.Logger) *Runner {
	wake := make(map[string]chan struct{}, len(sinks))
	for _, s := range sinks {
		wake[s.Name()] = make(chan struct{}, 1)
	}
	return &Runner{queue: queue, sinks: sinks, stats: stats, log: log, wake: wake, Now: time.Now, Backoff: Backoff, MaxUnsettled: MaxUnsettled}
}

// Backoff is the default wait after the n-th failed attempt: 1s doubling
// up to 5 minutes.
func Backoff(n int) time.Duration {
	d := time.Second
	for i := 1; i < n && d < 5*time.Minute; i++ {
		d *= 2
	}
	return min(d, 5*time.Minute)
}

// Notify tells every sink's goroutine that its outbox may have grown.
func (r *Runner) Notify() {
	for _, ch := range r.wake {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Run drains the outboxes until ctx ends; the delivery in hand is left
// pending for the next start.
func (r *Runner) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, s := range r.sinks {
		wg.Go(func() { r.drain(ctx, s) })
	}
	wg.Wait()
}

func (r *Runner) drain(ctx context.Context, s Sink) {
	name := s.Name()
	log := r.log.With("sink", name)
	settler, _ := s.(Settler)
	// unsettled is when the first delivery not settled yet was made; at
	// start, whatever a crash left.
	var unsettled time.Time
	if settler != nil {
		unsettled = r.Now()
	}
	for ctx.Err() == nil {
		d, err := r.queue.Head(name)
		if err != nil {
			log.Error("reading outbox", "err", err)
			r.wait(ctx, name, time.Second)
			continue
		}
		idle := d == nil || d.NextAttempt.After(r.Now())
		if !unsettled.IsZero() && (idle || r.Now().Sub(unsettled) >= r.MaxUnsettled) {
			if err := settler.Settle(ctx); err != nil {
				if ctx.Err() == nil {
					log.Warn("settling failed; will retry", "err", err)
					r.wait(ctx, name, time.Second)
				}
				continue
			}
			unsettled = time.Time{}
		}
		if d == nil {
			r.wait(ctx, name, -1)
			continue
		}
		if wait := d.NextAttempt.Sub(r.Now()); wait > 0 {
			r.wait(ctx, name, wait)
			continue
		}
		if r.deliver(ctx, s, d, log) && settler != nil && unsettled.IsZero() {
			unsettled = r.Now()
		}
	}
}

// deliver makes one attempt at d and reports whether the sink took it.
func (r *Runner) deliver(ctx context.Context, s Sink, d *Delivery, log *slog.Logger) bool {
	name := s.Name()
	err := s.Deliver(ctx, d)
	if err != nil && ctx.Err() != nil {
		return false // stopping: the delivery stays pending
	}
	log = log.With("key", d.Key, "signature_id", d.SignatureID)
	switch {
	case err == nil:
		if err := r.queue.Done(name, d); err != nil {
			log.Error("recording delivery", "err", err)
			return true
		}
		r.stats.delivered(name)
		log.Debug("delivered")
		return true
	case errors.Is(err, ErrPermanent):
		r.stats.failed(name, true)
		log.Error("sink refused the delivery; dropping it", "err", err, "attempts", d.Attempts+1)
		if err := r.queue.Done(name, d); err != nil {
			log.Error("dropping delivery", "err", err)
		}
	default:
		r.stats.failed(name, false)
		d.Attempts++
		d.LastError = err.Error()
		d.NextAttempt = r.Now().Add(r.Backoff(d.Attempts))
		log.Warn("sink failed; will retry", "err", err, "attempts", d.Attempts, "next_attempt", d.NextAttempt)
		if err := r.queue.Retry(name, d); err != nil {
			log.Error("recording retry", "err", err)
		}
	}
	return false
}

// wait returns after d (forever when negative), when the sink is notified
// or when ctx ends.
func (r *Runner) wait(ctx context.Context, name string, d time.Duration) {
	var timeout <-chan time.Time
	if d >= 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-ctx.Done():
	case <-r.wake[name]:
	case <-timeout:
	}
}

// SinkStats counts one sink's deliveries.
type SinkStats struct {
	// Delivered counts deliveries the sink took.
	Delivered uint64
	// Failed counts failed attempts, retried or not.
	Failed uint64
	// Dropped counts deliveries given up on (permanent failures).
	Dropped uint64
}

// Counters counts deliveries per sink; safe for concurrent use.
type Counters struct {
	mu sync.Mutex
	m  map[string]SinkStats
}

// NewCounters returns counters with every named sink at zero.
func NewCounters(names []string) *Counters {
	c := &Counters{m: make(map[string]SinkStats, len(names))}
	for _, n := range names {
		c.m[n] = SinkStats{}
	}
	return c
}

func (c *Counters) delivered(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.m[name]
	s.Delivered++
	c.m[name] = s
}

func (c *Counters) failed(name string, dropped bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.m[name]
	s.Failed++
	if dropped {
		s.Dropped++
	}
	c.m[name] = s
}

// Snapshot returns a copy of the counts.
func (c *Counters) Snapshot() map[string]SinkStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]SinkStats, len(c.m))
	for k, v := range c.m {
		out[k] = v
	}
	return out
}
