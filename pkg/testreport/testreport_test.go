package testreport

import (
	"bufio"
	"errors"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
)

// fallbackTime is Options.Time in tests: a failure carries it when its
// report has no timestamp.
var fallbackTime = time.Date(2024, 3, 6, 8, 0, 0, 0, time.UTC)

func testOptions() Options {
	return Options{
		Project: "shop",
		RunID:   "gha-8112345678-1",
		Commit:  "0f3c2a9d41b7e5c8a6f2d3b9e1c4a7f5d8b2e6c0",
		Branch:  "main",
		CIURL:   "https://github.com/acme/shop/actions/runs/8112345678",
		Time:    fallbackTime,
	}
}

var idPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// openTestdata opens a file under testdata, closed when the test ends.
func openTestdata(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// parseError asserts that err is a *ParseError and returns it.
func parseError(t *testing.T, err error) *ParseError {
	t.Helper()
	if err == nil {
		t.Fatal("got no error, want a *ParseError")
	}
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("got %T %v, want a *ParseError", err, err)
	}
	return pe
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		want    Format
		wantErr string // substring; empty if no error is expected
	}{
		{name: "an XML declaration is JUnit", input: `<?xml version="1.0"?><testsuites/>`, want: FormatJUnit},
		{name: "a testsuite after blank lines is JUnit", input: "\n\n  \t<testsuite name=\"x\"/>", want: FormatJUnit},
		{name: "a byte order mark before XML is JUnit", input: utf8BOM + "<testsuites/>", want: FormatJUnit},
		{name: "a JSON object is Rounds JSON", input: `{"test":{"name":"x"}}`, want: FormatRoundsJSON},
		{name: "a JSON object after CRLF blank lines is Rounds JSON", input: "\r\n\r\n{}", want: FormatRoundsJSON},
		{name: "a JSON object with an Action is go test -json", input: `{"Time":"2024-03-05T10:11:12Z","Action":"start","Package":"example.com/shop/cart"}` + "\n", want: FormatGoTestJSON},
		{name: "a single go test event without a newline is go test -json", input: `{"Action":"run","Test":"TestA"}`, want: FormatGoTestJSON},
		{name: "go test's stderr before its first event is go test -json", input: "go: downloading example.com/dep v1.0.0\n# example.com/shop/cart\ncart.go:3:2: undefined: x\n" + `{"Action":"start","Package":"example.com/shop/cart"}` + "\n", want: FormatGoTestJSON},
		{name: "a JSON object without an Action is Rounds JSON", input: `{"test":{"name":"x"},"action":"lowercase is not test2json"}`, want: FormatRoundsJSON},
		{name: "a first line that is not JSON is Rounds JSON, for its parser to refuse", input: "{not json\n" + `{"Action":"run"}`, want: FormatRoundsJSON},
		{name: "plain text is an unknown format", input: "FAIL: TestTotal (0.00s)\n", wantErr: `starts with 'F'`},
		{name: "plain text followed by a JSON line without an Action is an unknown format", input: "hello\n{\"test\":{}}\n", wantErr: `starts with 'h'`},
		{name: "a JSON array is an unknown format", input: `[{"test":{}}]`, wantErr: `starts with '['`},
		{name: "a non-ASCII first character is named", input: "é", wantErr: `starts with 'é'`},
		{name: "a binary first byte is shown as a byte", input: "\x89PNG", wantErr: "starts with byte 0x89"},
		{name: "an empty input is an unknown format", input: "", wantErr: "the input is empty"},
		{name: "white space only is an unknown format", input: " \n\t\n", wantErr: "only white space"},
		{name: "more white space than can be peeked is an unknown format", input: strings.Repeat(" ", 5000) + "<a/>", wantErr: "all white space"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bufio.NewReader(strings.NewReader(tt.input))
			got, err := Detect(r)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrUnknownFormat) {
					t.Fatalf("Detect() error = %v, want one wrapping ErrUnknownFormat", err)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Detect() error = %q, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Detect() error = %v", err)
			}
			if got != tt.want {
				t.Errorf("Detect() = %q, want %q", got, tt.want)
			}
			rest, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if string(rest) != tt.input {
				t.Errorf("Detect consumed input: %q is left of %q", rest, tt.input)
			}
		})
	}
}

func TestDetectPassesOnReadErrors(t *testing.T) {
	boom := errors.New("connection reset")
	_, err := Detect(bufio.NewReader(iotest.ErrReader(boom)))
	if !errors.Is(err, boom) {
		t.Fatalf("Detect() error = %v, want it to wrap %v", err, boom)
	}
	if errors.Is(err, ErrUnknownFormat) {
		t.Errorf("Detect() error = %v wraps ErrUnknownFormat, but the format is not what failed", err)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name      string
		file      string
		wantCount int
	}{
		{name: "a Surefire report is parsed as JUnit", file: "surefire.xml", wantCount: 3},
		{name: "a pytest report is parsed as JUnit", file: "pytest.xml", wantCount: 3},
		{name: "a jest-junit report is parsed as JUnit", file: "jest-junit.xml", wantCount: 3},
		{name: "a go-junit-report report is parsed as JUnit", file: "go-junit-report.xml", wantCount: 3},
		{name: "a nested testsuites report is parsed as JUnit", file: "nested.xml", wantCount: 3},
		{name: "a Vitest report is parsed as JUnit", file: "vitest.xml", wantCount: 1},
		{name: "a mocha-junit-reporter report is parsed as JUnit", file: "mocha-junit-reporter.xml", wantCount: 1},
		{name: "a Rounds JSON lines file is parsed as Rounds JSON", file: "failures.jsonl", wantCount: 3},
		{name: "a go test -json stream is parsed as go test -json", file: "corpus/go/run-2.json", wantCount: 3},
		{name: "a go test -json stream after go test's stderr is parsed as go test -json", file: "corpus/go/run-6.json", wantCount: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse("testdata/"+tt.file, openTestdata(t, tt.file), testOptions())
			if err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
			if len(got) != tt.wantCount {
				t.Fatalf("Parse() returned %d failures, want %d", len(got), tt.wantCount)
			}
			for i := range got {
				if err := got[i].Validate(); err != nil {
					t.Errorf("failure %d does not validate: %v", i, err)
				}
				if got[i].Project != "shop" {
					t.Errorf("failure %d has project %q, want %q", i, got[i].Project, "shop")
				}
			}
		})
	}
}

