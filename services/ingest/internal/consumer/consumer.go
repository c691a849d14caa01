// Package consumer reads failures and run reports from JetStream in
// batches and turns each batch into one Badger commit, its signature
// events and its acks. It also applies the passing of time (mutes that
// end, quiet signatures resolved, events that waited long enough for
// their run's report) and users' requests (mute, resolve...) the same way.
//
// Ingest carries the volume, so it does not go through Watermill, whose
// JetStream handler holds one message in flight until it is acked: a batch
// could not be committed first and acked after. nats.go's pull consumer
// hands over many messages at once.
//
// One goroutine, the loop in Run, owns the signatures: batches of
// failures, batches of run reports, sweeps and requests take turns, so no
// two of them ever change the same signature at once.
package consumer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
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
	// Durable names the JetStream consumer of failures; the consumer of
	// run reports is Durable + RunsSuffix. Renaming it re-reads the
	// stream.
	Durable string
	// BatchSize is the most failures committed in one transaction.
	BatchSize int
	// AckWait is how long JetStream waits for an ack before redelivering.
	AckWait time.Duration
	// SweepInterval is how often the passing of time is applied.
	SweepInterval time.Duration
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// RunsSuffix ends the name of the durable consumer of run reports.
const RunsSuffix = "-runs"

// runBatchSize is the most run report messages committed at once: each
// may list thousands of tests.
const runBatchSize = 32

// Stats counts what the consumer did; safe for concurrent reads.
type Stats struct {
	// Applied counts occurrences committed to their signatures (counted
	// at the commit, before their acks).
	Applied atomic.Int64
	// Duplicates counts events whose id was already counted.
	Duplicates atomic.Int64
	// Deadlettered counts messages that could not be processed, failures
	// and run reports.
	Deadlettered atomic.Int64
	// DeadletteredRuns counts the run reports among them.
	DeadletteredRuns atomic.Int64
	// Batches counts committed batches.
	Batches atomic.Int64
	// Runs counts run report messages committed.
	Runs atomic.Int64
	// RunDuplicates counts run report messages already counted.
	RunDuplicates atomic.Int64
	// Events counts signature events committed, and Storms those flagged
	// as part of an infrastructure storm.
	Events, Storms atomic.Int64
	// Diagnoses counts diagnoses applied to signature statuses.
	Diagnoses atomic.Int64
}

// ErrStopped is returned by Do when the consumer is not running.
var ErrStopped = errors.New("ingest is not running")

