package report

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/logging"
	"github.com/rounds-dev/rounds/pkg/messaging"
	"github.com/rounds-dev/rounds/pkg/natstest"
	"github.com/rounds-dev/rounds/services/report/internal/github"
	"github.com/rounds-dev/rounds/services/report/internal/github/githubtest"
	"github.com/rounds-dev/rounds/services/report/internal/sink"
	"github.com/rounds-dev/rounds/services/report/internal/webhook"
)

func TestConfigFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    Sinks
		wantErr string
	}{
		{name: "markdown is the default", want: Sinks{"markdown"}},
		{name: "several sinks, once each, in the order given", args: []string{"--report-sinks", " stdout,Markdown,,stdout "}, want: Sinks{"stdout", "markdown"}},
		{name: "an unknown sink is refused", args: []string{"--report-sinks", "markdown,slack"}, wantErr: `unknown sink "slack"`},
		{name: "an empty list is refused", args: []string{"--report-sinks", ","}, wantErr: "no sink named"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			c.RegisterFlags(fs, "report-")
			err := fs.Parse(tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || strings.Join(c.Sinks, ",") != strings.Join(tt.want, ",") {
				t.Errorf("sinks %v (%v), want %v", c.Sinks, err, tt.want)
			}
		})
	}
}

func TestConfigValidateSaysWhatASinkNeeds(t *testing.T) {
	base := func() Config {
		c := DefaultConfig()
		c.DataDir, c.ReportsDir = "data", "reports"
		return c
	}
	tests := []struct {
		name   string
		edit   func(*Config)
		expect string
	}{
		{"github without a repo", func(c *Config) { c.Sinks = Sinks{"github"}; c.GitHubToken = "t" }, "--report-github-repo"},
		{"github without a token", func(c *Config) { c.Sinks = Sinks{"github"}; c.GitHubRepo = "a/b" }, "ROUNDS_GITHUB_TOKEN"},
		{"github with a bad url", func(c *Config) {
			c.Sinks, c.GitHubRepo, c.GitHubToken, c.GitHubURL = Sinks{"github"}, "a/b", "t", "api.github.com"
		}, "--report-github-url"},
		{"a webhook without a url", func(c *Config) { c.Sinks = Sinks{"webhook"}; c.WebhookSecret = "s" }, "--report-webhook-url"},
		{"a webhook without a secret", func(c *Config) { c.Sinks = Sinks{"webhook"}; c.WebhookURL = "https://example.com/hook" }, "ROUNDS_WEBHOOK_SECRET"},
		{"markdown without a reports dir", func(c *Config) { c.ReportsDir = "" }, "reports dir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			tt.edit(&c)
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tt.expect) {
				t.Errorf("Validate = %v, want it to mention %q", err, tt.expect)
			}
		})
	}
	t.Run("stdout alone needs no reports dir", func(t *testing.T) {
		c := base()
		c.ReportsDir, c.Sinks = "", Sinks{"stdout"}
		if err := c.Validate(); err != nil {
			t.Error(err)
		}
	})
}

// hooks receives webhook POSTs, verifying each signature, failing the
// first with a 503.
type hooks struct {
	mu       sync.Mutex
	failNext bool
	refused  int
	got      []string // X-Rounds-Delivery of each verified POST it took
	bad      int
}

