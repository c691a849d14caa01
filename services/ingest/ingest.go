// Package ingest is the Rounds service that turns failures into signatures:
// it consumes rounds.failures.>, fingerprints each failure (with the
// project's grouping rules), counts it on its signature in its own Badger
// state exactly once, and announces changes on
// rounds.signatures.<project>.<change>. It also consumes the run reports
// on rounds.runs.>, whose passes make signatures flaky or resolve them and
// whose counts tell infrastructure storms, and it follows each signature
// through its lifecycle: new, resolved, muted, regressed, and diagnosed
// once diagnose publishes a diagnosis of it (rounds.diagnoses.>).
package ingest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rounds-dev/rounds/pkg/badgerdb"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/messaging"
	"github.com/rounds-dev/rounds/services/ingest/grouping"
	"github.com/rounds-dev/rounds/services/ingest/internal/consumer"
	"github.com/rounds-dev/rounds/services/ingest/internal/signatures"
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

	// Codebase is the target project's source tree; its .rounds.yml holds
	// the project's grouping rules, unless Rules names another file.
	Codebase string
	// Rules is the grouping rules file; empty: <Codebase>/.rounds.yml. A
	// file that does not exist means no rules. It is read again when it
	// changes.
	Rules string
	// Grouping says which frames are the project's (--ingest-in-app...).
	Grouping grouping.Config

	// AutoResolveAfter resolves an open signature with no occurrence for
	// that long; 0: never.
	AutoResolveAfter time.Duration
	// AutoResolvePasses resolves an open signature, not flaky, whose test
	// passed in that many runs since it last failed; 0: never.
	AutoResolvePasses int64
	// FlakyWindow is how long passes and failures of tests are kept: the
	// window of failure rates and of "failed and passed on one commit".
	FlakyWindow time.Duration
	// FlakyMinSamples is how many commits a test must have run on within
	// the window before its failure rate can call it flaky.
	FlakyMinSamples int
	// StormShare is the share of a run's tests that must fail for the run
	// to be an infrastructure storm, whose signature events are flagged
	// and not diagnosed; 0: no storms.
	StormShare float64
	// StormMinFailed is the fewest failed tests of a storm.
	StormMinFailed int
	// StormWait is how long the events of a run's failures wait for the
	// run's report; 0: they do not wait, and only failures that come
	// after it are judged.
	StormWait time.Duration

	// SweepInterval is how often the passing of time is applied (mutes
	// ending, quiet signatures resolved, waits running out).
	SweepInterval time.Duration
	// Now is ingest's clock; nil is time.Now. Tests set it.
	Now func() time.Time
}

// DefaultConfig returns ingest's defaults; DataDir is left to the caller.
func DefaultConfig() Config {
	p := signatures.DefaultPolicy()
	return Config{
		BatchSize:         2000,
		EventTTL:          30 * 24 * time.Hour,
		AckWait:           30 * time.Second,
		Streams:           messaging.DefaultStreamsConfig(),
		AutoResolveAfter:  p.AutoResolveAfter,
		AutoResolvePasses: p.AutoResolvePasses,
		FlakyWindow:       p.FlakyWindow,
		FlakyMinSamples:   p.FlakyMinSamples,
		StormShare:        p.StormShare,
		StormMinFailed:    p.StormMinFailed,
		StormWait:         p.StormWait,
		SweepInterval:     time.Second,
	}
}

