package testreport

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rounds-dev/rounds/pkg/contract"
)

// Limits on what a JUnit testcase adds to its failures as attributes.
const (
	// maxAttributes bounds the attributes of one failure.
	maxAttributes = 64
	// maxAttributeKeyBytes: a longer property name is dropped.
	maxAttributeKeyBytes = 256
	// maxAttributeValueBytes: a longer property value is cut.
	maxAttributeValueBytes = 512
	// outputTailBytes is how much of the end of <system-out> and
	// <system-err> a failure keeps.
	outputTailBytes = 4 << 10
	// maxAttempts bounds the failed attempts of one testcase.
	maxAttempts = 32
)

// Attributes a JUnit failure may carry besides the report's properties.
const (
	// AttrSystemOut and AttrSystemErr hold the last 4 KiB of the
	// testcase's (or the failed attempt's) <system-out> and <system-err>.
	// They go into attributes rather than the stack, so that log lines
	// never take part in grouping.
	AttrSystemOut = "system-out"
	AttrSystemErr = "system-err"
	// AttrPassedOnRetry is "true" on the failed attempts of a test that
	// then passed in the same run.
	AttrPassedOnRetry = "passed_on_retry"
)

// ParseJUnit is ParseJUnitReport for callers that want only the failures;
// on error the slice is nil.
func ParseJUnit(name string, r io.Reader, opts Options) ([]contract.Failure, error) {
	rep, err := ParseJUnitReport(name, r, opts)
	if err != nil {
		return nil, err
	}
	return rep.Failures, nil
}

// ParseJUnitReport parses a JUnit XML report: one failure per testcase that
// has a <failure> or <error> child, and the testcases that passed. The
// report is read as a stream of tokens, never loaded whole: memory grows
// with the failures and passed tests found and the longest text of one
// element, not with the size of the report.
//
// The root element is <testsuites> or <testsuite>; suites may nest at any
// depth. A testcase's suite is its classname, or else the names of its
// enclosing testsuites joined with "/". Its time is the nearest enclosing
// suite's timestamp, or else opts.Time. Its id is derived from the project,
// the run id, the base name of name, the suite, the test name and the
// testcase's index among those with the same suite and name, so that
// publishing the same report again in the same run is de-duplicated.
//
// The dialects differ in where they put things; this reads what Maven
// Surefire, Gradle, pytest, jest-junit, mocha (xunit and
// mocha-junit-reporter), Vitest, Node's --test-reporter=junit and
// go-junit-report write:
//
//   - A testcase without <failure>, <error> or <skipped> passed.
//   - Surefire's <flakyFailure> and <flakyError> are failed attempts of a
//     test that then passed; <rerunFailure> and <rerunError> follow the
//     <failure> or <error> of a test that failed every attempt. Each failed
//     attempt is a failure with run.attempt 1, 2, ... in document order; a
//     flaky test's failures carry the attribute passed_on_retry "true", and
//     the test is listed as passed and passed on retry.
//   - <properties> of the testcase and of its enclosing suites become
//     attributes (the nearest wins; at most 64, values cut at 512 bytes;
//     names that look like secrets, such as *password* or *token*, are left
//     out).
//   - The last 4 KiB of the testcase's <system-out> and <system-err> become
//     the attributes system-out and system-err of its failure.
//   - A Go parent test that go-junit-report or gotestsum report failed
//     only because a subtest did ("Failed", nothing of its own) is no
//     failure, as in go test -json; it still counts as failed in the
//     report's Failed and Total (see goparent.go).
//
// name is used in errors and ids. Every error about the input is a
// *ParseError; on error the Report is empty.
func ParseJUnitReport(name string, r io.Reader, opts Options) (Report, error) {
	if err := opts.check(); err != nil {
		return Report{}, err
	}
	content := newDigest(r)
	br := bufio.NewReader(content)
	if b, err := br.Peek(len(utf8BOM)); string(b) == utf8BOM {
		br.Discard(len(utf8BOM))
	} else if err != nil && err != io.EOF && len(b) < len(utf8BOM) {
		// Peek clears the error it reports; the decoder would then see a
		// short input rather than the read error.
		return Report{}, &ParseError{Name: name, Err: fmt.Errorf("read JUnit XML: %w", err)}
	}
	d := xml.NewDecoder(br)
	d.CharsetReader = charsetReader
	p := &junitParser{
		name: name,
		base: baseName(name),
		opts: opts,
		d:    d,
		seen: make(map[string]int),
	}
	if err := p.parse(); err != nil {
		return Report{}, err
	}
	p.dropParents()
	rep := p.tally.report(FormatJUnit, "junit", name, p.failures, opts)
	rep.digest = content.sum()
	return rep, nil
}

