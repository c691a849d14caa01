// Package consumer reads failures from JetStream in batches and turns each
// batch into one Badger commit, its signature events and its acks.
//
// Ingest carries the volume, so it does not go through Watermill, whose
// JetStream handler holds one message in flight until it is acked: a batch
// could not be committed first and acked after. nats.go's pull consumer
// hands over many messages at once.
package consumer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/messaging"
	"github.com/rounds-dev/rounds/services/ingest/grouping"
	"github.com/rounds-dev/rounds/services/ingest/internal/signatures"
	"github.com/rounds-dev/rounds/services/ingest/internal/store"
)

// Config tunes the consumer.
type Config struct {
	// Durable names the JetStream consumer; renaming it re-reads the stream.
	Durable string
	// BatchSize is the most failures committed in one transaction.
	BatchSize int
	// AckWait is how long JetStream waits for an ack before redelivering.
	AckWait time.Duration
}

// Stats counts what the consumer did; safe for concurrent reads.
type Stats struct {
	// Applied counts occurrences committed to their signatures (counted
	// at the commit, before their acks).
	Applied atomic.Int64
	// Duplicates counts events whose id was already counted.
	Duplicates atomic.Int64
	// Deadlettered counts messages that could not be processed.
	Deadlettered atomic.Int64
	// Batches counts committed batches.
	Batches atomic.Int64
}

// Consumer applies failures to signatures.
type Consumer struct {
	cfg     Config
	js      jetstream.JetStream
	store   *store.Store
	tracker *signatures.Tracker
	dl      *messaging.Deadletter
	log     *slog.Logger
	stats   *Stats

	// committed carries committed batches to the goroutine that publishes
	// their events and settles their messages, while the next batch is
	// being committed.
	committed chan committedBatch

	mu sync.Mutex
	// published holds outbox entries JetStream confirmed; the next commit
	// deletes them.
	published []uint64
}

// committedBatch is a batch stored in Badger whose events have yet to be
// published and whose messages have yet to be acked.
type committedBatch struct {
	outbox []store.OutboxEntry
	items  []*item
}

// New returns a consumer; Run starts it.
func New(cfg Config, js jetstream.JetStream, st *store.Store, dl *messaging.Deadletter, stats *Stats, log *slog.Logger) *Consumer {
	return &Consumer{cfg: cfg, js: js, store: st, tracker: signatures.NewTracker(st), dl: dl, stats: stats, log: log}
}

// Run consumes until ctx ends. The batch in hand when it ends is finished
// (committed, published, acked); messages fetched but not started are
// nak'd so they are redelivered at once.
func (c *Consumer) Run(ctx context.Context) error {
	cons, err := c.js.CreateOrUpdateConsumer(ctx, contract.StreamFailures, jetstream.ConsumerConfig{
		Durable:       c.cfg.Durable,
		Description:   "Rounds ingest: failures to signatures",
		FilterSubject: contract.FailuresAll,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       c.cfg.AckWait,
		MaxAckPending: c.cfg.BatchSize * 8,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return fmt.Errorf("create consumer %s: %w", c.cfg.Durable, err)
	}
	if err := c.flushOutbox(ctx); err != nil {
		return err
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(c.cfg.BatchSize * 2))
	if err != nil {
		return fmt.Errorf("consume %s: %w", c.cfg.Durable, err)
	}
	msgs := make(chan *item, c.cfg.BatchSize)
	go c.pump(it, msgs)
	c.committed = make(chan committedBatch, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for b := range c.committed {
			c.finish(ctx, b)
		}
	}()
	defer func() {
		close(c.committed)
		<-finished
		c.trimOutbox()
	}()

	for {
		var batch []*item
		select {
		case <-ctx.Done():
			return c.shutdown(it, msgs)
		case m, ok := <-msgs:
			if !ok {
				return errors.New("message iterator stopped")
			}
			batch = append(batch, m)
		}
	fill:
		for len(batch) < c.cfg.BatchSize {
			select {
			case m, ok := <-msgs:
				if !ok {
					break fill
				}
				batch = append(batch, m)
			default:
				break fill
			}
		}
		// The batch is finished even when shutdown has begun.
		if err := c.process(context.WithoutCancel(ctx), batch); err != nil {
			c.log.Error("batch failed; its messages will be redelivered", "size", len(batch), "error", err)
			nakAll(batch)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

// pump moves messages from the iterator to msgs until the iterator stops.
// On the way, workers decode and fingerprint them, which needs no state:
// that work runs on every core and overlaps with the commit of the batch
// before. Order is not kept; nothing in a batch depends on it.
func (c *Consumer) pump(it jetstream.MessagesContext, msgs chan<- *item) {
	raw := make(chan jetstream.Msg, c.cfg.BatchSize)
	var workers sync.WaitGroup
	for range max(2, runtime.GOMAXPROCS(0)) {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for m := range raw {
				msgs <- prepare(m)
			}
		}()
	}
	defer func() {
		close(raw)
		workers.Wait()
		close(msgs)
	}()
	for {
		m, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return
			}
			c.log.Warn("fetching failures", "error", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		raw <- m
	}
}

func (c *Consumer) shutdown(it jetstream.MessagesContext, msgs <-chan *item) error {
	it.Stop()
	var pending []*item
	for m := range msgs {
		pending = append(pending, m)
	}
	nakAll(pending)
	return nil
}

// trimOutbox deletes the outbox entries JetStream confirmed since the last
// commit.
func (c *Consumer) trimOutbox() {
	published := c.confirmed()
	if len(published) == 0 {
		return
	}
	if err := c.store.Commit(&store.Batch{Published: published}); err != nil {
		// Harmless: the entries are published again at the next start and
		// JetStream drops them as duplicates.
		c.log.Warn("could not trim the outbox", "error", err)
	}
}

// confirmed returns the outbox entries confirmed so far.
func (c *Consumer) confirmed() []uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]uint64(nil), c.published...)
}

