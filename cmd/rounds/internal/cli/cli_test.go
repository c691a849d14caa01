package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/messaging"
	"github.com/rounds-dev/rounds/pkg/natstest"
)

// syncBuffer is a bytes.Buffer safe for a command writing while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type result struct {
	code           int
	stdout, stderr string
}

func rounds(t *testing.T, ctx context.Context, stdin string, env map[string]string, args ...string) result {
	t.Helper()
	var out, errOut syncBuffer
	code := Main(ctx, Env{
		Args:    args,
		Stdin:   strings.NewReader(stdin),
		Stdout:  &out,
		Stderr:  &errOut,
		Lookup:  func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Version: "1.2.3-test",
	})
	return result{code, out.String(), errOut.String()}
}

const goodJUnit = `<testsuite name="cart" timestamp="2026-11-28T10:00:00">
  <testcase classname="cart" name="TestAdd"><failure message="expected 3, got 4">cart_test.go:12: expected 3, got 4</failure></testcase>
  <testcase classname="cart" name="TestRemove"><error message="panic: runtime error: index out of range [3] with length 3"/></testcase>
  <testcase classname="cart" name="TestOK"/>
</testsuite>`

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// jetStreamWithStreams starts a server with the Rounds streams, as a
// running Rounds would have made them.
func jetStreamWithStreams(t *testing.T) (string, jetstream.JetStream) {
	url := natstest.Start(t)
	_, js := natstest.Connect(t, url)
	if err := messaging.EnsureStreams(context.Background(), js, messaging.DefaultStreamsConfig()); err != nil {
		t.Fatal(err)
	}
	return url, js
}

func storedFailures(t *testing.T, js jetstream.JetStream) uint64 {
	t.Helper()
	s, err := js.Stream(context.Background(), contract.StreamFailures)
	if err != nil {
		t.Fatal(err)
	}
	return s.CachedInfo().State.Msgs
}

func TestPublish(t *testing.T) {
	ctx := context.Background()
	url, js := jetStreamWithStreams(t)
	dir := t.TempDir()
	good := writeFile(t, dir, "good.xml", goodJUnit)
	bad := writeFile(t, dir, "bad.xml", "<testsuite name=\"x\">\n<testcase name=\"a\">\n</testsuite>")
	lines := writeFile(t, dir, "failures.jsonl", `{"kind":"runtime","service":{"name":"api"},"error":{"message":"connection refused"}}`+"\n")

	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		stdin      string
		wantCode   int
		wantStdout string
		wantStderr string
		wantStored uint64 // messages in the stream afterwards
	}{
		{
			name:       "a JUnit file publishes its failed tests",
			args:       []string{"publish", "--nats-url", url, "--project", "shop", "--run-id", "r1", good},
			wantStdout: "published 2 failures and 1 passed test from 1 file to rounds.failures.shop and rounds.runs.shop (run r1)", wantStored: 2,
		},
		{
			name:       "the same file in the same run is not published twice",
			args:       []string{"publish", "--nats-url", url, "--project", "shop", "--run-id", "r1", good},
			wantStdout: "published 0 failures and 0 passed tests from 1 file to rounds.failures.shop and rounds.runs.shop (run r1); 2 failures and 1 passed test already published", wantStored: 2,
		},
		{
			name:       "flags may follow the files, and a glob expands",
			args:       []string{"publish", filepath.Join(dir, "*.jsonl"), "--nats-url", url, "--project", "shop", "--run-id", "r2"},
			wantStdout: "published 1 failure and 0 passed tests from 1 file", wantStored: 3,
		},
		{
			name:       "stdin is read for -, and the project may come from the environment",
			args:       []string{"publish", "--nats-url", url, "-"},
			env:        map[string]string{"ROUNDS_PROJECT": "shop"},
			stdin:      `{"kind":"test","test":{"name":"TestX"},"error":{"message":"boom"}}`,
			wantStdout: "published 1 failure and 0 passed tests from 1 file", wantStored: 4,
		},
		{
			name:     "a malformed file is named with its position and nothing is published",
			args:     []string{"publish", "--nats-url", url, "--project", "shop", "--run-id", "r3", lines, bad},
			wantCode: 1, wantStderr: "bad.xml:3:", wantStored: 4,
		},
		{
			name:     "a missing file is an error and nothing is published",
			args:     []string{"publish", "--nats-url", url, "--project", "shop", good, filepath.Join(dir, "nope.xml")},
			wantCode: 1, wantStderr: "nope.xml", wantStored: 4,
		},
		{
			name:     "the project is required",
			args:     []string{"publish", "--nats-url", url, good},
			wantCode: 2, wantStderr: "--project is required", wantStored: 4,
		},
		{
			name:     "a project that is not a subject token is refused",
			args:     []string{"publish", "--nats-url", url, "--project", "a.b", good},
			wantCode: 2, wantStderr: "--project \"a.b\"", wantStored: 4,
		},
		{
			name:     "at least one file is required",
			args:     []string{"publish", "--nats-url", url, "--project", "shop"},
			wantCode: 2, wantStderr: "at least one file", wantStored: 4,
		},
		{
			name:     "a bad value in the environment is a usage error naming it",
			args:     []string{"publish", "--nats-url", url, "--project", "shop", good},
			env:      map[string]string{"ROUNDS_TIMEOUT": "soon"},
			wantCode: 2, wantStderr: "ROUNDS_TIMEOUT", wantStored: 4,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := rounds(t, ctx, tt.stdin, tt.env, tt.args...)
			if res.code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", res.code, tt.wantCode, res.stdout, res.stderr)
			}
			if !strings.Contains(res.stdout, tt.wantStdout) || !strings.Contains(res.stderr, tt.wantStderr) {
				t.Errorf("stdout %q, stderr %q; want %q and %q in them", res.stdout, res.stderr, tt.wantStdout, tt.wantStderr)
			}
			if got := storedFailures(t, js); got != tt.wantStored {
				t.Errorf("stream holds %d failures, want %d", got, tt.wantStored)
			}
		})
	}
}

