package messaging

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/rounds-dev/rounds/pkg/contract"
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