// RegisterFlags registers ingest's own flags, named with prefix.
func (c *Config) RegisterFlags(fs *flag.FlagSet, prefix string) {
	fs.IntVar(&c.BatchSize, prefix+"batch-size", c.BatchSize, "most failures committed in one transaction")
	fs.DurationVar(&c.EventTTL, prefix+"event-ttl", c.EventTTL, "how long a failure's id is remembered so that a repeat is not counted (0: forever)")
	fs.DurationVar(&c.AckWait, prefix+"ack-wait", c.AckWait, "how long JetStream waits for ingest's ack before redelivering")
	fs.StringVar(&c.Rules, prefix+"rules", c.Rules, "grouping rules file (default <codebase>/.rounds.yml; a missing file means no rules)")
	c.Grouping.RegisterFlags(fs, prefix)
	fs.Var((*days)(&c.AutoResolveAfter), prefix+"auto-resolve-after", "resolve a signature with no occurrence for this long, such as 7d or 36h (0: never)")
	fs.Int64Var(&c.AutoResolvePasses, prefix+"auto-resolve-passes", c.AutoResolvePasses, "resolve a signature, not flaky, whose test passed in this many runs since it last failed (0: never)")
	fs.Var((*days)(&c.FlakyWindow), prefix+"flaky-window", "how long passes and failures of tests are kept to see flakiness, such as 14d")
	fs.IntVar(&c.FlakyMinSamples, prefix+"flaky-min-samples", c.FlakyMinSamples, "commits a test must have run on within the flaky window before its failure rate can call it flaky")
	fs.Float64Var(&c.StormShare, prefix+"storm-share", c.StormShare, "share of a run's tests that must fail for an infrastructure storm, whose signatures are not diagnosed (0: no storms)")
	fs.IntVar(&c.StormMinFailed, prefix+"storm-min-failed", c.StormMinFailed, "fewest failed tests of an infrastructure storm")
	fs.DurationVar(&c.StormWait, prefix+"storm-wait", c.StormWait, "how long the signature events of a run's failures wait for its run report to tell a storm (0: no wait)")
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
	case c.AutoResolveAfter < 0:
		return fmt.Errorf("ingest: auto-resolve-after must not be negative, got %s", c.AutoResolveAfter)
	case c.AutoResolvePasses < 0:
		return fmt.Errorf("ingest: auto-resolve-passes must not be negative, got %d", c.AutoResolvePasses)
	case c.FlakyWindow < time.Hour:
		return fmt.Errorf("ingest: flaky window must be at least 1h, got %s", c.FlakyWindow)
	case c.FlakyMinSamples < 2:
		return fmt.Errorf("ingest: flaky min samples must be at least 2, got %d", c.FlakyMinSamples)
	case c.StormShare < 0 || c.StormShare >= 1:
		return fmt.Errorf("ingest: storm share must be at least 0 and below 1, got %g", c.StormShare)
	case c.StormMinFailed < 1:
		return fmt.Errorf("ingest: storm min failed must be at least 1, got %d", c.StormMinFailed)
	case c.StormWait < 0 || c.StormWait > time.Hour:
		return fmt.Errorf("ingest: storm wait must be 0 to 1h, got %s", c.StormWait)
	case c.SweepInterval < 0:
		return fmt.Errorf("ingest: sweep interval must not be negative, got %s", c.SweepInterval)
	}
	if err := c.Grouping.Validate(); err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	return c.Streams.Validate()
}

func (c Config) policy() signatures.Policy {
	return signatures.Policy{
		AutoResolveAfter:  c.AutoResolveAfter,
		AutoResolvePasses: c.AutoResolvePasses,
		FlakyWindow:       c.FlakyWindow,
		FlakyMinSamples:   c.FlakyMinSamples,
		StormShare:        c.StormShare,
		StormMinFailed:    c.StormMinFailed,
		StormWait:         c.StormWait,
	}
}

// RulesPath is the grouping rules file ingest reads: Rules, or
// .rounds.yml in the codebase; empty when there is neither.
func (c Config) RulesPath() string {
	switch {
	case c.Rules != "":
		return c.Rules
	case c.Codebase != "":
		return filepath.Join(c.Codebase, grouping.RulesFileName)
	}
	return ""
}

// days is a duration flag that also takes whole days: "7d", "1d12h".
type days time.Duration

func (d *days) String() string { return signatures.FormatDuration(time.Duration(*d)) }

