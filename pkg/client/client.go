// Package client lets Go programs talk to Rounds: publish failures and
// follow report events. It speaks the contract of package contract over
// NATS JetStream, exactly as the rounds CLI does.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rounds-dev/rounds/pkg/contract"
)

// ErrRoundsNotRunning means the Rounds streams do not exist on the server:
// no Rounds service has started against it yet.
var ErrRoundsNotRunning = errors.New("rounds streams not found: start Rounds first (rounds run, or rounds ingest against this server)")

// Client publishes failures and follows reports over a NATS connection it
// does not own.
type Client struct {
	js jetstream.JetStream
}

// New returns a client on nc.
func New(nc *nats.Conn) (*Client, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	return &Client{js: js}, nil
}

// PublishResult counts what a publication did.
type PublishResult struct {
	// Published counts failures JetStream stored.
	Published int
	// Duplicates counts failures JetStream had already stored under the
	// same id within its duplicate window, and dropped.
	Duplicates int
}

// PublishFailures validates every failure, then publishes them all to
// rounds.failures.<project> with their id as Nats-Msg-Id and waits until
// JetStream has stored each one. When one is invalid, nothing is published.
func (c *Client) PublishFailures(ctx context.Context, failures []contract.Failure) (PublishResult, error) {
	msgs := make([]*nats.Msg, len(failures))
	for i := range failures {
		f := &failures[i]
		if err := f.Validate(); err != nil {
			return PublishResult{}, fmt.Errorf("failure %d (%s): %w", i+1, f.ID, err)
		}
		subject, err := contract.FailureSubject(f.Project)
		if err != nil {
			return PublishResult{}, err
		}
		data, err := json.Marshal(f)
		if err != nil {
			return PublishResult{}, fmt.Errorf("encode failure %s: %w", f.ID, err)
		}
		if len(data) > contract.MaxFailureBytes {
			return PublishResult{}, fmt.Errorf("failure %s is %d bytes encoded, more than %d", f.ID, len(data), contract.MaxFailureBytes)
		}
		m := nats.NewMsg(subject)
		m.Data = data
		m.Header.Set(contract.HeaderMsgID, f.ID)
		msgs[i] = m
	}
	if len(msgs) == 0 {
		return PublishResult{}, nil
	}
	if _, err := c.js.Stream(ctx, contract.StreamFailures); err != nil {
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			return PublishResult{}, ErrRoundsNotRunning
		}
		return PublishResult{}, fmt.Errorf("look up stream %s: %w", contract.StreamFailures, err)
	}

	var res PublishResult
	futures := make([]jetstream.PubAckFuture, 0, len(msgs))
	wait := func() error {
		for _, f := range futures {
			select {
			case ack := <-f.Ok():
				if ack.Duplicate {
					res.Duplicates++
				} else {
					res.Published++
				}
			case err := <-f.Err():
				return fmt.Errorf("publish failure %s: %w", f.Msg().Header.Get(contract.HeaderMsgID), err)
			case <-ctx.Done():
				return fmt.Errorf("publish failures: %w", ctx.Err())
			}
		}
		futures = futures[:0]
		return nil
	}
	for _, m := range msgs {
		f, err := c.js.PublishMsgAsync(m)
		if err != nil {
			return res, fmt.Errorf("publish failure %s: %w", m.Header.Get(contract.HeaderMsgID), err)
		}
		futures = append(futures, f)
		if len(futures) == 1000 {
			if err := wait(); err != nil {
				return res, err
			}
		}
	}
	return res, wait()
}

// FollowReports calls fn with every report event published from now on for
// project (every project when empty), until ctx ends or fn returns an
// error. A report event that cannot be decoded is passed as err.
func (c *Client) FollowReports(ctx context.Context, project string, fn func(r contract.ReportPublished, err error) error) error {
	filter, err := contract.ReportFilter(project)
	if err != nil {
		return err
	}
	cons, err := c.js.OrderedConsumer(ctx, contract.StreamReports, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{filter},
		DeliverPolicy:  jetstream.DeliverNewPolicy,
	})
	if err != nil {
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			return ErrRoundsNotRunning
		}
		return fmt.Errorf("follow %s: %w", filter, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("follow %s: %w", filter, err)
	}
	stopped := make(chan struct{})
	defer close(stopped)
	go func() {
		select {
		case <-ctx.Done():
		case <-stopped:
		}
		it.Stop()
	}()
	for {
		m, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("follow %s: %w", filter, err)
			}
			// Missed heartbeats and the like: the ordered consumer
			// recreates itself; keep going.
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		r, derr := contract.DecodeReportPublished(m.Data())
		if err := fn(r, derr); err != nil {
			return err
		}
	}
}
