package messaging

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmjs "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/jetstream"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rounds-dev/rounds/pkg/contract"
)

// Metadata keys our unmarshaler sets on every Watermill message.
const (
	MetadataSubject   = "rounds_subject"
	MetadataStreamSeq = "rounds_stream_seq"
)

// ErrPermanent marks a handler error that no retry can fix: the message goes
// to the dead-letter subject. Contract decoding errors
// (contract.ErrInvalidEvent) are permanent too.
var ErrPermanent = errors.New("permanent failure")

// IsPermanent reports whether err means the message can never be processed.
func IsPermanent(err error) bool {
	var panicked middleware.RecoveredPanicError
	return errors.Is(err, ErrPermanent) || errors.Is(err, contract.ErrInvalidEvent) || errors.As(err, &panicked)
}

// WatermillLogger adapts log to Watermill, one level quieter: its info is
// our debug and its debug our trace.
func WatermillLogger(log *slog.Logger) watermill.LoggerAdapter {
	return watermill.NewSlogLoggerWithLevelMapping(log.With("component", "watermill"), map[slog.Level]slog.Level{
		slog.LevelInfo:  slog.LevelDebug,
		slog.LevelDebug: watermill.LevelTrace,
	})
}

// ConsumerSpec names a durable consumer of a stream.
type ConsumerSpec struct {
	Stream  string
	Durable string
	Filter  string
	// AckWait is how long JetStream waits for an ack before redelivering.
	AckWait time.Duration
}

// NewSubscriber returns a Watermill subscriber reading the durable consumer
// of spec on its own connection (the subscriber drains the connection when
// it closes, so it must not share one).
func NewSubscriber(nc *nats.Conn, spec ConsumerSpec, log *slog.Logger) (*wmjs.Subscriber, error) {
	if spec.AckWait == 0 {
		spec.AckWait = time.Minute
	}
	sub, err := wmjs.NewSubscriber(wmjs.SubscriberConfig{
		Conn:           nc,
		Logger:         WatermillLogger(log),
		AckWaitTimeout: spec.AckWait,
		// A nak'd message comes back after a pause rather than at once, so a
		// transient failure does not spin.
		NakDelay:    wmjs.NewStaticDelay(2 * time.Second),
		Unmarshaler: unmarshaler{},
		ResourceInitializer: func(ctx context.Context, js jetstream.JetStream, _ string) (jetstream.Consumer, func(context.Context, watermill.LoggerAdapter), error) {
			c, err := js.CreateOrUpdateConsumer(ctx, spec.Stream, jetstream.ConsumerConfig{
				Durable:       spec.Durable,
				FilterSubject: spec.Filter,
				AckPolicy:     jetstream.AckExplicitPolicy,
				AckWait:       spec.AckWait,
				MaxAckPending: 1000,
				DeliverPolicy: jetstream.DeliverAllPolicy,
			})
			if err != nil {
				return nil, nil, fmt.Errorf("create consumer %s on %s: %w", spec.Durable, spec.Stream, err)
			}
			// Durable: nothing to delete when the subscription ends.
			return c, nil, nil
		},
	})
	if err != nil {
		return nil, fmt.Errorf("create watermill subscriber %s: %w", spec.Durable, err)
	}
	return sub, nil
}

// RouterConfig holds what every Rounds router shares.
type RouterConfig struct {
	// Deadletter receives messages whose handler failed permanently.
	Deadletter *Deadletter
	// MaxRetries is how often a transient failure is retried in place
	// before the message is nak'd for a later redelivery.
	MaxRetries int
	// CloseTimeout bounds how long in-flight handlers may finish at shutdown.
	CloseTimeout time.Duration
}

// NewRouter returns a router with the middleware every Rounds service uses,
// outermost first: correlation id, poison queue for permanent failures,
// retry with backoff for transient ones, and recovery from panics (which
// the poison queue then treats as permanent).
func NewRouter(cfg RouterConfig, log *slog.Logger) (*message.Router, error) {
	if cfg.Deadletter == nil {
		return nil, errors.New("router: a dead-letter publisher is required")
	}
	if cfg.CloseTimeout == 0 {
		cfg.CloseTimeout = 15 * time.Second
	}
	r, err := message.NewRouter(message.RouterConfig{CloseTimeout: cfg.CloseTimeout}, WatermillLogger(log))
	if err != nil {
		return nil, fmt.Errorf("create router: %w", err)
	}
	poison, err := middleware.PoisonQueueWithFilter(cfg.Deadletter.WatermillPublisher(), cfg.Deadletter.Subject(), IsPermanent)
	if err != nil {
		return nil, fmt.Errorf("create poison queue: %w", err)
	}
	retry := middleware.Retry{
		MaxRetries:      cfg.MaxRetries,
		InitialInterval: 100 * time.Millisecond,
		MaxInterval:     2 * time.Second,
		Multiplier:      2,
		Logger:          WatermillLogger(log),
		ShouldRetry:     func(p middleware.RetryParams) bool { return !IsPermanent(p.Err) },
	}
	r.AddMiddleware(
		middleware.CorrelationID,
		poison,
		retry.Middleware,
		middleware.Recoverer,
	)
	return r, nil
}

// unmarshaler turns a JetStream message into a Watermill message whose UUID
// is its Nats-Msg-Id (or stream sequence), with the subject and sequence in
// metadata. It never fails: a payload that cannot be decoded is the
// handler's to dead-letter, and the library would crash on an error here.
type unmarshaler struct{}

func (unmarshaler) Unmarshal(msg jetstream.Msg) (*message.Message, error) {
	md := make(message.Metadata)
	for k, v := range msg.Headers() {
		if len(v) > 0 {
			md.Set(k, v[0])
		}
	}
	md.Set(MetadataSubject, msg.Subject())
	id := msg.Headers().Get(contract.HeaderMsgID)
	if meta, err := msg.Metadata(); err == nil {
		seq := strconv.FormatUint(meta.Sequence.Stream, 10)
		md.Set(MetadataStreamSeq, seq)
		if id == "" {
			id = "seq-" + seq
		}
	}
	wm := message.NewMessage(id, msg.Data())
	wm.Metadata = md
	return wm, nil
}
