package testreport

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rounds-dev/rounds/pkg/contract"
)

// Names of the pseudo-tests that go test -json failures are reported under
// when no test failed.
const (
	// GoBuildTest is the test name of a package that did not build.
	GoBuildTest = "[build]"
	// GoPackageTest is the test name of a package whose test binary failed
	// without a failed test to blame: a panic in TestMain or init, or an
	// exit while tests ran.
	GoPackageTest = "[package]"
)

// AttrOutput holds the end of a Go test's own output when its message is
// something else (a panic's value).
const AttrOutput = "output"

// Limits of the go test -json parser.
const (
	// maxGoLineBytes bounds one line of the stream.
	maxGoLineBytes = 4 << 20
	// maxPartialLineBytes bounds the part of an output line that test2json
	// has not finished yet.
	maxPartialLineBytes = 64 << 10
	// maxBuildOutputBytes bounds the compiler output kept for a package.
	maxBuildOutputBytes = contract.MaxMessageBytes
	// maxPackageOutputBytes bounds the output of a test binary outside any
	// test.
	maxPackageOutputBytes = 16 << 10
)

// ParseGoTestJSON parses the event stream of go test -json (test2json),
// with go test's stderr merged in or not. It returns one failure per failed
// test, and the tests that passed. The stream is read line by line; memory
// grows with the failures and passed tests found, a bounded buffer per
// running test (its message, 64 KiB, and a panic's stack, 512 KiB) and the
// longest line, not with the size of the stream.
//
// A failure's suite is the package's import path and its name the test's
// ("TestCart/empty_cart" for a subtest). Its message is the test's own
// output: what t.Error, t.Fatal and t.Log wrote ("cart_test.go:12:
// expected 3, got 4"), without the === and --- lines, at most 64 KiB; its
// first file:line is the failure's one frame. A test that failed only
// because a subtest did, saying nothing itself, is counted but not a
// failure of its own. A panic ("panic: ..." and the goroutine traces after
// it) is the stack of the test that panicked, typed "panic" with the panic
// value as the message; "panic: test timed out after ..." is typed
// "timeout", "fatal error: ..." "fatal error", and a race detector report
// "data race". A package that did not build is one failure of the test
// "[build]" per package whose compilation failed, with the compiler's errors
// as the message, whether they come from build-output events (Go 1.24 and
// later) or from stderr lines ("# pkg" and what follows). A test binary that
// failed without a failed test is a failure of the test "[package]".
//
// A line that starts with '{' must be a JSON object with an Action; other
// lines are go test's stderr. Ids are derived from the project, the run id,
// the base name of name, the package, the test and its index among runs of
// the same test (go test -count), so that publishing the same stream again
// in the same run is de-duplicated.
//
// name is used in errors and ids. Every error about the input is a
// *ParseError; on error the Report is empty.
func ParseGoTestJSON(name string, r io.Reader, opts Options) (Report, error) {
	if err := opts.check(); err != nil {
		return Report{}, err
	}
	p := &goParser{
		name:     name,
		base:     baseName(name),
		opts:     opts,
		packages: make(map[string]*goPackage),
		builds:   make(map[string]*goBuild),
		seen:     make(map[string]int),
	}
	content := newDigest(r)
	if err := p.parse(bufio.NewReaderSize(content, 64<<10)); err != nil {
		return Report{}, err
	}
	rep := p.tally.report(FormatGoTestJSON, "go", name, p.failures, opts)
	rep.digest = content.sum()
	return rep, nil
}

// testEvent is one line of go test -json: cmd/test2json's TestEvent, and
// the build events go test adds.
type testEvent struct {
	Time    time.Time
	Action  string
	Package string
	Test    string
	Output  string
	// ImportPath names the package of a build-output or build-fail event,
	// such as "example.com/shop/cart [example.com/shop/cart.test]".
	ImportPath string
	// FailedBuild names, on a package's fail event, the package whose build
	// failed.
	FailedBuild string
	// Key and Value are those of an attr event (t.Attr, Go 1.25).
	Key, Value string
}

