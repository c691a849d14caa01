package consumer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/ingest/internal/signatures"
)

// DiagnosesSuffix ends the name of the durable consumer of diagnoses.
const DiagnosesSuffix = "-diagnoses"

// followDiagnoses marks signatures diagnosed as diagnose publishes their
// diagnoses, until ctx ends. Each goes through the loop like a user's
// request and is acked once stored; applying one again changes nothing, so
// a redelivery is harmless. Diagnoses are few: one at a time is enough.
func (c *Consumer) followDiagnoses(ctx context.Context, it jetstream.MessagesContext) {
	for {
		m, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return
			}
			c.log.Warn("fetching diagnoses", "error", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		c.applyDiagnosis(ctx, m)
	}
}

func (c *Consumer) applyDiagnosis(ctx context.Context, m jetstream.Msg) {
	d, err := contract.DecodeDiagnosisCompleted(m.Data())
	if err != nil {
		// Not ingest's to dead-letter: diagnose published it, and the
		// report service reads the same stream. It only misses a status.
		c.log.Warn("diagnosis not understood; signature status left as it is", "subject", m.Subject(), "error", err)
		_ = m.Ack()
		return
	}
	_, err = c.Do(ctx, func(t *signatures.Tracker, u *signatures.Unit) (*signatures.Record, error) {
		return t.Diagnosed(u, &d)
	})
	switch {
	case err == nil:
		c.stats.Diagnoses.Add(1)
		_ = m.Ack()
	case errors.Is(err, signatures.ErrSignatureNotFound):
		c.log.Warn("diagnosis of a signature ingest does not hold", "diagnosis_id", d.ID, "signature_id", d.Signature.ID, "project", d.Signature.Project)
		_ = m.Ack()
	default:
		// Stopping, or the commit failed: it comes back.
		if ctx.Err() == nil {
			c.log.Error("diagnosis not applied; it will be redelivered", "diagnosis_id", d.ID, "error", err)
		}
		_ = m.Nak()
	}
}

// diagnosesConsumer creates the durable consumer of diagnoses.
func (c *Consumer) diagnosesConsumer(ctx context.Context) (jetstream.Consumer, error) {
	cons, err := c.js.CreateOrUpdateConsumer(ctx, contract.StreamDiagnoses, jetstream.ConsumerConfig{
		Durable:       c.cfg.Durable + DiagnosesSuffix,
		Description:   "Rounds ingest: diagnoses to signature statuses",
		FilterSubject: contract.DiagnosesAll,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       c.cfg.AckWait,
		MaxAckPending: 64,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("create consumer %s: %w", c.cfg.Durable+DiagnosesSuffix, err)
	}
	return cons, nil
}
