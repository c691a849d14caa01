package testreport

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
)

// goStream writes go test -json lines. Each event is an action, a test
// ("" for the package's own) and, for output, the output; the package is
// example.com/shop/cart unless the test is "pkg:test".
type goStream struct {
	b    strings.Builder
	tick int
}

const shopCart = "example.com/shop/cart"

// eventTime is the time of the n-th event of a stream.
func eventTime(n int) time.Time {
	return time.Date(2024, 3, 5, 10, 11, 12, 0, time.UTC).Add(time.Duration(n) * time.Millisecond)
}

func (s *goStream) ev(action, test string, output ...string) *goStream {
	pkg := shopCart
	if p, t, ok := strings.Cut(test, ":"); ok {
		pkg, test = p, t
	}
	s.tick++
	ev := map[string]any{"Time": eventTime(s.tick), "Action": action, "Package": pkg}
	if test != "" {
		ev["Test"] = test
	}
	for _, o := range output {
		ev["Output"] = o
		data, _ := json.Marshal(ev)
		s.b.Write(data)
		s.b.WriteByte('\n')
	}
	if len(output) == 0 {
		data, _ := json.Marshal(ev)
		s.b.Write(data)
		s.b.WriteByte('\n')
	}
	return s
}

// line adds a raw line: go test's stderr, or a hand-made event.
func (s *goStream) line(l string) *goStream {
	s.b.WriteString(l + "\n")
	return s
}

// run adds the events of a test that ran, said out and ended with end.
func (s *goStream) run(test, end string, out ...string) *goStream {
	name := test
	if _, t, ok := strings.Cut(test, ":"); ok {
		name = t
	}
	s.ev("run", test)
	s.ev("output", test, "=== RUN   "+name+"\n")
	for _, o := range out {
		s.ev("output", test, o)
	}
	s.ev("output", test, fmt.Sprintf("--- %s: %s (0.00s)\n", strings.ToUpper(end), name))
	return s.ev(end, test)
}

func (s *goStream) String() string { return s.b.String() }

// goWant is what a test checks of one failure parsed from go test -json.
type goWant struct {
	suite, name string
	errType     string
	message     string
	stackStart  string // "" means no stack
	frame       *contract.Frame
	attrs       map[string]string
}