func (d *days) Set(s string) error {
	var total time.Duration
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.ParseUint(s[:i], 10, 16)
		if err != nil {
			return fmt.Errorf("invalid duration %q", s)
		}
		total = time.Duration(n) * 24 * time.Hour
		s = s[i+1:]
		if s == "" {
			*d = days(total)
			return nil
		}
	}
	rest, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = days(total + rest)
	return nil
}

// Stats are ingest's counters.
type Stats struct {
	Applied, Duplicates, Deadlettered, Batches int64
	// Runs counts run report messages applied, RunDuplicates those
	// counted before, DeadletteredRuns those dead-lettered (also in
	// Deadlettered).
	Runs, RunDuplicates, DeadletteredRuns int64
	// Events counts signature events committed; Storms those flagged as
	// part of an infrastructure storm.
	Events, Storms int64
	// Diagnoses counts diagnoses applied to signature statuses.
	Diagnoses int64
}

// Service is a configured ingest.
type Service struct {
	cfg   Config
	dial  messaging.Dialer
	log   *slog.Logger
	stats consumer.Stats

	rulesPath string
	// rulesStamp tells when the rules file changed; rulesPoll is how
	// often it is looked at.
	rulesMu    sync.Mutex
	rulesStamp fileStamp
	rulesPoll  time.Duration
	fp         atomic.Pointer[grouping.Fingerprinter]
	consumer   atomic.Pointer[consumer.Consumer]

	// state is the store while Run has it open; readers hold stateMu so
	// that Run closes it only once they are done.
	stateMu sync.RWMutex
	state   *store.Store
}

// New checks the config and reads the grouping rules; Run dials with dial
// and opens the state.
func New(cfg Config, dial messaging.Dialer, log *slog.Logger) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log = log.With("service", Name)
	s := &Service{cfg: cfg, dial: dial, log: log, rulesPath: cfg.RulesPath(), rulesPoll: rulesPollInterval}
	fp, stamp, err := s.loadRules()
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	s.fp.Store(fp)
	s.rulesStamp = stamp
	return s, nil
}

// fileStamp identifies a version of a file.
type fileStamp struct {
	exists  bool
	modTime time.Time
	size    int64
}

func stampOf(path string) fileStamp {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	return fileStamp{exists: true, modTime: fi.ModTime(), size: fi.Size()}
}

// loadRules builds the fingerprinter from the flags and the rules file.
func (s *Service) loadRules() (*grouping.Fingerprinter, fileStamp, error) {
	cfg := s.cfg.Grouping
	if s.rulesPath == "" {
		return grouping.NewFingerprinter(cfg), fileStamp{}, nil
	}
	stamp := stampOf(s.rulesPath)
	rules, found, err := grouping.LoadRules(s.rulesPath)
	if err != nil {
		return nil, stamp, fmt.Errorf("grouping rules: %w", err)
	}
	if found {
		s.log.Info("grouping rules read", "path", s.rulesPath, "rules", len(rules))
	} else if s.cfg.Rules != "" {
		s.log.Warn("grouping rules file not found; grouping without rules", "path", s.rulesPath)
	}
	cfg.Rules = rules
	return grouping.NewFingerprinter(cfg), stamp, nil
}

// watchRules reads the rules file again whenever it changes, until ctx
// ends. A file that no longer parses leaves the rules as they were. A
// change is read once the file has looked the same on two polls in a row,
// so that a file caught halfway through being written (truncated, not yet
// filled) is not taken for the new rules.
func (s *Service) watchRules(ctx context.Context) {
	if s.rulesPath == "" {
		return
	}
	tick := time.NewTicker(s.rulesPoll)
	defer tick.Stop()
	var settling fileStamp // the changed stamp last polled, not read yet
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := stampOf(s.rulesPath)
		if now == s.stampSeen() {
			settling = fileStamp{}
			continue
		}
		if now != settling {
			settling = now
			continue
		}
		settling = fileStamp{}
		fp, stamp, err := s.loadRules()
		s.setStamp(stamp)
		if err != nil {
			s.log.Error("grouping rules not reloaded; the previous ones stay", "error", err)
			continue
		}
		s.fp.Store(fp)
		s.log.Info("grouping rules reloaded", "path", s.rulesPath)
	}
}

