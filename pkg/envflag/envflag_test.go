package envflag

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

func TestApply(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		env         map[string]string
		wantURL     string
		wantTimeout time.Duration
		wantErr     string
	}{
		{name: "the default stays when neither flag nor variable is given", wantURL: "nats://default", wantTimeout: time.Second},
		{name: "the variable overrides the default", env: map[string]string{"ROUNDS_NATS_URL": "nats://env"}, wantURL: "nats://env", wantTimeout: time.Second},
		{name: "the flag overrides the variable", args: []string{"--nats-url", "nats://flag"}, env: map[string]string{"ROUNDS_NATS_URL": "nats://env"}, wantURL: "nats://flag", wantTimeout: time.Second},
		{name: "a multi-word flag maps to underscores", env: map[string]string{"ROUNDS_CONNECT_TIMEOUT": "5s"}, wantURL: "nats://default", wantTimeout: 5 * time.Second},
		{name: "a bad value in the environment is an error naming the variable", env: map[string]string{"ROUNDS_CONNECT_TIMEOUT": "soon"}, wantErr: "ROUNDS_CONNECT_TIMEOUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			url := fs.String("nats-url", "nats://default", "")
			timeout := fs.Duration("connect-timeout", time.Second, "")
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			err := Apply(fs, func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if *url != tt.wantURL || *timeout != tt.wantTimeout {
				t.Fatalf("got %s %s, want %s %s", *url, *timeout, tt.wantURL, tt.wantTimeout)
			}
		})
	}
}

func TestAlias(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		env       map[string]string
		wantSinks string
		wantQuiet bool
	}{
		{name: "the alias sets the target", args: []string{"--sinks", "stdout"}, wantSinks: "stdout"},
		{name: "the target's variable reaches the target", env: map[string]string{"ROUNDS_REPORT_SINKS": "webhook"}, wantSinks: "webhook"},
		{name: "the alias on the command line wins over the target's variable", args: []string{"--sinks", "stdout"}, env: map[string]string{"ROUNDS_REPORT_SINKS": "webhook"}, wantSinks: "stdout"},
		{name: "the alias has no variable of its own", env: map[string]string{"ROUNDS_SINKS": "stdout"}, wantSinks: "markdown"},
		{name: "an alias of a boolean flag stands alone", args: []string{"--q"}, wantSinks: "markdown", wantQuiet: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			sinks := fs.String("report-sinks", "markdown", "")
			quiet := fs.Bool("quiet", false, "")
			Alias(fs, "sinks", "report-sinks")
			Alias(fs, "q", "quiet")
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if err := Apply(fs, func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }); err != nil {
				t.Fatal(err)
			}
			if *sinks != tt.wantSinks || *quiet != tt.wantQuiet {
				t.Fatalf("got sinks %q quiet %v, want %q %v", *sinks, *quiet, tt.wantSinks, tt.wantQuiet)
			}
		})
	}
}

func TestUsageShowsAliasWithoutVariable(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	var out strings.Builder
	fs.SetOutput(&out)
	fs.String("report-sinks", "markdown", "where reports go")
	Alias(fs, "sinks", "report-sinks")
	Usage(fs, "usage: x")()
	if !strings.Contains(out.String(), "--sinks\n") || !strings.Contains(out.String(), "the same as --report-sinks") || strings.Contains(out.String(), "ROUNDS_SINKS") {
		t.Fatalf("usage:\n%s", out.String())
	}
}