// frameKind says what an open element is to the parser.
type frameKind int

const (
	frameOther      frameKind = iota // ignored, with everything in it
	frameSuites                      // <testsuites>
	frameSuite                       // <testsuite>
	frameCase                        // <testcase>
	frameProblem                     // the first <failure> or <error> of the current testcase, or a Surefire rerun or flaky attempt
	frameStackTrace                  // <stackTrace> of a Surefire attempt
	frameOutput                      // <system-out> or <system-err> of a testcase or an attempt
	frameProperties                  // <properties> of a suite or a testcase
)

// junitFrame is one open element.
type junitFrame struct {
	kind frameKind
	// suite is set for a <testsuite> or <testsuites>.
	suite *junitSuite
	// problem is the failure or attempt a frameProblem or frameStackTrace
	// collects text for.
	problem *junitProblem
	// out collects the text of a frameOutput.
	out *tailText
	// props is where the <property> children of a frameProperties go.
	props *properties
}

// junitSuite is an open <testsuite> or <testsuites>.
type junitSuite struct {
	// name is the name attribute of a <testsuite>, "" for <testsuites>.
	name string
	// time is the parsed timestamp attribute, zero if it has none.
	time  time.Time
	props properties
}

// junitCase is the <testcase> being read.
type junitCase struct {
	line, col int // of the start tag
	suite     string
	name      string
	file      string
	fileLine  int
	time      time.Time // from the enclosing suites, zero if none said
	index     int       // among earlier testcases with the same suite and name
	// problem is the first <failure> or <error>, nil if none.
	problem *junitProblem
	// attempts are the failed attempts in document order: problem and
	// Surefire's rerun and flaky elements.
	attempts []*junitProblem
	skipped  bool
	props    properties
	out, err tailText
}

// junitProblem is a <failure> or <error>, or one failed attempt.
type junitProblem struct {
	typ     string // the type attribute, or else "failure" or "error"
	message string
	text    boundedText
	// out and err are an attempt's own <system-out> and <system-err>.
	out, err tailText
}

// junitParser holds the state of one ParseJUnitReport call.
type junitParser struct {
	name string
	base string
	opts Options
	d    *xml.Decoder

	stack    []junitFrame
	rootDone bool // the root element has been closed
	sawSuite bool // a <testsuite> or <testcase> has been seen
	// seen counts testcases by suite and name, to tell apart testcases that
	// a report repeats (reruns, duplicate titles) in their ids.
	seen map[string]int
	cur  *junitCase

	failures []contract.Failure
	tally    tally
	// parents are the failures that may be only a Go parent test failing
	// because a subtest did; dropParents decides once all are read, since
	// gotestsum writes subtests before their parent and go-junit-report
	// after.
	parents []goParent
}

func (p *junitParser) parse() error {
	for {
		// The position before reading a token is where the token starts:
		// the decoder stops character data just before a '<'.
		line, col := p.d.InputPos()
		tok, err := p.d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return p.decodeError(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			err = p.start(t, line, col)
		case xml.EndElement:
			err = p.end()
		case xml.CharData:
			err = p.text(t, line, col)
		}
		if err != nil {
			return err
		}
	}
	if !p.sawSuite {
		line, col := p.d.InputPos()
		return p.errorAt(line, col, errors.New("no testsuite or testcase element"))
	}
	return nil
}

