// Package diagnose is the Rounds service that works out why a signature
// fails: it consumes rounds.signatures.>, triages each change and queues
// the signatures worth a diagnosis; a worker diagnoses them one at a time,
// the most urgent first, with the evidence gathered from the occurrences,
// the codebase and its git history, keeps the diagnoses in its own Badger
// state and publishes them on rounds.diagnoses.<project>.
package diagnose

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rounds-dev/rounds/pkg/badgerdb"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/messaging"
	"github.com/rounds-dev/rounds/services/diagnose/internal/budget"
	"github.com/rounds-dev/rounds/services/diagnose/internal/claudecode"
	"github.com/rounds-dev/rounds/services/diagnose/internal/codebase"
	"github.com/rounds-dev/rounds/services/diagnose/internal/diagnosis"
	"github.com/rounds-dev/rounds/services/diagnose/internal/evidence"
	"github.com/rounds-dev/rounds/services/diagnose/internal/fallback"
	"github.com/rounds-dev/rounds/services/diagnose/internal/git"
	"github.com/rounds-dev/rounds/services/diagnose/internal/heuristic"
	"github.com/rounds-dev/rounds/services/diagnose/internal/openai"
	"github.com/rounds-dev/rounds/services/diagnose/internal/store"
	"github.com/rounds-dev/rounds/services/diagnose/internal/triage"
)

// Name is the service's name in subjects, consumers and logs.
const Name = "diagnose"

// The diagnosers diagnose can run.
const (
	DiagnoserHeuristic  = heuristic.Name
	DiagnoserClaudeCode = claudecode.Name
	DiagnoserOpenAI     = openai.Name
)

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
	// Diagnoser is heuristic (offline and free), claude-code or openai;
	// the last two fall back to the heuristic when they cannot answer.
	Diagnoser string
	// Budget caps what claude-code and openai spend, per diagnosis and
	// per UTC day.
	Budget budget.Limits
	// Retry says how often and how patiently a paid diagnoser is retried;
	// Run fills in its Budget and Log.
	Retry fallback.Config
	// ClaudeCode configures claude-code; Run fills in its Hint.
	ClaudeCode claudecode.Config
	// OpenAI configures openai; its APIKey comes from OPENAI_API_KEY,
	// never from a flag. Run fills in its Hint.
	OpenAI openai.Config
	// Observe, when set, is called after every call of the diagnoser,
	// from the worker: it must return promptly. Metrics use it.
	Observe func(Observation)
}

// DefaultConfig returns diagnose's defaults; DataDir is left to the caller.
func DefaultConfig() Config {
	return Config{
		Triage:     triage.DefaultRules(),
		Streams:    messaging.DefaultStreamsConfig(),
		Diagnoser:  DiagnoserHeuristic,
		Budget:     budget.DefaultLimits(),
		Retry:      fallback.DefaultConfig(),
		ClaudeCode: claudecode.DefaultConfig(),
		OpenAI:     openai.DefaultConfig(),
	}
}