// goParser holds the state of one ParseGoTestJSON call.
type goParser struct {
	name string
	base string
	opts Options

	lineNo   int
	packages map[string]*goPackage
	// builds holds compiler output by import path (without " [x.test]").
	builds map[string]*goBuild
	// stderrBuild is the build whose "# pkg" header was the last stderr
	// line of that kind, for the lines that follow it.
	stderrBuild *goBuild
	// seen counts runs of each test, by package and name.
	seen map[string]int

	failures []contract.Failure
	tally    tally
}

// goBuild is the compiler output of one package.
type goBuild struct {
	path     string
	output   boundedText
	failed   bool // a build-fail event said so
	reported bool // its failure has been made
}

// goPackage is a package whose tests are running or have run.
type goPackage struct {
	path  string
	tests map[string]*goTest
	// failed are the failed tests, in the order they failed, made into
	// failures when the package ends: a panic's trace comes after the
	// fail event of the subtest that panicked.
	failed []*goTest
	// recentFails are the tests that failed since the last test started,
	// continued or ended otherwise: the panicking subtest and its parents.
	recentFails []*goTest
	// lastRun is the test that started or continued last.
	lastRun *goTest
	// self collects the output outside any test.
	self    *goTest
	endTime time.Time
	// buildFailed is set by an output line "FAIL pkg [build failed]".
	buildFailed string
}

// goTest is one run of one test, or a package's own output.
type goTest struct {
	pkg   *goPackage
	name  string
	index int
	state goTestState
	time  time.Time

	partial []byte // an output line test2json has not finished
	// msg is the test's own output, dedented by the first line's indent.
	msg    boundedText
	indent string
	// stack is a panic or race report, nil until one starts.
	stack *boundedText
	kind  string // what the stack is: "panic", "timeout", "fatal error", "data race"
	value string // the panic value
	// redirect is where a panic that started in this test's output goes:
	// the subtest that panicked.
	redirect *goTest
	// inRace is set inside a race detector report.
	inRace bool
	// died is set when the test binary ended while the test ran.
	died  bool
	attrs properties
}

type goTestState int

const (
	testRunning goTestState = iota
	// testPaused is a parallel test waiting for its turn: if its binary
	// dies first, it never ran.
	testPaused
	testPassed
	testFailed
	testSkipped
)

func (p *goParser) parse(br *bufio.Reader) error {
	var buf []byte
	for {
		line, err := readLine(br, &buf)
		if len(line) > 0 || err != io.EOF {
			p.lineNo++
		}
		if errors.Is(err, errLineTooLong) {
			return p.errorAt(p.lineNo, 0, fmt.Errorf("line is longer than %d bytes", maxGoLineBytes))
		}
		if err != nil && err != io.EOF {
			return p.errorAt(p.lineNo, 0, fmt.Errorf("read go test -json: %w", err))
		}
		if len(line) > 0 {
			if p.lineNo == 1 {
				line = bytes.TrimPrefix(line, []byte(utf8BOM))
			}
			if perr := p.line(line); perr != nil {
				return perr
			}
		}
		if err == io.EOF {
			break
		}
	}
	if p.lineNo == 0 {
		return p.errorAt(0, 0, fmt.Errorf("%w: the input is empty", ErrUnknownFormat))
	}
	return p.finish()
}

var errLineTooLong = errors.New("line too long")

// readLine returns the next line without its end, using *buf when the line
// does not fit in the reader's buffer.
func readLine(br *bufio.Reader, buf *[]byte) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		*buf = append((*buf)[:0], line...)
		for err == bufio.ErrBufferFull {
			line, err = br.ReadSlice('\n')
			if len(*buf)+len(line) > maxGoLineBytes {
				for err == bufio.ErrBufferFull {
					_, err = br.ReadSlice('\n')
				}
				return nil, errLineTooLong
			}
			*buf = append(*buf, line...)
		}
		line = *buf
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	return line, err
}

