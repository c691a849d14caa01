package bench

import (
	"context"
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
}

// Run measures and prints, ending with the line "ingest/raw ratio: 0.NN".
func Run(ctx context.Context, cfg Config, out io.Writer) error {
	msgs, err := synthetic("bench", cfg.Failures, cfg.Bugs, 1)
	if err != nil {
		return err
	}
	size := 0
	for _, m := range msgs {
		size += len(m)
	}
	fmt.Fprintf(out, "failures: %d (%.1f KB average, %d distinct bugs)\n", len(msgs), float64(size)/float64(len(msgs))/1024, cfg.Bugs)

	srv, err := natsserver.Start(natsserver.Config{Listen: "127.0.0.1:0", StoreDir: filepath.Join(cfg.Dir, "nats")}, logging.Discard())
	if err != nil {
		return err
	}
	defer srv.Shutdown()

	// The raw rate is measured before and after ingest, and the better of
	// the two is the baseline: on a shared machine this errs against
	// ingest, never for it.
	raw, err := measureRaw(ctx, srv.ClientURL(), msgs)
	if err != nil {
		return fmt.Errorf("raw jetstream: %w", err)
	}
	fmt.Fprintf(out, "raw JetStream publish+consume, before ingest: %.0f msg/s (%s)\n", rate(len(msgs), raw), raw.Round(time.Millisecond))
	if cfg.CPUProfile != "" {
		f, err := os.Create(cfg.CPUProfile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	ing, stats, err := measureIngest(ctx, srv.ClientURL(), cfg.Dir, msgs, cfg.Log)
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	fmt.Fprintf(out, "ingest committed %d batches, %.0f failures each on average\n", stats.Batches, float64(stats.Applied)/float64(max(stats.Batches, 1)))
	fmt.Fprintf(out, "ingest, published to signature committed: %.0f failures/s (%s)\n", rate(len(msgs), ing), ing.Round(time.Millisecond))
	rawAfter, err := measureRaw(ctx, srv.ClientURL(), msgs)
	if err != nil {
		return fmt.Errorf("raw jetstream: %w", err)
	}
	fmt.Fprintf(out, "raw JetStream publish+consume, after ingest: %.0f msg/s (%s)\n", rate(len(msgs), rawAfter), rawAfter.Round(time.Millisecond))
	raw = min(raw, rawAfter)
	fmt.Fprintf(out, "ingest/raw ratio: %.2f\n", rate(len(msgs), ing)/rate(len(msgs), raw))
	return nil
}

func rate(n int, d time.Duration) float64 { return float64(n) / d.Seconds() }

// publishAll publishes every message to subject as fast as JetStream takes
// them, each with its Nats-Msg-Id, and waits for every ack. A message whose
// publication failed (an ack timeout on a loaded machine) is published
// again under the same id, which JetStream de-duplicates.
func publishAll(ctx context.Context, js jetstream.JetStream, subject string, msgs [][]byte) error {
	futures := make([]jetstream.PubAckFuture, len(msgs))
	for i, data := range msgs {
		m := nats.NewMsg(subject)
		m.Data = data
		m.Header.Set(contract.HeaderMsgID, fmt.Sprintf("m-%d", i))
		f, err := js.PublishMsgAsync(m)
		if err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		futures[i] = f
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
func measureRaw(ctx context.Context, url string, msgs [][]byte) (time.Duration, error) {
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
	go func() { pubErr <- publishAll(ctx, js, "bench.raw", msgs) }()
	for n := 0; n < len(msgs); n++ {
		m, err := it.Next()
		if err != nil {
			return 0, err
		}
		_ = m.Ack()
	}
	elapsed := time.Since(start)
	return elapsed, <-pubErr
}

// measureIngest runs every service in this process against the server and
// publishes the messages as failures, until ingest has committed them all.
func measureIngest(ctx context.Context, url, dir string, msgs [][]byte, log *slog.Logger) (time.Duration, ingest.Stats, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cfg := app.DefaultConfig()
	cfg.NATSURL = url
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.ReportsDir = filepath.Join(dir, "reports")
	cfg.Codebase = ""
	started := make(chan app.Running, 1)
	appErr := make(chan error, 1)
	go func() {
		appErr <- app.Run(ctx, app.TargetAll, cfg, log, io.Discard, app.Hooks{Started: func(r app.Running) { started <- r }})
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
	subject, _ := contract.FailureSubject("bench")
	start := time.Now()
	pubErr := make(chan error, 1)
	go func() { pubErr <- publishAll(ctx, js, subject, msgs) }()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	last, lastChange := int64(0), time.Now()
	for applied := int64(0); applied < int64(len(msgs)); applied = running.Ingest.Stats().Applied {
		if applied != last {
			last, lastChange = applied, time.Now()
		} else if time.Since(lastChange) > time.Minute {
			return 0, ingest.Stats{}, fmt.Errorf("ingest stalled at %d of %d failures for a minute: %+v", applied, len(msgs), running.Ingest.Stats())
		}
		select {
		case <-tick.C:
		case err := <-appErr:
			return 0, ingest.Stats{}, fmt.Errorf("services stopped: %v", err)
		case <-ctx.Done():
			return 0, ingest.Stats{}, ctx.Err()
		}
	}
	elapsed := time.Since(start)
	stats := running.Ingest.Stats()
	if err := <-pubErr; err != nil {
		return 0, ingest.Stats{}, err
	}
	cancel()
	if err := <-appErr; err != nil {
		return 0, ingest.Stats{}, err
	}
	return elapsed, stats, nil
}