func (p *junitParser) start(t xml.StartElement, line, col int) error {
	local := t.Name.Local
	var parent junitFrame
	if len(p.stack) == 0 {
		if p.rootDone {
			return p.errorAt(line, col, fmt.Errorf("element <%s> after the root element", local))
		}
		if local != "testsuites" && local != "testsuite" {
			return p.errorAt(line, col, fmt.Errorf("%w: root element is <%s>, not <testsuites> or <testsuite>", ErrUnknownFormat, local))
		}
		parent.kind = frameSuites // what the document is to its root element
	} else {
		parent = p.stack[len(p.stack)-1]
	}

	frame := junitFrame{kind: frameOther}
	switch parent.kind {
	case frameSuites, frameSuite:
		switch local {
		case "testsuites":
			frame = junitFrame{kind: frameSuites, suite: &junitSuite{time: parseTimestamp(attr(t, "timestamp"))}}
		case "testsuite":
			p.sawSuite = true
			frame = junitFrame{kind: frameSuite, suite: &junitSuite{name: attr(t, "name"), time: parseTimestamp(attr(t, "timestamp"))}}
		case "testcase":
			p.sawSuite = true
			if err := p.startCase(t, line, col); err != nil {
				return err
			}
			frame.kind = frameCase
		case "properties":
			if parent.suite != nil {
				frame = junitFrame{kind: frameProperties, props: &parent.suite.props}
			}
		}
	case frameCase:
		c := p.cur
		switch local {
		case "failure", "error":
			// Only the first failure or error counts.
			if c.problem == nil && len(c.attempts) < maxAttempts {
				c.problem = newProblem(t, local)
				c.attempts = append(c.attempts, c.problem)
				frame = junitFrame{kind: frameProblem, problem: c.problem}
			}
		case "flakyFailure", "rerunFailure", "flakyError", "rerunError":
			if len(c.attempts) < maxAttempts {
				kind := "failure"
				if strings.HasSuffix(local, "Error") {
					kind = "error"
				}
				a := newProblem(t, kind)
				c.attempts = append(c.attempts, a)
				frame = junitFrame{kind: frameProblem, problem: a}
			}
		case "skipped":
			c.skipped = true
		case "system-out":
			frame = junitFrame{kind: frameOutput, out: &c.out}
		case "system-err":
			frame = junitFrame{kind: frameOutput, out: &c.err}
		case "properties":
			frame = junitFrame{kind: frameProperties, props: &c.props}
		}
	case frameProblem:
		switch local {
		case "stackTrace":
			frame = junitFrame{kind: frameStackTrace, problem: parent.problem}
		case "system-out":
			frame = junitFrame{kind: frameOutput, out: &parent.problem.out}
		case "system-err":
			frame = junitFrame{kind: frameOutput, out: &parent.problem.err}
		}
	case frameProperties:
		if local == "property" {
			parent.props.add(attr(t, "name"), attr(t, "value"))
		}
	}
	p.stack = append(p.stack, frame)
	return nil
}

func newProblem(t xml.StartElement, kind string) *junitProblem {
	typ := strings.TrimSpace(attr(t, "type"))
	if typ == "" {
		typ = kind
	}
	return &junitProblem{
		typ:     typ,
		message: attr(t, "message"),
		text:    boundedText{limit: contract.MaxStackBytes},
		out:     tailText{limit: outputTailBytes},
		err:     tailText{limit: outputTailBytes},
	}
}

func (p *junitParser) startCase(t xml.StartElement, line, col int) error {
	name := attr(t, "name")
	if name == "" {
		return p.errorAt(line, col, errors.New("testcase has no name attribute"))
	}
	suite := attr(t, "classname")
	if suite == "test" {
		// Node's --test-reporter=junit calls every class "test"; its
		// describe blocks are the enclosing testsuites.
		suite = ""
	}
	if suite == "" {
		var names []string
		for _, f := range p.stack {
			if f.kind == frameSuite && f.suite.name != "" {
				names = append(names, f.suite.name)
			}
		}
		suite = strings.Join(names, "/")
	}
	c := &junitCase{
		line:  line,
		col:   col,
		suite: suite,
		name:  name,
		file:  attr(t, "file"),
		out:   tailText{limit: outputTailBytes},
		err:   tailText{limit: outputTailBytes},
	}
	if n, err := strconv.Atoi(strings.TrimSpace(attr(t, "line"))); err == nil && n > 0 {
		c.fileLine = n
	}
	for i := len(p.stack) - 1; i >= 0; i-- {
		if s := p.stack[i].suite; s != nil && !s.time.IsZero() {
			c.time = s.time
			break
		}
	}
	key := suite + "\x00" + name
	c.index = p.seen[key]
	p.seen[key]++
	p.cur = c
	return nil
}