// line handles one line of the stream.
func (p *goParser) line(line []byte) error {
	trimmed := bytes.TrimLeft(line, " \t")
	if len(trimmed) == 0 {
		return nil
	}
	if trimmed[0] != '{' {
		p.stderr(string(line))
		return nil
	}
	var ev testEvent
	if err := json.Unmarshal(trimmed, &ev); err != nil {
		col := jsonErrorColumn(err, len(trimmed))
		if col > 0 {
			col += len(line) - len(trimmed)
		}
		return p.errorAt(p.lineNo, col, fmt.Errorf("decode test event: %w", err))
	}
	if ev.Action == "" {
		return p.errorAt(p.lineNo, 0, errors.New("test event has no Action"))
	}
	return p.event(&ev)
}

// stderr handles a line of go test's stderr: compiler output under a
// "# pkg" header, or noise such as "go: downloading ...".
func (p *goParser) stderr(line string) {
	if path, ok := strings.CutPrefix(line, "# "); ok {
		// go test prints a package's compiler (or vet) errors under such
		// a header only when its build failed.
		p.stderrBuild = p.build(importPath(path))
		p.stderrBuild.failed = true
		return
	}
	if p.stderrBuild != nil {
		p.stderrBuild.output.Write([]byte(line + "\n"))
	}
}

// build returns the compiler output of path, made on first use.
func (p *goParser) build(path string) *goBuild {
	b, ok := p.builds[path]
	if !ok {
		b = &goBuild{path: path, output: boundedText{limit: maxBuildOutputBytes}}
		p.builds[path] = b
	}
	return b
}

// importPath strips what go test appends to the import path of a test
// binary's package: "example.com/cart [example.com/cart.test]".
func importPath(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, ' '); i >= 0 {
		s = s[:i]
	}
	return s
}

func (p *goParser) event(ev *testEvent) error {
	switch ev.Action {
	case "build-output":
		if ev.ImportPath == "" || strings.HasPrefix(ev.Output, "# ") {
			return nil
		}
		p.build(importPath(ev.ImportPath)).output.Write([]byte(ev.Output))
		return nil
	case "build-fail":
		if ev.ImportPath != "" {
			p.build(importPath(ev.ImportPath)).failed = true
		}
		return nil
	}
	pkg := p.packages[ev.Package]
	if pkg == nil {
		pkg = &goPackage{path: ev.Package, tests: make(map[string]*goTest)}
		pkg.self = &goTest{pkg: pkg, msg: boundedText{limit: maxPackageOutputBytes}}
		p.packages[ev.Package] = pkg
	}
	if ev.Test == "" {
		switch ev.Action {
		case "output":
			p.output(pkg, pkg.self, ev.Output)
		case "pass", "skip":
			pkg.endTime = ev.Time
			return p.endPackage(pkg, false, "")
		case "fail":
			pkg.endTime = ev.Time
			return p.endPackage(pkg, true, ev.FailedBuild)
		}
		return nil
	}

	t := pkg.tests[ev.Test]
	switch ev.Action {
	case "run":
		if t != nil && (t.state == testRunning || t.state == testPaused) {
			// The same run announced twice; keep it.
			break
		}
		t = p.newTest(pkg, ev.Test)
		pkg.recentFails = pkg.recentFails[:0]
		pkg.lastRun = t
		return nil
	case "cont":
		pkg.recentFails = pkg.recentFails[:0]
	}
	if t == nil {
		if ev.Action == "output" && (strings.TrimSpace(ev.Output) == "" || framing(strings.TrimSuffix(ev.Output, "\n"), false)) {
			// A --- line of a test that already ended.
			return nil
		}
		// Output or an end of a test whose run event is missing (a stream
		// cut at its start, an old test2json).
		t = p.newTest(pkg, ev.Test)
	}
	switch ev.Action {
	case "cont":
		t.state = testRunning
		pkg.lastRun = t
	case "pause":
		t.state = testPaused
	case "output":
		p.output(pkg, t, ev.Output)
	case "attr":
		t.attrs.add(ev.Key, ev.Value)
	case "pass":
		p.flushPartial(t)
		t.state = testPassed
		ref := contract.TestRef{Suite: pkg.path, Name: t.name}
		if err := checkRef(ref); err != nil {
			return p.errorAt(p.lineNo, 0, fmt.Errorf("test %q of %s: %w", ref.Name, ref.Suite, err))
		}
		p.tally.pass(ref, false)
		delete(pkg.tests, t.name)
		pkg.recentFails = pkg.recentFails[:0]
	case "skip":
		p.flushPartial(t)
		t.state = testSkipped
		p.tally.skip()
		delete(pkg.tests, t.name)
		pkg.recentFails = pkg.recentFails[:0]
	case "fail":
		p.flushPartial(t)
		t.state = testFailed
		t.time = ev.Time
		p.tally.fail()
		pkg.failed = append(pkg.failed, t)
		pkg.recentFails = append(pkg.recentFails, t)
	}
	return nil
}

