package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rounds-dev/rounds/cmd/rounds/internal/app"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/logging"
	"github.com/rounds-dev/rounds/pkg/natstest"
	"github.com/rounds-dev/rounds/services/ingest"
)

// clock is ingest's clock in these tests: it moves only when told.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// startWithIngest is start that also hands over the running ingest, whose
// lifecycle operations the management API will call.
func startWithIngest(t *testing.T, url string, cfg app.Config) (*rounds, *ingest.Service) {
	t.Helper()
	r := start(t, url, cfg)
	return r, r.proc.Ingest
}

// testFailure is a failed test of shop in a CI run.
func testFailure(id, test, run, commit string) contract.Failure {
	suite, name, _ := strings.Cut(test, ".")
	return contract.Failure{
		Schema: contract.SchemaFailure, ID: id, Project: "shop", Time: time.Now().UTC(), Kind: contract.KindTest,
		Test:  &contract.TestIdentity{Framework: "junit", Suite: suite, Name: name},
		Error: contract.ErrorInfo{Type: "java.lang.AssertionError", Message: "expected:<3> but was:<4> for " + test},
		Run:   contract.RunInfo{ID: run, Commit: commit, Attempt: 1},
	}
}

// runReport is the report of a run of total tests, failed of them, in which
// passed passed (and retried passed on a retry).
func runReport(run, commit string, total, failed int, passed, retried []string) contract.RunReported {
	refs := func(tests []string) []contract.TestRef {
		var out []contract.TestRef
		for _, t := range tests {
			suite, name, _ := strings.Cut(t, ".")
			out = append(out, contract.TestRef{Suite: suite, Name: name})
		}
		return out
	}
	return contract.RunReported{
		Schema: contract.SchemaRun, ID: "report-" + run, Project: "shop", Time: time.Now().UTC(),
		Run: contract.RunInfo{ID: run, Commit: commit}, Source: "TEST-shop.xml", Framework: "junit",
		Passed: contract.GroupTests(refs(append(passed, retried...))), PassedOnRetry: contract.GroupTests(refs(retried)),
		Total: total, Failed: failed,
	}
}

func (r *rounds) publishRun(rep contract.RunReported) {
	r.t.Helper()
	if _, err := r.client.PublishRun(context.Background(), rep); err != nil {
		r.t.Fatal(err)
	}
}

// nextChange returns the next signature event, decoded.
func nextChange(t *testing.T, sigs <-chan jetstream.Msg) contract.SignatureChanged {
	t.Helper()
	return next(t, "signature event", sigs, contract.DecodeSignatureChanged)
}

func TestATestThatPassesOnRetryIsFlakyAndAnnouncedOnce(t *testing.T) {
	r := start(t, natstest.Start(t), newConfig(t))
	sigs := r.watch(contract.StreamSignatures, contract.SignaturesAll)

	// The first attempt failed, the retry passed: the failure waits for
	// its run's report, which says so.
	r.publish(testFailure("run-1/testAdd/1", "shop.cart.CartTest.testAdd", "run-1", "abc123"))
	r.publishRun(runReport("run-1", "abc123", 30, 0, []string{"shop.cart.CartTest.testRemove"}, []string{"shop.cart.CartTest.testAdd"}))

	detected, flaky := nextChange(t, sigs), nextChange(t, sigs)
	if detected.Change != contract.ChangeDetected || flaky.Change != contract.ChangeFlaky {
		t.Fatalf("changes %s then %s, want detected then flaky", detected.Change, flaky.Change)
	}
	if !flaky.Signature.Flaky || flaky.Reason != "its test passed on a retry in run run-1" || flaky.Storm {
		t.Errorf("flaky event: flaky %v, reason %q, storm %v", flaky.Signature.Flaky, flaky.Reason, flaky.Storm)
	}

	// Failing and passing again on the same commit changes nothing more.
	r.publish(testFailure("run-2/testAdd/1", "shop.cart.CartTest.testAdd", "run-2", "abc123"))
	r.publishRun(runReport("run-2", "abc123", 30, 0, []string{"shop.cart.CartTest.testAdd"}, nil))
	if ev := nextChange(t, sigs); ev.Change != contract.ChangeRecurred {
		t.Fatalf("change %s, want recurred (the 2nd occurrence)", ev.Change)
	}
	nothingMore(t, "signature events: flakiness is announced once", sigs)
}