// RegisterFlags registers diagnose's own flags: triage's named with prefix,
// the diagnosers' under their own names (--diagnoser, --claude-bin,
// --openai-model...), which no other service has.
func (c *Config) RegisterFlags(fs *flag.FlagSet, prefix string) {
	fs.Int64Var(&c.Triage.MinOccurrences, prefix+"min-occurrences", c.Triage.MinOccurrences, "occurrences a signature needs before it is diagnosed (a regression needs none)")
	fs.DurationVar(&c.Triage.Cooldown, prefix+"cooldown", c.Triage.Cooldown, "how long after its last diagnosis a signature is not diagnosed again (a regression is)")
	fs.BoolVar(&c.Triage.Flaky, prefix+"flaky", c.Triage.Flaky, "diagnose flaky signatures too")
	fs.StringVar(&c.Diagnoser, "diagnoser", c.Diagnoser, "diagnoser: heuristic (offline, free), claude-code or openai (both fall back to heuristic)")
	fs.Float64Var(&c.Budget.PerDiagnosis, "budget-per-diagnosis-usd", c.Budget.PerDiagnosis, "most a paid diagnosis may cost, retries included, in US dollars")
	fs.Float64Var(&c.Budget.Daily, "budget-daily-usd", c.Budget.Daily, "most paid diagnoses may cost per UTC day, in US dollars")
	fs.IntVar(&c.Retry.Attempts, "llm-attempts", c.Retry.Attempts, "calls a paid diagnosis may make before it falls back to heuristic")
	fs.DurationVar(&c.Retry.BaseDelay, "llm-retry-delay", c.Retry.BaseDelay, "wait before the first retry of a paid diagnoser; doubled for each next one")
	fs.DurationVar(&c.Retry.MaxDelay, "llm-max-retry-delay", c.Retry.MaxDelay, "longest wait between calls; a longer Retry-After falls back at once")
	fs.StringVar(&c.ClaudeCode.Bin, "claude-bin", c.ClaudeCode.Bin, "Claude Code CLI: a path, or a name looked up in PATH")
	fs.StringVar(&c.ClaudeCode.Model, "claude-model", c.ClaudeCode.Model, "model for Claude Code (--model); empty for the CLI's default")
	fs.IntVar(&c.ClaudeCode.MaxTurns, "claude-max-turns", c.ClaudeCode.MaxTurns, "most agentic turns of one Claude Code run")
	fs.DurationVar(&c.ClaudeCode.Timeout, "claude-timeout", c.ClaudeCode.Timeout, "wall-clock limit of one Claude Code run")
	fs.StringVar(&c.OpenAI.BaseURL, "openai-base-url", c.OpenAI.BaseURL, "OpenAI-compatible API base, e.g. http://localhost:11434/v1 for Ollama")
	fs.StringVar(&c.OpenAI.Model, "openai-model", c.OpenAI.Model, "model for the OpenAI-compatible API")
	fs.Float64Var(&c.OpenAI.InputUSDPerMTok, "openai-input-usd-per-mtok", c.OpenAI.InputUSDPerMTok, "price of a million prompt tokens, in US dollars")
	fs.Float64Var(&c.OpenAI.OutputUSDPerMTok, "openai-output-usd-per-mtok", c.OpenAI.OutputUSDPerMTok, "price of a million completion tokens, in US dollars")
	fs.Float64Var(&c.OpenAI.Temperature, "openai-temperature", c.OpenAI.Temperature, "sampling temperature; negative to leave it to the model")
	fs.DurationVar(&c.OpenAI.Timeout, "openai-timeout", c.OpenAI.Timeout, "limit of one call to the OpenAI-compatible API")
}

// Validate reports a setting diagnose cannot run with.
func (c Config) Validate() error {
	if c.DataDir == "" {
		return errors.New("diagnose: data dir is required")
	}
	if err := c.Triage.Validate(); err != nil {
		return err
	}
	switch c.Diagnoser {
	case DiagnoserHeuristic:
	case DiagnoserClaudeCode:
		if err := c.ClaudeCode.Validate(); err != nil {
			return fmt.Errorf("diagnose: %w", err)
		}
	case DiagnoserOpenAI:
		if err := c.OpenAI.Validate(); err != nil {
			return fmt.Errorf("diagnose: %w", err)
		}
	default:
		return fmt.Errorf("diagnose: diagnoser %q is not heuristic, claude-code or openai", c.Diagnoser)
	}
	if c.Diagnoser != DiagnoserHeuristic {
		if err := c.Budget.Validate(); err != nil {
			return fmt.Errorf("diagnose: %w", err)
		}
		if err := c.Retry.Validate(); err != nil {
			return fmt.Errorf("diagnose: %w", err)
		}
	}
	return c.Streams.Validate()
}

