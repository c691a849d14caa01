package messaging

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rounds-dev/rounds/pkg/backoff"
	"github.com/rounds-dev/rounds/pkg/contract"
)

// StreamsConfig holds the limits of the streams Rounds provisions.
type StreamsConfig struct {
	// MaxAge is how long a message is kept.
	MaxAge time.Duration
	// FailuresMaxBytes caps the failures stream; the others get a quarter.
	FailuresMaxBytes int64
	// DuplicateWindow is how long JetStream remembers a Nats-Msg-Id.
	// Ingest also remembers every event id in Badger, so this window only
	// has to cover a publisher's retries.
	DuplicateWindow time.Duration
	// Replicas is 1 on one server, 3 on a three-node cluster.
	Replicas int
}

// DefaultStreamsConfig returns limits that suit a laptop and a small team.
func DefaultStreamsConfig() StreamsConfig {
	return StreamsConfig{
		MaxAge:           7 * 24 * time.Hour,
		FailuresMaxBytes: 1 << 30,
		DuplicateWindow:  10 * time.Minute,
		Replicas:         1,
	}
}

// RegisterFlags registers the limits as flags whose defaults are the
// config's current values. Each flag's environment variable is derived from
// its name by envflag.
func (c *StreamsConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.DurationVar(&c.MaxAge, "stream-max-age", c.MaxAge, "how long streams keep messages")
	fs.Int64Var(&c.FailuresMaxBytes, "stream-max-bytes", c.FailuresMaxBytes, "size cap of the failures stream in bytes; the other streams get a quarter")
	fs.DurationVar(&c.DuplicateWindow, "stream-duplicate-window", c.DuplicateWindow, "how long JetStream drops a repeated Nats-Msg-Id")
	fs.IntVar(&c.Replicas, "stream-replicas", c.Replicas, "stream replicas: 1, or 3 on a cluster")
}

// Validate reports limits JetStream would refuse.
func (c StreamsConfig) Validate() error {
	switch {
	case c.MaxAge <= 0:
		return fmt.Errorf("stream max age must be positive, got %s", c.MaxAge)
	case c.FailuresMaxBytes < 4<<20:
		return fmt.Errorf("stream max bytes must be at least 4 MiB, got %d", c.FailuresMaxBytes)
	case c.DuplicateWindow <= 0 || c.DuplicateWindow > c.MaxAge:
		return fmt.Errorf("stream duplicate window must be positive and within max age, got %s", c.DuplicateWindow)
	case c.Replicas < 1 || c.Replicas > 5:
		return fmt.Errorf("stream replicas must be 1 to 5, got %d", c.Replicas)
	}
	return nil
}

// StreamConfigs returns the configuration of every Rounds stream.
func (c StreamsConfig) StreamConfigs() []jetstream.StreamConfig {
	stream := func(name, subject, desc string, maxBytes int64) jetstream.StreamConfig {
		return jetstream.StreamConfig{
			Name:        name,
			Description: desc,
			Subjects:    []string{subject},
			Storage:     jetstream.FileStorage,
			Retention:   jetstream.LimitsPolicy,
			Discard:     jetstream.DiscardOld,
			MaxAge:      c.MaxAge,
			MaxBytes:    maxBytes,
			MaxMsgSize:  contract.MaxFailureBytes * 4,
			Duplicates:  c.DuplicateWindow,
			Replicas:    c.Replicas,
		}
	}
	small := c.FailuresMaxBytes / 4
	return []jetstream.StreamConfig{
		stream(contract.StreamFailures, contract.FailuresAll, "Rounds: failed tests and runtime errors", c.FailuresMaxBytes),
		stream(contract.StreamSignatures, contract.SignaturesAll, "Rounds: signature changes announced by ingest", small),
		stream(contract.StreamDiagnoses, contract.DiagnosesAll, "Rounds: diagnoses", small),
		stream(contract.StreamReports, contract.ReportsAll, "Rounds: report events", small),
		stream(contract.StreamDeadletter, contract.DeadletterAll, "Rounds: messages a service could not process, with the reason in a header", small),
		stream(contract.StreamRuns, contract.RunsAll, "Rounds: which tests passed in each run, for flakiness", small),
	}
}

// EnsureStreams creates every Rounds stream or updates it to the configured
// limits. Every service calls it at start, so whichever starts first
// provisions them, and calling it again changes nothing: a stream already
// as configured is left alone (updating it while another service creates
// its consumer races inside the server).
func EnsureStreams(ctx context.Context, js jetstream.JetStream, cfg StreamsConfig) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	for _, want := range cfg.StreamConfigs() {
		if err := retryTimeouts(ctx, func() error { return ensureStream(ctx, js, want) }); err != nil {
			return err
		}
	}
	return nil
}

// streamAttempts bounds how often a JetStream API call that timed out is
// tried again at start: a busy server or a cluster electing a leader
// answers late, which is no reason for a service to die.
const streamAttempts = 5

// retryTimeouts calls fn until it succeeds, fails with anything but a
// timeout, ctx ends or streamAttempts are spent, backing off between tries.
func retryTimeouts(ctx context.Context, fn func() error) error {
	var err error
	for attempt := 1; attempt <= streamAttempts; attempt++ {
		if err = fn(); err == nil || !isTimeout(err) || ctx.Err() != nil {
			return err
		}
		if attempt < streamAttempts {
			if serr := backoff.Sleep(ctx, time.Duration(attempt)*500*time.Millisecond); serr != nil {
				return err
			}
		}
	}
	return fmt.Errorf("%w (tried %d times)", err, streamAttempts)
}

// isTimeout tells a JetStream call that got no answer in time.
func isTimeout(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout)
}

func ensureStream(ctx context.Context, js jetstream.JetStream, want jetstream.StreamConfig) error {
	s, err := js.Stream(ctx, want.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = js.CreateStream(ctx, want)
		if err == nil {
			return nil
		}
		if !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return fmt.Errorf("create stream %s: %w", want.Name, err)
		}
		// Another service created it meanwhile: compare with what it made.
		s, err = js.Stream(ctx, want.Name)
	}
	if err != nil {
		return fmt.Errorf("look up stream %s: %w", want.Name, err)
	}
	if sameLimits(s.CachedInfo().Config, want) {
		return nil
	}
	if _, err := js.UpdateStream(ctx, want); err != nil {
		return fmt.Errorf("update stream %s: %w", want.Name, err)
	}
	return nil
}

// sameLimits compares what Rounds sets on a stream.
func sameLimits(got, want jetstream.StreamConfig) bool {
	return slices.Equal(got.Subjects, want.Subjects) &&
		got.Description == want.Description &&
		got.Storage == want.Storage &&
		got.Retention == want.Retention &&
		got.Discard == want.Discard &&
		got.MaxAge == want.MaxAge &&
		got.MaxBytes == want.MaxBytes &&
		got.MaxMsgSize == want.MaxMsgSize &&
		got.Duplicates == want.Duplicates &&
		got.Replicas == want.Replicas
}