func (h *hooks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	if !webhook.Verify([]byte(webhookSecret), body, r.Header.Get(webhook.HeaderSignature)) {
		h.bad++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if h.failNext {
		h.failNext = false
		h.refused++
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	h.got = append(h.got, r.Header.Get(webhook.HeaderDelivery))
}

func (h *hooks) deliveries() (got []string, refused, bad int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.got...), h.refused, h.bad
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

const (
	ghToken       = "ghp_e2e-token"
	webhookSecret = "e2e-secret"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func publish(t *testing.T, js jetstream.JetStream, subject, msgID string, v any) {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.PublishMsg(context.Background(), &nats.Msg{Subject: subject, Data: data, Header: nats.Header{contract.HeaderMsgID: []string{msgID}}}); err != nil {
		t.Fatal(err)
	}
}

func TestReportDeliversToEverySinkOnceAndFollowsTheSignature(t *testing.T) {
	url := natstest.Start(t)
	_, js := natstest.Connect(t, url)
	streams := messaging.DefaultStreamsConfig()
	if err := messaging.EnsureStreams(context.Background(), js, streams); err != nil {
		t.Fatal(err)
	}
	gh := githubtest.Start(t, "acme/shop", ghToken)
	hk := &hooks{failNext: true}
	hookSrv := httptest.NewServer(hk)
	t.Cleanup(hookSrv.Close)
	var logs lockedBuffer
	stdout := &lockedBuffer{}

	cfg := DefaultConfig()
	cfg.DataDir, cfg.ReportsDir, cfg.Streams, cfg.Stdout = t.TempDir(), t.TempDir(), streams, stdout
	cfg.Sinks = Sinks{SinkMarkdown, SinkStdout, SinkGitHub, SinkWebhook}
	cfg.GitHubURL, cfg.GitHubRepo, cfg.GitHubToken = gh.URL, "acme/shop", ghToken
	cfg.WebhookURL, cfg.WebhookSecret = hookSrv.URL, webhookSecret
	log, err := logging.New(&logs, logging.Config{Format: logging.FormatJSON, Level: "debug"})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(cfg, messaging.URLDialer(url, 10*time.Second, log), log)
	if err != nil {
		t.Fatal(err)
	}
	noWait := func(context.Context, time.Duration) error { return nil }
	svc.edges.github = func(c *github.ClientConfig) { c.Sleep = noWait }
	svc.edges.webhook = func(c *webhook.Config) { c.Sleep = noWait }
	svc.edges.runner = func(r *sink.Runner) { r.Backoff = func(int) time.Duration { return time.Millisecond } }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})

	sig := contract.Signature{ID: "s1", Project: "shop", Title: "cart.TestAdd: expected <*>, got <*>", ErrorType: "AssertionError",
		Status: contract.StatusDiagnosing, Occurrences: 2, FirstSeen: t0, LastSeen: t0}
	diag := contract.DiagnosisCompleted{Schema: contract.SchemaDiagnosis, ID: "diag-1", Time: t0, Signature: sig,
		Diagnosis: contract.Diagnosis{Category: "assertion", RootCause: "3 is not 4", Confidence: 0.8, Diagnoser: "heuristic"}}
	publish(t, js, "rounds.diagnoses.shop", diag.ID, diag)
	eventually(t, "the issue", func() bool { return len(gh.Issues()) == 1 })

	change := func(id string, c contract.SignatureChange, tr contract.SignatureTransition, status contract.SignatureStatus, minutes int) contract.SignatureChanged {
		s := sig
		s.Status, s.LastSeen, s.Occurrences = status, t0.Add(time.Duration(minutes)*time.Minute), int64(2+minutes)
		return contract.SignatureChanged{Schema: contract.SchemaSignature, ID: id, Time: s.LastSeen, Change: c, Transition: tr, Signature: s, Reason: "why " + id}
	}
	resolved := change("e-resolved", contract.ChangeStatus, contract.TransitionResolved, contract.StatusResolved, 10)
	publish(t, js, "rounds.signatures.shop.status", resolved.ID, resolved)
	eventually(t, "the issue closed", func() bool { return gh.Issues()[1].State == "closed" })
	regressed := change("e-regressed", contract.ChangeRegressed, contract.TransitionRegressed, contract.StatusRegressed, 20)
	publish(t, js, "rounds.signatures.shop.regressed", regressed.ID, regressed)
	eventually(t, "the issue reopened", func() bool { return gh.Issues()[1].State == "open" })

	// Redeliveries past JetStream's duplicate window: new message ids,
	// the same events.
	publish(t, js, "rounds.diagnoses.shop", "again-"+diag.ID, diag)
	publish(t, js, "rounds.signatures.shop.regressed", "again-"+regressed.ID, regressed)
	// A later event tells when the redeliveries were handled: both
	// consumers are in order.
	marker := contract.DiagnosisCompleted{Schema: contract.SchemaDiagnosis, ID: "diag-marker", Time: t0.Add(time.Hour), Signature: contract.Signature{ID: "s2", Project: "shop", Title: "other"}}
	publish(t, js, "rounds.diagnoses.shop", marker.ID, marker)
	recurred := change("e-recurred", contract.ChangeRecurred, "", contract.StatusRegressed, 30)
	publish(t, js, "rounds.signatures.shop.recurred", recurred.ID, recurred)
	eventually(t, "every sink to settle", func() bool {
		st := svc.Stats().Sinks
		return len(gh.Issues()) == 2 && st[SinkGitHub].Delivered == 4 && st[SinkWebhook].Delivered == 4 && st[SinkStdout].Delivered == 4 && st[SinkMarkdown].Delivered == 5
	})

	issue := gh.Issues()[1]
	if issue.State != "open" || len(issue.Comments) != 2 || !strings.Contains(issue.Comments[0], "resolved") || !strings.Contains(issue.Comments[1], "regressed") || strings.Join(issue.Labels, ",") != "rounds,regressed" {
		t.Errorf("issue %+v; want open, labelled regressed, one comment per change and none for the redeliveries", issue)
	}
	got, refused, bad := hk.deliveries()
	if want := "diag-1,e-resolved,e-regressed,diag-marker"; strings.Join(got, ",") != want || refused != 1 || bad != 0 {
		t.Errorf("webhook took %v (%d refused, %d unverified), want %s after one refusal", got, refused, bad, want)
	}
	if st := svc.Stats().Sinks[SinkWebhook]; st.Failed != 0 || st.Dropped != 0 {
		t.Errorf("webhook stats %+v, want the 503 retried within the delivery", st)
	}
	page, err := os.ReadFile(filepath.Join(cfg.ReportsDir, "shop", "AssertionError_s1.md"))
	if err != nil {
		t.Fatal(err)
	}
	history := string(page[bytes.Index(page, []byte("## History")):])
	for what, n := range map[string]int{"| recurred |": 1, "| regressed |": 1, "| resolved |": 1, "| diagnosed |": 1} {
		if got := strings.Count(history, what); got != n {
			t.Errorf("history has %d %q entries, want %d:\n%s", got, what, n, history)
		}
	}
	// summary.md is rewritten once the markdown outbox is drained, just
	// after the last page.
	eventually(t, "summary.md to list both signatures", func() bool {
		summary, err := os.ReadFile(filepath.Join(cfg.ReportsDir, "summary.md"))
		return err == nil && strings.Contains(string(summary), "## regressed (1)") && strings.Contains(string(summary), "## diagnosed (1)")
	})
	if out := stdout.String(); strings.Count(out, "● report") != 2 || strings.Count(out, "● regressed") != 1 || strings.Contains(out, "● recurred") {
		t.Errorf("stdout:\n%s", out)
	}
	if strings.Contains(logs.String(), ghToken) || strings.Contains(logs.String(), webhookSecret) {
		t.Error("the logs show a secret")
	}

	// The report events: one per diagnosis, the redelivery's dropped by
	// JetStream as a duplicate of the same id.
	cons, err := js.OrderedConsumer(context.Background(), contract.StreamReports, jetstream.OrderedConsumerConfig{FilterSubjects: []string{contract.ReportsAll}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for {
		msg, err := cons.Next(jetstream.FetchMaxWait(time.Second))
		if err != nil {
			break
		}
		r, err := contract.DecodeReportPublished(msg.Data())
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID+"@"+r.Reported.File)
	}
	if want := "report.diag-1@shop/AssertionError_s1.md,report.diag-marker@shop/unknown_s2.md"; strings.Join(ids, ",") != want {
		t.Errorf("report events %v, want %s", ids, want)
	}
}

func TestAMalformedSignatureEventIsSkippedAndTheNextOneHandled(t *testing.T) {
	url := natstest.Start(t)
	_, js := natstest.Connect(t, url)
	streams := messaging.DefaultStreamsConfig()
	if err := messaging.EnsureStreams(context.Background(), js, streams); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.DataDir, cfg.ReportsDir, cfg.Streams = t.TempDir(), t.TempDir(), streams
	svc, err := New(cfg, messaging.URLDialer(url, 10*time.Second, logging.Discard()), logging.Discard())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})

	if _, err := js.Publish(context.Background(), "rounds.signatures.shop.detected", []byte(`[1,2]`)); err != nil {
		t.Fatal(err)
	}
	good := contract.SignatureChanged{Schema: contract.SchemaSignature, ID: "e1", Time: t0, Change: contract.ChangeDetected,
		Signature: contract.Signature{ID: "s1", Project: "shop", ErrorType: "E", Status: contract.StatusNew, Occurrences: 1, LastSeen: t0}}
	publish(t, js, "rounds.signatures.shop.detected", good.ID, good)
	eventually(t, "the good event's page", func() bool {
		_, err := os.Stat(filepath.Join(cfg.ReportsDir, "shop", "E_s1.md"))
		return err == nil
	})
	// Diagnose dead-letters the bad event; report adds no second copy.
	info, err := js.Stream(context.Background(), contract.StreamDeadletter)
	if err != nil {
		t.Fatal(err)
	}
	if n := info.CachedInfo().State.Msgs; n != 0 {
		t.Errorf("report dead-lettered %d messages, want none", n)
	}
}