func TestParseGoTestJSON(t *testing.T) {
	tests := []struct {
		name        string
		input       string
		want        []goWant
		wantPassed  []string // names of passed tests of shopCart unless "pkg:test"
		wantCounts  [3]int   // total, failed, skipped
		wantTimeOf0 time.Time
	}{
		{
			name: "a failed test's own output is its message, without the === and --- lines, and its last position is its frame",
			input: new(goStream).ev("start", "").
				run("TestAdd", "pass").
				run("TestTotal", "fail", "    cart_test.go:30: cart of 2 items\n", "    cart_test.go:34: Total() = 90, want 85\n", "        the discount was ignored\n").
				ev("output", "", "FAIL\n", "FAIL\texample.com/shop/cart\t0.01s\n").ev("fail", "").String(),
			want: []goWant{{
				suite: shopCart, name: "TestTotal",
				message: "cart_test.go:30: cart of 2 items\ncart_test.go:34: Total() = 90, want 85\n    the discount was ignored",
				frame:   &contract.Frame{Function: "TestTotal", Module: shopCart, File: "cart_test.go", Line: 34},
			}},
			wantPassed:  []string{"TestAdd"},
			wantCounts:  [3]int{2, 1, 0},
			wantTimeOf0: eventTime(12),
		},
		{
			name: "a failed subtest is a failure under its full name and its silent parent is none",
			input: new(goStream).
				ev("run", "TestTotal").
				run("TestTotal/no_discount", "pass").
				run("TestTotal/big_discount", "fail", "    cart_test.go:34: got 1, want 2\n").
				ev("output", "TestTotal", "--- FAIL: TestTotal (0.00s)\n").ev("fail", "TestTotal").ev("fail", "").String(),
			want:       []goWant{{suite: shopCart, name: "TestTotal/big_discount", message: "cart_test.go:34: got 1, want 2", frame: &contract.Frame{Function: "TestTotal", Module: shopCart, File: "cart_test.go", Line: 34}}},
			wantPassed: []string{"TestTotal/no_discount"},
			wantCounts: [3]int{3, 2, 0},
		},
		{
			name: "a parent that says something itself is a failure too",
			input: new(goStream).
				ev("run", "TestTotal").
				run("TestTotal/big", "fail", "    cart_test.go:34: got 1, want 2\n").
				ev("output", "TestTotal", "    cart_test.go:40: cleanup failed\n").
				ev("output", "TestTotal", "--- FAIL: TestTotal (0.00s)\n").ev("fail", "TestTotal").ev("fail", "").String(),
			want: []goWant{
				{suite: shopCart, name: "TestTotal/big", message: "cart_test.go:34: got 1, want 2", frame: &contract.Frame{Function: "TestTotal", Module: shopCart, File: "cart_test.go", Line: 34}},
				{suite: shopCart, name: "TestTotal", message: "cart_test.go:40: cleanup failed", frame: &contract.Frame{Function: "TestTotal", Module: shopCart, File: "cart_test.go", Line: 40}},
			},
			wantCounts: [3]int{2, 2, 0},
		},
		{
			name: "a panic in a subtest, printed in its parent's output after both failed, is the subtest's, typed panic with the trace as stack",
			input: new(goStream).
				ev("run", "TestCharge").
				ev("output", "TestCharge", "=== RUN   TestCharge\n").
				ev("run", "TestCharge/visa").
				ev("output", "TestCharge/visa", "    pay_test.go:9: charging\n", "--- FAIL: TestCharge/visa (0.00s)\n").
				ev("fail", "TestCharge/visa").
				ev("output", "TestCharge", "--- FAIL: TestCharge (0.00s)\n",
					"panic: assignment to entry in nil map [recovered, repanicked]\n", "\n", "goroutine 7 [running]:\n",
					"example.com/shop/cart.(*Gateway).Charge(...)\n", "\t/src/cart/pay.go:21 +0x1c\n").
				ev("fail", "TestCharge").
				ev("output", "", "FAIL\texample.com/shop/cart\t0.01s\n").ev("fail", "").String(),
			want: []goWant{{
				suite: shopCart, name: "TestCharge/visa", errType: "panic", message: "assignment to entry in nil map",
				stackStart: "panic: assignment to entry in nil map [recovered, repanicked]\n\ngoroutine 7 [running]:\nexample.com/shop/cart.(*Gateway).Charge(...)\n\t/src/cart/pay.go:21 +0x1c",
				attrs:      map[string]string{AttrOutput: "pay_test.go:9: charging"},
			}},
			wantCounts: [3]int{2, 2, 0},
		},
		{
			name: "a timeout is typed timeout, goes to the test that was running, and its running parent is counted but no failure",
			input: new(goStream).
				run("TestFast", "pass").
				ev("run", "TestSettle").
				ev("run", "TestSettle/batch").
				ev("output", "TestSettle/batch", "panic: test timed out after 3s\n", "\trunning tests:\n", "\t\tTestSettle/batch (3s)\n", "\n", "goroutine 5 [running]:\n").
				ev("output", "", "FAIL\texample.com/shop/cart\t3.01s\n").ev("fail", "").String(),
			want: []goWant{{
				suite: shopCart, name: "TestSettle/batch", errType: "timeout", message: "test timed out after 3s",
				stackStart: "panic: test timed out after 3s\n\trunning tests:",
			}},
			wantPassed: []string{"TestFast"},
			wantCounts: [3]int{3, 2, 0},
		},
		{
			name: "tests a panic cut short are counted failed but are no failures, and paused parallel tests did not run",
			input: new(goStream).
				ev("run", "TestPar1").ev("pause", "TestPar1").
				ev("run", "TestPar2").ev("pause", "TestPar2").
				ev("run", "TestPar3").ev("pause", "TestPar3").
				ev("cont", "TestPar1").ev("output", "TestPar1", "    par_test.go:5: started\n").
				ev("cont", "TestPar2").
				ev("output", "TestPar2", "--- FAIL: TestPar2 (0.00s)\n", "panic: runtime error: index out of range [3] with length 0 [recovered]\n", "goroutine 9 [running]:\n").
				ev("fail", "TestPar2").
				ev("fail", "").String(),
			want:       []goWant{{suite: shopCart, name: "TestPar2", errType: "panic", message: "runtime error: index out of range [3] with length 0", stackStart: "panic: runtime error: index out of range [3] with length 0 [recovered]\ngoroutine 9 [running]:"}},
			wantCounts: [3]int{2, 2, 0},
		},
		{
			name: "a race detector report is the stack and the race line the message",
			input: new(goStream).run("TestCounter", "fail",
				"==================\n", "WARNING: DATA RACE\n", "Write at 0x00c000012345 by goroutine 8:\n", "  example.com/shop/cart.TestCounter.func1()\n",
				"      /src/cart/race_test.go:12 +0x44\n", "==================\n", "    testing.go:1712: race detected during execution of test\n").
				ev("fail", "").String(),
			want: []goWant{{
				suite: shopCart, name: "TestCounter", errType: "data race", message: "testing.go:1712: race detected during execution of test",
				stackStart: "WARNING: DATA RACE\nWrite at 0x00c000012345 by goroutine 8:\n  example.com/shop/cart.TestCounter.func1()\n      /src/cart/race_test.go:12 +0x44",
			}},
			wantCounts: [3]int{1, 1, 0},
		},
		{
			name: "a fatal error is typed fatal error",
			input: new(goStream).run("TestMap", "fail", "fatal error: concurrent map writes\n", "\n", "goroutine 12 [running]:\n").
				ev("fail", "").String(),
			want:       []goWant{{suite: shopCart, name: "TestMap", errType: "fatal error", message: "concurrent map writes", stackStart: "fatal error: concurrent map writes\n\ngoroutine 12 [running]:"}},
			wantCounts: [3]int{1, 1, 0},
		},
		{
			name: "build-output events make one [build] failure per package that did not build, not one per package that imports it",
			input: new(goStream).
				line(`{"ImportPath":"example.com/shop/lib","Action":"build-output","Output":"# example.com/shop/lib\n"}`).
				line(`{"ImportPath":"example.com/shop/lib","Action":"build-output","Output":"lib/lib.go:3:23: undefined: two\n"}`).
				line(`{"ImportPath":"example.com/shop/lib","Action":"build-fail"}`).
				ev("start", "example.com/shop/lib:").
				ev("output", "example.com/shop/lib:", "FAIL\texample.com/shop/lib [build failed]\n").
				line(`{"Time":"2024-03-05T10:11:12Z","Action":"fail","Package":"example.com/shop/lib","Elapsed":0,"FailedBuild":"example.com/shop/lib"}`).
				ev("output", "example.com/shop/uses:", "FAIL\texample.com/shop/uses [build failed]\n").
				line(`{"Time":"2024-03-05T10:11:12Z","Action":"fail","Package":"example.com/shop/uses","Elapsed":0,"FailedBuild":"example.com/shop/lib"}`).
				run("TestAdd", "pass").ev("pass", "").String(),
			want:       []goWant{{suite: "example.com/shop/lib", name: GoBuildTest, errType: "build failed", message: "lib/lib.go:3:23: undefined: two"}},
			wantPassed: []string{"TestAdd"},
			wantCounts: [3]int{2, 1, 0},
		},
		{
			name: "compiler errors that go test printed on stderr before the events are read too",
			input: new(goStream).
				line("go: downloading example.com/dep v1.2.3").
				line("# example.com/shop/report [example.com/shop/report.test]").
				line("report/report_test.go:8:30: undefined: want").
				line("report/report_test.go:9:2: too many errors").
				ev("start", "example.com/shop/report:").
				ev("output", "example.com/shop/report:", "FAIL\texample.com/shop/report [build failed]\n").
				ev("fail", "example.com/shop/report:").
				ev("output", "example.com/shop/user:", "FAIL\texample.com/shop/user [setup failed]\n").
				ev("fail", "example.com/shop/user:").String(),
			want:       []goWant{{suite: "example.com/shop/report", name: GoBuildTest, errType: "build failed", message: "report/report_test.go:8:30: undefined: want\nreport/report_test.go:9:2: too many errors"}},
			wantCounts: [3]int{1, 1, 0},
		},
		{
			name: "a build that failed with no package left to say so is reported at the end",
			input: new(goStream).
				line(`{"ImportPath":"example.com/shop/lib","Action":"build-output","Output":"lib/lib.go:3:23: undefined: two\n"}`).
				line(`{"ImportPath":"example.com/shop/lib","Action":"build-fail"}`).String(),
			want:       []goWant{{suite: "example.com/shop/lib", name: GoBuildTest, errType: "build failed", message: "lib/lib.go:3:23: undefined: two"}},
			wantCounts: [3]int{1, 1, 0},
		},
		{
			name: "the same test run twice is two failures, and its pass counts it as passed too",
			input: new(goStream).
				run("TestFlaky", "fail", "    cart_test.go:5: boom\n").
				run("TestFlaky", "pass").
				run("TestFlaky", "fail", "    cart_test.go:5: boom\n").ev("fail", "").String(),
			want: []goWant{
				{suite: shopCart, name: "TestFlaky", message: "cart_test.go:5: boom", frame: &contract.Frame{Function: "TestFlaky", Module: shopCart, File: "cart_test.go", Line: 5}},
				{suite: shopCart, name: "TestFlaky", message: "cart_test.go:5: boom", frame: &contract.Frame{Function: "TestFlaky", Module: shopCart, File: "cart_test.go", Line: 5}},
			},
			wantPassed: []string{"TestFlaky"},
			wantCounts: [3]int{3, 2, 0},
		},
		{
			name: "output split across events is joined into lines",
			input: new(goStream).ev("run", "TestLong").
				ev("output", "TestLong", "    cart_test.go:9: a very ", "long line", " in three parts\n").
				ev("output", "TestLong", "    cart_test.go:10: no newline at the end").
				ev("fail", "TestLong").ev("fail", "").String(),
			want:       []goWant{{suite: shopCart, name: "TestLong", message: "cart_test.go:9: a very long line in three parts\ncart_test.go:10: no newline at the end", frame: &contract.Frame{Function: "TestLong", Module: shopCart, File: "cart_test.go", Line: 10}}},
			wantCounts: [3]int{1, 1, 0},
		},
		{
			name:       "a test that failed saying nothing says so",
			input:      new(goStream).run("TestQuiet", "fail").ev("fail", "").String(),
			want:       []goWant{{suite: shopCart, name: "TestQuiet", message: "test failed without a message"}},
			wantCounts: [3]int{1, 1, 0},
		},
		{
			name: "a test binary that failed without a failed test is a failure of [package] with its output",
			input: new(goStream).run("TestAdd", "pass").
				ev("output", "", "PASS\n", "TestMain: database did not shut down cleanly\n", "FAIL\texample.com/shop/cart\t0.01s\n").ev("fail", "").String(),
			want:       []goWant{{suite: shopCart, name: GoPackageTest, errType: "package failed", message: "TestMain: database did not shut down cleanly"}},
			wantPassed: []string{"TestAdd"},
			wantCounts: [3]int{2, 1, 0},
		},
		{
			name: "a panic outside any test goes to the package",
			input: new(goStream).ev("output", "", "panic: init: no config\n", "\n", "goroutine 1 [running]:\n").
				ev("output", "", "FAIL\texample.com/shop/cart\t0.01s\n").ev("fail", "").String(),
			want:       []goWant{{suite: shopCart, name: GoPackageTest, errType: "panic", message: "init: no config", stackStart: "panic: init: no config\n\ngoroutine 1 [running]:"}},
			wantCounts: [3]int{1, 1, 0},
		},
		{
			name: "a test that was running when the binary exited is named in the package's failure",
			input: new(goStream).ev("run", "TestExit").ev("output", "TestExit", "=== RUN   TestExit\n").
				ev("output", "", "FAIL\texample.com/shop/cart\t0.01s\n").ev("fail", "").String(),
			want:       []goWant{{suite: shopCart, name: GoPackageTest, errType: "package failed", message: "the test binary exited while TestExit ran"}},
			wantCounts: [3]int{2, 2, 0},
		},
		{
			name: "t.Attr attributes are kept, and skipped tests counted",
			input: new(goStream).ev("run", "TestAttr").
				line(`{"Action":"attr","Package":"example.com/shop/cart","Test":"TestAttr","Key":"issue","Value":"SHOP-12"}`).
				line(`{"Action":"attr","Package":"example.com/shop/cart","Test":"TestAttr","Key":"api_token","Value":"s3cret"}`).
				ev("output", "TestAttr", "    cart_test.go:3: nope\n").ev("fail", "TestAttr").
				run("TestLater", "skip", "    cart_test.go:8: later\n").ev("fail", "").String(),
			want:       []goWant{{suite: shopCart, name: "TestAttr", message: "cart_test.go:3: nope", frame: &contract.Frame{Function: "TestAttr", Module: shopCart, File: "cart_test.go", Line: 3}, attrs: map[string]string{"issue": "SHOP-12"}}},
			wantCounts: [3]int{2, 1, 1},
		},
		{
			name: "a stream cut before its packages ended keeps the failures it has",
			input: new(goStream).run("TestAdd", "pass").run("TestTotal", "fail", "    cart_test.go:3: nope\n").
				ev("run", "TestCharge").ev("output", "TestCharge", "panic: boom\n").String(),
			want: []goWant{
				{suite: shopCart, name: "TestTotal", message: "cart_test.go:3: nope", frame: &contract.Frame{Function: "TestTotal", Module: shopCart, File: "cart_test.go", Line: 3}},
				{suite: shopCart, name: "TestCharge", errType: "panic", message: "boom", stackStart: "panic: boom"},
			},
			wantPassed: []string{"TestAdd"},
			wantCounts: [3]int{3, 2, 0},
		},
		{
			name: "a line with a test2json log line is not taken for a panic",
			input: new(goStream).run("TestLog", "fail", "    cart_test.go:3: panic: not really\n").
				ev("fail", "").String(),
			want:       []goWant{{suite: shopCart, name: "TestLog", message: "cart_test.go:3: panic: not really", frame: &contract.Frame{Function: "TestLog", Module: shopCart, File: "cart_test.go", Line: 3}}},
			wantCounts: [3]int{1, 1, 0},
		},
		{
			name: "a --- line of a test that already passed is no test of its own",
			input: new(goStream).ev("run", "TestP").ev("pass", "TestP").
				ev("output", "TestP", "--- PASS: TestP (0.00s)\n").ev("fail", "").String(),
			wantPassed: []string{"TestP"},
			wantCounts: [3]int{2, 1, 0},
			want:       []goWant{{suite: shopCart, name: GoPackageTest, errType: "package failed", message: "the test binary failed without a failed test"}},
		},
		{
			name:       "a package without tests yields nothing",
			input:      new(goStream).ev("start", "").ev("output", "", "?   \texample.com/shop/cart\t[no test files]\n").ev("skip", "").String(),
			wantCounts: [3]int{0, 0, 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions()
			rep, err := ParseGoTestJSON("out/test.json", strings.NewReader(tt.input), opts)
			if err != nil {
				t.Fatalf("ParseGoTestJSON() error = %v", err)
			}
			if rep.Format != FormatGoTestJSON || rep.Framework != "go" || rep.Source != "test.json" {
				t.Errorf("format, framework, source = %q, %q, %q", rep.Format, rep.Framework, rep.Source)
			}
			got := rep.Failures
			if len(got) != len(tt.want) {
				for _, f := range got {
					t.Logf("got %s %s: %q", f.Test.Suite, f.Test.Name, f.Error.Message)
				}
				t.Fatalf("ParseGoTestJSON() returned %d failures, want %d", len(got), len(tt.want))
			}
			for i, want := range tt.want {
				f := got[i]
				wantTest := contract.TestIdentity{Framework: "go", Suite: want.suite, Name: want.name}
				if *f.Test != wantTest {
					t.Errorf("failure %d: test = %+v, want %+v", i, *f.Test, wantTest)
				}
				if f.Error.Type != want.errType || f.Error.Message != want.message {
					t.Errorf("failure %d: type, message = %q, %q; want %q, %q", i, f.Error.Type, f.Error.Message, want.errType, want.message)
				}
				if want.stackStart == "" && f.Error.Stack != "" || !strings.HasPrefix(f.Error.Stack, want.stackStart) {
					t.Errorf("failure %d: stack = %q, want it to start with %q", i, f.Error.Stack, want.stackStart)
				}
				var wantFrames []contract.Frame
				if want.frame != nil {
					wantFrames = []contract.Frame{*want.frame}
				}
				if !slices.Equal(f.Error.Frames, wantFrames) {
					t.Errorf("failure %d: frames = %+v, want %+v", i, f.Error.Frames, wantFrames)
				}
				if len(want.attrs) != len(f.Attributes) {
					t.Errorf("failure %d: attributes = %v, want %v", i, f.Attributes, want.attrs)
				}
				checkAttrs(t, i, f, want.attrs)
				checkCommonFields(t, f, opts, 0)
			}
			if i := 0; !tt.wantTimeOf0.IsZero() && !got[i].Time.Equal(tt.wantTimeOf0) {
				t.Errorf("failure 0: time = %v, want the time of its fail event %v", got[i].Time, tt.wantTimeOf0)
			}
			var passed []string
			for _, p := range rep.Passed {
				name := p.Name
				if p.Suite != shopCart {
					name = p.Suite + ":" + p.Name
				}
				passed = append(passed, name)
			}
			if !slices.Equal(passed, tt.wantPassed) {
				t.Errorf("passed = %q, want %q", passed, tt.wantPassed)
			}
			if counts := [3]int{rep.Total, rep.Failed, rep.Skipped}; counts != tt.wantCounts {
				t.Errorf("total, failed, skipped = %v, want %v", counts, tt.wantCounts)
			}
			checkReport(t, rep, nil)
		})
	}
}