func (p *goParser) newTest(pkg *goPackage, name string) *goTest {
	key := pkg.path + "\x00" + name
	t := &goTest{pkg: pkg, name: name, index: p.seen[key], msg: boundedText{limit: contract.MaxMessageBytes}}
	p.seen[key]++
	pkg.tests[name] = t
	return t
}

// output adds a piece of output to t, line by line.
func (p *goParser) output(pkg *goPackage, t *goTest, out string) {
	for out != "" {
		i := strings.IndexByte(out, '\n')
		if i < 0 {
			if len(t.partial)+len(out) > maxPartialLineBytes {
				out = out[:max(0, maxPartialLineBytes-len(t.partial))]
			}
			t.partial = append(t.partial, out...)
			return
		}
		line := out[:i]
		out = out[i+1:]
		if len(t.partial) > 0 {
			line = string(t.partial) + line
			t.partial = t.partial[:0]
		}
		p.outputLine(pkg, t, strings.TrimSuffix(line, "\r"))
	}
}

// flushPartial ends an output line that test2json left open.
func (p *goParser) flushPartial(t *goTest) {
	if len(t.partial) > 0 {
		line := string(t.partial)
		t.partial = t.partial[:0]
		p.outputLine(t.pkg, t, line)
	}
}

// buildFailedLine matches go test's line for a package that did not build.
var buildFailedLine = regexp.MustCompile(`^FAIL\s+(\S+) \[(build|setup) failed\]`)

// outputLine sorts one line of the output of t (pkg.self for the package's
// own output): a line the runner frames tests with is dropped, a panic or
// race report goes to a stack, the rest is the test's message.
func (p *goParser) outputLine(pkg *goPackage, t *goTest, line string) {
	if t.redirect != nil {
		t.redirect.stack.Write([]byte(line + "\n"))
		return
	}
	if t.inRace {
		if isRule(line) {
			t.inRace = false
			return
		}
		t.stack.Write([]byte(line + "\n"))
		return
	}
	if framing(line, t == pkg.self) {
		if m := buildFailedLine.FindStringSubmatch(line); m != nil && t == pkg.self {
			pkg.buildFailed = m[2]
		}
		return
	}
	switch {
	case strings.HasPrefix(line, "panic: "), strings.HasPrefix(line, "fatal error: "):
		target := p.panicking(pkg, t)
		t.redirect = target
		if target.stack == nil {
			target.stack = &boundedText{limit: contract.MaxStackBytes}
			target.kind, target.value = panicKind(line)
		}
		target.stack.Write([]byte(line + "\n"))
		return
	case strings.HasPrefix(line, "WARNING: DATA RACE"):
		t.inRace = true
		if t.stack == nil {
			t.stack = &boundedText{limit: contract.MaxStackBytes}
			t.kind = "data race"
		}
		t.stack.Write([]byte(line + "\n"))
		return
	case isRule(line):
		// The rule before a race report.
		return
	}
	if t.msg.len() == 0 {
		if strings.TrimSpace(line) == "" {
			return
		}
		t.indent = line[:len(line)-len(strings.TrimLeft(line, " \t"))]
	}
	line = strings.TrimPrefix(line, t.indent)
	t.msg.Write([]byte(line + "\n"))
}