func TestPublishWithoutAServerFails(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "nats://" + l.Addr().String()
	l.Close()
	good := writeFile(t, t.TempDir(), "good.xml", goodJUnit)

	res := rounds(t, context.Background(), "", nil, "publish", "--nats-url", closed, "--timeout", "300ms", "--project", "shop", good)
	if res.code != 1 || !strings.Contains(res.stderr, "connect to nats") {
		t.Fatalf("exit %d, stderr %q; want 1 and a connection error", res.code, res.stderr)
	}
}

func TestPublishBeforeRoundsHasStartedSaysSo(t *testing.T) {
	url := natstest.Start(t)
	good := writeFile(t, t.TempDir(), "good.xml", goodJUnit)
	res := rounds(t, context.Background(), "", nil, "publish", "--nats-url", url, "--project", "shop", good)
	if res.code != 1 || !strings.Contains(res.stderr, "start Rounds first") {
		t.Fatalf("exit %d, stderr %q; want 1 and advice to start Rounds", res.code, res.stderr)
	}
}

func TestReportsFollowPrintsEachReportAsItArrives(t *testing.T) {
	url, js := jetStreamWithStreams(t)
	tests := []struct {
		name string
		args []string
		want func(t *testing.T, stdout string) bool
	}{
		{
			name: "as JSON lines with --json",
			args: []string{"--json"},
			want: func(t *testing.T, stdout string) bool {
				line, _, _ := strings.Cut(stdout, "\n")
				var r contract.ReportPublished
				return json.Unmarshal([]byte(line), &r) == nil && r.Signature.ID == "sig1"
			},
		},
		{
			name: "as a readable block by default",
			args: nil,
			want: func(t *testing.T, stdout string) bool {
				return strings.Contains(stdout, "sig1") && strings.Contains(stdout, "cause: the cart adds twice") && strings.Contains(stdout, "file:  2026-11-28/x.md")
			},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			var out, errOut syncBuffer
			done := make(chan int, 1)
			go func() {
				done <- Main(ctx, Env{Args: append([]string{"reports", "--follow", "--project", "shop", "--nats-url", url}, tt.args...), Stdout: &out, Stderr: &errOut, Lookup: func(string) (string, bool) { return "", false }})
			}()
			report := contract.ReportPublished{
				Schema: contract.SchemaReport, Time: time.Now().UTC(),
				Signature: contract.Signature{ID: "sig1", Project: "shop", Title: "TestAdd: expected 3", Status: contract.StatusDiagnosed, Occurrences: 2},
				Diagnosis: contract.Diagnosis{Category: "assertion", RootCause: "the cart adds twice", Confidence: 0.8, Diagnoser: "heuristic"},
				Reported:  contract.Reported{File: "2026-11-28/x.md"},
			}
			subject, _ := contract.ReportSubject("shop")
			deadline := time.Now().Add(15 * time.Second)
			// The follower only sees what is published after it subscribed.
			for n := 0; !tt.want(t, out.String()); n++ {
				if time.Now().After(deadline) {
					t.Fatalf("no report printed; stdout %q stderr %q", out.String(), errOut.String())
				}
				report.ID = "r-" + tt.name + "-" + string(rune('a'+i)) + time.Now().Format("150405.000000")
				if err := messaging.PublishJSON(ctx, js, subject, report.ID, report); err != nil {
					t.Fatal(err)
				}
				time.Sleep(50 * time.Millisecond)
			}
			cancel()
			if code := <-done; code != 0 {
				t.Fatalf("exit %d after interrupt, want 0; stderr %q", code, errOut.String())
			}
		})
	}
}

