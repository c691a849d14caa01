package cli

import (
	"context"
	"os"

	"github.com/rounds-dev/rounds/cmd/rounds/internal/bench"
)

func runBench(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "bench", "bench [--failures N] [--bugs N] [--all-services]\n\n"+
		"Publishes N synthetic failures (with run reports) through a plain JetStream\n"+
		"consumer and then through ingest in this process (with diagnose and report\n"+
		"too with --all-services), on an embedded server, and prints both rates; the\n"+
		"last line is \"ingest/raw ratio: 0.NN\".")
	cfg := bench.Config{}
	fs.BoolVar(&cfg.AllServices, "all-services", false, "run diagnose and report beside ingest while it is measured, as `rounds run` does")
	fs.IntVar(&cfg.BatchSize, "batch-size", 0, "ingest's largest batch (0: its default)")
	fs.IntVar(&cfg.Failures, "failures", 100000, "how many failures to publish")
	fs.IntVar(&cfg.Bugs, "bugs", 200, "how many distinct bugs they come from")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of the ingest phase to this file")
	logCfg := logFlags(fs)
	logCfg.Level = "warn"
	operands, err := parse(fs, env, args)
	if err != nil {
		return err
	}
	if len(operands) > 0 {
		return usageError("unexpected arguments: %s", joinUsage(operands))
	}
	log, err := newLogger(env, logCfg)
	if err != nil {
		return err
	}
	cfg.Log = log
	if cfg.Failures < 1 || cfg.Bugs < 1 || cfg.Bugs > cfg.Failures {
		return usageError("--failures and --bugs must be positive, with bugs <= failures")
	}
	dir, err := os.MkdirTemp("", "rounds-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg.Dir = dir
	return bench.Run(ctx, cfg, env.Stdout)
}
