// Package report is the Rounds service that tells people: it consumes
// rounds.diagnoses.>, writes one markdown report per diagnosed signature
// under the reports directory, and announces each report on
// rounds.reports.<project>.
package report

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rounds-dev/rounds/pkg/badgerdb"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/messaging"
	"github.com/rounds-dev/rounds/services/report/internal/reporting"
	"github.com/rounds-dev/rounds/services/report/internal/store"
)

// Name is the service's name in subjects, consumers and logs.
const Name = "report"

// Config configures report.
type Config struct {
	// DataDir holds report's Badger state.
	DataDir string
	// ReportsDir receives the markdown reports.
	ReportsDir string
	// Streams are the limits report provisions streams with.
	Streams messaging.StreamsConfig
}

// DefaultConfig returns report's defaults; the directories are left to the
// caller.
func DefaultConfig() Config {
	return Config{Streams: messaging.DefaultStreamsConfig()}
}

// Validate reports a setting report cannot run with.
func (c Config) Validate() error {
	switch {
	case c.DataDir == "":
		return errors.New("report: data dir is required")
	case c.ReportsDir == "":
		return errors.New("report: reports dir is required")
	}
	return c.Streams.Validate()
}

// Service is a configured report.
type Service struct {
	cfg  Config
	dial messaging.Dialer
	log  *slog.Logger
}

// New checks the config; Run opens the state.
func New(cfg Config, dial messaging.Dialer, log *slog.Logger) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log = log.With("service", Name)
	return &Service{cfg: cfg, dial: dial, log: log}, nil
}

// Run consumes diagnoses until ctx ends; the diagnosis in hand is finished
// or left unacked for redelivery. It opens the state and closes it on return.
func (s *Service) Run(ctx context.Context) (err error) {
	db, err := badgerdb.Open(s.cfg.DataDir, s.log)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer func() {
		if cerr := db.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("report: close badger: %w", cerr)
		}
	}()
	spec := messaging.HandlerSpec{Service: Name, Stream: contract.StreamDiagnoses, Filter: contract.DiagnosesAll, Streams: s.cfg.Streams}
	err = messaging.RunHandler(ctx, s.dial, spec, s.log, func(js jetstream.JetStream) message.NoPublishHandlerFunc {
		uc := reporting.New(store.New(db), publisher{js: js}, s.cfg.ReportsDir, s.log)
		return func(msg *message.Message) error {
			ev, err := contract.DecodeDiagnosisCompleted(msg.Payload)
			if err != nil {
				return err
			}
			return uc.OnDiagnosisCompleted(msg.Context(), &ev)
		}
	})
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	s.log.Info("report stopped")
	return nil
}

// publisher publishes report events and waits for JetStream to store them.
type publisher struct{ js jetstream.JetStream }

func (p publisher) PublishReport(ctx context.Context, r *contract.ReportPublished) error {
	subject, err := contract.ReportSubject(r.Signature.Project)
	if err != nil {
		return err
	}
	return messaging.PublishJSON(ctx, p.js, subject, r.ID, r)
}