func TestARunInWhichMostTestsFailIsAStormThatIsNotDiagnosed(t *testing.T) {
	r := start(t, natstest.Start(t), newConfig(t))
	sigs := r.watch(contract.StreamSignatures, contract.SignaturesAll)
	reports := r.watch(contract.StreamReports, contract.ReportsAll)

	var failures []contract.Failure
	for i := range 12 {
		f := testFailure(fmt.Sprint("storm-", i), fmt.Sprintf("shop.it.DbTest%d.testQuery", i), "run-storm", "abc123")
		f.Error = contract.ErrorInfo{Type: "java.sql.SQLTransientConnectionException", Message: fmt.Sprintf("HikariPool-1 - Connection is not available, request timed out after 30000ms (test %d)", i)}
		failures = append(failures, f)
	}
	r.publish(failures...)
	r.publishRun(runReport("run-storm", "abc123", 20, 12, []string{"shop.cart.CartTest.testAdd"}, nil))

	for i := range 12 {
		ev := nextChange(t, sigs)
		if ev.Change != contract.ChangeDetected || !ev.Storm {
			t.Fatalf("event %d: %s, storm %v; want detected during a storm", i, ev.Change, ev.Storm)
		}
	}
	nothingMore(t, "reports: a storm is not diagnosed", reports)

	// A run that fails as usual afterwards is diagnosed.
	r.publishRun(runReport("run-calm", "abc124", 20, 1, nil, nil))
	r.publish(testFailure("calm-1", "shop.cart.CartTest.testTotal", "run-calm", "abc124"))
	if ev := nextChange(t, sigs); ev.Storm {
		t.Fatalf("the calm run's failure came as a storm: %+v", ev)
	}
	next(t, "report of the calm run's failure", reports, contract.DecodeReportPublished)
}

