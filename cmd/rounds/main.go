// Command rounds runs the Rounds services and talks to them: run, ingest,
// diagnose, report, publish, reports, template, bench, version.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/rounds-dev/rounds/cmd/rounds/internal/cli"
)

// version is stamped at build time: -ldflags "-X main.version=1.2.3".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, cli.Env{
		Args:    os.Args[1:],
		Stdin:   os.Stdin,
		Stdout:  os.Stdout,
		Stderr:  os.Stderr,
		Lookup:  os.LookupEnv,
		Version: version,
	})
	stop()
	os.Exit(code)
}