// panicking is the test a panic that shows in the output of t belongs to:
// the subtest that just failed, since a panicking subtest reports itself and
// its parents failed before the panic is printed in its parent's output;
// else t; else, for the package's own output, the test that ran last.
func (p *goParser) panicking(pkg *goPackage, t *goTest) *goTest {
	var best *goTest
	for _, f := range pkg.recentFails {
		if t == pkg.self || f.name == t.name || strings.HasPrefix(f.name, t.name+"/") {
			if best == nil || strings.Count(f.name, "/") > strings.Count(best.name, "/") {
				best = f
			}
		}
	}
	switch {
	case best != nil:
		return best
	case t != pkg.self:
		return t
	case pkg.lastRun != nil && pkg.lastRun.state == testRunning:
		return pkg.lastRun
	}
	return t
}

// panicKind types a panic by its first line, and returns its value.
func panicKind(line string) (kind, value string) {
	if v, ok := strings.CutPrefix(line, "fatal error: "); ok {
		return "fatal error", v
	}
	v := strings.TrimPrefix(line, "panic: ")
	if d, ok := strings.CutPrefix(v, "test timed out after "); ok {
		return "timeout", "test timed out after " + d
	}
	// "[recovered]" (and "[recovered, repanicked]" since Go 1.23) says how
	// the testing package passed the panic on, not what it was.
	if i := strings.LastIndex(v, " [recovered"); i >= 0 && strings.HasSuffix(v, "]") {
		v = v[:i]
	}
	return "panic", v
}