func (p *junitParser) end() error {
	// The decoder has already checked that end tags match start tags.
	frame := p.stack[len(p.stack)-1]
	p.stack = p.stack[:len(p.stack)-1]
	if len(p.stack) == 0 {
		p.rootDone = true
	}
	if frame.kind == frameCase {
		return p.endCase()
	}
	return nil
}

func (p *junitParser) endCase() error {
	c := p.cur
	p.cur = nil
	ref := contract.TestRef{Suite: c.suite, Name: c.name}
	if err := checkRef(ref); err != nil {
		return p.errorAt(c.line, c.col, fmt.Errorf("testcase %q: %w", c.name, err))
	}
	onRetry := c.problem == nil && len(c.attempts) > 0
	switch {
	case c.problem != nil:
		p.tally.fail()
	case c.skipped && !onRetry:
		p.tally.skip()
	default:
		p.tally.pass(ref, onRetry)
	}
	if len(c.attempts) == 0 {
		return nil
	}
	// A lone failure keeps the id it had before attempts were numbered.
	numbered := len(c.attempts) > 1 || c.problem == nil
	attrs := p.properties(c)
	for i, a := range c.attempts {
		f := p.failure(c, a, attrs)
		if numbered {
			f.Run.Attempt = i + 1
			f.ID = deriveID(append(p.opts.idFields(junitIDTag, p.base), c.suite, c.name, strconv.Itoa(c.index), "attempt", strconv.Itoa(i+1))...)
		}
		out, errOut := &c.out, &c.err
		if a != c.problem {
			out, errOut = &a.out, &a.err
		}
		f.Attributes = withOutput(attrs, cleanOutput(out.String()), cleanOutput(errOut.String()), onRetry)
		if err := checkFailure(&f); err != nil {
			return p.errorAt(c.line, c.col, fmt.Errorf("testcase %q: %w", c.name, err))
		}
		if lines, ok := goParentLines(c); ok {
			p.parents = append(p.parents, goParent{index: len(p.failures), lines: lines})
		}
		p.failures = append(p.failures, f)
	}
	return nil
}

// failure is the failure of one attempt of c, without its attributes.
func (p *junitParser) failure(c *junitCase, a *junitProblem, attrs map[string]string) contract.Failure {
	stack := a.text.String()
	msg := strings.TrimSpace(a.message)
	if msg == "" {
		msg = firstLine(stack)
	}
	t := c.time
	if t.IsZero() {
		t = p.opts.Time
	}
	return contract.Failure{
		Schema:  contract.SchemaFailure,
		ID:      deriveID(append(p.opts.idFields(junitIDTag, p.base), c.suite, c.name, strconv.Itoa(c.index))...),
		Project: p.opts.Project,
		Time:    t,
		Kind:    contract.KindTest,
		Test: &contract.TestIdentity{
			Framework: "junit",
			Suite:     c.suite,
			Name:      c.name,
			File:      c.file,
			Line:      c.fileLine,
		},
		Error: contract.ErrorInfo{
			Type:    a.typ,
			Message: truncate(msg, contract.MaxMessageBytes),
			Stack:   stack,
		},
		Run: p.opts.runInfo(),
	}
}

// properties merges the properties of c and of its enclosing suites, the
// nearest first, into attributes.
func (p *junitParser) properties(c *junitCase) map[string]string {
	var attrs map[string]string
	add := func(ps properties) {
		for _, kv := range ps.list {
			if len(attrs) >= maxAttributes {
				return
			}
			if _, ok := attrs[kv.name]; !ok {
				if attrs == nil {
					attrs = make(map[string]string)
				}
				attrs[kv.name] = kv.value
			}
		}
	}
	add(c.props)
	for i := len(p.stack) - 1; i >= 0; i-- {
		if s := p.stack[i].suite; s != nil {
			add(s.props)
		}
	}
	return attrs
}