// forgetConfirmed drops the first n confirmed entries, deleted by a commit.
func (c *Consumer) forgetConfirmed(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.published = append(c.published[:0], c.published[n:]...)
}

func nakAll(items []*item) {
	for _, it := range items {
		_ = it.msg.Nak()
	}
}

// item is one message of a batch on its way through.
type item struct {
	msg      jetstream.Msg
	failure  contract.Failure
	grouping grouping.Result
	invalid  error
}

func prepare(m jetstream.Msg) *item {
	it := &item{msg: m}
	it.failure, it.invalid = contract.DecodeFailure(m.Data())
	if it.invalid == nil {
		it.grouping = grouping.Fingerprint(&it.failure)
	}
	return it
}

// process commits a batch: drop what was counted before, apply the rest
// to signatures, and store it all in one transaction with the events it
// causes; then hands it over to be published and acked.
func (c *Consumer) process(ctx context.Context, items []*item) error {
	keys := make([]store.EventKey, 0, len(items))
	for _, it := range items {
		if it.invalid == nil {
			keys = append(keys, store.EventKey{Project: it.failure.Project, ID: it.failure.ID})
		}
	}
	seen, err := c.store.Seen(keys)
	if err != nil {
		return err
	}

	b := store.Batch{Published: c.confirmed()}
	inBatch := make(map[store.EventKey]struct{}, len(keys))
	dirty := make(map[*contract.Signature]struct{})
	k := 0
	for _, it := range items {
		if it.invalid != nil {
			continue
		}
		key := keys[k]
		wasSeen := seen[k]
		k++
		if _, again := inBatch[key]; wasSeen || again {
			continue
		}
		inBatch[key] = struct{}{}
		b.Events = append(b.Events, key)
		f := &it.failure
		sig, changes, err := c.tracker.Record(f, it.grouping)
		if err != nil {
			c.tracker.Forget()
			return err
		}
		if _, ok := dirty[sig]; !ok {
			dirty[sig] = struct{}{}
			b.Signatures = append(b.Signatures, sig)
		}
		for _, ch := range changes {
			entry, err := signatureEvent(sig, ch, f)
			if err != nil {
				c.tracker.Forget()
				return err
			}
			b.Outbox = append(b.Outbox, entry)
		}
	}

	if err := c.store.Commit(&b); err != nil {
		c.tracker.Forget()
		if errors.Is(err, store.ErrBatchTooBig) && len(items) > 1 {
			half := len(items) / 2
			if err := c.process(ctx, items[:half]); err != nil {
				nakAll(items[half:])
				return err
			}
			return c.process(ctx, items[half:])
		}
		return err
	}
	c.forgetConfirmed(len(b.Published))
	c.stats.Batches.Add(1)
	c.stats.Applied.Add(int64(len(b.Events)))
	c.stats.Duplicates.Add(int64(len(keys) - len(b.Events)))
	c.committed <- committedBatch{outbox: b.Outbox, items: items}
	return nil
}