func TestParseGoTestJSONIDs(t *testing.T) {
	stream := new(goStream).
		run("TestA", "fail", "    a_test.go:1: x\n").
		run("TestA", "fail", "    a_test.go:1: x\n").
		run("other:TestA", "fail", "    a_test.go:1: x\n").String()
	parse := func(name string, opts Options) []string {
		rep, err := ParseGoTestJSON(name, strings.NewReader(stream), opts)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, f := range rep.Failures {
			ids = append(ids, f.ID)
		}
		return ids
	}
	first := parse("ci/go-test.json", testOptions())
	if len(first) != 3 || first[0] == first[1] || first[1] == first[2] || first[0] == first[2] {
		t.Fatalf("ids %v: want three different ones", first)
	}
	if again := parse("/elsewhere/go-test.json", testOptions()); !slices.Equal(again, first) {
		t.Errorf("the same stream in the same run got ids %v, then %v", first, again)
	}
	retried := testOptions()
	retried.Attempt = 2
	for name, ids := range map[string][]string{"another CI attempt": parse("ci/go-test.json", retried), "another file": parse("ci/go-test-2.json", testOptions())} {
		for i := range ids {
			if ids[i] == first[i] {
				t.Errorf("%s: failure %d keeps id %s", name, i, ids[i])
			}
		}
	}
	for _, f := range mustParseGo(t, stream, retried).Failures {
		if f.Run.Attempt != 2 {
			t.Errorf("failure of attempt 2 has run.attempt %d", f.Run.Attempt)
		}
	}
}

