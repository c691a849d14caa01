// Package testreport turns test report files into Rounds events: one
// contract.Failure (rounds.failure.v1) per failed test, and the list of the
// tests that passed, for a contract.RunReported (rounds.run.v1).
//
// It reads JUnit XML, as written by most test runners; the JSON event
// stream of go test -json (test2json); and Rounds JSON lines, one
// contract.Failure object per line. ParseReport detects which one it was
// given. A report either parses completely or not at all: every parser
// returns nothing but its error, so that callers publish nothing from a bad
// file. Reports are read as streams, never loaded whole.
package testreport

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rounds-dev/rounds/pkg/contract"
)

// Options fill in what a report file does not say.
type Options struct {
	// Project is required and must satisfy contract.ValidToken.
	Project string
	// RunID is the CI run id; it is part of every derived idempotency id, so
	// that the same file published again in the same run is de-duplicated
	// while the same file in another run is not.
	RunID  string
	Commit string
	Branch string
	CIURL  string
	// Attempt is the 1-based attempt of the CI run when the CI system runs
	// it again under the same run id, 0 when unknown. It goes into derived
	// ids, so that a re-run's failures are not taken for repeats of the
	// first run's.
	Attempt int
	// Time is used when the file has no timestamp, and is the time of the
	// run report.
	Time time.Time
}

// check reports why the options cannot be used, before any input is read.
func (o Options) check() error {
	if !contract.ValidToken(o.Project) {
		return fmt.Errorf("check options: project %q: %w (use 1-64 of A-Z a-z 0-9 - _)", o.Project, contract.ErrInvalidToken)
	}
	if o.Attempt < 0 {
		return fmt.Errorf("check options: attempt %d is negative", o.Attempt)
	}
	return nil
}

// runInfo is the run of every failure and run report, before a format
// numbers the attempts of a retried test.
func (o Options) runInfo() contract.RunInfo {
	return contract.RunInfo{ID: o.RunID, Commit: o.Commit, Branch: o.Branch, Attempt: o.Attempt, CIURL: o.CIURL}
}

// idFields are the fields every derived id starts with after its domain
// tag. The attempt is left out when unknown, so that ids derived before it
// existed stay the same.
func (o Options) idFields(tag, base string) []string {
	f := []string{tag, o.Project, o.RunID, base}
	if o.Attempt > 0 {
		f = append(f, "ci-attempt", strconv.Itoa(o.Attempt))
	}
	return f
}

// Format names a report format.
type Format string

// Formats that Detect recognises.
const (
	FormatJUnit      Format = "junit"
	FormatGoTestJSON Format = "go-test-json"
	FormatRoundsJSON Format = "rounds-json"
)

// ErrUnknownFormat is wrapped by the error of Detect, and of Parse, when the
// input is empty or is none of JUnit XML, go test -json and Rounds JSON
// lines, and by the error of ParseJUnit when the root element is not a JUnit
// one.
var ErrUnknownFormat = errors.New("unknown report format")

// ParseError names the input and the position of what could not be parsed.
// Line and Column are 1-based; Column counts bytes and is 0 when unknown, and
// Line is 0 when the error is about the input as a whole.
type ParseError struct {
	Name   string
	Line   int
	Column int
	Err    error
}

// Error returns "name:line:col: message", leaving out the column when it is
// unknown and the line when the error has no position.
func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString(e.Name)
	if e.Line > 0 {
		b.WriteString(":")
		b.WriteString(strconv.Itoa(e.Line))
		if e.Column > 0 {
			b.WriteString(":")
			b.WriteString(strconv.Itoa(e.Column))
		}
	}
	b.WriteString(": ")
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("parse error")
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *ParseError) Unwrap() error { return e.Err }

// utf8BOM is skipped at the start of the input: editors and tools on Windows
// like to write one, and neither encoding/xml nor encoding/json accept it.
const utf8BOM = "\xEF\xBB\xBF"

// detectBytes is how much of the input ParseReport may look at to tell
// the format: enough for the compile errors that go test writes to stderr
// before its first JSON line, when both streams go to one file.
const detectBytes = 64 << 10

