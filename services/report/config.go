package report

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"

	"github.com/rounds-dev/rounds/pkg/messaging"
	"github.com/rounds-dev/rounds/services/report/internal/github"
	"github.com/rounds-dev/rounds/services/report/internal/sink"
)

// Sink names, for --report-sinks.
const (
	SinkMarkdown = sink.Markdown
	SinkStdout   = sink.Stdout
	SinkGitHub   = sink.GitHub
	SinkWebhook  = sink.Webhook
)

// Config configures report.
type Config struct {
	// DataDir holds report's Badger state.
	DataDir string
	// ReportsDir receives the markdown reports.
	ReportsDir string
	// Streams are the limits report provisions streams with.
	Streams messaging.StreamsConfig

	// Sinks are where reports go: markdown, stdout, github, webhook.
	Sinks Sinks
	// Stdout is where the stdout sink prints; nil is os.Stdout.
	Stdout io.Writer
	// GitHubURL is the API root (GitHub Enterprise: https://HOST/api/v3)
	// and GitHubRepo the "owner/name" issues are opened in.
	GitHubURL  string
	GitHubRepo string
	// GitHubToken authenticates to GitHub. A secret: read from the
	// environment only, never a flag, never logged.
	GitHubToken string
	// WebhookURL receives the webhook sink's POSTs.
	WebhookURL string
	// WebhookSecret keys the HMAC-SHA256 signature of each POST. A secret
	// like GitHubToken.
	WebhookSecret string
}

// DefaultConfig returns report's defaults; the directories are left to the
// caller.
func DefaultConfig() Config {
	return Config{
		Streams:   messaging.DefaultStreamsConfig(),
		Sinks:     Sinks{SinkMarkdown},
		GitHubURL: github.DefaultURL,
	}
}

// RegisterFlags registers report's own flags, named with prefix. The
// secrets have no flags: flags show in process lists and shell history.
func (c *Config) RegisterFlags(fs *flag.FlagSet, prefix string) {
	fs.Var(&c.Sinks, prefix+"sinks", "where reports go, a comma list of markdown, stdout, github, webhook")
	fs.StringVar(&c.GitHubURL, prefix+"github-url", c.GitHubURL, "GitHub API root for the github sink (GitHub Enterprise: https://HOST/api/v3)")
	fs.StringVar(&c.GitHubRepo, prefix+"github-repo", c.GitHubRepo, "owner/name of the repository the github sink opens issues in (token: ROUNDS_GITHUB_TOKEN or GITHUB_TOKEN)")
	fs.StringVar(&c.WebhookURL, prefix+"webhook-url", c.WebhookURL, "URL the webhook sink POSTs each report to (secret: ROUNDS_WEBHOOK_SECRET)")
}

// Validate reports a setting report cannot run with.
func (c Config) Validate() error {
	switch {
	case c.DataDir == "":
		return errors.New("report: data dir is required")
	case c.Sinks.Has(SinkMarkdown) && c.ReportsDir == "":
		return errors.New("report: reports dir is required by the markdown sink")
	case len(c.Sinks) == 0:
		return errors.New("report: at least one sink is required")
	}
	if c.Sinks.Has(SinkGitHub) {
		switch {
		case !github.ValidRepo(c.GitHubRepo):
			return fmt.Errorf("report: the github sink needs --report-github-repo owner/name, got %q", c.GitHubRepo)
		case c.GitHubToken == "":
			return errors.New("report: the github sink needs a token in ROUNDS_GITHUB_TOKEN or GITHUB_TOKEN")
		}
		if err := httpURL(c.GitHubURL); err != nil {
			return fmt.Errorf("report: --report-github-url: %w", err)
		}
	}
	if c.Sinks.Has(SinkWebhook) {
		if err := httpURL(c.WebhookURL); err != nil {
			return fmt.Errorf("report: the webhook sink needs --report-webhook-url: %w", err)
		}
		if c.WebhookSecret == "" {
			return errors.New("report: the webhook sink needs a secret in ROUNDS_WEBHOOK_SECRET")
		}
	}
	return c.Streams.Validate()
}

// httpURL checks an http(s) URL; its error does not repeat the URL, which
// may carry credentials.
func httpURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("not an http(s) URL")
	}
	return nil
}

// Sinks is a set of sink names, as a comma list on the command line.
type Sinks []string

// String returns the comma list.
func (s *Sinks) String() string { return strings.Join(*s, ",") }

// Set replaces the list with a comma list of known sinks, each once.
func (s *Sinks) Set(v string) error {
	var out Sinks
	for name := range strings.SplitSeq(v, ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "" {
			continue
		}
		if !slices.Contains(sink.Names, name) {
			return fmt.Errorf("unknown sink %q: want %s", name, strings.Join(sink.Names, ", "))
		}
		if !out.Has(name) {
			out = append(out, name)
		}
	}
	if len(out) == 0 {
		return fmt.Errorf("no sink named: want some of %s", strings.Join(sink.Names, ", "))
	}
	*s = out
	return nil
}

// Has reports whether name is in the set.
func (s Sinks) Has(name string) bool { return slices.Contains(s, name) }
