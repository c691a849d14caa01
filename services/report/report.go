// Package report is the Rounds service that tells people: it consumes
// rounds.diagnoses.> and rounds.signatures.>, keeps a page per signature,
// hands each report and lifecycle change to its sinks (markdown files,
// stdout, GitHub issues, a webhook), and announces each report on
// rounds.reports.<project>.
package report

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rounds-dev/rounds/pkg/badgerdb"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/messaging"
	"github.com/rounds-dev/rounds/services/report/internal/console"
	"github.com/rounds-dev/rounds/services/report/internal/github"
	"github.com/rounds-dev/rounds/services/report/internal/markdown"
	"github.com/rounds-dev/rounds/services/report/internal/reporting"
	"github.com/rounds-dev/rounds/services/report/internal/sink"
	"github.com/rounds-dev/rounds/services/report/internal/store"
	"github.com/rounds-dev/rounds/services/report/internal/webhook"
)

// Name is the service's name in subjects, consumers and logs.
const Name = "report"

// SignaturesConsumer is the durable consumer (and connection and
// dead-letter name) of report's signature events; diagnoses are consumed
// as Name.
const SignaturesConsumer = Name + "-signatures"

// Service is a configured report.
type Service struct {
	cfg   Config
	dial  messaging.Dialer
	log   *slog.Logger
	stats *sink.Counters
	// open is true while Run has the state open, for Ready.
	open atomic.Bool
	// edges lets tests replace the sinks' clocks and HTTP clients.
	edges edges
}

// edges are what tests may replace in the sinks.
type edges struct {
	github  func(*github.ClientConfig)
	webhook func(*webhook.Config)
	runner  func(*sink.Runner)
}

// New checks the config; Run opens the state.
func New(cfg Config, dial messaging.Dialer, log *slog.Logger) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Stdout == nil {
		cfg.Stdout = os.Stdout
	}
	log = log.With("service", Name)
	return &Service{cfg: cfg, dial: dial, log: log, stats: sink.NewCounters(cfg.Sinks)}, nil
}

// Stats are report's delivery counts, per sink.
type Stats struct {
	Sinks map[string]SinkStats
}

// SinkStats counts one sink's deliveries: taken, failed attempts (retried
// or not) and dropped after a permanent failure.
type SinkStats = sink.SinkStats

// Stats returns the delivery counts since New; safe to call at any time.
func (s *Service) Stats() Stats { return Stats{Sinks: s.stats.Snapshot()} }

// ErrNotRunning means report has not opened its state yet, or has closed
// it.
var ErrNotRunning = errors.New("not running")

// Ready reports whether report has its Badger state open: nil while Run
// runs, an error wrapping ErrNotRunning before and after.
func (s *Service) Ready(ctx context.Context) error {
	if !s.open.Load() {
		return fmt.Errorf("report: %w: state not open yet", ErrNotRunning)
	}
	return ctx.Err()
}

// Run consumes diagnoses and signature events and drains the sinks'
// outboxes until ctx ends; the event in hand is finished or left unacked
// for redelivery. It opens the state and closes it on return.
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
	s.open.Store(true)
	defer s.open.Store(false)
	// A message comes again at most within its stream's max age; the
	// marks that drop a redelivery are kept twice that.
	st := store.New(db).ExpireMarks(2 * s.cfg.Streams.MaxAge)
	sinks, err := s.sinks(st)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	runner := sink.NewRunner(st, sinks, s.stats, s.log)
	if s.edges.runner != nil {
		s.edges.runner(runner)
	}

	// The two consumers share one use case and its lock; each publishes
	// with its own connection.
	uc := reporting.New(st, sinks, runner.Notify, s.log)
	g, gctx := newGroup(ctx)
	g.Go(func() error {
		runner.Run(gctx)
		return nil
	})
	g.Go(func() error {
		spec := messaging.HandlerSpec{Service: Name, Stream: contract.StreamDiagnoses, Filter: contract.DiagnosesAll, Streams: s.cfg.Streams}
		return messaging.RunHandler(gctx, s.dial, spec, s.log, func(js jetstream.JetStream) message.NoPublishHandlerFunc {
			pub := publisher{js: js}
			return func(msg *message.Message) error {
				ev, err := contract.DecodeDiagnosisCompleted(msg.Payload)
				if err != nil {
					return err
				}
				return uc.OnDiagnosisCompleted(msg.Context(), &ev, pub)
			}
		})
	})
	g.Go(func() error {
		spec := messaging.HandlerSpec{Service: SignaturesConsumer, Stream: contract.StreamSignatures, Filter: contract.SignaturesAll, Streams: s.cfg.Streams}
		return messaging.RunHandler(gctx, s.dial, spec, s.log, func(jetstream.JetStream) message.NoPublishHandlerFunc {
			return func(msg *message.Message) error {
				ev, err := contract.DecodeSignatureChanged(msg.Payload)
				if err != nil {
					// Diagnose consumes the same stream and dead-letters
					// what it cannot decode; a second copy from report
					// would only double the dead letters.
					s.log.Warn("skipping a signature event that cannot be decoded", "subject", msg.Metadata.Get(messaging.MetadataSubject), "err", err)
					return nil
				}
				return uc.OnSignatureChanged(msg.Context(), &ev)
			}
		})
	})
	if err := g.Wait(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	s.log.Info("report stopped")
	return nil
}

// sinks builds the configured sinks over the state.
func (s *Service) sinks(st *store.Store) ([]sink.Sink, error) {
	var out []sink.Sink
	for _, name := range s.cfg.Sinks {
		switch name {
		case SinkMarkdown:
			out = append(out, markdown.NewSink(s.cfg.ReportsDir, st))
		case SinkStdout:
			out = append(out, console.New(s.cfg.Stdout))
		case SinkGitHub:
			cc := github.ClientConfig{BaseURL: s.cfg.GitHubURL, Repo: s.cfg.GitHubRepo, Token: s.cfg.GitHubToken}
			if s.edges.github != nil {
				s.edges.github(&cc)
			}
			c, err := github.NewClient(cc)
			if err != nil {
				return nil, err
			}
			out = append(out, github.NewSink(c, st))
		case SinkWebhook:
			wc := webhook.Config{URL: s.cfg.WebhookURL, Secret: []byte(s.cfg.WebhookSecret)}
			if s.edges.webhook != nil {
				s.edges.webhook(&wc)
			}
			w, err := webhook.New(wc)
			if err != nil {
				return nil, err
			}
			out = append(out, w)
		}
	}
	return out, nil
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

// group runs functions until the first fails, which cancels the others.
type group struct {
	wg     sync.WaitGroup
	cancel context.CancelFunc
	once   sync.Once
	err    error
}

func newGroup(ctx context.Context) (*group, context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	return &group{cancel: cancel}, ctx
}

func (g *group) Go(fn func() error) {
	g.wg.Go(func() {
		if err := fn(); err != nil {
			g.once.Do(func() { g.err = err })
		}
		// Any part returning (failed, or stopped because ctx ended) stops
		// the rest.
		g.cancel()
	})
}

func (g *group) Wait() error {
	g.wg.Wait()
	g.cancel()
	return g.err
}