func TestParseRefusesWhatItCannotParse(t *testing.T) {
	tests := []struct {
		name     string
		input    string
		wantLine int
		wantCol  int
		wantErr  string
	}{
		{name: "garbage after blank lines is reported where it starts", input: "\n\n  hello", wantLine: 3, wantCol: 3, wantErr: "starts with 'h'"},
		{name: "an empty input has no position", input: "", wantErr: "the input is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse("report.txt", strings.NewReader(tt.input), testOptions())
			if got != nil {
				t.Errorf("Parse() returned %d failures with an error", len(got))
			}
			pe := parseError(t, err)
			if !errors.Is(err, ErrUnknownFormat) {
				t.Errorf("Parse() error = %v, want one wrapping ErrUnknownFormat", err)
			}
			if pe.Name != "report.txt" || pe.Line != tt.wantLine || pe.Column != tt.wantCol {
				t.Errorf("Parse() error at %s:%d:%d, want report.txt:%d:%d", pe.Name, pe.Line, pe.Column, tt.wantLine, tt.wantCol)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Parse() error = %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestParsersRefuseBadOptionsBeforeReading(t *testing.T) {
	report := func(parse func(string, io.Reader, Options) (Report, error)) func(string, io.Reader, Options) ([]contract.Failure, error) {
		return func(name string, r io.Reader, opts Options) ([]contract.Failure, error) {
			rep, err := parse(name, r, opts)
			return rep.Failures, err
		}
	}
	parsers := map[string]func(string, io.Reader, Options) ([]contract.Failure, error){
		"Parse":            Parse,
		"ParseJUnit":       ParseJUnit,
		"ParseRoundsJSON":  ParseRoundsJSON,
		"ParseReport":      report(ParseReport),
		"ParseJUnitReport": report(ParseJUnitReport),
		"ParseGoTestJSON":  report(ParseGoTestJSON),
	}
	projects := map[string]string{
		"an empty project is refused":              "",
		"a project with a space is refused":        "my shop",
		"a project with a dot is refused":          "acme.shop",
		"a project longer than 64 is refused":      strings.Repeat("p", 65),
		"a project with a wildcard is refused":     "*",
		"a project with a subject tail is refused": ">",
	}
	for pname, parse := range parsers {
		for name, project := range projects {
			t.Run(pname+"/"+name, func(t *testing.T) {
				opts := testOptions()
				opts.Project = project
				r := iotest.ErrReader(errors.New("the input must not be read"))
				got, err := parse("report.xml", r, opts)
				if got != nil || !errors.Is(err, contract.ErrInvalidToken) {
					t.Errorf("%s() = %v, %v; want nil and an error wrapping ErrInvalidToken", pname, got, err)
				}
			})
		}
	}
}

func TestParseErrorMessage(t *testing.T) {
	inner := errors.New("something is wrong")
	tests := []struct {
		name string
		err  *ParseError
		want string
	}{
		{name: "a line and column are both shown", err: &ParseError{Name: "report.xml", Line: 3, Column: 14, Err: inner}, want: "report.xml:3:14: something is wrong"},
		{name: "a zero column is left out", err: &ParseError{Name: "failures.jsonl", Line: 7, Err: inner}, want: "failures.jsonl:7: something is wrong"},
		{name: "a zero line leaves out the position", err: &ParseError{Name: "-", Err: inner}, want: "-: something is wrong"},
		{name: "a missing error still reads as an error", err: &ParseError{Name: "stdin", Line: 1}, want: "stdin:1: parse error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
			if tt.err.Err != nil && !errors.Is(tt.err, inner) {
				t.Errorf("Unwrap does not return the underlying error")
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		name string
		s    string
		max  int
		want string
	}{
		{name: "text within the limit is kept", s: "expected 85", max: 64, want: "expected 85"},
		{name: "text at the limit is kept", s: strings.Repeat("a", 20), max: 20, want: strings.Repeat("a", 20)},
		{name: "longer text is cut and marked", s: strings.Repeat("a", 40), max: 30, want: strings.Repeat("a", 30-len(truncatedSuffix)) + truncatedSuffix},
		// "é" is two bytes: a cut at an odd byte would split one.
		{name: "a cut never splits a rune", s: strings.Repeat("é", 20), max: 30, want: strings.Repeat("é", (30-len(truncatedSuffix))/2) + truncatedSuffix},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := truncate(tt.s, tt.max)
			if got != tt.want {
				t.Errorf("truncate() = %q, want %q", got, tt.want)
			}
			if len(got) > tt.max {
				t.Errorf("truncate() is %d bytes, more than %d", len(got), tt.max)
			}
		})
	}
}

func TestDeriveIDSeparatesFields(t *testing.T) {
	// Without separation these would hash the same concatenation.
	a := deriveID("ab", "c")
	b := deriveID("a", "bc")
	if a == b {
		t.Errorf("deriveID(%q, %q) == deriveID(%q, %q) = %s", "ab", "c", "a", "bc", a)
	}
	if !idPattern.MatchString(a) {
		t.Errorf("deriveID() = %q, want 32 lower-case hex characters", a)
	}
}
