// Package messaging connects Rounds services to NATS JetStream: the
// connection, the streams every service relies on, the dead-letter
// publisher, and the Watermill router, subscriber and publisher the
// lower-volume services are built on.
package messaging

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rounds-dev/rounds/pkg/contract"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
)

// DefaultURL is where clients look for NATS when nothing else is said.
const DefaultURL = "nats://127.0.0.1:4222"

// Connect connects to url as name, retrying the first connection until ctx
// ends or connectTimeout passes, and reconnecting forever afterwards.
func Connect(ctx context.Context, url, name string, connectTimeout time.Duration, log *slog.Logger) (*nats.Conn, error) {
	log = log.With("nats_url", url, "conn", name)
	opts := []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "error", err)
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) { log.Info("nats reconnected") }),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			log.Error("nats async error", "subject", subject, "error", err)
		}),
	}
	deadline := time.Now().Add(connectTimeout)
	for {
		nc, err := nats.Connect(url, opts...)
		if err == nil {
			return nc, nil
		}
		if !errors.Is(err, nats.ErrNoServers) || time.Now().After(deadline) {
			return nil, fmt.Errorf("connect to nats %s: %w", url, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("connect to nats %s: %w", url, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Dialer opens a named connection to NATS. Each service dials its own
// connections, so it can drain them in its own order at shutdown.
type Dialer func(ctx context.Context, name string) (*nats.Conn, error)

// URLDialer dials url, waiting up to connectTimeout for a server.
func URLDialer(url string, connectTimeout time.Duration, log *slog.Logger) Dialer {
	return func(ctx context.Context, name string) (*nats.Conn, error) {
		return Connect(ctx, url, name, connectTimeout, log)
	}
}

// Drain drains nc, so in-flight publishes and acks are sent, and waits
// until it is closed or timeout passes.
func Drain(nc *nats.Conn, timeout time.Duration) {
	if nc == nil || nc.IsClosed() {
		return
	}
	if err := nc.Drain(); err != nil {
		nc.Close()
		return
	}
	deadline := time.Now().Add(timeout)
	for !nc.IsClosed() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	nc.Close()
}

// PublishJSON publishes v as JSON on subject with msgID as its
// de-duplication id, and waits until JetStream has stored it.
func PublishJSON(ctx context.Context, js jetstream.JetStream, subject, msgID string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", subject, err)
	}
	m := nats.NewMsg(subject)
	m.Data = data
	m.Header.Set(contract.HeaderMsgID, msgID)
	if _, err := js.PublishMsg(ctx, m); err != nil {
		return fmt.Errorf("publish %s to %s: %w", msgID, subject, err)
	}
	return nil
}