func (s *Service) stampSeen() fileStamp {
	s.rulesMu.Lock()
	defer s.rulesMu.Unlock()
	return s.rulesStamp
}

func (s *Service) setStamp(st fileStamp) {
	s.rulesMu.Lock()
	defer s.rulesMu.Unlock()
	s.rulesStamp = st
}

// rulesPollInterval is how often the rules file is checked for changes.
const rulesPollInterval = 2 * time.Second

// Run provisions the streams and consumes failures until ctx ends, then
// finishes the batch in hand. It opens the state and closes it on return.
func (s *Service) Run(ctx context.Context) (err error) {
	db, err := badgerdb.Open(s.cfg.DataDir, s.log, store.BadgerOptions)
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
	if err := ensureRunsStream(ctx, js, s.cfg.Streams); err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	st, err := store.New(db, store.Options{EventTTL: s.cfg.EventTTL, FactTTL: s.cfg.FlakyWindow, RunTTL: runTTL})
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	s.setState(st)
	defer s.setState(nil)
	dl, err := messaging.NewDeadletter(js, Name)
	if err != nil {
		return err
	}
	tracker := signatures.NewTracker(st, s.cfg.policy())
	c := consumer.New(consumer.Config{
		Durable: Name, BatchSize: s.cfg.BatchSize, AckWait: s.cfg.AckWait,
		SweepInterval: s.cfg.SweepInterval, Now: s.cfg.Now,
	}, js, st, tracker, &s.fp, dl, &s.stats, s.log)
	s.consumer.Store(c)
	stopManaging, err := s.serveManagement(ctx, nc)
	if err != nil {
		return err
	}
	defer stopManaging()
	watchCtx, stopWatching := context.WithCancel(ctx)
	defer stopWatching()
	go s.watchRules(watchCtx)
	s.log.Info("ingest consuming", "subjects", contract.FailuresAll+" "+contract.RunsAll, "data_dir", s.cfg.DataDir, "rules", s.rulesPath)
	if err := c.Run(ctx); err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	s.log.Info("ingest stopped")
	return nil
}

// runTTL is how long a run is remembered: its failures and reports come
// within minutes of each other, a retry within days.
const runTTL = 7 * 24 * time.Hour

// ensureRunsStream creates the run reports stream when the streams
// messaging provisions do not include it yet, like the other small
// streams.
func ensureRunsStream(ctx context.Context, js jetstream.JetStream, cfg messaging.StreamsConfig) error {
	all := cfg.StreamConfigs()
	for _, sc := range all {
		if sc.Name == contract.StreamRuns {
			return nil
		}
	}
	if _, err := js.Stream(ctx, contract.StreamRuns); err == nil {
		return nil
	} else if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("look up stream %s: %w", contract.StreamRuns, err)
	}
	sc := all[1] // the signatures stream: a quarter of the failures'
	sc.Name, sc.Subjects = contract.StreamRuns, []string{contract.RunsAll}
	sc.Description = "Rounds: run reports, the tests that passed in each run"
	if _, err := js.CreateStream(ctx, sc); err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return fmt.Errorf("create stream %s: %w", contract.StreamRuns, err)
	}
	return nil
}

// Stats returns ingest's counters so far.
func (s *Service) Stats() Stats {
	return Stats{
		Applied:          s.stats.Applied.Load(),
		Duplicates:       s.stats.Duplicates.Load(),
		Deadlettered:     s.stats.Deadlettered.Load(),
		Batches:          s.stats.Batches.Load(),
		Runs:             s.stats.Runs.Load(),
		RunDuplicates:    s.stats.RunDuplicates.Load(),
		DeadletteredRuns: s.stats.DeadletteredRuns.Load(),
		Events:           s.stats.Events.Load(),
		Storms:           s.stats.Storms.Load(),
		Diagnoses:        s.stats.Diagnoses.Load(),
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
	st, err := store.New(db, store.Options{})
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
