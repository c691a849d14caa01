package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rounds-dev/rounds/cmd/rounds/internal/app"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/logging"
	"github.com/rounds-dev/rounds/pkg/messaging"
	"github.com/rounds-dev/rounds/pkg/natsserver"
	"github.com/rounds-dev/rounds/services/ingest"
)

// Config sizes a benchmark run.
type Config struct {
	Failures int
	Bugs     int
	// Dir holds the server's and the services' state.
	Dir string
	// Log receives the services' logs.
	Log *slog.Logger
	// CPUProfile, when set, receives a CPU profile of the ingest phase.
	CPUProfile string
	// BatchSize is ingest's batch size; 0: its default.
	BatchSize int
	// AllServices runs diagnose and report beside ingest while it is
	// measured, as `rounds run` does; by default ingest runs alone, so the
	// figure is ingest's and not what the other two take of the CPU.
	AllServices bool
}

// Run measures and prints, ending with the line "ingest/raw ratio: 0.NN".
func Run(ctx context.Context, cfg Config, out io.Writer) error {
	w, err := synthetic("bench", cfg.Failures, cfg.Bugs, 1)
	if err != nil {
		return err
	}
	size := 0
	for _, m := range w.msgs {
		size += len(m.data)
	}
	fmt.Fprintf(out, "failures: %d and %d run reports (%.1f KB average, %d distinct bugs)\n", w.failures, w.runs, float64(size)/float64(len(w.msgs))/1024, cfg.Bugs)

	srv, err := natsserver.Start(natsserver.Config{Listen: "127.0.0.1:0", StoreDir: filepath.Join(cfg.Dir, "nats")}, logging.Discard())
	if err != nil {
		return err
	}
	defer srv.Shutdown()

	// The raw rate is measured before and after ingest, and the better of
	// the two is the baseline: on a shared machine this errs against
	// ingest, never for it. Both sides publish, consume and ack the same
	// messages, failures and run reports.
	raw, err := measureRaw(ctx, srv.ClientURL(), w.msgs)
	if err != nil {
		return fmt.Errorf("raw jetstream: %w", err)
	}
	fmt.Fprintf(out, "raw JetStream publish+consume, before ingest: %.0f msg/s (%s)\n", rate(len(w.msgs), raw), raw.Round(time.Millisecond))
	stopProfile := func() {}
	if cfg.CPUProfile != "" {
		f, err := os.Create(cfg.CPUProfile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		stopProfile = pprof.StopCPUProfile
		defer stopProfile()
	}
	target := app.TargetIngest
	if cfg.AllServices {
		target = app.TargetAll
	}
	ing, stats, err := measureIngest(ctx, srv.ClientURL(), cfg.Dir, target, w, cfg.BatchSize, cfg.Log)
	stopProfile()
	stopProfile = func() {}
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	fmt.Fprintf(out, "ingest committed %d batches of failures and run reports, %.0f messages each on average\n", stats.Batches, float64(stats.Applied+stats.Runs)/float64(max(stats.Batches, 1)))
	fmt.Fprintf(out, "ingest (services running: %s), published to signature committed: %.0f failures/s, %.0f msg/s (%s)\n", target, rate(w.failures, ing), rate(len(w.msgs), ing), ing.Round(time.Millisecond))
	rawAfter, err := measureRaw(ctx, srv.ClientURL(), w.msgs)
	if err != nil {
		return fmt.Errorf("raw jetstream: %w", err)
	}
	fmt.Fprintf(out, "raw JetStream publish+consume, after ingest: %.0f msg/s (%s)\n", rate(len(w.msgs), rawAfter), rawAfter.Round(time.Millisecond))
	raw = min(raw, rawAfter)
	fmt.Fprintf(out, "ingest/raw ratio: %.2f\n", rate(len(w.msgs), ing)/rate(len(w.msgs), raw))
	return nil
}

func rate(n int, d time.Duration) float64 { return float64(n) / d.Seconds() }

// publishAll publishes every message as fast as JetStream takes them, each
// with its Nats-Msg-Id, to the subject subject gives it, and waits for
// every ack. A message whose publication failed (an ack timeout on a
// loaded machine) is published again under the same id, which JetStream
// de-duplicates; so is one refused because too many were in flight.
func publishAll(ctx context.Context, js jetstream.JetStream, msgs []pubMsg, subject func(pubMsg) string) error {
	futures := make([]jetstream.PubAckFuture, 0, len(msgs))
	for _, msg := range msgs {
		m := nats.NewMsg(subject(msg))
		m.Data = msg.data
		m.Header.Set(contract.HeaderMsgID, msg.id)
		for {
			f, err := js.PublishMsgAsync(m)
			if err == nil {
				futures = append(futures, f)
				break
			}
			if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
				return fmt.Errorf("publish: %w", err)
			}
			select {
			case <-js.PublishAsyncComplete():
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		return ctx.Err()
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
			continue
		case <-f.Err():
		}
		var err error
		for attempt := 0; attempt < 5; attempt++ {
			if _, err = js.PublishMsg(ctx, f.Msg()); err == nil {
				break
			}
		}
		if err != nil {
			return fmt.Errorf("publish %s: %w", f.Msg().Header.Get(contract.HeaderMsgID), err)
		}
	}
	return nil
}

// measureRaw publishes the messages to a stream configured like the
// failures stream while a plain pull consumer reads and acks them.
func measureRaw(ctx context.Context, url string, msgs []pubMsg) (time.Duration, error) {
	nc, err := nats.Connect(url)
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4000))
	if err != nil {
		return 0, err
	}
	sc := messaging.DefaultStreamsConfig().StreamConfigs()[0]
	sc.Name, sc.Subjects, sc.Description = "BENCH_RAW", []string{"bench.raw"}, "rounds bench: raw baseline"
	if _, err := js.CreateOrUpdateStream(ctx, sc); err != nil {
		return 0, err
	}
	defer js.DeleteStream(context.WithoutCancel(ctx), sc.Name)
	cons, err := js.CreateOrUpdateConsumer(ctx, sc.Name, jetstream.ConsumerConfig{Durable: "raw", AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 4000})
	if err != nil {
		return 0, err
	}

	cnc, err := nats.Connect(url)
	if err != nil {
		return 0, err
	}
	defer cnc.Close()
	ccons, err := jetstream.New(cnc)
	if err != nil {
		return 0, err
	}
	cons, err = ccons.Consumer(ctx, sc.Name, "raw")
	if err != nil {
		return 0, err
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(1000))
	if err != nil {
		return 0, err
	}
	defer it.Stop()

	start := time.Now()
	pubErr := make(chan error, 1)
	published := make(chan struct{})
	go func() {
		defer close(published)
		if err := publishAll(ctx, js, msgs, func(pubMsg) string { return "bench.raw" }); err != nil {
			pubErr <- err
			it.Stop() // what was not published never comes
		}
	}()
	for n := 0; n < len(msgs); n++ {
		m, err := it.Next()
		if err != nil {
			<-published
			select {
			case perr := <-pubErr:
				return 0, perr
			default:
				return 0, err
			}
		}
		_ = m.Ack()
	}
	elapsed := time.Since(start)
	<-published
	select {
	case err := <-pubErr:
		return 0, err
	default:
		return elapsed, nil
	}
}

