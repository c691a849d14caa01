package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/messaging"
	"github.com/rounds-dev/rounds/pkg/natstest"
)

// storedRuns returns the run report chunks in the stream.
func storedRuns(t *testing.T, js jetstream.JetStream) []contract.RunReported {
	t.Helper()
	var out []contract.RunReported
	for _, m := range natstest.Stored(t, js, contract.StreamRuns) {
		r, err := contract.DecodeRunReported(m.Data)
		if err != nil {
			t.Fatalf("run report message %d: %v", m.Sequence, err)
		}
		if m.Header.Get(contract.HeaderMsgID) != r.ID || m.Subject != "rounds.runs."+r.Project {
			t.Errorf("run report %s came with Nats-Msg-Id %q on %s", r.ID, m.Header.Get(contract.HeaderMsgID), m.Subject)
		}
		if len(m.Data) > contract.RunChunkBytes {
			t.Errorf("run report %s is %d bytes, more than %d", r.ID, len(m.Data), contract.RunChunkBytes)
		}
		out = append(out, r)
	}
	return out
}

// storedFailureList returns the failures in the stream.
func storedFailureList(t *testing.T, js jetstream.JetStream) []contract.Failure {
	t.Helper()
	var out []contract.Failure
	for _, m := range natstest.Stored(t, js, contract.StreamFailures) {
		f, err := contract.DecodeFailure(m.Data)
		if err != nil {
			t.Fatalf("failure message %d: %v", m.Sequence, err)
		}
		out = append(out, f)
	}
	return out
}

// goTestJSON is a go test -json stream with a failed subtest, a panic, a
// passed test and a skipped one.
const goTestJSON = `{"Time":"2026-11-28T10:00:00Z","Action":"start","Package":"example.com/shop/cart"}
{"Time":"2026-11-28T10:00:00Z","Action":"run","Package":"example.com/shop/cart","Test":"TestAdd"}
{"Time":"2026-11-28T10:00:00Z","Action":"output","Package":"example.com/shop/cart","Test":"TestAdd","Output":"=== RUN   TestAdd\n"}
{"Time":"2026-11-28T10:00:00Z","Action":"output","Package":"example.com/shop/cart","Test":"TestAdd","Output":"--- PASS: TestAdd (0.00s)\n"}
{"Time":"2026-11-28T10:00:00Z","Action":"pass","Package":"example.com/shop/cart","Test":"TestAdd"}
{"Time":"2026-11-28T10:00:01Z","Action":"run","Package":"example.com/shop/cart","Test":"TestTotal"}
{"Time":"2026-11-28T10:00:01Z","Action":"run","Package":"example.com/shop/cart","Test":"TestTotal/big_discount"}
{"Time":"2026-11-28T10:00:01Z","Action":"output","Package":"example.com/shop/cart","Test":"TestTotal/big_discount","Output":"    cart_test.go:12: expected 3, got 4\n"}
{"Time":"2026-11-28T10:00:01Z","Action":"fail","Package":"example.com/shop/cart","Test":"TestTotal/big_discount"}
{"Time":"2026-11-28T10:00:01Z","Action":"fail","Package":"example.com/shop/cart","Test":"TestTotal"}
{"Time":"2026-11-28T10:00:01Z","Action":"run","Package":"example.com/shop/cart","Test":"TestLater"}
{"Time":"2026-11-28T10:00:01Z","Action":"skip","Package":"example.com/shop/cart","Test":"TestLater"}
{"Time":"2026-11-28T10:00:02Z","Action":"run","Package":"example.com/shop/cart","Test":"TestRemove"}
{"Time":"2026-11-28T10:00:02Z","Action":"output","Package":"example.com/shop/cart","Test":"TestRemove","Output":"--- FAIL: TestRemove (0.00s)\n"}
{"Time":"2026-11-28T10:00:02Z","Action":"output","Package":"example.com/shop/cart","Test":"TestRemove","Output":"panic: runtime error: index out of range [3] with length 3 [recovered]\n"}
{"Time":"2026-11-28T10:00:02Z","Action":"output","Package":"example.com/shop/cart","Test":"TestRemove","Output":"goroutine 7 [running]:\n"}
{"Time":"2026-11-28T10:00:02Z","Action":"fail","Package":"example.com/shop/cart","Test":"TestRemove"}
{"Time":"2026-11-28T10:00:02Z","Action":"output","Package":"example.com/shop/cart","Output":"FAIL\texample.com/shop/cart\t2.001s\n"}
{"Time":"2026-11-28T10:00:02Z","Action":"fail","Package":"example.com/shop/cart"}
`