// Service is a configured diagnose.
type Service struct {
	cfg  Config
	dial messaging.Dialer
	tree *codebase.Tree
	log  *slog.Logger
	// open is true while Run has the state open, for Ready.
	open atomic.Bool
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

// Run consumes signature events and diagnoses the signatures they queue
// until ctx ends: the event in hand is finished or left unacked for
// redelivery, and a diagnosis in flight is left for the next run. It opens
// the state and closes it on return.
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
	// A message comes again at most within its stream's max age; the
	// marks that drop a redelivery are kept twice that.
	st := store.New(db).ExpireHandled(2 * s.cfg.Streams.MaxAge)
	diagnoser, err := s.diagnoser(st)
	if err != nil {
		return err
	}
	diagnoser = s.observed(diagnoser)
	s.open.Store(true)
	defer s.open.Store(false)
	s.log.Info("diagnoser ready", "diagnoser", s.cfg.Diagnoser)
	gatherer := evidence.New(s.tree, s.history(ctx), s.log)

	// The worker publishes on a connection of its own, drained after it
	// has stopped.
	nc, err := s.dial(ctx, "rounds-"+Name+"-worker")
	if err != nil {
		return fmt.Errorf("diagnose: %w", err)
	}
	defer messaging.Drain(nc, 5*time.Second)
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("diagnose: jetstream: %w", err)
	}
	uc := diagnosis.New(st, publisher{js: js}, diagnoser, s.cfg.Triage, gatherer, s.log)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	worked := make(chan error, 1)
	go func() {
		err := uc.Run(ctx)
		cancel() // a worker that cannot work stops the consumer too
		worked <- err
	}()
	spec := messaging.HandlerSpec{Service: Name, Stream: contract.StreamSignatures, Filter: contract.SignaturesAll, Streams: s.cfg.Streams}
	err = messaging.RunHandler(ctx, s.dial, spec, s.log, func(jetstream.JetStream) message.NoPublishHandlerFunc {
		return func(msg *message.Message) error {
			ev, err := contract.DecodeSignatureChanged(msg.Payload)
			if err != nil {
				return err
			}
			return uc.OnSignatureChanged(msg.Context(), &ev)
		}
	})
	cancel()
	if werr := <-worked; werr != nil {
		err = errors.Join(err, werr)
	}
	if err != nil {
		return fmt.Errorf("diagnose: %w", err)
	}
	s.log.Info("diagnose stopped")
	return nil
}

// history opens the git history of the codebase, nil when there is no
// codebase, no git or no repository: evidence then goes without it.
func (s *Service) history(ctx context.Context) *git.Repo {
	if s.tree == nil {
		return nil
	}
	repo, err := git.Open(ctx, s.tree.Root())
	if err != nil {
		s.log.Info("diagnoses will cite no git history", "codebase", s.tree.Root(), "reason", err)
		return nil
	}
	s.log.Info("diagnoses will cite the codebase's git history", "codebase", s.tree.Root(), "shallow", repo.Shallow(ctx))
	return repo
}

// diagnoser composes the configured diagnoser: the heuristic alone, or a
// paid one behind the budget (kept in ledger), retries and the heuristic
// fallback.
func (s *Service) diagnoser(ledger budget.Ledger) (diagnosis.Diagnoser, error) {
	h := heuristic.New()
	var primary fallback.Inner
	switch s.cfg.Diagnoser {
	case DiagnoserClaudeCode:
		cfg := s.cfg.ClaudeCode
		cfg.Hint = h
		d, err := claudecode.New(cfg)
		if err != nil {
			return nil, fmt.Errorf("diagnose: %w", err)
		}
		primary = d
	case DiagnoserOpenAI:
		cfg := s.cfg.OpenAI
		cfg.Hint = h
		d, err := openai.New(cfg)
		if err != nil {
			return nil, fmt.Errorf("diagnose: %w", err)
		}
		primary = d
	default:
		return h, nil
	}
	b, err := budget.New(s.cfg.Budget, ledger)
	if err != nil {
		return nil, fmt.Errorf("diagnose: %w", err)
	}
	retry := s.cfg.Retry
	retry.Budget = b
	retry.Log = s.log.With("diagnoser", s.cfg.Diagnoser)
	d, err := fallback.New(primary, h, retry)
	if err != nil {
		return nil, fmt.Errorf("diagnose: %w", err)
	}
	return d, nil
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
