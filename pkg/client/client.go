// Package client lets Go programs talk to Rounds: publish failures and run
// reports (which tests passed), and follow report events. It speaks the contract of package contract over
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

// ErrRunsNotProvisioned means the server has the Rounds streams but not the
// one for run reports: its Rounds services are older than this client.
var ErrRunsNotProvisioned = errors.New("stream " + contract.StreamRuns + " not found: the Rounds services on this server are older than this client; upgrade them")

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

// PublishResult counts what a publication did, in messages: failures, or
// chunks of a run report.
type PublishResult struct {
	// Published counts messages JetStream stored.
	Published int
	// Duplicates counts messages JetStream had already stored under the
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

	return c.publish(ctx, "failure", msgs)
}

// PublishRun publishes a whole run report (rounds.run.v1) to
// rounds.runs.<project>: it cuts it into chunks of at most
// contract.RunChunkBytes (see contract.RunReported.Chunks), each with its own
// id as Nats-Msg-Id, and waits until JetStream has stored each one. r.Chunk
// must be zero. When r is invalid, nothing is published. The result counts
// chunks.
func (c *Client) PublishRun(ctx context.Context, r contract.RunReported) (PublishResult, error) {
	chunks, err := r.Chunks(contract.RunChunkBytes)
	if err != nil {
		return PublishResult{}, fmt.Errorf("run report %s: %w", r.ID, err)
	}
	subject, err := contract.RunSubject(r.Project)
	if err != nil {
		return PublishResult{}, err
	}
	msgs := make([]*nats.Msg, len(chunks))
	for i := range chunks {
		data, err := json.Marshal(&chunks[i])
		if err != nil {
			return PublishResult{}, fmt.Errorf("encode run report %s: %w", chunks[i].ID, err)
		}
		m := nats.NewMsg(subject)
		m.Data = data
		m.Header.Set(contract.HeaderMsgID, chunks[i].ID)
		msgs[i] = m
	}
	if _, err := c.js.Stream(ctx, contract.StreamRuns); err != nil {
		if !errors.Is(err, jetstream.ErrStreamNotFound) {
			return PublishResult{}, fmt.Errorf("look up stream %s: %w", contract.StreamRuns, err)
		}
		if _, ferr := c.js.Stream(ctx, contract.StreamFailures); errors.Is(ferr, jetstream.ErrStreamNotFound) {
			return PublishResult{}, ErrRoundsNotRunning
		}
		return PublishResult{}, ErrRunsNotProvisioned
	}
	return c.publish(ctx, "run report", msgs)
}

// publish publishes msgs asynchronously, a thousand at a time, and counts
// what JetStream stored and what it dropped as a duplicate.
func (c *Client) publish(ctx context.Context, what string, msgs []*nats.Msg) (PublishResult, error) {
	var res PublishResult
	futures := make([]jetstream.PubAckFuture, 0, min(len(msgs), 1000))
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
				return fmt.Errorf("publish %s %s: %w", what, f.Msg().Header.Get(contract.HeaderMsgID), err)
			case <-ctx.Done():
				return fmt.Errorf("publish %ss: %w", what, ctx.Err())
			}
		}
		futures = futures[:0]
		return nil
	}
	for _, m := range msgs {
		f, err := c.js.PublishMsgAsync(m)
		if err != nil {
			return res, fmt.Errorf("publish %s %s: %w", what, m.Header.Get(contract.HeaderMsgID), err)
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