// manyPassed is a go test -json stream of n passed tests and one failure.
func manyPassed(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"Action":"pass","Package":"example.com/shop/pkg%02d","Test":"TestGeneratedCaseWithAFairlyLongName_%06d"}`+"\n", i%50, i)
	}
	b.WriteString(`{"Action":"fail","Package":"example.com/shop/pkg00","Test":"TestBroken"}` + "\n")
	b.WriteString(`{"Action":"fail","Package":"example.com/shop/pkg00"}` + "\n")
	for p := 1; p < 50; p++ {
		fmt.Fprintf(&b, `{"Action":"pass","Package":"example.com/shop/pkg%02d"}`+"\n", p)
	}
	return b.String()
}

func TestPublishReportsPassedTests(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	gotest := writeFile(t, dir, "go-test.json", goTestJSON)
	junit := writeFile(t, dir, "junit.xml", goodJUnit)
	lines := writeFile(t, dir, "failures.jsonl", `{"kind":"runtime","service":{"name":"api"},"error":{"message":"connection refused"}}`+"\n")
	broken := writeFile(t, dir, "broken.json", goTestJSON+`{"Action":"output","Package":"example.com/shop/cart","Output":"ok`+"\n")
	big := writeFile(t, dir, "big.json", manyPassed(40_000))

	t.Run("a go test -json file publishes its failures and a run report of its passed tests", func(t *testing.T) {
		url, js := jetStreamWithStreams(t)
		res := rounds(t, ctx, "", nil, "publish", "--nats-url", url, "--project", "shop", "--run-id", "r1", "--commit", "abc123", "--attempt", "2", gotest)
		if res.code != 0 {
			t.Fatalf("exit %d, stderr %s", res.code, res.stderr)
		}
		if want := "published 2 failures and 1 passed test from 1 file to rounds.failures.shop and rounds.runs.shop (run r1)\n"; res.stdout != want {
			t.Errorf("stdout %q, want %q", res.stdout, want)
		}
		failures := storedFailureList(t, js)
		if len(failures) != 2 || failures[0].Test.Name != "TestTotal/big_discount" || failures[0].Error.Message != "cart_test.go:12: expected 3, got 4" ||
			failures[1].Test.Name != "TestRemove" || failures[1].Error.Type != "panic" || failures[1].Run.Attempt != 2 {
			t.Errorf("stored failures %+v", failures)
		}
		runs := storedRuns(t, js)
		if len(runs) != 1 {
			t.Fatalf("stream holds %d run reports, want 1", len(runs))
		}
		r := runs[0]
		want := contract.RunReported{Schema: contract.SchemaRun, ID: r.ID, Project: "shop", Time: r.Time,
			Run:    contract.RunInfo{ID: "r1", Commit: "abc123", Attempt: 2},
			Source: "go-test.json", Framework: "go", Passed: contract.TestsBySuite{"example.com/shop/cart": {"TestAdd"}},
			Total: 5, Failed: 3, Skipped: 1, Chunk: contract.Chunk{Index: 0, Count: 1}}
		if got, _ := json.Marshal(r); string(got) != string(must(json.Marshal(want))) {
			t.Errorf("run report\n%s\nwant\n%s", got, must(json.Marshal(want)))
		}
	})

	t.Run("several formats publish one run report per file that lists tests, and again nothing twice", func(t *testing.T) {
		url, js := jetStreamWithStreams(t)
		args := []string{"publish", "--nats-url", url, "--project", "shop", "--run-id", "r2", gotest, junit, lines}
		res := rounds(t, ctx, "", nil, args...)
		if want := "published 5 failures and 2 passed tests from 3 files to rounds.failures.shop and rounds.runs.shop (run r2)\n"; res.code != 0 || res.stdout != want {
			t.Fatalf("exit %d, stdout %q, stderr %q; want %q", res.code, res.stdout, res.stderr, want)
		}
		if runs := storedRuns(t, js); len(runs) != 2 || runs[0].Source != "go-test.json" || runs[1].Source != "junit.xml" {
			t.Errorf("stream holds %d run reports, want those of go-test.json and junit.xml", len(runs))
		}
		res = rounds(t, ctx, "", nil, args...)
		if want := "published 0 failures and 0 passed tests from 3 files to rounds.failures.shop and rounds.runs.shop (run r2); 5 failures and 2 passed tests already published\n"; res.code != 0 || res.stdout != want {
			t.Errorf("again: exit %d, stdout %q; want %q", res.code, res.stdout, want)
		}
		if n, runs := len(storedFailureList(t, js)), len(storedRuns(t, js)); n != 5 || runs != 2 {
			t.Errorf("after publishing again the streams hold %d failures and %d run reports, want 5 and 2", n, runs)
		}
	})

	t.Run("a huge list of passed tests is cut into chunks that each fit", func(t *testing.T) {
		url, js := jetStreamWithStreams(t)
		res := rounds(t, ctx, "", nil, "publish", "--nats-url", url, "--project", "shop", "--run-id", "r3", big)
		if want := "published 1 failure and 40000 passed tests from 1 file"; res.code != 0 || !strings.Contains(res.stdout, want) {
			t.Fatalf("exit %d, stdout %q, stderr %q; want %q", res.code, res.stdout, res.stderr, want)
		}
		runs := storedRuns(t, js)
		if len(runs) < 2 {
			t.Fatalf("stream holds %d run report chunks, want several", len(runs))
		}
		passed := 0
		for i, r := range runs {
			if r.Chunk != (contract.Chunk{Index: i, Count: len(runs)}) || r.Total != 40_001 || r.Failed != 1 {
				t.Errorf("chunk %d says %+v, total %d, failed %d", i, r.Chunk, r.Total, r.Failed)
			}
			if !strings.HasSuffix(r.ID, fmt.Sprintf(".%d", i)) || r.ID[:len(r.ID)-2] != runs[0].ID[:len(runs[0].ID)-2] {
				t.Errorf("chunk %d has id %s, first chunk %s", i, r.ID, runs[0].ID)
			}
			passed += r.Passed.Len()
		}
		if passed != 40_000 {
			t.Errorf("the chunks list %d passed tests, want 40000", passed)
		}
	})

	t.Run("a malformed go test -json file is named with its position and nothing is published", func(t *testing.T) {
		url, js := jetStreamWithStreams(t)
		res := rounds(t, ctx, "", nil, "publish", "--nats-url", url, "--project", "shop", gotest, broken)
		if res.code != 1 || !strings.Contains(res.stderr, "broken.json:20:65: decode test event") || !strings.Contains(res.stderr, "nothing was published") {
			t.Fatalf("exit %d, stderr %q; want 1 and the file, line and column", res.code, res.stderr)
		}
		if n, runs := len(storedFailureList(t, js)), len(storedRuns(t, js)); n != 0 || runs != 0 {
			t.Errorf("the streams hold %d failures and %d run reports, want none", n, runs)
		}
	})

	t.Run("go test -json on stdin is read", func(t *testing.T) {
		url, js := jetStreamWithStreams(t)
		res := rounds(t, ctx, goTestJSON, nil, "publish", "--nats-url", url, "--project", "shop", "-")
		if res.code != 0 || !strings.Contains(res.stdout, "published 2 failures and 1 passed test from 1 file") {
			t.Fatalf("exit %d, stdout %q, stderr %q", res.code, res.stdout, res.stderr)
		}
		if runs := storedRuns(t, js); len(runs) != 1 || runs[0].Source != "stdin" {
			t.Errorf("run reports %+v, want one from stdin", runs)
		}
	})

	t.Run("a negative attempt is a usage error", func(t *testing.T) {
		res := rounds(t, ctx, "", nil, "publish", "--project", "shop", "--attempt", "-1", gotest)
		if res.code != 2 || !strings.Contains(res.stderr, "--attempt -1") {
			t.Errorf("exit %d, stderr %q; want 2 and the flag", res.code, res.stderr)
		}
	})
}