func mustParseGo(t *testing.T, stream string, opts Options) Report {
	t.Helper()
	rep, err := ParseGoTestJSON("go-test.json", strings.NewReader(stream), opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestParseGoTestJSONBoundsWhatItKeeps(t *testing.T) {
	t.Run("a test's message stops at 64 KiB", func(t *testing.T) {
		s := new(goStream).ev("run", "TestLoud")
		for i := range 3000 {
			s.ev("output", "TestLoud", fmt.Sprintf("    loud_test.go:%d: %s\n", i, strings.Repeat("x", 40)))
		}
		rep := mustParseGo(t, s.ev("fail", "TestLoud").ev("fail", "").String(), testOptions())
		msg := rep.Failures[0].Error.Message
		if len(msg) > contract.MaxMessageBytes || !strings.HasSuffix(msg, truncatedSuffix) || !strings.HasPrefix(msg, "loud_test.go:0: ") {
			t.Errorf("message is %d bytes, starting %q and ending %q", len(msg), msg[:20], msg[len(msg)-20:])
		}
	})
	t.Run("a panic's stack stops at 512 KiB", func(t *testing.T) {
		s := new(goStream).ev("run", "TestPanic").ev("output", "TestPanic", "panic: boom\n")
		for i := range 20000 {
			s.ev("output", "TestPanic", fmt.Sprintf("goroutine %d [chan receive]:\n\t/src/x.go:1 +0x1\n", i))
		}
		rep := mustParseGo(t, s.ev("fail", "").String(), testOptions())
		stack := rep.Failures[0].Error.Stack
		if len(stack) > contract.MaxStackBytes || !strings.HasPrefix(stack, "panic: boom\ngoroutine 0 ") {
			t.Errorf("stack is %d bytes, starting %q", len(stack), stack[:30])
		}
	})
	t.Run("a line without an end keeps 64 KiB", func(t *testing.T) {
		s := new(goStream).ev("run", "TestLong")
		for range 100 {
			s.ev("output", "TestLong", strings.Repeat("y", 4096))
		}
		rep := mustParseGo(t, s.ev("fail", "TestLong").ev("fail", "").String(), testOptions())
		if msg := rep.Failures[0].Error.Message; len(msg) > maxPartialLineBytes {
			t.Errorf("message is %d bytes, more than %d", len(msg), maxPartialLineBytes)
		}
	})
}

func TestParseGoTestJSONRefusesBadStreams(t *testing.T) {
	good := `{"Action":"run","Package":"p","Test":"TestA"}`
	tests := []struct {
		name     string
		input    string
		wantLine int
		wantCol  int
		wantErr  string
		wantIs   error
	}{
		{name: "a line that starts with { but is not JSON is refused where it breaks", input: good + "\n" + `  {"Action":"run","Package":"p",` + "\n", wantLine: 2, wantCol: 32, wantErr: "decode test event: unexpected end of JSON input"},
		{name: "a JSON line with a wrong type is refused", input: good + "\n" + `{"Action":7}`, wantLine: 2, wantCol: 11, wantErr: "decode test event"},
		{name: "an event without an Action is refused", input: good + "\n\n" + `{"Package":"p","Test":"TestA"}`, wantLine: 3, wantErr: "test event has no Action"},
		{name: "a time that is not RFC 3339 is refused", input: `{"Time":"yesterday","Action":"run"}`, wantLine: 1, wantErr: "decode test event"},
		{name: "an empty input is refused", input: "", wantErr: "the input is empty", wantIs: ErrUnknownFormat},
		{name: "a line longer than 4 MiB is refused", input: good + "\n" + `{"Action":"output","Output":"` + strings.Repeat("z", maxGoLineBytes) + `"}` + "\n" + good, wantLine: 2, wantErr: "line is longer than 4194304 bytes"},
		{name: "a test name longer than 64 KiB is refused", input: `{"Action":"fail","Package":"p","Test":"` + strings.Repeat("T", contract.MaxTestRefBytes+1) + `"}` + "\n" + `{"Action":"fail","Package":"p"}`, wantLine: 2, wantErr: "more than 65536", wantIs: contract.ErrInvalidEvent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := ParseGoTestJSON("ci/go-test.json", strings.NewReader(tt.input), testOptions())
			if rep.Failures != nil || rep.Passed != nil {
				t.Errorf("ParseGoTestJSON() returned a report with an error")
			}
			pe := parseError(t, err)
			if pe.Name != "ci/go-test.json" || pe.Line != tt.wantLine || tt.wantCol != 0 && pe.Column != tt.wantCol {
				t.Errorf("error at %s:%d:%d, want line %d column %d", pe.Name, pe.Line, pe.Column, tt.wantLine, tt.wantCol)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %q, want it to contain %q", err, tt.wantErr)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error = %v, want it to wrap %v", err, tt.wantIs)
			}
		})
	}
}

func TestParseGoTestJSONPassesOnReadErrors(t *testing.T) {
	boom := errors.New("connection reset")
	r := io.MultiReader(strings.NewReader(`{"Action":"run","Package":"p","Test":"TestA"}`+"\n"), iotest.ErrReader(boom))
	_, err := ParseGoTestJSON("go-test.json", r, testOptions())
	if !errors.Is(err, boom) {
		t.Fatalf("error = %v, want it to wrap %v", err, boom)
	}
	parseError(t, err)
}
