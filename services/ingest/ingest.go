// Package ingest is the Rounds service that turns failures into signatures:
// it consumes rounds.failures.>, fingerprints each failure, counts it on its
// signature in its own Badger state exactly once, and announces changes on
// rounds.signatures.<project>.<change>.
package ingest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rounds-dev/rounds/pkg/badgerdb"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/messaging"
	"github.com/rounds-dev/rounds/services/ingest/internal/consumer"
	"github.com/rounds-dev/rounds/services/ingest/internal/store"
)

// Name is the service's name in subjects, consumers and logs.
const Name = "ingest"

// Config configures ingest.
type Config struct {
	// DataDir holds ingest's Badger state.
	DataDir string
	// BatchSize is the most failures committed in one transaction.
	BatchSize int
	// EventTTL is how long an event id is remembered to drop a repeat (0:
	// forever).
	EventTTL time.Duration
	// AckWait is how long JetStream waits for an ack before redelivering.
	AckWait time.Duration
	// Streams are the limits ingest provisions streams with.
	Streams messaging.StreamsConfig
}

// DefaultConfig returns ingest's defaults; DataDir is left to the caller.
func DefaultConfig() Config {
	return Config{
		BatchSize: 500,
		EventTTL:  30 * 24 * time.Hour,
		AckWait:   30 * time.Second,
		Streams:   messaging.DefaultStreamsConfig(),
	}
}

// RegisterFlags registers ingest's own flags, named with prefix.
func (c *Config) RegisterFlags(fs *flag.FlagSet, prefix string) {
	fs.IntVar(&c.BatchSize, prefix+"batch-size", c.BatchSize, "most failures committed in one transaction")
	fs.DurationVar(&c.EventTTL, prefix+"event-ttl", c.EventTTL, "how long a failure's id is remembered so that a repeat is not counted (0: forever)")
	fs.DurationVar(&c.AckWait, prefix+"ack-wait", c.AckWait, "how long JetStream waits for ingest's ack before redelivering")
}

// Validate reports a setting ingest cannot run with.
func (c Config) Validate() error {
	switch {
	case c.DataDir == "":
		return errors.New("ingest: data dir is required")
	case c.BatchSize < 1 || c.BatchSize > 10000:
		return fmt.Errorf("ingest: batch size must be 1 to 10000, got %d", c.BatchSize)
	case c.EventTTL < 0:
		return fmt.Errorf("ingest: event ttl must not be negative, got %s", c.EventTTL)
	case c.AckWait < time.Second:
		return fmt.Errorf("ingest: ack wait must be at least 1s, got %s", c.AckWait)
	}
	return c.Streams.Validate()
}

// Stats are ingest's counters.
type Stats struct {
	Applied, Duplicates, Deadlettered, Batches int64
}

// Service is a configured ingest.
type Service struct {
	cfg   Config
	dial  messaging.Dialer
	log   *slog.Logger
	stats consumer.Stats
}

// New checks the config; Run dials with dial and opens the state.
func New(cfg Config, dial messaging.Dialer, log *slog.Logger) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log = log.With("service", Name)
	return &Service{cfg: cfg, dial: dial, log: log}, nil
}

// Run provisions the streams and consumes failures until ctx ends, then
// finishes the batch in hand. It opens the state and closes it on return.
func (s *Service) Run(ctx context.Context) (err error) {
	db, err := badgerdb.Open(s.cfg.DataDir, s.log)
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	defer func() {
		if cerr := db.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("ingest: close badger: %w", cerr)
		}
	}()
	nc, err := s.dial(ctx, "rounds-"+Name)
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	// Drained before Badger closes (defers run last-in first-out), so the
	// last acks are sent.
	defer messaging.Drain(nc, 5*time.Second)
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("ingest: jetstream: %w", err)
	}
	if err := messaging.EnsureStreams(ctx, js, s.cfg.Streams); err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	st, err := store.New(db, s.cfg.EventTTL)
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	dl, err := messaging.NewDeadletter(js, Name)
	if err != nil {
		return err
	}
	c := consumer.New(consumer.Config{Durable: Name, BatchSize: s.cfg.BatchSize, AckWait: s.cfg.AckWait}, js, st, dl, &s.stats, s.log)
	s.log.Info("ingest consuming", "subject", contract.FailuresAll, "data_dir", s.cfg.DataDir)
	if err := c.Run(ctx); err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	s.log.Info("ingest stopped")
	return nil
}

// Stats returns ingest's counters so far.
func (s *Service) Stats() Stats {
	return Stats{
		Applied:      s.stats.Applied.Load(),
		Duplicates:   s.stats.Duplicates.Load(),
		Deadlettered: s.stats.Deadlettered.Load(),
		Batches:      s.stats.Batches.Load(),
	}
}

// ReadSignatures returns every signature in an ingest data dir that no
// process has open.
func ReadSignatures(dataDir string, log *slog.Logger) ([]contract.Signature, error) {
	db, err := badgerdb.OpenReadOnly(dataDir, log)
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	defer db.Close()
	st, err := store.New(db, 0)
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	var sigs []contract.Signature
	err = st.Signatures(func(s contract.Signature) error {
		sigs = append(sigs, s)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ingest: read signatures: %w", err)
	}
	return sigs, nil
}
