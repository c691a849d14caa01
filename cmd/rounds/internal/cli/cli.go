// Package cli implements the rounds command line: it parses flags (each
// also read from a ROUNDS_* environment variable), builds the logger and
// hands over to the composition root or the client.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Env is everything a command may touch of the outside world.
type Env struct {
	Args           []string
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Lookup         func(string) (string, bool)
	Version        string
}

// errUsage marks an error in how the command was called: exit status 2.
var errUsage = errors.New("usage")

type command struct {
	summary string
	run     func(ctx context.Context, env Env, args []string) error
}

// hidden commands work but are left out of the usage.
var hidden = map[string]bool{}

func commands() map[string]command {
	return map[string]command{
		"run":         {"run ingest, diagnose and report in one process (embedded NATS unless --nats-url)", runAll},
		"ingest":      {"run the ingest service against --nats-url", runService("ingest")},
		"diagnose":    {"run the diagnose service against --nats-url", runService("diagnose")},
		"report":      {"run the report service against --nats-url", runService("report")},
		"publish":     {"publish failures from JUnit XML or Rounds JSON files (- for stdin)", publish},
		"reports":     {"print report events (--follow to wait for new ones)", reports},
		"template":    {"print the grouping template of each message read on stdin", template},
		"bench":       {"measure ingest against raw JetStream on this machine", runBench},
		"version":     {"print the version", version},
		"healthcheck": {"exit 0 if a Rounds process answers at /readyz, 1 if not (for container healthchecks)", healthcheck},
		"signatures":  {"list, show, mute, unmute, resolve, reopen, retriage, tag or export signatures", signatures},
		"status":      {"show the services, stream lag, dead letters and signatures by status", status},
	}
}

// Main runs the command named by env.Args and returns the exit status.
func Main(ctx context.Context, env Env) int {
	cmds := commands()
	if len(env.Args) == 0 || env.Args[0] == "help" || env.Args[0] == "-h" || env.Args[0] == "--help" {
		usage(env.Stdout, cmds)
		if len(env.Args) == 0 {
			return 2
		}
		return 0
	}
	name := env.Args[0]
	cmd, ok := cmds[name]
	if !ok {
		fmt.Fprintf(env.Stderr, "rounds: unknown command %q\n\n", name)
		usage(env.Stderr, cmds)
		return 2
	}
	err := cmd.run(ctx, env, env.Args[1:])
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(env.Stderr, "rounds %s: %v\n", name, err)
		return 2
	default:
		fmt.Fprintf(env.Stderr, "rounds %s: %v\n", name, err)
		return 1
	}
}

func usage(w io.Writer, cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		if !hidden[n] {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	fmt.Fprintln(w, "rounds: failures in, diagnoses out.\n\nUsage: rounds <command> [flags]\n\nCommands:")
	for _, n := range names {
		fmt.Fprintf(w, "  %-11s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nrounds <command> --help lists a command's flags; each flag --x-y is also ROUNDS_X_Y.")
}

// usageError wraps a message as a usage error.
func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

// joinUsage formats a list for messages.
func joinUsage(items []string) string { return strings.Join(items, ", ") }
