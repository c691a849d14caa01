package messaging

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rounds-dev/rounds/pkg/contract"
)

// Metadata keys the subscriber sets on every Watermill message.
const (
	MetadataSubject   = "rounds_subject"
	MetadataStreamSeq = "rounds_stream_seq"
)

// ConsumerSpec names a durable consumer of a stream.
type ConsumerSpec struct {
	Stream  string
	Durable string
	Filter  string
	// AckWait is how long JetStream waits for an ack before redelivering;
	// it also bounds how long a handler may work on one message.
	AckWait time.Duration
	// NakDelay is how long a nak'd message waits before redelivery, so a
	// transient failure does not spin.
	NakDelay time.Duration
}

// Subscriber is a Watermill subscriber reading a durable JetStream pull
// consumer.
//
// Rounds does not use watermill-nats' subscribers here: both close the
// output channel from one goroutine while a NATS callback may still be
// sending on it, which the race detector reports and which can panic at
// shutdown. In this one, the goroutine that sends is the one that closes.
type Subscriber struct {
	js      jetstream.JetStream
	spec    ConsumerSpec
	log     *slog.Logger
	closing chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
}

// NewSubscriber returns a subscriber for spec on nc. The caller owns nc
// and drains it after the router has stopped.
func NewSubscriber(nc *nats.Conn, spec ConsumerSpec, log *slog.Logger) (*Subscriber, error) {
	if spec.AckWait == 0 {
		spec.AckWait = time.Minute
	}
	if spec.NakDelay == 0 {
		spec.NakDelay = 2 * time.Second
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("subscriber %s: jetstream: %w", spec.Durable, err)
	}
	return &Subscriber{js: js, spec: spec, log: log.With("consumer", spec.Durable), closing: make(chan struct{})}, nil
}

// Subscribe creates or updates the durable consumer and delivers its
// messages one at a time; topic is only informative (the filter comes
// from the spec). Each message is acked when the handler acks it and
// nak'd with a delay when it nacks.
func (s *Subscriber) Subscribe(ctx context.Context, _ string) (<-chan *message.Message, error) {
	cons, err := s.js.CreateOrUpdateConsumer(ctx, s.spec.Stream, jetstream.ConsumerConfig{
		Durable:       s.spec.Durable,
		FilterSubject: s.spec.Filter,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       s.spec.AckWait,
		MaxAckPending: 1000,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("create consumer %s on %s: %w", s.spec.Durable, s.spec.Stream, err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(32))
	if err != nil {
		return nil, fmt.Errorf("consume %s: %w", s.spec.Durable, err)
	}
	out := make(chan *message.Message)
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		select {
		case <-ctx.Done():
		case <-s.closing:
		}
		it.Stop()
	}()
	go func() {
		defer s.wg.Done()
		defer close(out)
		for {
			m, err := it.Next()
			if err != nil {
				if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
					return
				}
				s.log.Warn("fetching messages", "error", err)
				time.Sleep(100 * time.Millisecond)
				continue
			}
			if !s.deliver(ctx, m, out) {
				return
			}
		}
	}()
	return out, nil
}

// deliver hands m to the router and settles it as the handler decides. It
// returns false when the subscriber is stopping.
func (s *Subscriber) deliver(ctx context.Context, m jetstream.Msg, out chan<- *message.Message) bool {
	wm := toWatermill(m)
	// The handler may finish its message after shutdown has begun: its
	// work is bounded by the ack wait, not by the subscription.
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.spec.AckWait)
	defer cancel()
	wm.SetContext(hctx)
	select {
	case out <- wm:
	case <-ctx.Done():
		_ = m.Nak()
		return false
	case <-s.closing:
		_ = m.Nak()
		return false
	}
	select {
	case <-wm.Acked():
		// A confirmed ack: at this volume the round trip is cheap, and the
		// handler's effect is already recorded.
		actx, acancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer acancel()
		if err := m.DoubleAck(actx); err != nil {
			s.log.Warn("ack not confirmed; the message may be redelivered", "error", err)
		}
	case <-wm.Nacked():
		_ = m.NakWithDelay(s.spec.NakDelay)
	case <-hctx.Done():
		s.log.Error("handler did not finish within the ack wait; JetStream will redeliver", "ack_wait", s.spec.AckWait)
	}
	return true
}

// Close stops every subscription and waits for messages in hand to be
// settled.
func (s *Subscriber) Close() error {
	s.once.Do(func() { close(s.closing) })
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-time.After(s.spec.AckWait + 5*time.Second):
		return fmt.Errorf("subscriber %s: messages still in hand after %s", s.spec.Durable, s.spec.AckWait)
	}
}

// toWatermill turns a JetStream message into a Watermill message whose UUID
// is its Nats-Msg-Id (or stream sequence), with the subject and sequence in
// metadata.
func toWatermill(m jetstream.Msg) *message.Message {
	md := make(message.Metadata)
	for k, v := range m.Headers() {
		if len(v) > 0 {
			md.Set(k, v[0])
		}
	}
	md.Set(MetadataSubject, m.Subject())
	id := m.Headers().Get(contract.HeaderMsgID)
	if meta, err := m.Metadata(); err == nil {
		seq := strconv.FormatUint(meta.Sequence.Stream, 10)
		md.Set(MetadataStreamSeq, seq)
		if id == "" {
			id = "seq-" + seq
		}
	}
	wm := message.NewMessage(id, m.Data())
	wm.Metadata = md
	return wm
}
