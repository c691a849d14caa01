package testreport

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rounds-dev/rounds/pkg/contract"
)

// ParseJUnit parses a JUnit XML report and returns one failure per testcase
// that has a <failure> or <error> child. The report is read as a stream of
// tokens, never loaded whole: memory grows with the failures found and the
// longest text of one element, not with the size of the report.
//
// The root element is <testsuites> or <testsuite>; suites may nest at any
// depth. A testcase's suite is its classname, or else the names of its
// enclosing testsuites joined with "/". Its time is the nearest enclosing
// suite's timestamp, or else opts.Time. Its id is derived from the project,
// the run id, the base name of name, the suite, the test name and the
// testcase's index among those with the same suite and name, so that
// publishing the same report again in the same run is de-duplicated.
//
// name is used in errors and ids. Every error about the input is a
// *ParseError; on error the slice is nil.
func ParseJUnit(name string, r io.Reader, opts Options) ([]contract.Failure, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	br := bufio.NewReader(r)
	if b, err := br.Peek(len(utf8BOM)); string(b) == utf8BOM {
		br.Discard(len(utf8BOM))
	} else if err != nil && err != io.EOF && len(b) < len(utf8BOM) {
		// Peek clears the error it reports; the decoder would then see a
		// short input rather than the read error.
		return nil, &ParseError{Name: name, Err: fmt.Errorf("read JUnit XML: %w", err)}
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
	failures, err := p.parse()
	if err != nil {
		return nil, err
	}
	return failures, nil
}

// frameKind says what an open element is to the parser.
type frameKind int

const (
	frameOther   frameKind = iota // ignored, with everything in it
	frameSuites                   // <testsuites>
	frameSuite                    // <testsuite>
	frameCase                     // <testcase>
	frameProblem                  // the first <failure> or <error> of the current testcase
)

// junitFrame is one open element.
type junitFrame struct {
	kind frameKind
	// name is the name attribute of a <testsuite>.
	name string
	// time is the parsed timestamp attribute of a suite, zero if it has none.
	time time.Time
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
	problem   *junitProblem
}

// junitProblem is the first <failure> or <error> of a testcase.
type junitProblem struct {
	elem    string // "failure" or "error"
	typ     string
	message string
	text    boundedText
}

// junitParser holds the state of one ParseJUnit call.
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
}

func (p *junitParser) parse() ([]contract.Failure, error) {
	for {
		// The position before reading a token is where the token starts:
		// the decoder stops character data just before a '<'.
		line, col := p.d.InputPos()
		tok, err := p.d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, p.decodeError(err)
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
			return nil, err
		}
	}
	if !p.sawSuite {
		line, col := p.d.InputPos()
		return nil, p.errorAt(line, col, errors.New("no testsuite or testcase element"))
	}
	return p.failures, nil
}

func (p *junitParser) start(t xml.StartElement, line, col int) error {
	local := t.Name.Local
	parent := frameSuites // what the document is to its root element
	if len(p.stack) == 0 {
		if p.rootDone {
			return p.errorAt(line, col, fmt.Errorf("element <%s> after the root element", local))
		}
		if local != "testsuites" && local != "testsuite" {
			return p.errorAt(line, col, fmt.Errorf("%w: root element is <%s>, not <testsuites> or <testsuite>", ErrUnknownFormat, local))
		}
	} else {
		parent = p.stack[len(p.stack)-1].kind
	}

	frame := junitFrame{kind: frameOther}
	switch parent {
	case frameSuites, frameSuite:
		switch local {
		case "testsuites":
			frame = junitFrame{kind: frameSuites, time: parseTimestamp(attr(t, "timestamp"))}
		case "testsuite":
			p.sawSuite = true
			frame = junitFrame{kind: frameSuite, name: attr(t, "name"), time: parseTimestamp(attr(t, "timestamp"))}
		case "testcase":
			p.sawSuite = true
			if err := p.startCase(t, line, col); err != nil {
				return err
			}
			frame.kind = frameCase
		}
	case frameCase:
		// Only the first failure or error counts; <skipped>, <system-out>
		// and Surefire's <flakyFailure>/<rerunFailure> are ignored.
		if (local == "failure" || local == "error") && p.cur.problem == nil {
			p.cur.problem = &junitProblem{
				elem:    local,
				typ:     attr(t, "type"),
				message: attr(t, "message"),
				text:    boundedText{limit: contract.MaxStackBytes},
			}
			frame.kind = frameProblem
		}
	}
	p.stack = append(p.stack, frame)
	return nil
}

func (p *junitParser) startCase(t xml.StartElement, line, col int) error {
	name := attr(t, "name")
	if name == "" {
		return p.errorAt(line, col, errors.New("testcase has no name attribute"))
	}
	suite := attr(t, "classname")
	if suite == "" {
		var names []string
		for _, f := range p.stack {
			if f.kind == frameSuite && f.name != "" {
				names = append(names, f.name)
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
	}
	if n, err := strconv.Atoi(strings.TrimSpace(attr(t, "line"))); err == nil && n > 0 {
		c.fileLine = n
	}
	for i := len(p.stack) - 1; i >= 0; i-- {
		if !p.stack[i].time.IsZero() {
			c.time = p.stack[i].time
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
	if c.problem == nil {
		return nil
	}
	stack := c.problem.text.String()
	msg := strings.TrimSpace(c.problem.message)
	if msg == "" {
		msg = firstLine(stack)
	}
	typ := strings.TrimSpace(c.problem.typ)
	if typ == "" {
		typ = c.problem.elem
	}
	t := c.time
	if t.IsZero() {
		t = p.opts.Time
	}
	f := contract.Failure{
		Schema:  contract.SchemaFailure,
		ID:      deriveID(junitIDTag, p.opts.Project, p.opts.RunID, p.base, c.suite, c.name, strconv.Itoa(c.index)),
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
			Type:    typ,
			Message: truncate(msg, contract.MaxMessageBytes),
			Stack:   stack,
		},
		Run: contract.RunInfo{
			ID:     p.opts.RunID,
			Commit: p.opts.Commit,
			Branch: p.opts.Branch,
			CIURL:  p.opts.CIURL,
		},
	}
	if err := checkFailure(&f); err != nil {
		return p.errorAt(c.line, c.col, fmt.Errorf("testcase %q: %w", c.name, err))
	}
	p.failures = append(p.failures, f)
	return nil
}

func (p *junitParser) text(t xml.CharData, line, col int) error {
	if len(p.stack) == 0 {
		if len(strings.TrimSpace(string(t))) > 0 {
			return p.errorAt(line, col, errors.New("text outside the root element"))
		}
		return nil
	}
	if p.stack[len(p.stack)-1].kind == frameProblem {
		p.cur.problem.text.Write(t)
	}
	return nil
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
// as UTC (Surefire, jest-junit and pytest before 7 write no zone). It returns
// the zero time if s is neither.
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

// String returns the text, trimmed, and cut with truncatedSuffix to fit the
// limit if some was dropped.
func (t *boundedText) String() string {
	s := strings.TrimRightFunc(string(t.buf), unicode.IsSpace)
	if t.dropped {
		return cut(s, t.limit)
	}
	return s
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