// Detect peeks, without consuming anything, at the first byte that is not
// white space (after an optional UTF-8 byte order mark): '<' is JUnit XML;
// '{' is go test -json when the first line is an object with an "Action"
// key, and Rounds JSON lines otherwise. Any other byte is go test -json if a
// line of what r can peek is such an object (go test's stderr, merged into
// the same file, can come first), and an error wrapping ErrUnknownFormat if
// not. An empty input, or one that is only white space as far as r can
// peek, is an error wrapping ErrUnknownFormat.
func Detect(r *bufio.Reader) (Format, error) {
	f, _, _, err := detect(r)
	return f, err
}

// detect is Detect that also returns the line and column of the byte it
// looked at, for Parse to report.
func detect(r *bufio.Reader) (format Format, line, col int, err error) {
	line, col = 1, 1
	i := 0
	if b, err := r.Peek(len(utf8BOM)); string(b) == utf8BOM {
		i = len(utf8BOM)
	} else if err != nil && err != io.EOF {
		// Peek forgets the error it returns; report it rather than have the
		// next read see whatever the reader does after failing.
		return "", line, col, fmt.Errorf("detect report format: %w", err)
	}
	for ; ; i++ {
		if i >= r.Size() {
			return "", line, col, fmt.Errorf("%w: the first %d bytes are all white space", ErrUnknownFormat, r.Size())
		}
		buf, err := r.Peek(i + 1)
		if len(buf) <= i {
			if err == io.EOF {
				if i == 0 {
					return "", 0, 0, fmt.Errorf("%w: the input is empty", ErrUnknownFormat)
				}
				return "", 0, 0, fmt.Errorf("%w: the input is only white space", ErrUnknownFormat)
			}
			return "", line, col, fmt.Errorf("detect report format: %w", err)
		}
		switch c := buf[i]; c {
		case ' ', '\t', '\r':
			col++
		case '\n':
			line++
			col = 1
		case '<':
			return FormatJUnit, line, col, nil
		case '{':
			window, full := peekWindow(r)
			if first, ok := nextLine(window[i:], full); ok && isTestEvent(first) {
				return FormatGoTestJSON, line, col, nil
			}
			return FormatRoundsJSON, line, col, nil
		default:
			if window, full := peekWindow(r); hasTestEventLine(window[i:], full) {
				return FormatGoTestJSON, line, col, nil
			}
			// Peek more to name a character rather than its first byte;
			// near the end of the input Peek returns what there is.
			buf, _ = r.Peek(i + utf8.UTFMax)
			ch, _ := utf8.DecodeRune(buf[i:])
			if ch == utf8.RuneError {
				return "", line, col, fmt.Errorf("%w: starts with byte %#02x, neither '<' (JUnit XML) nor '{' (go test -json, Rounds JSON lines)", ErrUnknownFormat, c)
			}
			return "", line, col, fmt.Errorf("%w: starts with %q, neither '<' (JUnit XML) nor '{' (go test -json, Rounds JSON lines)", ErrUnknownFormat, ch)
		}
	}
}

// peekWindow returns what r can peek, and whether that is the whole buffer
// (there may be more input) rather than the rest of the input.
func peekWindow(r *bufio.Reader) (window []byte, full bool) {
	window, err := r.Peek(r.Size())
	return window, err == nil
}

// nextLine returns the first line of b without its end, and whether it is
// whole: it ends in b, or b is the rest of the input (not full).
func nextLine(b []byte, full bool) ([]byte, bool) {
	if n := bytes.IndexByte(b, '\n'); n >= 0 {
		return b[:n], true
	}
	return b, !full
}

// hasTestEventLine reports whether the first line of b that starts with
// '{' is a test2json event.
func hasTestEventLine(b []byte, full bool) bool {
	for len(b) > 0 {
		l, whole := nextLine(b, full)
		if !whole {
			return false
		}
		b = b[min(len(l)+1, len(b)):]
		if t := bytes.TrimLeft(l, " \t"); len(t) > 0 && t[0] == '{' {
			return isTestEvent(l)
		}
	}
	return false
}

// isTestEvent reports whether line is a JSON object with an "Action" key,
// as every event of go test -json is; a Rounds failure has none.
func isTestEvent(line []byte) bool {
	var keys map[string]json.RawMessage
	if json.Unmarshal(line, &keys) != nil {
		return false
	}
	_, ok := keys["Action"]
	return ok
}

