package testreport

import (
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/rounds-dev/rounds/pkg/contract"
)

func TestParseJUnitReportListsWhatPassed(t *testing.T) {
	tests := []struct {
		name        string
		input       string
		wantPassed  []contract.TestRef
		wantOnRetry []contract.TestRef
		wantCounts  [3]int // total, failed, skipped
	}{
		{
			name:       "testcases without a failure, error or skipped child passed",
			input:      `<testsuite name="s"><testcase classname="c" name="a"/><testcase classname="c" name="b"><system-out>log</system-out></testcase><testcase classname="c" name="f"><failure/></testcase><testcase classname="c" name="e"><error/></testcase><testcase classname="c" name="s"><skipped/></testcase></testsuite>`,
			wantPassed: []contract.TestRef{{Suite: "c", Name: "a"}, {Suite: "c", Name: "b"}},
			wantCounts: [3]int{5, 2, 1},
		},
		{
			name:        "a flaky test passed, on retry",
			input:       `<testsuite name="s"><testcase classname="c" name="flaky"><flakyFailure message="m"/></testcase><testcase classname="c" name="rerun"><failure/><rerunFailure/></testcase></testsuite>`,
			wantPassed:  []contract.TestRef{{Suite: "c", Name: "flaky"}},
			wantOnRetry: []contract.TestRef{{Suite: "c", Name: "flaky"}},
			wantCounts:  [3]int{2, 1, 0},
		},
		{
			name:       "a testcase repeated is listed once however often it passed",
			input:      `<testsuite name="s"><testcase name="t"/><testcase name="t"/><testcase name="t"><failure/></testcase></testsuite>`,
			wantPassed: []contract.TestRef{{Suite: "s", Name: "t"}},
			wantCounts: [3]int{3, 1, 0},
		},
		{
			name:       "a Vitest report lists its passed tests by file",
			input:      readTestdata("vitest.xml"),
			wantPassed: []contract.TestRef{{Suite: "src/cart.test.ts", Name: "cart > totals > adds"}, {Suite: "src/cart.test.ts", Name: "cart > removes"}},
			wantCounts: [3]int{4, 1, 1},
		},
		{
			name:       "a mocha-junit-reporter report lists its passed tests under their titles",
			input:      readTestdata("mocha-junit-reporter.xml"),
			wantPassed: []contract.TestRef{{Suite: "adds", Name: "Cart adds"}, {Suite: "removes", Name: "Cart removes"}},
			wantCounts: [3]int{3, 1, 0},
		},
		{
			name:       "Node's classname test gives way to the describe blocks, and a top-level test has no suite",
			input:      `<testsuites><testsuite name="cart"><testsuite name="totals"><testcase name="adds" classname="test"/></testsuite></testsuite><testcase name="loose" classname="test"/></testsuites>`,
			wantPassed: []contract.TestRef{{Suite: "cart/totals", Name: "adds"}, {Name: "loose"}},
			wantCounts: [3]int{2, 0, 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := ParseJUnitReport("report.xml", strings.NewReader(tt.input), testOptions())
			if err != nil {
				t.Fatalf("ParseJUnitReport() error = %v", err)
			}
			if !slices.Equal(rep.Passed, tt.wantPassed) || !slices.Equal(rep.PassedOnRetry, tt.wantOnRetry) {
				t.Errorf("passed = %v, on retry %v; want %v and %v", rep.Passed, rep.PassedOnRetry, tt.wantPassed, tt.wantOnRetry)
			}
			if counts := [3]int{rep.Total, rep.Failed, rep.Skipped}; counts != tt.wantCounts {
				t.Errorf("total, failed, skipped = %v, want %v", counts, tt.wantCounts)
			}
			if rep.Format != FormatJUnit || rep.Framework != "junit" || rep.Source != "report.xml" || !rep.ListsTests() {
				t.Errorf("format %q, framework %q, source %q, lists tests %v", rep.Format, rep.Framework, rep.Source, rep.ListsTests())
			}
			checkReport(t, rep, nil)
		})
	}
}

func readTestdata(name string) string {
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		panic(err)
	}
	return string(data)
}

