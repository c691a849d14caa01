package e2e

import (
	"context"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"

	"github.com/rounds-dev/rounds/cmd/rounds/internal/cli"
)

// childArgs, when set in the environment, makes the test binary run as the
// rounds command with these arguments (separated by \x1f): the crash tests
// kill it like any process, without building the binary first.
const childArgs = "ROUNDS_E2E_CHILD_ARGS"

func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv(childArgs); ok {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := cli.Main(ctx, cli.Env{
			Args: strings.Split(args, "\x1f"), Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
			Lookup: os.LookupEnv, Version: "e2e",
		})
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}
