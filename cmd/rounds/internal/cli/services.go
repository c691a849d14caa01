package cli

import (
	"context"

	"github.com/rounds-dev/rounds/cmd/rounds/internal/app"
)

func runAll(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "run", "run [flags]\n\nRuns ingest, diagnose and report in one process, with an embedded NATS\nserver (JetStream) unless --nats-url names one. Ctrl-C stops it cleanly.")
	cfg := serviceFlags(fs, true)
	logCfg := logFlags(fs)
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
	secrets(env, cfg)
	cfg.Version = env.Version
	return app.Run(ctx, app.TargetAll, *cfg, log, env.Stdout, app.Hooks{})
}

func runService(target string) func(ctx context.Context, env Env, args []string) error {
	return func(ctx context.Context, env Env, args []string) error {
		fs := newFlagSet(env, target, target+" [flags]\n\nRuns the "+target+" service against the NATS server at --nats-url.")
		cfg := serviceFlags(fs, false)
		logCfg := logFlags(fs)
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
		secrets(env, cfg)
		cfg.Version = env.Version
		return app.Run(ctx, target, *cfg, log, env.Stdout, app.Hooks{})
	}
}

// secrets reads what must never be a flag (flags show in process lists and
// shell history) from the environment only.
func secrets(env Env, cfg *app.Config) {
	cfg.Diagnose.OpenAI.APIKey, _ = env.Lookup("OPENAI_API_KEY")
	if cfg.Report.GitHubToken, _ = env.Lookup("ROUNDS_GITHUB_TOKEN"); cfg.Report.GitHubToken == "" {
		cfg.Report.GitHubToken, _ = env.Lookup("GITHUB_TOKEN")
	}
	cfg.Report.WebhookSecret, _ = env.Lookup("ROUNDS_WEBHOOK_SECRET")
	cfg.API.Token, _ = env.Lookup("ROUNDS_API_TOKEN")
}
