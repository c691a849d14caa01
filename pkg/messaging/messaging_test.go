package messaging

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/logging"
	"github.com/rounds-dev/rounds/pkg/natstest"
)

func TestEnsureStreamsIsIdempotentAndAppliesLimits(t *testing.T) {
	ctx := context.Background()
	_, js := natstest.Connect(t, natstest.Start(t))
	cfg := DefaultStreamsConfig()
	for range 2 {
		if err := EnsureStreams(ctx, js, cfg); err != nil {
			t.Fatal(err)
		}
	}
	cfg.MaxAge = time.Hour
	if err := EnsureStreams(ctx, js, cfg); err != nil {
		t.Fatalf("changing a limit: %v", err)
	}
	for _, want := range cfg.StreamConfigs() {
		s, err := js.Stream(ctx, want.Name)
		if err != nil {
			t.Fatalf("stream %s: %v", want.Name, err)
		}
		got := s.CachedInfo().Config
		if got.MaxAge != time.Hour || got.MaxBytes != want.MaxBytes || got.Duplicates != cfg.DuplicateWindow || got.Storage != jetstream.FileStorage {
			t.Errorf("stream %s: max age %s, max bytes %d, duplicates %s, storage %s", want.Name, got.MaxAge, got.MaxBytes, got.Duplicates, got.Storage)
		}
	}
}

func TestStreamsConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*StreamsConfig)
		ok     bool
	}{
		{"the defaults are valid", func(*StreamsConfig) {}, true},
		{"a zero max age is refused", func(c *StreamsConfig) { c.MaxAge = 0 }, false},
		{"a tiny max bytes is refused", func(c *StreamsConfig) { c.FailuresMaxBytes = 1024 }, false},
		{"a duplicate window longer than max age is refused", func(c *StreamsConfig) { c.DuplicateWindow = 2 * c.MaxAge }, false},
		{"three replicas are accepted", func(c *StreamsConfig) { c.Replicas = 3 }, true},
		{"zero replicas are refused", func(c *StreamsConfig) { c.Replicas = 0 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultStreamsConfig()
			tt.change(&c)
			if err := c.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestIsPermanent(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"an invalid event is permanent", fmt.Errorf("decode: %w", contract.ErrInvalidEvent), true},
		{"an error marked permanent is permanent", fmt.Errorf("x: %w", ErrPermanent), true},
		{"a timeout is transient", context.DeadlineExceeded, false},
		{"any other error is transient", errors.New("nats: no responders"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsPermanent(tt.err); got != tt.want {
				t.Fatalf("IsPermanent(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

// TestRouterSettlesEachMessageAsItsHandlerDecides runs a router on a real
// stream: a permanent failure is dead-lettered with its reason and acked,
// a panic too, a transient failure is retried until it succeeds, and a
// success is acked once.
func TestRouterSettlesEachMessageAsItsHandlerDecides(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url := natstest.Start(t)
	_, js := natstest.Connect(t, url)
	subNC, _ := natstest.Connect(t, url)
	if err := EnsureStreams(ctx, js, DefaultStreamsConfig()); err != nil {
		t.Fatal(err)
	}
	dl, err := NewDeadletter(js, "test")
	if err != nil {
		t.Fatal(err)
	}
	router, err := NewRouter(RouterConfig{Deadletter: dl, MaxRetries: 3}, logging.Discard())
	if err != nil {
		t.Fatal(err)
	}
	sub, err := NewSubscriber(subNC, ConsumerSpec{Stream: contract.StreamReports, Durable: "test", Filter: contract.ReportsAll, NakDelay: 50 * time.Millisecond}, logging.Discard())
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	attempts := map[string]int{}
	handled := make(chan string, 100)
	router.AddConsumerHandler("test.handler", contract.ReportsAll, sub, func(m *message.Message) error {
		body := string(m.Payload)
		mu.Lock()
		attempts[body]++
		n := attempts[body]
		mu.Unlock()
		switch body {
		case "permanent":
			return fmt.Errorf("bad payload: %w", contract.ErrInvalidEvent)
		case "panic":
			panic("boom")
		case "transient":
			if n < 3 {
				return errors.New("try again")
			}
		}
		handled <- body
		return nil
	})
	go func() { _ = router.Run(ctx) }()
	<-router.Running()

	for _, body := range []string{"permanent", "panic", "transient", "fine"} {
		if _, err := js.Publish(ctx, "rounds.reports.shop", []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]bool{}
	for len(got) < 2 {
		select {
		case b := <-handled:
			got[b] = true
		case <-time.After(20 * time.Second):
			t.Fatalf("handled %v, want transient and fine", got)
		}
	}
	dead, err := js.OrderedConsumer(ctx, contract.StreamDeadletter, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for len(reasons) < 2 {
		m, err := dead.Next(jetstream.FetchMaxWait(20 * time.Second))
		if err != nil {
			t.Fatalf("dead letters so far %v: %v", reasons, err)
		}
		reasons[string(m.Data())] = m.Headers().Get(contract.HeaderDeadletterReason)
		if s := m.Headers().Get(contract.HeaderDeadletterSubject); s != "rounds.reports.shop" {
			t.Errorf("original subject %q", s)
		}
	}
	if reasons["permanent"] == "" || reasons["panic"] == "" {
		t.Errorf("dead letters %v, want the permanent and the panicking message with reasons", reasons)
	}
	cons, err := js.Consumer(ctx, contract.StreamReports, "test")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := cons.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.NumAckPending == 0 && info.NumPending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("messages left unsettled: %+v", info)
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if attempts["permanent"] != 1 || attempts["fine"] != 1 {
		t.Errorf("attempts %v: a permanent failure must not be retried, a success handled once", attempts)
	}
}

// Stopping a handler while it is still setting up (dialing, provisioning
// streams) is a clean stop; a setup that fails on its own is an error.
func TestRunHandlerStoppedDuringSetupIsACleanStop(t *testing.T) {
	url := natstest.Start(t)
	spec := HandlerSpec{Service: "test", Stream: contract.StreamReports, Filter: contract.ReportsAll, Streams: DefaultStreamsConfig()}
	never := func(jetstream.JetStream) message.NoPublishHandlerFunc {
		return func(*message.Message) error { return nil }
	}
	refused := errors.New("refused")
	tests := []struct {
		name    string
		cancel  bool
		dial    Dialer
		wantErr error
	}{
		{"stopped before it dialed", true, URLDialer(url, 10*time.Second, logging.Discard()), nil},
		{"a dial that fails while running", false, func(context.Context, string) (*nats.Conn, error) { return nil, refused }, refused},
		{"a dial cut short by the stop", true, func(ctx context.Context, _ string) (*nats.Conn, error) { return nil, ctx.Err() }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel {
				cancel()
			}
			err := RunHandler(ctx, tt.dial, spec, logging.Discard(), never)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("RunHandler = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// A JetStream call that times out at start is tried again; anything else,
// or a stop, ends the tries at once.
func TestRetryTimeouts(t *testing.T) {
	other := errors.New("no such account")
	stopped, stop := context.WithCancel(context.Background())
	stop()
	tests := []struct {
		name      string
		ctx       context.Context
		errs      []error // what the calls return, in turn; nil after the list
		wantCalls int
		wantErr   error
	}{
		{"success at once", context.Background(), nil, 1, nil},
		{"a timeout, then success", context.Background(), []error{nats.ErrTimeout}, 2, nil},
		{"a deadline, then success", context.Background(), []error{context.DeadlineExceeded, context.DeadlineExceeded}, 3, nil},
		{"another error is not retried", context.Background(), []error{other}, 1, other},
		{"timeouts every time", context.Background(), []error{nats.ErrTimeout, nats.ErrTimeout, nats.ErrTimeout, nats.ErrTimeout, nats.ErrTimeout, nats.ErrTimeout}, streamAttempts, nats.ErrTimeout},
		{"stopped: no retry", stopped, []error{nats.ErrTimeout}, 1, nats.ErrTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			err := retryTimeouts(tt.ctx, func() error {
				calls++
				if calls <= len(tt.errs) {
					return tt.errs[calls-1]
				}
				return nil
			})
			if calls != tt.wantCalls || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("retryTimeouts: %d calls, error %v; want %d calls, error %v", calls, err, tt.wantCalls, tt.wantErr)
			}
		})
	}
}