func TestParseJUnitKeepsTheEndOfLongOutput(t *testing.T) {
	out := strings.Repeat("early line ü\n", 2000) + "the last line"
	input := `<testsuite name="s"><testcase name="t"><failure message="m"/><system-out>` + out + `</system-out></testcase></testsuite>`
	got, err := ParseJUnit("report.xml", strings.NewReader(input), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	tail := got[0].Attributes[AttrSystemOut]
	if len(tail) > outputTailBytes || len(tail) < outputTailBytes-100 {
		t.Errorf("system-out is %d bytes, want just under %d", len(tail), outputTailBytes)
	}
	if !strings.HasPrefix(tail, truncatedPrefix) || !strings.HasSuffix(tail, "early line ü\nthe last line") || !utf8.ValidString(tail) {
		t.Errorf("system-out = %.40q…%.40q, want it marked, whole runes and ending with the last line", tail, tail[len(tail)-40:])
	}
}

func TestTailText(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		limit  int
		want   string
	}{
		{name: "short text is kept, trimmed", writes: []string{"  \n a", "b \n "}, limit: 10, want: "ab"},
		{name: "white space alone is nothing", writes: []string{" \n\t"}, limit: 10, want: ""},
		{name: "the end of long text is kept and marked", writes: []string{strings.Repeat("x", 30), "0123456789abcdefghijklmnopqrstuvwxyz"}, limit: 30, want: truncatedPrefix + "lmnopqrstuvwxyz"},
		{name: "one write longer than the limit keeps its end", writes: []string{strings.Repeat("y", 100) + "end"}, limit: 20, want: truncatedPrefix + "yyend"},
		{name: "white space that falls off is not a cut", writes: []string{"          ", "0123456789"}, limit: 10, want: "0123456789"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx := tailText{limit: tt.limit}
			for _, w := range tt.writes {
				tx.Write([]byte(w))
			}
			got := tx.String()
			if got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			if len(got) > tt.limit {
				t.Errorf("String() is %d bytes, more than %d", len(got), tt.limit)
			}
		})
	}
}

func TestReportRunReported(t *testing.T) {
	input := `<testsuite name="s"><testcase classname="c" name="a"/><testcase classname="c" name="flaky"><flakyError/></testcase><testcase classname="c" name="f"><failure/></testcase><testcase classname="c" name="s"><skipped/></testcase></testsuite>`
	parse := func(name string, opts Options) contract.RunReported {
		rep, err := ParseReport(name, strings.NewReader(input), opts)
		if err != nil {
			t.Fatal(err)
		}
		return rep.RunReported()
	}
	opts := testOptions()
	run := parse("build/TEST-c.xml", opts)
	want := contract.RunReported{
		Schema: contract.SchemaRun, ID: run.ID, Project: "shop", Time: fallbackTime,
		Run:    contract.RunInfo{ID: opts.RunID, Commit: opts.Commit, Branch: opts.Branch, CIURL: opts.CIURL},
		Source: "TEST-c.xml", Framework: "junit",
		Passed:        contract.TestsBySuite{"c": {"a", "flaky"}},
		PassedOnRetry: contract.TestsBySuite{"c": {"flaky"}},
		Total:         4, Failed: 1, Skipped: 1,
	}
	if !idPattern.MatchString(run.ID) {
		t.Errorf("id = %q, want 32 hex characters", run.ID)
	}
	if !reflect.DeepEqual(run, want) {
		t.Errorf("RunReported() =\n%+v\nwant\n%+v", run, want)
	}
	if again := parse("/elsewhere/TEST-c.xml", opts); again.ID != run.ID {
		t.Errorf("the same file in the same run has id %s, then %s", run.ID, again.ID)
	}
	retried := opts
	retried.Attempt = 2
	other := parse("build/TEST-c.xml", retried)
	if other.ID == run.ID || other.Run.Attempt != 2 {
		t.Errorf("a CI re-run has id %s (first run %s) and attempt %d", other.ID, run.ID, other.Run.Attempt)
	}
	if parse("build/TEST-d.xml", opts).ID == run.ID {
		t.Errorf("another file has the same run report id")
	}
	rep, err := ParseReport("other/TEST-c.xml", strings.NewReader(strings.Replace(input, `name="a"`, `name="b"`, 1)), opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.RunReported().ID == run.ID {
		t.Errorf("another file of the same name has the same run report id")
	}
	rep, err = ParseReport("failures.jsonl", strings.NewReader(`{"test":{"name":"a"},"error":{"message":"m"}}`), opts)
	if err != nil || rep.ListsTests() {
		t.Errorf("Rounds JSON lines: %v, lists tests %v; want no run report", err, rep.ListsTests())
	}
}

func TestParseReportRefusesANegativeAttempt(t *testing.T) {
	opts := testOptions()
	opts.Attempt = -1
	_, err := ParseReport("report.xml", iotest.ErrReader(errors.New("the input must not be read")), opts)
	if err == nil || !strings.Contains(err.Error(), "attempt -1 is negative") {
		t.Errorf("ParseReport() error = %v, want one about the attempt", err)
	}
}
