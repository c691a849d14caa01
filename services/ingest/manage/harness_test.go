package manage_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rounds-dev/rounds/pkg/client"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/logging"
	"github.com/rounds-dev/rounds/pkg/messaging"
	"github.com/rounds-dev/rounds/pkg/natstest"
	"github.com/rounds-dev/rounds/services/ingest"
	"github.com/rounds-dev/rounds/services/ingest/manage"
)

// t0 is the clock of ingest in these tests: it does not move, so that
// nothing is resolved or unmuted by time behind a test's back.
var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// env is a real ingest on an embedded JetStream with a Badger in a temp
// dir, its Manager, and a watch on the signature events it publishes.
type env struct {
	t *testing.T
	// stormWait is ingest's --ingest-storm-wait; 0 unless a test sets it
	// before start.
	stormWait time.Duration
	url       string
	dataDir   string
	ing       *ingest.Service
	m         *manage.Manager
	client    *client.Client
	js        jetstream.JetStream
	events    chan contract.SignatureChanged
	stop      func()
	n         int
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWaiting(t, 0)
}

// newEnvWaiting is newEnv with events of a run's failures waiting up to
// stormWait for the run's report; the clock stands still, so they wait
// until it comes.
func newEnvWaiting(t *testing.T, stormWait time.Duration) *env {
	t.Helper()
	e := &env{t: t, url: natstest.Start(t), dataDir: t.TempDir(), stormWait: stormWait}
	nc, js := natstest.Connect(t, e.url)
	e.js = js
	var err error
	if e.client, err = client.New(nc); err != nil {
		t.Fatal(err)
	}
	e.start()
	e.events = make(chan contract.SignatureChanged, 1000)
	cons, err := js.OrderedConsumer(context.Background(), contract.StreamSignatures, jetstream.OrderedConsumerConfig{FilterSubjects: []string{contract.SignaturesAll}})
	if err != nil {
		t.Fatal(err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		ev, err := contract.DecodeSignatureChanged(m.Data())
		if err != nil {
			t.Errorf("undecodable signature event on %s: %v", m.Subject(), err)
			return
		}
		e.events <- ev
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cc.Stop)
	return e
}

// start runs ingest until stop or the end of the test, and waits until it
// serves.
func (e *env) start() {
	e.t.Helper()
	cfg := ingest.DefaultConfig()
	cfg.DataDir = e.dataDir
	cfg.Now = func() time.Time { return t0 }
	cfg.AutoResolveAfter = 0
	// Events do not wait for run reports unless a test asks: the clock
	// stands still.
	cfg.StormWait = e.stormWait
	ing, err := ingest.New(cfg, messaging.URLDialer(e.url, 10*time.Second, logging.Discard()), logging.Discard())
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ing.Run(ctx) }()
	var once sync.Once
	e.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				e.t.Errorf("ingest: %v", err)
			}
		})
	}
	e.t.Cleanup(e.stop)
	e.ing, e.m = ing, ing.Manager()
	eventually(e.t, "ingest serves", func() bool {
		_, err := e.m.List(context.Background(), contract.ListRequest{})
		return !errors.Is(err, manage.ErrUnavailable)
	})
	// The streams are there once the consumer runs.
}

// restart stops ingest and starts it again on the same state.
func (e *env) restart() {
	e.t.Helper()
	e.stop()
	e.start()
}

// failure is a failed test of project "shop": each test name its own
// signature.
func (e *env) failure(test, commit string) contract.Failure {
	e.n++
	return contract.Failure{
		Schema: contract.SchemaFailure, ID: fmt.Sprintf("f%d", e.n), Project: "shop", Time: t0.Add(time.Duration(e.n) * time.Second),
		Kind:  contract.KindTest,
		Test:  &contract.TestIdentity{Suite: "cart", Name: test},
		Error: contract.ErrorInfo{Type: "AssertionError", Message: "expected 3, got 4 in " + test},
		Run:   contract.RunInfo{ID: fmt.Sprintf("run-%d", e.n), Commit: commit},
	}
}

// signature publishes a failure of test and returns its signature once
// ingest has counted it.
func (e *env) signature(t *testing.T, test string) contract.SignatureRef {
	t.Helper()
	e.publish(t, e.failure(test, "c1"))
	var ref contract.SignatureRef
	for ev := range e.eventsUntil(t, func(ev contract.SignatureChanged) bool {
		return ev.Change == contract.ChangeDetected && ev.Signature.Test != nil && ev.Signature.Test.Name == test
	}) {
		ref = contract.SignatureRef{Project: ev.Signature.Project, ID: ev.Signature.ID}
	}
	return ref
}

func (e *env) publish(t *testing.T, fs ...contract.Failure) {
	t.Helper()
	if _, err := e.client.PublishFailures(context.Background(), fs); err != nil {
		t.Fatal(err)
	}
}

// eventsUntil yields the signature event that matches, skipping the
// others, and fails the test if none comes.
func (e *env) eventsUntil(t *testing.T, match func(contract.SignatureChanged) bool) func(func(contract.SignatureChanged) bool) {
	t.Helper()
	return func(yield func(contract.SignatureChanged) bool) {
		deadline := time.After(30 * time.Second)
		for {
			select {
			case ev := <-e.events:
				if match(ev) {
					yield(ev)
					return
				}
			case <-deadline:
				t.Fatal("the expected signature event did not come within 30s")
				return
			}
		}
	}
}

// nextEventOf returns the next event of the signature ref.
func (e *env) nextEventOf(t *testing.T, ref contract.SignatureRef) contract.SignatureChanged {
	t.Helper()
	var got contract.SignatureChanged
	for ev := range e.eventsUntil(t, func(ev contract.SignatureChanged) bool { return ev.Signature.ID == ref.ID }) {
		got = ev
	}
	return got
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
