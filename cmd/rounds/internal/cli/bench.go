package cli

import (
	"context"
	"os"

	"github.com/rounds-dev/rounds/cmd/rounds/internal/bench"
)

func runBench(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "bench", "bench [--failures N] [--bugs N]\n\n"+
		"Publishes N synthetic failures through a plain JetStream consumer and then\n"+
		"through ingest, diagnose and report in this process, on an embedded server,\n"+
		"and prints both rates; the last line is \"ingest/raw ratio: 0.NN\".")
	cfg := bench.Config{}
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