func TestASignatureIsMutedResolvedRegressedAndAutoResolved(t *testing.T) {
	cfg := newConfig(t)
	clk := &clock{now: time.Now().UTC()}
	cfg.Ingest.Now = clk.Now
	cfg.Ingest.SweepInterval = 10 * time.Millisecond
	cfg.Ingest.AutoResolveAfter = 7 * 24 * time.Hour
	r, ing := startWithIngest(t, natstest.Start(t), cfg)
	sigs := r.watch(contract.StreamSignatures, contract.SignaturesAll)
	ctx := context.Background()

	r.publish(runtimeFailure("occ-1", "dial tcp 10.0.0.7:5432: connect: connection refused"))
	sig := nextChange(t, sigs).Signature

	status := func(what string, want contract.SignatureTransition) contract.SignatureChanged {
		t.Helper()
		ev := nextChange(t, sigs)
		if ev.Change != contract.ChangeStatus || ev.Transition != want {
			t.Fatalf("%s: event %s/%s, want status/%s", what, ev.Change, ev.Transition, want)
		}
		return ev
	}

	got, err := ing.Mute(ctx, "shop", sig.ID, time.Time{}, 2, "alice", "known outage")
	if err != nil || got.Status != contract.StatusMuted || got.Mute == nil || got.Mute.UntilOccurrences != 3 {
		t.Fatalf("Mute = %+v, %v", got, err)
	}
	if ev := status("mute", contract.TransitionMuted); ev.Reason != "muted for 2 more occurrences by alice: known outage" {
		t.Errorf("reason %q", ev.Reason)
	}
	// The first is counted silently; the second ends the mute.
	r.publish(runtimeFailure("occ-2", "dial tcp 10.0.0.8:5432: connect: connection refused"))
	r.publish(runtimeFailure("occ-3", "dial tcp 10.0.0.9:5432: connect: connection refused"))
	if ev := status("the mute's last occurrence", contract.TransitionUnmuted); ev.Signature.Occurrences != 3 || ev.Occurrence == nil || ev.Occurrence.ID != "occ-3" {
		t.Errorf("unmuted at %d occurrences by %v", ev.Signature.Occurrences, ev.Occurrence)
	}

	if _, err := ing.Resolve(ctx, "shop", sig.ID, "fix-1", "bob", "pool size raised"); err != nil {
		t.Fatal(err)
	}
	status("resolve", contract.TransitionResolved)
	if _, err := ing.Resolve(ctx, "shop", sig.ID, "fix-1", "bob", ""); !errors.Is(err, ingest.ErrTransition) {
		t.Errorf("resolving twice: %v, want ErrTransition", err)
	}
	if _, err := ing.Mute(ctx, "shop", "no-such-signature", time.Time{}, 0, "bob", ""); !errors.Is(err, ingest.ErrSignatureNotFound) {
		t.Errorf("muting an unknown signature: %v, want ErrSignatureNotFound", err)
	}

	// Seen again on the commit it was resolved in: still resolved.
	again := runtimeFailure("occ-4", "dial tcp 10.0.0.7:5432: connect: connection refused")
	again.Time, again.Run.Commit = clk.Now().Add(time.Minute), "fix-1"
	r.publish(again)
	eventually(t, "the occurrence on the resolved commit is counted", func() bool {
		s, err := ing.Signature(ctx, "shop", sig.ID)
		return err == nil && s.Occurrences == 4 && s.Status == contract.StatusResolved
	})
	// Seen on a later commit: regressed.
	later := runtimeFailure("occ-5", "dial tcp 10.0.0.7:5432: connect: connection refused")
	later.Time, later.Run.Commit = clk.Now().Add(time.Hour), "def456"
	r.publish(later)
	ev := nextChange(t, sigs)
	if ev.Change != contract.ChangeRegressed || ev.Signature.Status != contract.StatusRegressed || !ev.Signature.Regressed {
		t.Fatalf("event %s, status %s, regressed %v; want a regression", ev.Change, ev.Signature.Status, ev.Signature.Regressed)
	}

	// A week without an occurrence resolves it.
	clk.advance(8 * 24 * time.Hour)
	if ev := status("a quiet week", contract.TransitionAutoResolved); ev.Signature.Status != contract.StatusResolved || ev.Reason != "auto-resolved: no occurrence for 7d" {
		t.Errorf("status %s, reason %q", ev.Signature.Status, ev.Reason)
	}
	final, err := ing.Signature(ctx, "shop", sig.ID)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, a := range final.Audit {
		if a.Actor == "diagnose" {
			continue // whenever diagnose gets to it: tested on its own
		}
		actions = append(actions, a.Actor+":"+a.Action)
	}
	want := "alice:muted ingest:unmuted bob:resolved ingest:regressed ingest:auto-resolved"
	if got := strings.Join(actions, " "); got != want {
		t.Errorf("audit %q, want %q", got, want)
	}
}