// framing reports whether line is one go test frames output with rather
// than something a test said: === RUN and --- FAIL lines, and for a
// package's own output the result lines.
func framing(line string, pkgLevel bool) bool {
	l := strings.TrimLeft(line, " \t")
	for _, prefix := range []string{"=== RUN ", "=== PAUSE ", "=== CONT ", "=== NAME ", "--- FAIL: ", "--- PASS: ", "--- SKIP: ", "--- BENCH: "} {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	if !pkgLevel {
		return false
	}
	switch {
	case line == "PASS", line == "FAIL",
		strings.HasPrefix(line, "ok "), strings.HasPrefix(line, "FAIL\t"), strings.HasPrefix(line, "FAIL "),
		strings.HasPrefix(line, "?   "), strings.HasPrefix(line, "coverage: "),
		strings.HasPrefix(line, "testing: warning: no tests to run"):
		return true
	}
	return false
}

// isRule reports whether line is the row of '=' the race detector puts
// around its report.
func isRule(line string) bool {
	return len(line) >= 10 && strings.Trim(line, "=") == ""
}

// endPackage makes the failures of a package that ended, and forgets it.
func (p *goParser) endPackage(pkg *goPackage, failed bool, failedBuild string) error {
	delete(p.packages, pkg.path)
	p.flushPartial(pkg.self)
	if pkg.buildFailed != "" || failedBuild != "" {
		return p.buildFailure(pkg, failedBuild, pkg.buildFailed)
	}
	for _, name := range slices.Sorted(maps.Keys(pkg.tests)) {
		if t := pkg.tests[name]; t.state == testRunning {
			p.flushPartial(t)
			if failed {
				// The binary died while it ran: a panic elsewhere, a
				// timeout, an exit.
				t.state = testFailed
				t.died = true
				t.time = pkg.endTime
				p.tally.fail()
				pkg.failed = append(pkg.failed, t)
			}
		}
	}
	made := 0
	for _, t := range pkg.failed {
		if !p.worthAFailure(pkg, t) {
			continue
		}
		if err := p.testFailure(pkg, t); err != nil {
			return err
		}
		made++
	}
	if failed && made == 0 {
		return p.packageFailure(pkg)
	}
	return nil
}

// worthAFailure says whether a failed test is a failure of its own: it
// said something, panicked, or has no failed subtest to blame. A test that
// was still running when its binary died is one only if it panicked.
func (p *goParser) worthAFailure(pkg *goPackage, t *goTest) bool {
	if t.stack != nil {
		return true
	}
	if t.died {
		return false
	}
	if t.msg.len() > 0 {
		return true
	}
	for _, o := range pkg.failed {
		if strings.HasPrefix(o.name, t.name+"/") {
			return false
		}
	}
	return true
}

// goFileLine finds the position t.Error and friends start a message with.
var goFileLine = regexp.MustCompile(`(?m)^([^\s:]+\.go):(\d+): `)

func (p *goParser) testFailure(pkg *goPackage, t *goTest) error {
	f := p.newFailure(pkg.path, t.name, t.index, t.time)
	own := strings.TrimSpace(t.msg.String())
	switch {
	case t.stack != nil:
		f.Error.Type = t.kind
		f.Error.Stack = strings.TrimSpace(t.stack.String())
		f.Error.Message = t.value
		if t.kind == "data race" && own != "" {
			f.Error.Message = own
			own = ""
		}
		if f.Error.Message == "" {
			f.Error.Message = firstLine(f.Error.Stack)
		}
		if own != "" {
			f.Attributes = map[string]string{AttrOutput: tail(own, outputTailBytes)}
		}
	case own != "":
		f.Error.Message = own
		// The last position is where the test gave up (t.Fatal) or its
		// last complaint; the lines before are often its logs.
		if ms := goFileLine.FindAllStringSubmatch(own, -1); ms != nil {
			m := ms[len(ms)-1]
			n, _ := strconv.Atoi(m[2])
			top, _, _ := strings.Cut(t.name, "/")
			f.Error.Frames = []contract.Frame{{Function: top, Module: pkg.path, File: m[1], Line: n}}
		}
	default:
		f.Error.Message = "test failed without a message"
	}
	f.Error.Message = truncate(f.Error.Message, contract.MaxMessageBytes)
	if len(t.attrs.list) > 0 {
		if f.Attributes == nil {
			f.Attributes = make(map[string]string)
		}
		for _, kv := range t.attrs.list {
			if _, ok := f.Attributes[kv.name]; !ok {
				f.Attributes[kv.name] = kv.value
			}
		}
	}
	return p.add(f, contract.TestRef{Suite: pkg.path, Name: t.name})
}

// buildFailure makes the one failure of a package that did not build,
// unless it was made already: every package that imports it fails with it.
// failedBuild names the package whose build failed (go test 1.24 and later
// say it); without it, the package's own "# pkg" output on stderr says it
// failed, and a package with none failed because of another one, which
// gets its failure under its own name.
func (p *goParser) buildFailure(pkg *goPackage, failedBuild, what string) error {
	path := importPath(failedBuild)
	if path == "" {
		if _, ok := p.builds[pkg.path]; !ok && len(p.builds) > 0 {
			return nil
		}
		path = pkg.path
	}
	b := p.build(path)
	if b.reported {
		return nil
	}
	b.reported = true
	if what == "" {
		what = "build"
	}
	f := p.newFailure(path, GoBuildTest, 0, pkg.endTime)
	f.Error.Type = what + " failed"
	out := strings.TrimSpace(b.output.String())
	if out == "" {
		out = fmt.Sprintf("%s of %s failed", what, path)
	}
	f.Error.Message = truncate(out, contract.MaxMessageBytes)
	p.tally.fail()
	return p.add(f, contract.TestRef{Suite: path, Name: GoBuildTest})
}

// packageFailure makes the failure of a test binary that failed without a
// failed test to blame.
func (p *goParser) packageFailure(pkg *goPackage) error {
	self := pkg.self
	f := p.newFailure(pkg.path, GoPackageTest, 0, pkg.endTime)
	own := strings.TrimSpace(self.msg.String())
	var running []string
	for _, t := range pkg.failed {
		if t.died {
			running = append(running, t.name)
		}
	}
	slices.Sort(running)
	switch {
	case self.stack != nil:
		f.Error.Type = self.kind
		f.Error.Message = self.value
		f.Error.Stack = strings.TrimSpace(self.stack.String())
	case own != "":
		f.Error.Message = own
	case len(running) > 0:
		if len(running) > 5 {
			running = append(running[:5], "...")
		}
		f.Error.Message = "the test binary exited while " + strings.Join(running, ", ") + " ran"
	default:
		f.Error.Message = "the test binary failed without a failed test"
	}
	if f.Error.Type == "" {
		f.Error.Type = "package failed"
	}
	f.Error.Message = truncate(f.Error.Message, contract.MaxMessageBytes)
	if self.stack != nil && own != "" {
		f.Attributes = map[string]string{AttrOutput: tail(own, outputTailBytes)}
	}
	p.tally.fail()
	return p.add(f, contract.TestRef{Suite: pkg.path, Name: GoPackageTest})
}

// newFailure is a failure of a test with what every go test failure has.
func (p *goParser) newFailure(suite, name string, index int, t time.Time) contract.Failure {
	if t.IsZero() {
		t = p.opts.Time
	}
	return contract.Failure{
		Schema:  contract.SchemaFailure,
		ID:      deriveID(append(p.opts.idFields(goTestIDTag, p.base), suite, name, strconv.Itoa(index))...),
		Project: p.opts.Project,
		Time:    t,
		Kind:    contract.KindTest,
		Test:    &contract.TestIdentity{Framework: "go", Suite: suite, Name: name},
		Run:     p.opts.runInfo(),
	}
}

// add checks f and keeps it.
func (p *goParser) add(f contract.Failure, ref contract.TestRef) error {
	if err := checkRef(ref); err != nil {
		return p.errorAt(p.lineNo, 0, fmt.Errorf("test %q of %s: %w", ref.Name, ref.Suite, err))
	}
	if err := checkFailure(&f); err != nil {
		return p.errorAt(p.lineNo, 0, fmt.Errorf("test %q of %s: %w", ref.Name, ref.Suite, err))
	}
	p.failures = append(p.failures, f)
	return nil
}

// finish ends what the stream left open: packages whose end is missing
// (go test was killed, or the file was cut) give the failures of the tests
// that failed, and builds that failed with no package to tell.
func (p *goParser) finish() error {
	for _, path := range slices.Sorted(maps.Keys(p.packages)) {
		pkg := p.packages[path]
		delete(p.packages, path)
		p.flushPartial(pkg.self)
		for _, t := range pkg.failed {
			if p.worthAFailure(pkg, t) {
				if err := p.testFailure(pkg, t); err != nil {
					return err
				}
			}
		}
		for _, name := range slices.Sorted(maps.Keys(pkg.tests)) {
			if t := pkg.tests[name]; t.state == testRunning && t.stack != nil {
				p.tally.fail()
				if err := p.testFailure(pkg, t); err != nil {
					return err
				}
			}
		}
	}
	for _, path := range slices.Sorted(maps.Keys(p.builds)) {
		if b := p.builds[path]; b.failed && !b.reported {
			if err := p.buildFailure(&goPackage{path: path}, path, ""); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *goParser) errorAt(line, col int, err error) *ParseError {
	return &ParseError{Name: p.name, Line: line, Column: col, Err: err}
}

// tail returns the end of s within max bytes, starting on a rune boundary
// and marked with truncatedPrefix if cut.
func tail(s string, max int) string {
	if len(s) <= max {
		return s
	}
	n := len(s) - (max - len(truncatedPrefix))
	for n < len(s) && !utf8.RuneStart(s[n]) {
		n++
	}
	return truncatedPrefix + strings.TrimLeftFunc(s[n:], unicode.IsSpace)
}