func TestPublishToRoundsWithoutRunReportsStillPublishesTheFailures(t *testing.T) {
	url := natstest.Start(t)
	_, js := natstest.Connect(t, url)
	// The streams of a Rounds from before run reports.
	for _, sc := range messaging.DefaultStreamsConfig().StreamConfigs() {
		if sc.Name == contract.StreamRuns {
			continue
		}
		if _, err := js.CreateStream(context.Background(), sc); err != nil {
			t.Fatal(err)
		}
	}
	file := writeFile(t, t.TempDir(), "go-test.json", goTestJSON)
	res := rounds(t, context.Background(), "", nil, "publish", "--nats-url", url, "--project", "shop", file)
	if res.code != 0 || !strings.Contains(res.stdout, "published 2 failures and 0 passed tests from 1 file to rounds.failures.shop (run") {
		t.Fatalf("exit %d, stdout %q, stderr %q", res.code, res.stdout, res.stderr)
	}
	if !strings.Contains(res.stderr, "warning: the passed tests were not published") || !strings.Contains(res.stderr, "upgrade") {
		t.Errorf("stderr %q, want a warning saying to upgrade", res.stderr)
	}
	if n := storedFailures(t, js); n != 2 {
		t.Errorf("stream holds %d failures, want 2", n)
	}
}

func TestPublishCorpusFiles(t *testing.T) {
	files, err := filepath.Glob("../../../../pkg/testreport/testdata/corpus/*/run-*.*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus files: %v", err)
	}
	var reports []string
	for _, f := range files {
		if !strings.HasSuffix(f, ".summary") {
			reports = append(reports, f)
		}
	}
	url, js := jetStreamWithStreams(t)
	res := rounds(t, context.Background(), "", nil, append([]string{"publish", "--nats-url", url, "--project", "corpus", "--run-id", "c1"}, reports...)...)
	if res.code != 0 || !strings.Contains(res.stdout, fmt.Sprintf("from %d files", len(reports))) {
		t.Fatalf("exit %d, stdout %q, stderr %q", res.code, res.stdout, res.stderr)
	}
	if runs := storedRuns(t, js); len(runs) != len(reports) {
		t.Errorf("stream holds %d run reports, want one per file (%d)", len(runs), len(reports))
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