// Consumer applies failures and run reports to signatures.
type Consumer struct {
	cfg     Config
	js      jetstream.JetStream
	store   *store.Store
	tracker *signatures.Tracker
	fp      *atomic.Pointer[grouping.Fingerprinter]
	dl      *messaging.Deadletter
	log     *slog.Logger
	stats   *Stats

	// committed carries committed batches to the goroutine that publishes
	// their events and settles their messages, while the next batch is
	// being committed.
	committed chan committedBatch
	// requests carry operations to the loop; running is closed once the
	// loop runs and stopped once it has returned.
	requests chan request
	running  chan struct{}
	stopped  chan struct{}

	// released are outbox entries moved there from where they were held,
	// to publish with the next commit.
	released []store.OutboxEntry

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

// New returns a consumer; Run starts it. fp is read for every failure, so
// that rules can be swapped while it runs.
func New(cfg Config, js jetstream.JetStream, st *store.Store, tracker *signatures.Tracker, fp *atomic.Pointer[grouping.Fingerprinter], dl *messaging.Deadletter, stats *Stats, log *slog.Logger) *Consumer {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SweepInterval <= 0 {
		cfg.SweepInterval = time.Second
	}
	return &Consumer{
		cfg: cfg, js: js, store: st, tracker: tracker, fp: fp, dl: dl, stats: stats, log: log,
		requests: make(chan request),
		running:  make(chan struct{}),
		stopped:  make(chan struct{}),
	}
}

// stream is one of the two inputs: failures or run reports.
type stream struct {
	it   jetstream.MessagesContext
	msgs chan *item
	max  int
	runs bool
}

// Run consumes until ctx ends. The batch in hand when it ends is finished
// (committed, published, acked); messages fetched but not started are
// nak'd so they are redelivered at once.
func (c *Consumer) Run(ctx context.Context) error {
	defer close(c.stopped)
	failures, err := c.js.CreateOrUpdateConsumer(ctx, contract.StreamFailures, jetstream.ConsumerConfig{
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
	runs, err := c.js.CreateOrUpdateConsumer(ctx, contract.StreamRuns, jetstream.ConsumerConfig{
		Durable:       c.cfg.Durable + RunsSuffix,
		Description:   "Rounds ingest: run reports to flakiness, storms and passes",
		FilterSubject: contract.RunsAll,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       c.cfg.AckWait,
		MaxAckPending: runBatchSize * 8,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return fmt.Errorf("create consumer %s: %w", c.cfg.Durable+RunsSuffix, err)
	}
	diagnoses, err := c.diagnosesConsumer(ctx)
	if err != nil {
		return err
	}
	if err := c.tracker.Reset(); err != nil {
		return err
	}
	if err := c.flushOutbox(ctx); err != nil {
		return err
	}
	fit, err := failures.Messages(jetstream.PullMaxMessages(c.cfg.BatchSize * 2))
	if err != nil {
		return fmt.Errorf("consume %s: %w", c.cfg.Durable, err)
	}
	rit, err := runs.Messages(jetstream.PullMaxBytes(16 << 20))
	if err != nil {
		fit.Stop()
		return fmt.Errorf("consume %s: %w", c.cfg.Durable+RunsSuffix, err)
	}
	dit, err := diagnoses.Messages(jetstream.PullMaxMessages(64))
	if err != nil {
		fit.Stop()
		rit.Stop()
		return fmt.Errorf("consume %s: %w", c.cfg.Durable+DiagnosesSuffix, err)
	}
	// Stopped once the loop no longer serves requests: a diagnosis then
	// waiting for it gives up (its message is nak'd) with dctx.
	dctx, stopDiagnoses := context.WithCancel(ctx)
	followed := make(chan struct{})
	go func() { defer close(followed); c.followDiagnoses(dctx, dit) }()
	defer func() { stopDiagnoses(); dit.Stop(); <-followed }()
	fs := stream{it: fit, msgs: make(chan *item, c.cfg.BatchSize), max: c.cfg.BatchSize}
	rs := stream{it: rit, msgs: make(chan *item, runBatchSize), max: runBatchSize, runs: true}
	go c.pump(fs.it, fs.msgs, c.prepareFailure, max(2, runtime.GOMAXPROCS(0)))
	go c.pump(rs.it, rs.msgs, prepareRun, 1)

	// A few batches may wait for their events to be confirmed: the loop
	// goes on committing meanwhile.
	c.committed = make(chan committedBatch, 4)
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

	tick := time.NewTicker(c.cfg.SweepInterval)
	defer tick.Stop()
	close(c.running)
	for {
		var s *stream
		var first *item
		select {
		case <-ctx.Done():
			c.shutdown(fs, rs)
			return nil
		case m, ok := <-fs.msgs:
			if !ok {
				return errors.New("failure iterator stopped")
			}
			s, first = &fs, m
		case m, ok := <-rs.msgs:
			if !ok {
				return errors.New("run report iterator stopped")
			}
			s, first = &rs, m
		case <-tick.C:
			c.sweep()
			continue
		case req := <-c.requests:
			c.serve(req)
			continue
		}
		batch := append(make([]*item, 0, s.max), first)
	fill:
		for len(batch) < s.max {
			select {
			case m, ok := <-s.msgs:
				if !ok {
					break fill
				}
				batch = append(batch, m)
			default:
				break fill
			}
		}
		// The batch is finished even when shutdown has begun.
		if err := c.process(batch, s.runs); err != nil {
			c.log.Error("batch failed; its messages will be redelivered", "size", len(batch), "runs", s.runs, "error", err)
			nakAll(batch)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

// pump moves messages from the iterator to msgs until the iterator stops.
// On the way, workers decode them (and fingerprint failures), which needs
// no state: that work runs on every core and overlaps with the commit of
// the batch before. Order is not kept; nothing in a batch depends on it.
func (c *Consumer) pump(it jetstream.MessagesContext, msgs chan<- *item, prepare func(jetstream.Msg) *item, workers int) {
	raw := make(chan jetstream.Msg, cap(msgs))
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range raw {
				msgs <- prepare(m)
			}
		}()
	}
	defer func() {
		close(raw)
		wg.Wait()
		close(msgs)
	}()
	for {
		m, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return
			}
			c.log.Warn("fetching messages", "error", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		raw <- m
	}
}

func (c *Consumer) shutdown(streams ...stream) {
	for _, s := range streams {
		s.it.Stop()
	}
	for _, s := range streams {
		var pending []*item
		for m := range s.msgs {
			pending = append(pending, m)
		}
		nakAll(pending)
	}
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

// item is one message of a batch on its way through: a failure, or a run
// report when run is set.
type item struct {
	msg      jetstream.Msg
	failure  contract.Failure
	grouping grouping.Result
	run      *contract.RunReported
	invalid  error
}

func (c *Consumer) prepareFailure(m jetstream.Msg) *item {
	it := &item{msg: m}
	it.failure, it.invalid = contract.DecodeFailure(m.Data())
	if it.invalid == nil {
		it.grouping = c.fp.Load().Fingerprint(&it.failure)
	}
	return it
}

func prepareRun(m jetstream.Msg) *item {
	it := &item{msg: m}
	r, err := contract.DecodeRunReported(m.Data())
	if err != nil {
		it.invalid = err
	} else {
		it.run = &r
	}
	return it
}

func (it *item) key() store.EventKey {
	if it.run != nil {
		return store.EventKey{Project: it.run.Project, ID: it.run.ID, Run: true}
	}
	return store.EventKey{Project: it.failure.Project, ID: it.failure.ID}
}

// process commits a batch: drop what was counted before, apply the rest
// to signatures, and store it all in one transaction with the events it
// causes; then hands it over to be published and acked.
func (c *Consumer) process(items []*item, runs bool) error {
	keys := make([]store.EventKey, 0, len(items))
	for _, it := range items {
		if it.invalid == nil {
			keys = append(keys, it.key())
		}
	}
	seen, err := c.store.Seen(keys)
	if err != nil {
		return err
	}

	u := signatures.NewUnit(c.cfg.Now())
	var events []store.EventKey
	var occurrences []store.Occurrence
	if !runs {
		occurrences = make([]store.Occurrence, 0, len(keys))
	}
	inBatch := make(map[store.EventKey]struct{}, len(keys))
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
		events = append(events, key)
		if runs {
			err = c.tracker.RecordRun(u, it.run)
		} else {
			var rec *signatures.Record
			if rec, err = c.tracker.Record(u, &it.failure, it.grouping); err == nil {
				// Numbered by the count it makes: stored with it, so the
				// list and the count stay equal.
				f := &it.failure
				occurrences = append(occurrences, store.Occurrence{
					Project: rec.Project, Signature: rec.ID, N: rec.Occurrences,
					Occurrence: contract.OccurrenceOf(f),
					SignatureTest: f.Test != nil && rec.Test != nil &&
						f.Test.Suite == rec.Test.Suite && f.Test.Name == rec.Test.Name,
				})
			}
		}
		if err != nil {
			return c.reset(err)
		}
	}
	if runs && len(u.Facts) > maxBatchFacts {
		// A run report can list more passes than one transaction holds;
		// writing them again on a replay changes nothing. Fewer go with
		// the batch: one synced write rather than two.
		if err := c.store.WriteFacts(u.Facts); err != nil {
			return c.reset(err)
		}
		u.Facts = nil
	}

	if err := c.commit(u, events, occurrences, items); err != nil {
		if err := c.reset(err); errors.Is(err, store.ErrBatchTooBig) && len(items) > 1 {
			half := len(items) / 2
			if err := c.process(items[:half], runs); err != nil {
				nakAll(items[half:])
				return err
			}
			return c.process(items[half:], runs)
		}
		return err
	}
	c.stats.Batches.Add(1)
	if runs {
		c.stats.Runs.Add(int64(len(events)))
		c.stats.RunDuplicates.Add(int64(len(keys) - len(events)))
	} else {
		c.stats.Applied.Add(int64(len(events)))
		c.stats.Duplicates.Add(int64(len(keys) - len(events)))
	}
	return nil
}

// reset brings the signatures in memory back to what is stored after a
// unit could not be, and returns err.
func (c *Consumer) reset(err error) error {
	if rerr := c.tracker.Reset(); rerr != nil {
		return errors.Join(err, rerr)
	}
	return err
}

// commit stores a unit with the event ids and occurrences it counts, then
// hands its events and messages over to be published and settled.
func (c *Consumer) commit(u *signatures.Unit, events []store.EventKey, occurrences []store.Occurrence, items []*item) error {
	b := store.Batch{Events: events, Records: u.Records, Occurrences: occurrences, Runs: u.Runs, Facts: u.Facts, Published: c.confirmed()}
	storms, err := c.stage(&b, u)
	if err != nil {
		return err
	}
	if err := c.store.Commit(&b); err != nil {
		return err
	}
	c.stats.Events.Add(int64(len(u.Events)))
	c.stats.Storms.Add(storms)
	c.forgetConfirmed(len(b.Published))
	outbox := b.Outbox
	if len(c.released) > 0 {
		// Events that waited for their run go first: they came first.
		outbox = append(c.released, b.Outbox...)
		c.released = nil
	}
	c.committed <- committedBatch{outbox: outbox, items: items}
	return nil
}

// Bounds on what a batch takes along rather than writing it in
// transactions of its own: passes of a run report, and events released
// from where they were held (bytes). Each saves a synced write; together
// they stay far below what a transaction holds (15% of a memtable).
const (
	maxBatchFacts    = 2000
	maxBatchReleased = 256 << 10
)

// stage puts a unit's events in the batch: in the outbox, or held for their
// run. The events held for the runs it releases go to the outbox first:
// with the batch, moved in its transaction, when they are few; otherwise
// in transactions of their own, since a storm can hold thousands. It
// returns how many events it flagged as a storm's.
func (c *Consumer) stage(b *store.Batch, u *signatures.Unit) (storms int64, err error) {
	released := make(map[signatures.RunKey]bool, len(u.Releases))
	budget := maxBatchReleased
	for _, rel := range u.Releases {
		released[rel.Run] = rel.Storm
		edit := c.releaseEdit(rel.Storm)
		held, err := c.store.Held(rel.Run)
		if err != nil {
			return storms, err
		}
		size := 0
		for _, h := range held {
			size += len(h.Entry.Data)
		}
		if size <= budget {
			budget -= size
			for _, h := range held {
				e := h.Entry
				if edit != nil {
					if e.Data, err = edit(e.Data); err != nil {
						return storms, err
					}
				}
				b.Outbox = append(b.Outbox, e)
				b.Unheld = append(b.Unheld, h)
			}
			if rel.Storm {
				storms += int64(len(held))
			}
			continue
		}
		entries, err := c.store.ReleaseHeld(rel.Run, edit)
		c.released = append(c.released, entries...)
		if rel.Storm {
			storms += int64(len(entries))
		}
		if err != nil {
			return storms, err
		}
	}
	for i := range u.Events {
		ev := &u.Events[i]
		if ev.Hold != nil {
			if storm, ok := released[*ev.Hold]; ok {
				ev.Storm, ev.Hold = storm, nil
			}
		}
		entry, err := signatureEvent(ev, u.Now)
		if err != nil {
			return storms, err
		}
		if ev.Hold != nil {
			b.Held = append(b.Held, store.HeldEntry{Run: *ev.Hold, Entry: entry})
			continue
		}
		if ev.Storm {
			storms++
		}
		b.Outbox = append(b.Outbox, entry)
	}
	return storms, nil
}

// releaseEdit returns what a held event goes through when it is released:
// flagged as a storm's when its run was one, and brought up to the
// signature's status and tags as they are now. A user may have muted or
// resolved the signature while the event waited; the event announced
// then must not make diagnose take up what the user set aside, nor report
// show a status that no longer holds. It runs on the loop, which owns the
// tracker.
func (c *Consumer) releaseEdit(storm bool) func([]byte) ([]byte, error) {
	return func(data []byte) ([]byte, error) {
		var ev contract.SignatureChanged
		if err := json.Unmarshal(data, &ev); err != nil {
			return nil, fmt.Errorf("decode held signature event: %w", err)
		}
		changed := storm && !ev.Storm
		ev.Storm = ev.Storm || storm
		if rec, ok := c.tracker.Get(ev.Signature.Project, ev.Signature.ID); ok &&
			(rec.Status != ev.Signature.Status || !slices.Equal(rec.Tags, ev.Signature.Tags)) {
			ev.Signature.Status, ev.Signature.Tags = rec.Status, rec.Tags
			changed = true
		}
		if !changed {
			return data, nil
		}
		data, err := json.Marshal(ev)
		if err != nil {
			return nil, fmt.Errorf("encode signature event: %w", err)
		}
		return data, nil
	}
}

// sweep applies the passing of time.
func (c *Consumer) sweep() {
	u := signatures.NewUnit(c.cfg.Now())
	if err := c.tracker.Sweep(u); err != nil {
		c.log.Error("sweep failed", "error", c.reset(err))
		return
	}
	if u.Empty() {
		return
	}
	if err := c.commit(u, nil, nil, nil); err != nil {
		// The next sweep tries again.
		c.log.Error("could not store what time changed", "error", c.reset(err))
	}
}

// Op is an operation on the signatures, run by the loop within a unit.
type Op func(t *signatures.Tracker, u *signatures.Unit) (*signatures.Record, error)

type request struct {
	op    Op
	reply chan reply
}

type reply struct {
	rec signatures.Record
	err error
}

// Do runs op in the loop, between batches, and stores what it changed. It
// returns the signature op returns as stored, or op's error (nothing
// changed then).
func (c *Consumer) Do(ctx context.Context, op Op) (signatures.Record, error) {
	req := request{op: op, reply: make(chan reply, 1)}
	select {
	case <-c.running:
	case <-c.stopped:
		return signatures.Record{}, ErrStopped
	case <-ctx.Done():
		return signatures.Record{}, ctx.Err()
	}
	select {
	case c.requests <- req:
	case <-c.stopped:
		return signatures.Record{}, ErrStopped
	case <-ctx.Done():
		return signatures.Record{}, ctx.Err()
	}
	// The loop always answers: a request it took is never abandoned, so
	// the caller learns whether the change was stored.
	r := <-req.reply
	return r.rec, r.err
}

func (c *Consumer) serve(req request) {
	u := signatures.NewUnit(c.cfg.Now())
	rec, err := req.op(c.tracker, u)
	if err == nil && !u.Empty() {
		err = c.commit(u, nil, nil, nil)
	}
	if err != nil {
		if !u.Empty() {
			err = c.reset(err)
		}
		req.reply <- reply{err: err}
		return
	}
	// A copy: the caller reads it on its own goroutine while the loop
	// goes on changing the tracker's record.
	req.reply <- reply{rec: rec.Clone()}
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

func signatureEvent(ev *signatures.Event, now time.Time) (store.OutboxEntry, error) {
	subject, err := contract.SignatureSubject(ev.Signature.Project, ev.Change)
	if err != nil {
		return store.OutboxEntry{}, err
	}
	f := ev.Occurrence
	if f != nil && len(f.Error.Stack) > maxOccurrenceStack {
		trimmed := *f
		cut := maxOccurrenceStack
		for cut > 0 && trimmed.Error.Stack[cut]&0xC0 == 0x80 {
			cut--
		}
		trimmed.Error.Stack = trimmed.Error.Stack[:cut] + "\n… [truncated by ingest]"
		f = &trimmed
	}
	msg := contract.SignatureChanged{
		Schema: contract.SchemaSignature,
		// Derived from the state, so a replay produces the same id and
		// JetStream drops the copy.
		ID:         ev.ID,
		Time:       now.UTC(),
		Change:     ev.Change,
		Signature:  ev.Signature,
		Occurrence: f,
		Storm:      ev.Storm,
		Transition: ev.Transition,
		Reason:     ev.Reason,
	}
	data, err := json.Marshal(msg)
	if err != nil {
		return store.OutboxEntry{}, fmt.Errorf("encode signature event: %w", err)
	}
	return store.OutboxEntry{Subject: subject, MsgID: msg.ID, Data: data}, nil
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
		if meta.Stream != contract.StreamFailures {
			// Sequences of different streams would collide.
			id = meta.Stream + "." + id
		}
	}
	if err := c.dl.Publish(ctx, it.msg.Subject(), it.msg.Data(), it.invalid.Error(), id); err != nil {
		return err
	}
	c.stats.Deadlettered.Add(1)
	what := "failure"
	if isRunSubject(it.msg.Subject()) {
		what = "run report"
		c.stats.DeadletteredRuns.Add(1)
	}
	c.log.Warn(what+" dead-lettered", "subject", it.msg.Subject(), "reason", it.invalid.Error())
	return nil
}

func isRunSubject(s string) bool {
	return len(s) > len("rounds.runs.") && s[:len("rounds.runs.")] == "rounds.runs."
}