// withOutput returns a copy of attrs with the output tails and the retry
// mark, or nil if there is nothing to say.
func withOutput(attrs map[string]string, out, errOut string, onRetry bool) map[string]string {
	if out == "" && errOut == "" && !onRetry {
		return maps.Clone(attrs)
	}
	m := make(map[string]string, len(attrs)+3)
	maps.Copy(m, attrs)
	if out != "" {
		m[AttrSystemOut] = out
	}
	if errOut != "" {
		m[AttrSystemErr] = errOut
	}
	if onRetry {
		m[AttrPassedOnRetry] = "true"
	}
	return m
}

func (p *junitParser) text(t xml.CharData, line, col int) error {
	if len(p.stack) == 0 {
		if len(strings.TrimSpace(string(t))) > 0 {
			return p.errorAt(line, col, errors.New("text outside the root element"))
		}
		return nil
	}
	switch top := p.stack[len(p.stack)-1]; top.kind {
	case frameProblem, frameStackTrace:
		top.problem.text.Write(t)
	case frameOutput:
		top.out.Write(t)
	}
	return nil
}

// pytestSection matches the headers pytest's junit_logging puts between
// captured sections: "----- Captured Out -----", "--- Captured stdout call ---".
var pytestSection = regexp.MustCompile(`(?m)^-+ Captured [^\n]*-+$\n?`)

// cleanOutput drops pytest's section headers, so that a section with
// nothing captured leaves nothing.
func cleanOutput(s string) string {
	if !strings.Contains(s, " Captured ") {
		return s
	}
	return strings.TrimSpace(pytestSection.ReplaceAllString(s, ""))
}

// property is one <property> of a suite or testcase.
type property struct{ name, value string }

// properties collects <property> elements, at most maxAttributes, leaving
// out those that cannot or should not become attributes.
type properties struct{ list []property }

func (ps *properties) add(name, value string) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > maxAttributeKeyBytes || len(ps.list) >= maxAttributes || secretName(name) {
		return
	}
	ps.list = append(ps.list, property{name: name, value: truncate(value, maxAttributeValueBytes)})
}

// secretWords mark property names whose values must not travel: Surefire
// writes every system property, -Ddb.password=... included.
var secretWords = []string{"password", "passwd", "pwd", "secret", "token", "credential", "apikey", "api_key", "api-key", "private_key", "privatekey", "access_key", "accesskey"}

func secretName(name string) bool {
	n := strings.ToLower(name)
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

func (p *junitParser) errorAt(line, col int, err error) *ParseError {
	return &ParseError{Name: p.name, Line: line, Column: col, Err: err}
}

// decodeError places an error of the decoder at the position it stopped.
func (p *junitParser) decodeError(err error) *ParseError {
	line, col := p.d.InputPos()
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return p.errorAt(se.Line, col, xmlSyntaxError{se})
	}
	return p.errorAt(line, col, fmt.Errorf("read JUnit XML: %w", err))
}

// xmlSyntaxError keeps an *xml.SyntaxError in the error chain while leaving
// out the line, which the ParseError already says.
type xmlSyntaxError struct{ err *xml.SyntaxError }

func (e xmlSyntaxError) Error() string { return "invalid XML: " + e.err.Msg }
func (e xmlSyntaxError) Unwrap() error { return e.err }

// attr returns the value of the attribute local (without namespace) of t, or
// "" if t has none.
func attr(t xml.StartElement, local string) string {
	for _, a := range t.Attr {
		if a.Name.Local == local && a.Name.Space == "" {
			return a.Value
		}
	}
	return ""
}

// parseTimestamp parses a testsuite timestamp: RFC 3339, or without a zone
// as UTC (Surefire, jest-junit and pytest before 7 write no zone), or RFC 1123
// (mocha). It returns the zero time if s is none of them.
func parseTimestamp(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	// Both layouts accept fractional seconds when parsing.
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04:05", s, time.UTC); err == nil {
		return t
	}
	// mocha's xunit reporter writes Date.toUTCString().
	if t, err := time.Parse(time.RFC1123, s); err == nil {
		return t.UTC()
	}
	return time.Time{}
}

