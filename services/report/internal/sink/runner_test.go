package sink

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rounds-dev/rounds/pkg/logging"
)

// memQueue is an outbox in memory (report's is in Badger; its store tests
// cover that).
type memQueue struct {
	mu      sync.Mutex
	pending map[string][]*Delivery
}

func (q *memQueue) Head(sink string) (*Delivery, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending[sink]) == 0 {
		return nil, nil
	}
	d := *q.pending[sink][0]
	return &d, nil
}

func (q *memQueue) Done(sink string, d *Delivery) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.pending[sink] = q.pending[sink][1:]
	return nil
}

func (q *memQueue) Retry(sink string, d *Delivery) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.pending[sink][0] = d
	return nil
}

// summing is a settling sink on a clock that each delivery moves a second
// on. It records, for each Settle that succeeded, how many deliveries it
// covered.
type summing struct {
	clock     *fakeClock
	failFirst bool

	mu        sync.Mutex
	delivered int
	settles   []int
	failed    int
}

func (s *summing) Name() string         { return "summing" }
func (s *summing) Wants(*Delivery) bool { return true }
func (s *summing) Deliver(context.Context, *Delivery) error {
	s.clock.advance(time.Second)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delivered++
	return nil
}

func (s *summing) Settle(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failFirst && s.failed == 0 {
		s.failed++
		return errors.New("disk full")
	}
	s.settles = append(s.settles, s.delivered)
	return nil
}

func (s *summing) state() (delivered int, settles []int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.delivered, append([]int(nil), s.settles...)
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestASettlerIsSettledOncePerBurstAndAtMostMaxUnsettledLate(t *testing.T) {
	tests := []struct {
		name         string
		queued       int
		maxUnsettled time.Duration
		failFirst    bool
		// wantSettles are the deliveries each successful Settle covered.
		wantSettles []int
	}{
		{name: "a burst is settled once, after its last delivery", queued: 10, maxUnsettled: time.Hour, wantSettles: []int{10}},
		{name: "nothing queued: settled once at start, for what a crash may have left", queued: 0, maxUnsettled: time.Hour, wantSettles: []int{0}},
		// Each delivery takes a second: the start's settling is due at 3s
		// (3 delivered); the 4th delivery, made at 4s, is settled at 7s;
		// the 8th, at 8s, when the outbox is empty at 10s.
		{name: "a busy outbox is settled at most MaxUnsettled after a delivery", queued: 10, maxUnsettled: 3 * time.Second, wantSettles: []int{3, 7, 10}},
		{name: "a failed Settle is tried again", queued: 4, maxUnsettled: time.Hour, failFirst: true, wantSettles: []int{4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeClock{now: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
			s := &summing{clock: clock, failFirst: tt.failFirst}
			q := &memQueue{pending: map[string][]*Delivery{}}
			for i := range tt.queued {
				q.pending[s.Name()] = append(q.pending[s.Name()], &Delivery{Key: fmt.Sprint("e", i)})
			}
			r := NewRunner(q, []Sink{s}, NewCounters([]string{s.Name()}), logging.Discard())
			r.Now, r.MaxUnsettled = clock.Now, tt.maxUnsettled
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { r.Run(ctx); close(done) }()
			deadline := time.Now().Add(10 * time.Second)
			for {
				delivered, settles := s.state()
				if delivered == tt.queued && len(settles) > 0 && settles[len(settles)-1] == tt.queued {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("not settled after the last delivery: %d delivered, settles %v", delivered, settles)
				}
				time.Sleep(5 * time.Millisecond)
			}
			cancel()
			<-done
			if _, settles := s.state(); fmt.Sprint(settles) != fmt.Sprint(tt.wantSettles) {
				t.Errorf("settles covered %v deliveries, want %v", settles, tt.wantSettles)
			}
		})
	}
}

// A sink that is not a Settler is never asked to settle: the runner only
// delivers to it.
func TestASinkThatDoesNotSettleIsOnlyDelivered(t *testing.T) {
	q := &memQueue{pending: map[string][]*Delivery{"plain": {{Key: "e0"}, {Key: "e1"}}}}
	s := &plain{}
	r := NewRunner(q, []Sink{s}, NewCounters([]string{"plain"}), logging.Discard())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	for deadline := time.Now().Add(10 * time.Second); s.count() < 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the deliveries were not made")
		}
	}
	cancel()
	<-done
	if d, _ := q.Head("plain"); d != nil {
		t.Errorf("outbox still holds %+v", d)
	}
}

type plain struct {
	mu sync.Mutex
	n  int
}

func (p *plain) Name() string         { return "plain" }
func (p *plain) Wants(*Delivery) bool { return true }
func (p *plain) Deliver(context.Context, *Delivery) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	return nil
}

func (p *plain) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}