// finish publishes a committed batch's events, retrying until JetStream
// confirms them, then dead-letters its bad messages and acks the rest. If
// shutdown comes first, the messages stay unacked: they come back as
// duplicates, and the outbox is published again at the next start.
func (c *Consumer) finish(ctx context.Context, b committedBatch) {
	wait := 100 * time.Millisecond
	for {
		err := c.publish(context.WithoutCancel(ctx), b.outbox)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			c.log.Warn("signature events not confirmed at shutdown; they go out at the next start", "error", err)
			return
		}
		c.log.Warn("publishing signature events; retrying", "error", err, "retry_in", wait)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
	for _, it := range b.items {
		if it.invalid != nil {
			if err := c.deadletter(context.WithoutCancel(ctx), it); err != nil {
				c.log.Error("dead-lettering failed; message will be redelivered", "error", err)
				_ = it.msg.Nak()
				continue
			}
		}
		_ = it.msg.Ack()
	}
}

// maxOccurrenceStack bounds the stack an event carries as its sample
// occurrence: the innermost frames are what diagnosis reads, and the event
// must stay well within a NATS message.
const maxOccurrenceStack = 64 << 10

func signatureEvent(sig *contract.Signature, ch contract.SignatureChange, f *contract.Failure) (store.OutboxEntry, error) {
	subject, err := contract.SignatureSubject(sig.Project, ch)
	if err != nil {
		return store.OutboxEntry{}, err
	}
	if len(f.Error.Stack) > maxOccurrenceStack {
		trimmed := *f
		cut := maxOccurrenceStack
		for cut > 0 && trimmed.Error.Stack[cut]&0xC0 == 0x80 {
			cut--
		}
		trimmed.Error.Stack = trimmed.Error.Stack[:cut] + "\n… [truncated by ingest]"
		f = &trimmed
	}
	ev := contract.SignatureChanged{
		Schema: contract.SchemaSignature,
		// Derived from the state, so a replay produces the same id and
		// JetStream drops the copy.
		ID:         sig.ID + "." + string(ch) + "." + strconv.FormatInt(sig.Occurrences, 10),
		Time:       time.Now().UTC(),
		Change:     ch,
		Signature:  *sig,
		Occurrence: f,
	}
	data, err := json.Marshal(ev)
	if err != nil {
		return store.OutboxEntry{}, fmt.Errorf("encode signature event: %w", err)
	}
	return store.OutboxEntry{Subject: subject, MsgID: ev.ID, Data: data}, nil
}

// publish publishes outbox entries and waits for JetStream to confirm them
// all; confirmed entries are deleted by the next commit.
func (c *Consumer) publish(ctx context.Context, entries []store.OutboxEntry) error {
	if len(entries) == 0 {
		return nil
	}
	futures := make([]jetstream.PubAckFuture, 0, len(entries))
	for _, e := range entries {
		m := nats.NewMsg(e.Subject)
		m.Data = e.Data
		m.Header.Set(contract.HeaderMsgID, e.MsgID)
		f, err := c.js.PublishMsgAsync(m)
		if err != nil {
			return fmt.Errorf("publish signature event %s: %w", e.MsgID, err)
		}
		futures = append(futures, f)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for i, f := range futures {
		select {
		case <-f.Ok():
			c.mu.Lock()
			c.published = append(c.published, entries[i].Seq)
			c.mu.Unlock()
		case err := <-f.Err():
			return fmt.Errorf("publish signature event %s: %w", entries[i].MsgID, err)
		case <-ctx.Done():
			return fmt.Errorf("publish signature event %s: %w", entries[i].MsgID, ctx.Err())
		}
	}
	return nil
}

// flushOutbox publishes what a previous run committed but could not
// confirm, before anything new.
func (c *Consumer) flushOutbox(ctx context.Context) error {
	entries, err := c.store.Outbox()
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return nil
	}
	c.log.Info("publishing signature events left by the previous run", "count", len(entries))
	if err := c.publish(ctx, entries); err != nil {
		return fmt.Errorf("flush outbox: %w", err)
	}
	return nil
}

func (c *Consumer) deadletter(ctx context.Context, it *item) error {
	id := ""
	if meta, err := it.msg.Metadata(); err == nil {
		id = strconv.FormatUint(meta.Sequence.Stream, 10)
	}
	if err := c.dl.Publish(ctx, it.msg.Subject(), it.msg.Data(), it.invalid.Error(), id); err != nil {
		return err
	}
	c.stats.Deadlettered.Add(1)
	c.log.Warn("failure dead-lettered", "subject", it.msg.Subject(), "reason", it.invalid.Error())
	return nil
}
