package cli

import (
	"flag"
	"fmt"
	"log/slog"

	"github.com/rounds-dev/rounds/cmd/rounds/internal/app"
	"github.com/rounds-dev/rounds/pkg/envflag"
	"github.com/rounds-dev/rounds/pkg/logging"
	"github.com/rounds-dev/rounds/pkg/messaging"
)

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(env Env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet("rounds "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = envflag.Usage(fs, "Usage: rounds "+synopsis)
	return fs
}

// parse parses args, flags and operands in any order (everything after
// "--" is an operand), then fills what was not given from the environment.
// It returns the operands.
func parse(fs *flag.FlagSet, env Env, args []string) ([]string, error) {
	var operands []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			operands = append(operands, rest...)
			break
		}
		operands = append(operands, rest[0])
		args = rest[1:]
	}
	if err := envflag.Apply(fs, env.Lookup); err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	return operands, nil
}

// logFlags registers --log-format and --log-level.
func logFlags(fs *flag.FlagSet) *logging.Config {
	cfg := &logging.Config{Format: logging.FormatAuto, Level: "info"}
	fs.StringVar(&cfg.Format, "log-format", cfg.Format, "log format: auto (text on a terminal, JSON otherwise), text or json")
	fs.StringVar(&cfg.Level, "log-level", cfg.Level, "log level: debug, info, warn or error")
	return cfg
}

func newLogger(env Env, cfg *logging.Config) (*slog.Logger, error) {
	log, err := logging.New(env.Stderr, *cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	return log, nil
}

// natsURLFlag registers --nats-url with the clients' default.
func natsURLFlag(fs *flag.FlagSet) *string {
	return fs.String("nats-url", messaging.DefaultURL, "NATS server URL")
}

// serviceFlags registers the flags of the services and the root config.
// withEmbedded adds --nats-listen and leaves --nats-url empty by default
// (empty: run the embedded server).
func serviceFlags(fs *flag.FlagSet, withEmbedded bool) *app.Config {
	cfg := app.DefaultConfig()
	if withEmbedded {
		fs.StringVar(&cfg.NATSURL, "nats-url", "", "external NATS server URL; empty runs an embedded server")
		fs.StringVar(&cfg.NATSListen, "nats-listen", cfg.NATSListen, "where the embedded NATS server listens (host:port)")
	} else {
		cfg.NATSURL = messaging.DefaultURL
		fs.StringVar(&cfg.NATSURL, "nats-url", cfg.NATSURL, "NATS server URL")
	}
	fs.DurationVar(&cfg.ConnectTimeout, "connect-timeout", cfg.ConnectTimeout, "how long to wait for NATS at start")
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "state: one Badger directory per service (and nats/ for the embedded server)")
	fs.StringVar(&cfg.ReportsDir, "reports-dir", cfg.ReportsDir, "where markdown reports are written")
	fs.StringVar(&cfg.Codebase, "codebase", cfg.Codebase, "the target project's source tree, read-only; empty for none")
	fs.StringVar(&cfg.HTTP.Listen, "http-listen", cfg.HTTP.Listen, "the one HTTP listener (host:port): /healthz, /readyz, /metrics and, with ingest, the API under /v1/; empty serves none")
	fs.BoolVar(&cfg.API.NoAuth, "http-no-auth", cfg.API.NoAuth, "serve the API without ROUNDS_API_TOKEN; refused unless --http-listen is a loopback address")
	fs.Int64Var(&cfg.API.MaxBodyBytes, "http-max-body-bytes", cfg.API.MaxBodyBytes, "largest request body the API reads; a larger one is answered 413")
	cfg.Streams.RegisterFlags(fs)
	cfg.Ingest.RegisterFlags(fs, "ingest-")
	cfg.Diagnose.RegisterFlags(fs, "diagnose-")
	cfg.Report.RegisterFlags(fs, "report-")
	envflag.Alias(fs, "sinks", "report-sinks")
	return &cfg
}