// Report is what one report file says about a test run.
type Report struct {
	// Format is the format the report was parsed as.
	Format Format
	// Source is the base name of the report's name, which goes into the
	// derived ids and the run report.
	Source string
	// Framework names what the report came from, as the failures'
	// test.framework does: "junit" or "go"; empty for Rounds JSON.
	Framework string
	// Failures holds one failure per failed test, or per failed attempt of
	// a test that was retried; a Go package that did not build is one
	// failure of the test "[build]".
	Failures []contract.Failure
	// Passed lists every test that passed, each once, in the order they
	// finished; a test that passed on a retry is included.
	Passed []contract.TestRef
	// PassedOnRetry lists the tests that passed after failed attempts in
	// this run. Their failed attempts are in Failures, with run.attempt 1,
	// 2, ... and the attribute passed_on_retry set to "true".
	PassedOnRetry []contract.TestRef
	// Total counts the tests in the report: those passed, failed and
	// skipped. Failed counts the tests whose last attempt failed, which may
	// be fewer than the failures (attempts) or more (a parent test failing
	// with its subtests is no failure of its own).
	Total, Failed, Skipped int

	opts Options
	// digest is a hash of the whole input, for the run report's id.
	digest string
}

// ListsTests reports whether the report lists the tests that ran, passed
// ones included, as JUnit XML and go test -json do: only then is a run
// report worth publishing. Rounds JSON lines list failures only.
func (r *Report) ListsTests() bool {
	return r.Format == FormatJUnit || r.Format == FormatGoTestJSON
}

// RunReported returns the run report of the whole file: its id is derived
// from the project, the run id, the CI attempt, the source and a hash of the
// file's content, so that publishing the same file again in the same run is
// de-duplicated while two files of the same name (packages/a/junit.xml and
// packages/b/junit.xml) are not; its time is Options.Time. It is one event
// before client.PublishRun (or contract.RunReported.Chunks) cuts it into
// chunks, so its Chunk is zero.
func (r *Report) RunReported() contract.RunReported {
	return contract.RunReported{
		Schema:        contract.SchemaRun,
		ID:            deriveID(append(r.opts.idFields(runIDTag, r.Source), r.digest)...),
		Project:       r.opts.Project,
		Time:          r.opts.Time,
		Run:           r.opts.runInfo(),
		Source:        r.Source,
		Framework:     r.Framework,
		Passed:        contract.GroupTests(r.Passed),
		PassedOnRetry: contract.GroupTests(r.PassedOnRetry),
		Total:         r.Total,
		Failed:        r.Failed,
		Skipped:       r.Skipped,
	}
}

// tally counts the outcomes of the tests of a report, and lists those that
// passed, each once.
type tally struct {
	passed, onRetry        []contract.TestRef
	seen, seenOnRetry      map[contract.TestRef]bool
	total, failed, skipped int
}

func (t *tally) pass(ref contract.TestRef, onRetry bool) {
	t.total++
	if t.seen == nil {
		t.seen, t.seenOnRetry = make(map[contract.TestRef]bool), make(map[contract.TestRef]bool)
	}
	if !t.seen[ref] {
		t.seen[ref] = true
		t.passed = append(t.passed, ref)
	}
	if onRetry && !t.seenOnRetry[ref] {
		t.seenOnRetry[ref] = true
		t.onRetry = append(t.onRetry, ref)
	}
}

func (t *tally) fail() { t.total++; t.failed++ }
func (t *tally) skip() { t.total++; t.skipped++ }

// checkRef refuses a listed test that no run report could carry.
func checkRef(ref contract.TestRef) error {
	switch {
	case len(ref.Suite) > contract.MaxTestRefBytes:
		return fmt.Errorf("%w: suite is %d bytes, more than %d", contract.ErrInvalidEvent, len(ref.Suite), contract.MaxTestRefBytes)
	case len(ref.Name) > contract.MaxTestRefBytes:
		return fmt.Errorf("%w: test name is %d bytes, more than %d", contract.ErrInvalidEvent, len(ref.Name), contract.MaxTestRefBytes)
	}
	return nil
}

