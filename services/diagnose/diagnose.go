// Package diagnose is the Rounds service that works out why a signature
// fails: it consumes rounds.signatures.>, triages each change, diagnoses
// the ones worth it with the evidence at hand, keeps the diagnoses in its
// own Badger state and publishes them on rounds.diagnoses.<project>.
package diagnose

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rounds-dev/rounds/pkg/badgerdb"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/messaging"
	"github.com/rounds-dev/rounds/services/diagnose/internal/codebase"
	"github.com/rounds-dev/rounds/services/diagnose/internal/diagnosis"
	"github.com/rounds-dev/rounds/services/diagnose/internal/heuristic"
	"github.com/rounds-dev/rounds/services/diagnose/internal/store"
	"github.com/rounds-dev/rounds/services/diagnose/internal/triage"
)

// Name is the service's name in subjects, consumers and logs.
const Name = "diagnose"

// Config configures diagnose.
type Config struct {
	// DataDir holds diagnose's Badger state.
	DataDir string
	// Codebase is the target project's source tree, read-only; empty when
	// none is mounted.
	Codebase string
	// Triage decides what is diagnosed.
	Triage triage.Rules
	// Streams are the limits diagnose provisions streams with.
	Streams messaging.StreamsConfig
}

// DefaultConfig returns diagnose's defaults; DataDir is left to the caller.
func DefaultConfig() Config {
	return Config{Triage: triage.DefaultRules(), Streams: messaging.DefaultStreamsConfig()}
}

// RegisterFlags registers diagnose's own flags, named with prefix.
func (c *Config) RegisterFlags(fs *flag.FlagSet, prefix string) {
	fs.Int64Var(&c.Triage.MinOccurrences, prefix+"min-occurrences", c.Triage.MinOccurrences, "occurrences a signature needs before it is diagnosed")
}

// Validate reports a setting diagnose cannot run with.
func (c Config) Validate() error {
	if c.DataDir == "" {
		return errors.New("diagnose: data dir is required")
	}
	if err := c.Triage.Validate(); err != nil {
		return err
	}
	return c.Streams.Validate()
}

// Service is a configured diagnose.
type Service struct {
	cfg  Config
	dial messaging.Dialer
	tree *codebase.Tree
	log  *slog.Logger
}

// New checks the config and opens the codebase; Run opens the state.
func New(cfg Config, dial messaging.Dialer, log *slog.Logger) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log = log.With("service", Name)
	var tree *codebase.Tree
	if cfg.Codebase != "" {
		t, err := codebase.Open(cfg.Codebase)
		if err != nil {
			return nil, fmt.Errorf("diagnose: open codebase: %w", err)
		}
		tree = t
	}
	return &Service{cfg: cfg, dial: dial, tree: tree, log: log}, nil
}

// Run consumes signature events until ctx ends; the event in hand is
// finished or left unacked for redelivery. It opens the state and closes it on return.
func (s *Service) Run(ctx context.Context) (err error) {
	db, err := badgerdb.Open(s.cfg.DataDir, s.log)
	if err != nil {
		return fmt.Errorf("diagnose: %w", err)
	}
	defer func() {
		if cerr := db.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("diagnose: close badger: %w", cerr)
		}
	}()
	spec := messaging.HandlerSpec{Service: Name, Stream: contract.StreamSignatures, Filter: contract.SignaturesAll, Streams: s.cfg.Streams}
	err = messaging.RunHandler(ctx, s.dial, spec, s.log, func(js jetstream.JetStream) message.NoPublishHandlerFunc {
		uc := diagnosis.New(store.New(db), publisher{js: js}, heuristic.New(), s.cfg.Triage, s.tree, s.log)
		return func(msg *message.Message) error {
			ev, err := contract.DecodeSignatureChanged(msg.Payload)
			if err != nil {
				return err
			}
			return uc.OnSignatureChanged(msg.Context(), &ev)
		}
	})
	if err != nil {
		return fmt.Errorf("diagnose: %w", err)
	}
	s.log.Info("diagnose stopped")
	return nil
}

// publisher publishes diagnoses and waits for JetStream to store them.
type publisher struct{ js jetstream.JetStream }

func (p publisher) PublishDiagnosis(ctx context.Context, d *contract.DiagnosisCompleted) error {
	subject, err := contract.DiagnosisSubject(d.Signature.Project)
	if err != nil {
		return err
	}
	return messaging.PublishJSON(ctx, p.js, subject, d.ID, d)
}