// firstLine returns the first line of s that is not blank, trimmed.
func firstLine(s string) string {
	for l := range strings.Lines(s) {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}

// boundedText collects character data up to limit bytes, trimmed of white
// space at both ends, so that a huge <failure> body costs no more memory
// than the stack it becomes.
type boundedText struct {
	limit int
	buf   []byte
	// dropped is set when text other than white space did not fit.
	dropped bool
}

// Write appends p, dropping leading white space and what does not fit.
func (t *boundedText) Write(p []byte) {
	if len(t.buf) == 0 {
		p = bytes.TrimLeftFunc(p, unicode.IsSpace)
	}
	if room := t.limit - len(t.buf); len(p) > room {
		if len(bytes.TrimSpace(p[room:])) > 0 {
			t.dropped = true
		}
		p = p[:room]
	}
	t.buf = append(t.buf, p...)
}

// len returns the length of the text kept so far.
func (t *boundedText) len() int { return len(t.buf) }

// String returns the text, trimmed, and cut with truncatedSuffix to fit the
// limit if some was dropped.
func (t *boundedText) String() string {
	s := strings.TrimRightFunc(string(t.buf), unicode.IsSpace)
	if t.dropped {
		return cut(s, t.limit)
	}
	return s
}

// tailText keeps the last limit bytes of character data, trimmed of white
// space at both ends: the end of a test's output says most about how it
// failed, and the rest costs memory.
type tailText struct {
	limit int
	buf   []byte
	// dropped is set when text other than white space was dropped.
	dropped bool
}

// Write appends p, dropping what falls out of the tail.
func (t *tailText) Write(p []byte) {
	if len(t.buf) == 0 {
		p = bytes.TrimLeftFunc(p, unicode.IsSpace)
	}
	if len(p) >= t.limit {
		if len(bytes.TrimSpace(t.buf)) > 0 || len(bytes.TrimSpace(p[:len(p)-t.limit])) > 0 {
			t.dropped = true
		}
		t.buf = append(t.buf[:0], p[len(p)-t.limit:]...)
		return
	}
	t.buf = append(t.buf, p...)
	// Shift only when the buffer has doubled, so that appends stay cheap.
	if len(t.buf) > 2*t.limit {
		cut := len(t.buf) - t.limit
		if len(bytes.TrimSpace(t.buf[:cut])) > 0 {
			t.dropped = true
		}
		t.buf = append(t.buf[:0], t.buf[cut:]...)
	}
}

// String returns the last limit bytes at most, trimmed, starting on a rune
// boundary and with truncatedPrefix if text was dropped.
func (t *tailText) String() string {
	b := t.buf
	if len(b) > t.limit {
		b = b[len(b)-t.limit:]
		t.dropped = t.dropped || len(bytes.TrimSpace(t.buf[:len(t.buf)-t.limit])) > 0
	}
	s := strings.TrimSpace(string(b))
	if !t.dropped {
		return s
	}
	// Cut the partial rune and make room for the prefix.
	n := min(len(truncatedPrefix), len(s))
	for n < len(s) && !utf8.RuneStart(s[n]) {
		n++
	}
	return truncatedPrefix + strings.TrimLeftFunc(s[n:], unicode.IsSpace)
}

// charsetReader lets the decoder read the few non-UTF-8 encodings that JUnit
// reports are written in, and says plainly which it cannot.
func charsetReader(label string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "utf8", "us-ascii", "ascii":
		// ASCII is a subset of UTF-8; the decoder still rejects bytes that
		// are not valid UTF-8.
		return input, nil
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1":
		return &latin1Reader{r: input}, nil
	}
	return nil, fmt.Errorf("unsupported encoding %q (JUnit reports must be UTF-8 or ISO-8859-1)", label)
}

// latin1Reader converts ISO-8859-1 to UTF-8.
type latin1Reader struct {
	r   io.Reader
	buf []byte
}

func (l *latin1Reader) Read(p []byte) (int, error) {
	// Each byte becomes at most two, so read half of what p can hold.
	n := len(p) / 2
	if n == 0 {
		return 0, io.ErrShortBuffer
	}
	if cap(l.buf) < n {
		l.buf = make([]byte, n)
	}
	m, err := l.r.Read(l.buf[:n])
	out := p[:0]
	for _, c := range l.buf[:m] {
		out = utf8.AppendRune(out, rune(c))
	}
	return len(out), err
}