// report builds the Report of a parse.
func (t *tally) report(format Format, framework, name string, failures []contract.Failure, opts Options) Report {
	return Report{
		Format:        format,
		Source:        baseName(name),
		Framework:     framework,
		Failures:      failures,
		Passed:        t.passed,
		PassedOnRetry: t.onRetry,
		Total:         t.total,
		Failed:        t.failed,
		Skipped:       t.skipped,
		opts:          opts,
	}
}

// ParseReport detects the format of r and parses the whole input. name is
// used in errors, in derived ids and, by its base name, as the source of the
// run report: a file path, or "-" or "stdin". Every error about the input
// is a *ParseError; on error the Report is empty.
func ParseReport(name string, r io.Reader, opts Options) (Report, error) {
	if err := opts.check(); err != nil {
		return Report{}, err
	}
	br := bufio.NewReaderSize(r, detectBytes)
	format, line, col, err := detect(br)
	if err != nil {
		return Report{}, &ParseError{Name: name, Line: line, Column: col, Err: err}
	}
	switch format {
	case FormatJUnit:
		return ParseJUnitReport(name, br, opts)
	case FormatGoTestJSON:
		return ParseGoTestJSON(name, br, opts)
	case FormatRoundsJSON:
		return parseRoundsJSON(name, br, opts)
	}
	// Unreachable unless detect learns a format this switch does not.
	return Report{}, &ParseError{Name: name, Err: fmt.Errorf("%w: no parser for %q", ErrUnknownFormat, format)}
}

// Parse is ParseReport for callers that want only the failures; on error
// the slice is nil.
func Parse(name string, r io.Reader, opts Options) ([]contract.Failure, error) {
	rep, err := ParseReport(name, r, opts)
	if err != nil {
		return nil, err
	}
	return rep.Failures, nil
}

// Domain tags that start every derived id, so that ids derived for different
// formats, or by a future change of derivation, never collide.
const (
	junitIDTag      = "rounds.testreport.junit.v1"
	goTestIDTag     = "rounds.testreport.go-test-json.v1"
	roundsJSONIDTag = "rounds.testreport.rounds-json.v1"
	runIDTag        = "rounds.testreport.run.v1"
)

// deriveID hashes fields into a 32 hex character idempotency id. Each field
// is length-prefixed so that no two different field lists hash alike.
func deriveID(fields ...string) string {
	h := sha256.New()
	var n [8]byte
	for _, f := range fields {
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		io.WriteString(h, f)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// digest hashes what is read through it.
type digest struct {
	r io.Reader
	h hash.Hash
}

func newDigest(r io.Reader) *digest { return &digest{r: r, h: sha256.New()} }

func (d *digest) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	d.h.Write(p[:n])
	return n, err
}

// sum returns the hash of what was read, in hex.
func (d *digest) sum() string { return hex.EncodeToString(d.h.Sum(nil)) }

// baseName is the part of an input name that goes into derived ids: the same
// report published from another checkout directory is still the same report.
func baseName(name string) string {
	return filepath.Base(name)
}

// truncatedSuffix ends text that was cut to fit a limit.
const truncatedSuffix = "… [truncated]"

// truncatedPrefix starts text whose beginning was cut to fit a limit.
const truncatedPrefix = "[truncated] …"

// truncate returns s if it fits in max bytes, else its longest prefix that
// ends on a rune boundary and, with truncatedSuffix, fits.
func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return cut(s, max)
}

// cut shortens s to end with truncatedSuffix within max bytes, cutting on a
// rune boundary.
func cut(s string, max int) string {
	n := min(len(s), max-len(truncatedSuffix))
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + truncatedSuffix
}

// checkFailure reports why f cannot be published: what Validate says, or an
// encoding larger than consumers accept (contract.DecodeFailure refuses it).
func checkFailure(f *contract.Failure) error {
	if err := f.Validate(); err != nil {
		return err
	}
	data, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("%w: encode failure: %v", contract.ErrInvalidEvent, err)
	}
	if len(data) > contract.MaxFailureBytes {
		return fmt.Errorf("%w: failure is %d bytes encoded, more than %d", contract.ErrInvalidEvent, len(data), contract.MaxFailureBytes)
	}
	return nil
}
