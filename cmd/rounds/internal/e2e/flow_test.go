// Package e2e runs the whole flow: every service in one process against an
// embedded JetStream server, driven the way users drive it.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rounds-dev/rounds/cmd/rounds/internal/app"
	"github.com/rounds-dev/rounds/cmd/rounds/internal/app/apptest"
	"github.com/rounds-dev/rounds/pkg/client"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/natstest"
	"github.com/rounds-dev/rounds/pkg/testreport"
)

const junitTwoFailures = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="cart" tests="3" failures="2" timestamp="2026-11-28T10:00:00">
    <testcase classname="shop.cart.CartTest" name="testAdd" file="src/test/java/shop/cart/CartTest.java" line="42">
      <failure message="expected:&lt;3&gt; but was:&lt;4&gt;" type="java.lang.AssertionError">java.lang.AssertionError: expected:&lt;3&gt; but was:&lt;4&gt;
	at org.junit.Assert.fail(Assert.java:89)
	at shop.cart.CartTest.testAdd(CartTest.java:42)</failure>
    </testcase>
    <testcase classname="shop.cart.CartTest" name="testTotal">
      <error message="Cannot invoke &quot;Item.price()&quot; because &quot;item&quot; is null" type="java.lang.NullPointerException">java.lang.NullPointerException: Cannot invoke "Item.price()" because "item" is null
	at shop.cart.Cart.total(Cart.java:17)
	at shop.cart.CartTest.testTotal(CartTest.java:51)</error>
    </testcase>
    <testcase classname="shop.cart.CartTest" name="testRemove"/>
  </testsuite>
