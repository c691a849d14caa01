package messaging

import (
	"context"
	"fmt"
	"strconv"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rounds-dev/rounds/pkg/contract"
)

// Deadletter puts messages a service cannot process on
// rounds.deadletter.<service>, with the reason and the original subject in
// headers, and waits for JetStream to store them.
type Deadletter struct {
	js      jetstream.JetStream
	service string
	subject string
}

// NewDeadletter returns the dead-letter publisher of service.
func NewDeadletter(js jetstream.JetStream, service string) (*Deadletter, error) {
	subject, err := contract.DeadletterSubject(service)
	if err != nil {
		return nil, err
	}
	return &Deadletter{js: js, service: service, subject: subject}, nil
}

// Subject is where this publisher puts messages.
func (d *Deadletter) Subject() string { return d.subject }

// Msg builds the dead-letter message for data that arrived on subject.
// msgID makes a repeated dead-lettering of the same input a duplicate.
func (d *Deadletter) Msg(subject string, data []byte, reason, msgID string) *nats.Msg {
	m := nats.NewMsg(d.subject)
	m.Data = data
	m.Header.Set(contract.HeaderDeadletterReason, truncate(reason, 1024))
	m.Header.Set(contract.HeaderDeadletterSubject, subject)
	m.Header.Set(contract.HeaderDeadletterService, d.service)
	if msgID != "" {
		m.Header.Set(contract.HeaderMsgID, "deadletter-"+d.service+"-"+msgID)
	}
	return m
}

// Publish dead-letters one message and waits until it is stored.
func (d *Deadletter) Publish(ctx context.Context, subject string, data []byte, reason, msgID string) error {
	if _, err := d.js.PublishMsg(ctx, d.Msg(subject, data, reason, msgID)); err != nil {
		return fmt.Errorf("publish dead letter to %s: %w", d.subject, err)
	}
	return nil
}

// Publish makes Deadletter a Watermill publisher for the poison-queue
// middleware: the reason it records becomes our header.
func (d *Deadletter) watermillPublish(topic string, msgs ...*message.Message) error {
	for _, m := range msgs {
		subject := m.Metadata.Get(MetadataSubject)
		id := m.UUID
		if seq := m.Metadata.Get(MetadataStreamSeq); seq != "" {
			id = seq
		}
		if err := d.Publish(context.Background(), subject, m.Payload, m.Metadata.Get(middleware.ReasonForPoisonedKey), id); err != nil {
			return err
		}
	}
	return nil
}

// WatermillPublisher adapts the dead-letter publisher to Watermill.
func (d *Deadletter) WatermillPublisher() message.Publisher { return watermillDeadletter{d} }

type watermillDeadletter struct{ d *Deadletter }

func (w watermillDeadletter) Publish(topic string, msgs ...*message.Message) error {
	return w.d.watermillPublish(topic, msgs...)
}
func (w watermillDeadletter) Close() error { return nil }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "… (" + strconv.Itoa(len(s)-n) + " more bytes)"
}
