package cli

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/rounds-dev/rounds/pkg/health"
)

// healthcheck probes a Rounds process's readiness and exits 0 or 1: the
// HEALTHCHECK of an image that has no curl or wget.
func healthcheck(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "healthcheck", "healthcheck [--url URL]\n\n"+
		"Exits 0 when the Rounds process at --url answers 200, 1 otherwise. Without\n"+
		"--url it probes /readyz where --http-listen says the process serves it.")
	url := fs.String("url", "", "what to probe (default: http://<--http-listen>/readyz, on 127.0.0.1 when it listens on every address)")
	listen := fs.String("http-listen", "127.0.0.1:8080", "where the process serves /healthz and /readyz (host:port)")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the answer")
	operands, err := parse(fs, env, args)
	if err != nil {
		return err
	}
	if len(operands) > 0 {
		return usageError("unexpected arguments: %s", joinUsage(operands))
	}
	target := *url
	if target == "" {
		if target, err = readyURL(*listen); err != nil {
			return usageError("--http-listen: %v", err)
		}
	}
	if err := health.Probe(ctx, target, *timeout); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "ok: %s\n", target)
	return nil
}

// readyURL turns a listen address into the URL of its /readyz, asking an
// unspecified host (0.0.0.0, ::, empty) on the loopback address.
func readyURL(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", err
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + health.PathReady, nil
}
