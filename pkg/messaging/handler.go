package messaging

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go/jetstream"
)

// HandlerSpec describes a service that consumes one stream with one
// Watermill handler.
type HandlerSpec struct {
	// Service names the connections, the durable consumer (renaming it
	// re-reads the stream) and the dead-letter subject.
	Service string
	// Stream and Filter say what is consumed.
	Stream, Filter string
	// Streams are the limits the service provisions streams with.
	Streams StreamsConfig
	// AckWait bounds the handling of one message, after which JetStream
	// redelivers it; 0 means the subscriber's default (a minute).
	AckWait time.Duration
}

// RunHandler runs spec's consumer through a router with the Rounds
// middleware until ctx ends, then lets the message in hand finish and
// drains the connections. build receives the JetStream context to publish
// with and returns the handler; a handler error wrapping ErrPermanent or
// contract.ErrInvalidEvent dead-letters the message.
func RunHandler(ctx context.Context, dial Dialer, spec HandlerSpec, log *slog.Logger, build func(js jetstream.JetStream) message.NoPublishHandlerFunc) error {
	// Told to stop while still setting up: a clean stop, not a failure
	// (the setup's error then only says that it was cut short).
	setup := func(err error) error {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	pubConn, err := dial(ctx, "rounds-"+spec.Service)
	if err != nil {
		return setup(err)
	}
	defer Drain(pubConn, 5*time.Second)
	// The subscriber gets a connection of its own, drained after the
	// router has stopped and the last ack is out.
	subConn, err := dial(ctx, "rounds-"+spec.Service+"-sub")
	if err != nil {
		return setup(err)
	}
	defer Drain(subConn, 5*time.Second)

	js, err := jetstream.New(pubConn)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	if err := EnsureStreams(ctx, js, spec.Streams); err != nil {
		return setup(err)
	}
	dl, err := NewDeadletter(js, spec.Service)
	if err != nil {
		return err
	}
	router, err := NewRouter(RouterConfig{Deadletter: dl, MaxRetries: 3}, log)
	if err != nil {
		return err
	}
	sub, err := NewSubscriber(subConn, ConsumerSpec{Stream: spec.Stream, Durable: spec.Service, Filter: spec.Filter, AckWait: spec.AckWait}, log)
	if err != nil {
		return err
	}
	router.AddConsumerHandler(spec.Service+".handler", spec.Filter, sub, build(js))
	log.Info(spec.Service+" consuming", "subject", spec.Filter)
	if err := router.Run(ctx); err != nil {
		return fmt.Errorf("router: %w", err)
	}
	return nil
}