// measureIngest runs target (ingest, or every service) in this process
// against the server and publishes the messages, until ingest has
// committed them all.
func measureIngest(ctx context.Context, url, dir, target string, w workload, batchSize int, log *slog.Logger) (time.Duration, ingest.Stats, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cfg := app.DefaultConfig()
	cfg.NATSURL = url
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.ReportsDir = filepath.Join(dir, "reports")
	cfg.Codebase = ""
	if batchSize > 0 {
		cfg.Ingest.BatchSize = batchSize
	}
	started := make(chan app.Running, 1)
	appErr := make(chan error, 1)
	go func() {
		appErr <- app.Run(ctx, target, cfg, log, io.Discard, app.Hooks{Started: func(r app.Running) { started <- r }})
	}()
	var running app.Running
	select {
	case running = <-started:
	case err := <-appErr:
		return 0, ingest.Stats{}, err
	}

	nc, err := nats.Connect(url)
	if err != nil {
		return 0, ingest.Stats{}, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4000))
	if err != nil {
		return 0, ingest.Stats{}, err
	}
	// The services create the streams; wait for the failures stream.
	for {
		if _, err := js.Stream(ctx, contract.StreamFailures); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return 0, ingest.Stats{}, ctx.Err()
		case err := <-appErr:
			return 0, ingest.Stats{}, fmt.Errorf("services stopped: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	failures, _ := contract.FailureSubject("bench")
	runs, _ := contract.RunSubject("bench")
	subject := func(m pubMsg) string {
		if m.run {
			return runs
		}
		return failures
	}
	start := time.Now()
	pubErr := make(chan error, 1)
	go func() { pubErr <- publishAll(ctx, js, w.msgs, subject) }()
	publishing := pubErr // nil once publishing is done
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	done := func(st ingest.Stats) int64 { return st.Applied + st.Runs }
	want := int64(w.failures + w.runs)
	last, lastChange := int64(0), time.Now()
	for n := int64(0); n < want; n = done(running.Ingest.Stats()) {
		if n != last {
			last, lastChange = n, time.Now()
		} else if time.Since(lastChange) > time.Minute {
			return 0, ingest.Stats{}, fmt.Errorf("ingest stalled at %d of %d messages for a minute: %+v", n, want, running.Ingest.Stats())
		}
		select {
		case <-tick.C:
		case err := <-publishing:
			if err != nil {
				return 0, ingest.Stats{}, err
			}
			publishing = nil
		case err := <-appErr:
			return 0, ingest.Stats{}, fmt.Errorf("services stopped: %v", err)
		case <-ctx.Done():
			return 0, ingest.Stats{}, ctx.Err()
		}
	}
	elapsed := time.Since(start)
	stats := running.Ingest.Stats()
	if publishing != nil {
		if err := <-publishing; err != nil {
			return 0, ingest.Stats{}, err
		}
	}
	cancel()
	if err := <-appErr; err != nil {
		return 0, ingest.Stats{}, err
	}
	return elapsed, stats, nil
}