func TestGroupingRulesFromTheCodebaseGroupAndSayWhy(t *testing.T) {
	cfg := newConfig(t)
	cfg.Codebase = t.TempDir()
	rules := "rules:\n  - name: database down\n    match: {message: connection refused}\n    fingerprint: [database-down]\n"
	if err := os.WriteFile(filepath.Join(cfg.Codebase, ".rounds.yml"), []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	// Until the composition root passes the codebase on, name the file.
	cfg.Ingest.Rules = filepath.Join(cfg.Codebase, ".rounds.yml")
	r := start(t, natstest.Start(t), cfg)
	sigs := r.watch(contract.StreamSignatures, contract.SignaturesAll)

	a := runtimeFailure("a", "dial tcp 10.0.0.7:5432: connect: connection refused")
	b := runtimeFailure("b", "ECONNREFUSED: connection refused by 10.0.0.9:6379")
	b.Service.Name, b.Error.Type = "billing", "Error"
	r.publish(a, b)
	detected, recurred := nextChange(t, sigs), nextChange(t, sigs)
	if detected.Signature.ID != recurred.Signature.ID || recurred.Change != contract.ChangeRecurred {
		t.Fatalf("%s of %s then %s of %s, want one signature", detected.Change, detected.Signature.ID, recurred.Change, recurred.Signature.ID)
	}
	comps := recurred.Signature.Components
	if len(comps) != 2 || comps[0] != (contract.Component{Name: "fingerprint", Value: "database-down"}) || comps[1] != (contract.Component{Name: "rule", Value: "database down"}) {
		t.Errorf("components %+v, want the rule's fingerprint and name", comps)
	}
}

func TestABadRulesFileStopsIngestNamingTheFileAndLine(t *testing.T) {
	cfg := newConfig(t)
	path := filepath.Join(t.TempDir(), ".rounds.yml")
	if err := os.WriteFile(path, []byte("rules:\n  - name: x\n    match: {tset: a}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.Ingest.Rules = path
	cfg.NATSURL = natstest.Start(t)
	err := app.Run(context.Background(), app.TargetIngest, cfg, logging.Discard(), &bytes.Buffer{}, app.Hooks{})
	if err == nil || !strings.Contains(err.Error(), path+`:3: unknown key "tset" in match`) {
		t.Fatalf("app.Run = %v, want the file, line and mistake", err)
	}
}

func TestBadRunReportsAreDeadletteredAndTheNextOneStillApplied(t *testing.T) {
	r, ing := startWithIngest(t, natstest.Start(t), newConfig(t))
	dead := r.watch(contract.StreamDeadletter, contract.DeadletterAll)
	good := runReport("run-9", "abc123", 3, 0, []string{"shop.cart.CartTest.testAdd"}, nil)
	good.Chunk = contract.Chunk{Count: 1}
	good.ID += ".0"

	tests := []struct {
		name, payload, reason string
	}{
		{"invalid JSON", `{"schema":`, "decode run report"},
		{"an unknown schema version", `{"schema":"rounds.run.v9","id":"x"}`, "rounds.run.v9"},
		{"invalid UTF-8", "{\"id\":\"\xff\"}", "UTF-8"},
		{"a report without a source", `{"schema":"rounds.run.v1","id":"x","project":"shop","time":"2026-11-28T10:00:00Z","run":{},"chunk":{"count":1}}`, "source is required"},
		{"more failed tests than tests", `{"schema":"rounds.run.v1","id":"x","project":"shop","time":"2026-11-28T10:00:00Z","run":{},"source":"a.xml","total":1,"failed":2,"chunk":{"count":1}}`, "more than the total"},
		{"an oversized report", `{"schema":"rounds.run.v1","pad":"` + strings.Repeat("x", contract.MaxRunBytes) + `"}`, "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := r.js.Publish(context.Background(), "rounds.runs.shop", []byte(tt.payload)); err != nil {
				t.Fatal(err)
			}
			select {
			case m := <-dead:
				if reason := m.Headers().Get(contract.HeaderDeadletterReason); !strings.Contains(reason, tt.reason) {
					t.Errorf("reason %q, want it to mention %q", reason, tt.reason)
				}
				if got := m.Headers().Get(contract.HeaderDeadletterSubject); got != "rounds.runs.shop" {
					t.Errorf("original subject %q", got)
				}
				if !bytes.Equal(m.Data(), []byte(tt.payload)) {
					t.Error("the payload is not the original")
				}
			case <-time.After(20 * time.Second):
				t.Fatal("nothing dead-lettered within 20s")
			}
		})
	}
	r.publishRun(runReport("run-9", "abc123", 3, 0, []string{"shop.cart.CartTest.testAdd"}, nil))
	eventually(t, "the good report is applied", func() bool {
		s := ing.Stats()
		return s.Runs == 1 && s.DeadletteredRuns == int64(len(tests))
	})
	// The same report again counts nothing.
	raw, _ := json.Marshal(good)
	if _, err := r.js.Publish(context.Background(), "rounds.runs.shop", raw); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the repeat is seen as one", func() bool { return ing.Stats().RunDuplicates == 1 })
}