</testsuites>`

// rounds is a running Rounds for one test.
type rounds struct {
	t      *testing.T
	url    string
	cfg    app.Config
	proc   *apptest.Process
	nc     *nats.Conn
	js     jetstream.JetStream
	client *client.Client
}

// start runs every service with cfg against the NATS server at url until
// shutdown or the end of the test, once the streams are there.
func start(t *testing.T, url string, cfg app.Config) *rounds {
	t.Helper()
	cfg.NATSURL = url
	r := &rounds{t: t, url: url, cfg: cfg, proc: apptest.Run(t, cfg)}
	r.nc, r.js = natstest.Connect(t, url)
	eventually(t, "streams are provisioned", func() bool {
		_, err := r.js.Stream(context.Background(), contract.StreamDeadletter)
		// Ingest creates the run reports stream after the others.
		_, rerr := r.js.Stream(context.Background(), contract.StreamRuns)
		return err == nil && rerr == nil
	})
	var err error
	if r.client, err = client.New(r.nc); err != nil {
		t.Fatal(err)
	}
	return r
}

// shutdown stops Rounds as SIGTERM would; later calls do nothing.
func (r *rounds) shutdown() { r.proc.Stop() }

func newConfig(t *testing.T) app.Config { return apptest.Config(t) }

// watch collects the messages on subjects of stream from its start.
func (r *rounds) watch(stream, filter string) <-chan jetstream.Msg {
	r.t.Helper()
	cons, err := r.js.OrderedConsumer(context.Background(), stream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}})
	if err != nil {
		r.t.Fatal(err)
	}
	out := make(chan jetstream.Msg, 1000)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		// Ingest marks a signature diagnosed whenever diagnose gets to
		// it, racing the changes a test looks for; it has its own test.
		if stream == contract.StreamSignatures && isDiagnosedStatus(m.Data()) {
			return
		}
		out <- m
	})
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(cc.Stop)
	return out
}

func (r *rounds) publish(failures ...contract.Failure) {
	r.t.Helper()
	if _, err := r.client.PublishFailures(context.Background(), failures); err != nil {
		r.t.Fatal(err)
	}
}

func next[T any](t *testing.T, what string, ch <-chan jetstream.Msg, decode func([]byte) (T, error)) T {
	t.Helper()
	select {
	case m := <-ch:
		v, err := decode(m.Data())
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: nothing arrived within 20s", what)
	}
	panic("unreachable")
}

func nothingMore(t *testing.T, what string, ch <-chan jetstream.Msg) {
	t.Helper()
	select {
	case m := <-ch:
		t.Fatalf("%s: unexpected %s: %s", what, m.Subject(), m.Data())
	case <-time.After(500 * time.Millisecond):
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func runtimeFailure(id, message string) contract.Failure {
	return contract.Failure{
		Schema: contract.SchemaFailure, ID: id, Project: "shop", Time: time.Now().UTC(), Kind: contract.KindRuntime,
		Service: &contract.ServiceIdentity{Name: "checkout"},
		Error:   contract.ErrorInfo{Type: "*net.OpError", Message: message},
		Run:     contract.RunInfo{Commit: "c0ffee"},
	}
}

func TestAJUnitFileBecomesReportEventsAndFiles(t *testing.T) {
	r := start(t, natstest.Start(t), newConfig(t))
	reports := r.watch(contract.StreamReports, contract.ReportsAll)

	report, err := testreport.ParseReport("cart.xml", strings.NewReader(junitTwoFailures), testreport.Options{Project: "shop", RunID: "run-1", Commit: "abc123", Time: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	r.publish(report.Failures...)
	// The run's report says which tests passed; with it, ingest knows the
	// run was no storm and announces the failures at once.
	if _, err := r.client.PublishRun(context.Background(), report.RunReported()); err != nil {
		t.Fatal(err)
	}

	byTest := map[string]contract.ReportPublished{}
	for range 2 {
		rep := next(t, "report event", reports, contract.DecodeReportPublished)
		byTest[rep.Signature.Test.Name] = rep
	}
	nothingMore(t, "reports", reports)
	tests := []struct {
		test, category, errorType string
	}{
		{"testAdd", "assertion", "java.lang.AssertionError"},
		{"testTotal", "nil-dereference", "java.lang.NullPointerException"},
	}
	for _, tt := range tests {
		rep, ok := byTest[tt.test]
		switch {
		case !ok:
			t.Errorf("no report for %s", tt.test)
			continue
		case rep.Signature.Project != "shop" || rep.Signature.Occurrences != 1 || rep.Signature.FirstCommit != "abc123" || rep.Signature.ErrorType != tt.errorType:
			t.Errorf("%s: signature %+v", tt.test, rep.Signature)
		case rep.Diagnosis.Category != tt.category || rep.Diagnosis.Diagnoser != "heuristic":
			t.Errorf("%s: diagnosis %s by %s, want %s by heuristic", tt.test, rep.Diagnosis.Category, rep.Diagnosis.Diagnoser, tt.category)
		}
		body, err := os.ReadFile(filepath.Join(r.cfg.ReportsDir, rep.Reported.File))
		if err != nil {
			t.Errorf("%s: report file: %v", tt.test, err)
			continue
		}
		if !bytes.Contains(body, []byte(rep.Signature.ID)) || !bytes.Contains(body, []byte(tt.errorType)) {
			t.Errorf("%s: report file %s lacks the signature id or error type:\n%s", tt.test, rep.Reported.File, body)
		}
	}
}

func TestTheSameBugWithDifferentIdsIsOneSignatureCountedTwice(t *testing.T) {
	r := start(t, natstest.Start(t), newConfig(t))
	sigs := r.watch(contract.StreamSignatures, contract.SignaturesAll)
	reports := r.watch(contract.StreamReports, contract.ReportsAll)

	r.publish(runtimeFailure("occ-1", "dial tcp 10.0.0.7:8080: connect: connection refused"))
	r.publish(runtimeFailure("occ-2", "dial tcp 10.0.0.9:9090: connect: connection refused"))

	detected := next(t, "detected", sigs, contract.DecodeSignatureChanged)
	recurred := next(t, "recurred", sigs, contract.DecodeSignatureChanged)
	if detected.Change != contract.ChangeDetected || recurred.Change != contract.ChangeRecurred {
		t.Fatalf("changes %s then %s, want detected then recurred", detected.Change, recurred.Change)
	}
	if detected.Signature.ID != recurred.Signature.ID || recurred.Signature.Occurrences != 2 {
		t.Fatalf("signatures %s and %s with %d occurrences, want one signature counted twice", detected.Signature.ID, recurred.Signature.ID, recurred.Signature.Occurrences)
	}
	next(t, "report", reports, contract.DecodeReportPublished)
	nothingMore(t, "reports: a diagnosed signature is not reported again on recurrence", reports)
}

func TestTheSameEventIdCountsOnceEvenPastJetStreamsDuplicateWindow(t *testing.T) {
	r := start(t, natstest.Start(t), newConfig(t))
	sigs := r.watch(contract.StreamSignatures, contract.SignaturesAll)

	// Published without Nats-Msg-Id, as if past the duplicate window:
	// only ingest's own memory of event ids can drop the repeat.
	f := runtimeFailure("same-id", "connection refused")
	data, _ := json.Marshal(f)
	for range 3 {
		if _, err := r.js.Publish(context.Background(), "rounds.failures.shop", data); err != nil {
			t.Fatal(err)
		}
	}
	r.publish(runtimeFailure("other-id", "connection refused"))

	if ev := next(t, "detected", sigs, contract.DecodeSignatureChanged); ev.Change != contract.ChangeDetected {
		t.Fatalf("first event %s, want detected", ev.Change)
	}
	ev := next(t, "recurred", sigs, contract.DecodeSignatureChanged)
	if ev.Change != contract.ChangeRecurred || ev.Signature.Occurrences != 2 {
		t.Fatalf("event %s with %d occurrences, want recurred with 2 (the repeats of same-id not counted)", ev.Change, ev.Signature.Occurrences)
	}
}

func TestAMalformedMessageIsDeadletteredAndTheNextOneStillProcessed(t *testing.T) {
	r := start(t, natstest.Start(t), newConfig(t))
	dead := r.watch(contract.StreamDeadletter, contract.DeadletterAll)
	sigs := r.watch(contract.StreamSignatures, contract.SignaturesAll)

	tests := []struct {
		name, subject, payload, reason string
	}{
		{"invalid JSON to ingest", "rounds.failures.shop", `{"schema":`, "decode failure"},
		{"an unknown schema version to ingest", "rounds.failures.shop", `{"schema":"rounds.failure.v9","id":"x"}`, "rounds.failure.v9"},
		{"invalid UTF-8 to ingest", "rounds.failures.shop", "{\"id\":\"\xff\"}", "UTF-8"},
		{"a failure without an id to ingest", "rounds.failures.shop", `{"schema":"rounds.failure.v1","project":"shop","time":"2026-11-28T10:00:00Z","kind":"test","test":{"name":"t"},"error":{"message":"m"}}`, "id is required"},
		{"a bad signature event to diagnose", "rounds.signatures.shop.detected", `[1,2]`, "decode signature event"},
		{"a bad diagnosis to report", "rounds.diagnoses.shop", `{"schema":"rounds.diagnosis.v1"}`, "id is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := r.js.Publish(context.Background(), tt.subject, []byte(tt.payload)); err != nil {
				t.Fatal(err)
			}
			select {
			case m := <-dead:
				reason := m.Headers().Get(contract.HeaderDeadletterReason)
				if !strings.Contains(reason, tt.reason) {
					t.Errorf("reason %q, want it to mention %q", reason, tt.reason)
				}
				if got := m.Headers().Get(contract.HeaderDeadletterSubject); got != tt.subject {
					t.Errorf("original subject %q, want %q", got, tt.subject)
				}
				if string(m.Data()) != tt.payload {
					t.Errorf("payload %q, want the original %q", m.Data(), tt.payload)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("nothing dead-lettered within 20s")
			}
		})
	}
	r.publish(runtimeFailure("good", "connection refused"))
	for {
		select {
		case m := <-sigs:
			ev, err := contract.DecodeSignatureChanged(m.Data())
			if err != nil {
				continue // the bad event published above
			}
			if ev.Occurrence == nil || ev.Occurrence.ID != "good" {
				t.Fatalf("event %+v, want the good failure's detection", ev)
			}
			return
		case <-time.After(20 * time.Second):
			t.Fatal("the good failure after the bad ones was not processed within 20s")
		}
	}
}

func TestStateSurvivesARestart(t *testing.T) {
	url := natstest.Start(t)
	cfg := newConfig(t)
	r := start(t, url, cfg)
	sigs := r.watch(contract.StreamSignatures, contract.SignaturesAll)
	r.publish(runtimeFailure("before-1", "connection refused"))
	next(t, "detected", sigs, contract.DecodeSignatureChanged)
	r.shutdown()

	r = start(t, url, cfg)
	r.publish(runtimeFailure("before-1", "connection refused"), runtimeFailure("after-2", "connection refused"))
	ev := next(t, "recurred after restart", sigs, contract.DecodeSignatureChanged)
	if ev.Change != contract.ChangeRecurred || ev.Signature.Occurrences != 2 {
		t.Fatalf("event %s with %d occurrences, want recurred with 2", ev.Change, ev.Signature.Occurrences)
	}
}