func TestSmallCommands(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		args       []string
		stdin      string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "version prints the stamped version", args: []string{"version"}, wantStdout: "rounds 1.2.3-test\n"},
		{name: "template prints one key per line in order", args: []string{"template"}, stdin: "user 42 logged in\nuser 7 logged in\nconnection to 10.0.0.1:80 refused", wantStdout: "user <*> logged in\nuser <*> logged in\nconnection to <*> refused\n"},
		{name: "an unknown command is a usage error", args: []string{"frobnicate"}, wantCode: 2, wantStderr: "unknown command \"frobnicate\""},
		{name: "reports without --follow says what is supported", args: []string{"reports"}, wantCode: 2, wantStderr: "--follow is required"},
		{name: "help lists the commands", args: []string{"help"}, wantStdout: "publish"},
		{name: "an unknown flag is a usage error", args: []string{"run", "--no-such-flag"}, wantCode: 2, wantStderr: "no-such-flag"},
		{name: "a bad log format is a usage error", args: []string{"run", "--log-format", "xml"}, wantCode: 2, wantStderr: "log format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := rounds(t, ctx, tt.stdin, nil, tt.args...)
			if res.code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr %q", res.code, tt.wantCode, res.stderr)
			}
			if tt.wantStdout != "" && !strings.Contains(res.stdout, tt.wantStdout) {
				t.Errorf("stdout %q, want %q", res.stdout, tt.wantStdout)
			}
			if !strings.Contains(res.stderr, tt.wantStderr) {
				t.Errorf("stderr %q, want %q in it", res.stderr, tt.wantStderr)
			}
		})
	}
}

func TestRunOnATakenPortFailsAtOnceAndSaysWhy(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dir := t.TempDir()
	res := rounds(t, context.Background(), "", nil, "run", "--nats-listen", l.Addr().String(), "--data-dir", filepath.Join(dir, "data"), "--reports-dir", filepath.Join(dir, "reports"), "--log-format", "json")
	if res.code != 1 || !strings.Contains(res.stderr, "address already in use") {
		t.Fatalf("exit %d, stderr %q; want 1 and the address in use", res.code, res.stderr)
	}
}

func TestRunStartsAndStopsCleanlyOnInterrupt(t *testing.T) {
	dir := t.TempDir()
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, Env{Args: []string{"run", "--nats-listen", addr, "--data-dir", filepath.Join(dir, "data"), "--reports-dir", filepath.Join(dir, "reports"), "--log-format", "json"},
			Stdout: &out, Stderr: &errOut, Lookup: func(string) (string, bool) { return "", false }})
	}()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(out.String(), "Reports are written under") {
		if time.Now().After(deadline) {
			t.Fatalf("run did not start: stdout %q stderr %q", out.String(), errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(out.String(), "nats://"+addr) {
		t.Errorf("stdout %q does not say where NATS listens (%s)", out.String(), addr)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 || !strings.Contains(errOut.String(), "rounds stopped") {
			t.Fatalf("exit %d, stderr %q; want 0 and a clean stop", code, errOut.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop within 30s of the interrupt")
	}
	for _, svc := range []string{"ingest", "diagnose", "report", "nats"} {
		if _, err := os.Stat(filepath.Join(dir, "data", svc)); err != nil {
			t.Errorf("no state directory for %s: %v", svc, err)
		}
	}
}
