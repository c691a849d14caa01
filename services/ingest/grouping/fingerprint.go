package grouping

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/ingest/grouping/stack"
)

// Version is the fingerprint algorithm's version, stored on every
// signature. Changing what goes into a fingerprint changes the version.
//
// Version 1 hashed the stack text line by line, masked like a message.
// Version 2 hashes the in-app frames' module and function, parsed from the
// stack text of Go, Python, JVM, JavaScript and .NET.
// Version 3 leaves the test out when the failure broke in the code under
// test rather than in test code, and leaves go test's status lines out of
// stack text.
const Version = 3

const (
	// maxAppFrames bounds the frames that take part in grouping: the
	// innermost in-app frames say where it broke; the rest says how it
	// was called.
	maxAppFrames = 8
	// maxOtherFrames is how many of the innermost frames stand in when no
	// frame is in-app.
	maxOtherFrames = 3
	// maxStackLines bounds the lines of a stack that could not be parsed.
	maxStackLines = 30
)

// Result is how a failure groups.
type Result struct {
	// Fingerprint is the hex SHA-256 of the version and the components.
	Fingerprint string
	// Components are what went into the fingerprint, in order: why
	// failures grouped, as shown to users.
	Components []contract.Component
	// Template is the message template.
	Template string
	// Title is a one-line name for the signature.
	Title string
}

// Config says which stack frames belong to the project beyond the
// defaults (see stack.Config).
type Config struct {
	// InApp lists module, function or path prefixes of the project's
	// frames, which win over every default: "github.com/acme/",
	// "com.acme.".
	InApp []string
	// NotInApp lists more prefixes of libraries' frames:
	// "org.springframework.", "third_party/".
	NotInApp []string
	// Rules are the project's own grouping rules (see ParseRules); their
	// in-app marks add to InApp and NotInApp, where the longer prefix wins.
	Rules []Rule
}

// RegisterFlags registers the config's flags, named after prefix.
func (c *Config) RegisterFlags(fs *flag.FlagSet, prefix string) {
	fs.Func(prefix+"in-app", "comma-separated module, function or path prefixes of the project's stack frames", func(s string) error {
		c.InApp = append(c.InApp, splitList(s)...)
		return nil
	})
	fs.Func(prefix+"not-in-app", "comma-separated module, function or path prefixes of libraries' stack frames", func(s string) error {
		c.NotInApp = append(c.NotInApp, splitList(s)...)
		return nil
	})
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Validate reports an empty prefix, which would match every frame.
func (c Config) Validate() error {
	if err := (stack.Config{InApp: c.InApp, NotInApp: c.NotInApp}).Validate(); err != nil {
		return fmt.Errorf("grouping: %w", err)
	}
	return nil
}

// Fingerprinter groups failures with one Config. Its methods are safe for
// concurrent use.
type Fingerprinter struct {
	parser *stack.Parser
	// rules are the grouping rules, in order.
	rules []compiledRule
	// frameBufs holds *[]stack.Frame to parse into.
	frameBufs sync.Pool
}

// NewFingerprinter returns a fingerprinter applying cfg.
func NewFingerprinter(cfg Config) *Fingerprinter {
	rules, inApp, notInApp := compileRules(cfg.Rules)
	fp := &Fingerprinter{
		parser: stack.NewParser(stack.Config{
			InApp:    append(inApp, cfg.InApp...),
			NotInApp: append(notInApp, cfg.NotInApp...),
		}),
		rules: rules,
	}
	fp.frameBufs.New = func() any {
		buf := make([]stack.Frame, 0, 2*maxAppFrames)
		return &buf
	}
	return fp
}

var defaultFingerprinter = NewFingerprinter(Config{})

// Fingerprint groups f with the default Config. See Fingerprinter.Fingerprint.
func Fingerprint(f *contract.Failure) Result {
	return defaultFingerprinter.Fingerprint(f)
}

// Fingerprint groups f by, in order:
//
//   - test: the test's suite and name, for a test failure, unless it broke
//     in the code under test (see below); or service: the service's name,
//     for a runtime error;
//   - type: the error type, when there is one;
//   - message: the message template (see Template);
//   - frames: the module and function of the innermost in-app frames, one
//     per line, at most 8; or the innermost 3 frames when none is in-app.
//     Frames are the publisher's, or else parsed from the stack text, or
//     else from the message when it holds the stack;
//   - stack: when the stack text could not be parsed, its first lines
//     masked like a message.
//
// A test failure whose innermost in-app frame is outside test code (not in
// a file such as cart_test.go, test_cart.py, cart.test.js or CartTest.java)
// broke in the code under test: the same crash from several tests, from
// the cases of one parameterised test or from a fixture they share, is one
// bug, so the test is left out. The frames still hold the test functions
// that are on the stack. An assertion in test code, or a failure without
// in-app frames, keeps its test.
//
// Then the first of the Config's rules that matches f may replace these
// components or add to them, and adds a "rule" component naming itself.
//
// Line numbers, columns, paths, addresses and goroutine ids never go into
// a fingerprint, so they never split a group.
func (fp *Fingerprinter) Fingerprint(f *contract.Failure) Result {
	tmpl := Template(f.Error.Message)
	comps := make([]contract.Component, 0, 5)
	var test string
	frames, inCode := fp.frames(f)
	switch {
	case f.Test != nil:
		test = testName(f.Test)
		if !inCode {
			comps = append(comps, contract.Component{Name: "test", Value: test})
		}
	case f.Service != nil:
		comps = append(comps, contract.Component{Name: "service", Value: f.Service.Name})
	}
	if f.Error.Type != "" {
		comps = append(comps, contract.Component{Name: "type", Value: f.Error.Type})
	}
	comps = append(comps, contract.Component{Name: "message", Value: tmpl})
	switch {
	case frames != "":
		comps = append(comps, contract.Component{Name: "frames", Value: frames})
	case f.Error.Stack != "" && len(f.Error.Frames) == 0:
		if lines := stackLines(f.Error.Stack); lines != "" {
			comps = append(comps, contract.Component{Name: "stack", Value: lines})
		}
	}
	res := Result{
		Fingerprint: hash(comps),
		Components:  comps,
		Template:    tmpl,
		Title:       title(f, test, tmpl),
	}
	if len(fp.rules) > 0 {
		fp.applyRules(f, &res, test)
	}
	return res
}

// hash is the hex SHA-256 of the version and the components, each
// length-prefixed so that no value can imitate a boundary.
func hash(comps []contract.Component) string {
	var arr [2048]byte
	buf := binary.AppendUvarint(arr[:0], Version)
	for _, c := range comps {
		buf = binary.AppendUvarint(buf, uint64(len(c.Name)))
		buf = append(buf, c.Name...)
		buf = binary.AppendUvarint(buf, uint64(len(c.Value)))
		buf = append(buf, c.Value...)
	}
	sum := sha256.Sum256(buf)
	var out [sha256.Size * 2]byte
	hex.Encode(out[:], sum[:])
	return string(out[:])
}

// SignatureID is the short stable id of a fingerprint within a project.
func SignatureID(project, fingerprint string) string {
	sum := sha256.Sum256([]byte(project + "\x00" + fingerprint))
	return hex.EncodeToString(sum[:8])
}

func testName(t *contract.TestIdentity) string {
	if t.Suite == "" {
		return t.Name
	}
	return t.Suite + "." + t.Name
}

// frames returns the frames component: "module.function" of each chosen
// frame, one per line; inCode reports whether the innermost chosen frame
// is in-app and outside test code.
func (fp *Fingerprinter) frames(f *contract.Failure) (component string, inCode bool) {
	var keys [maxAppFrames]frameKey
	var n int
	var inApp bool
	if len(f.Error.Frames) > 0 {
		n, inApp = fp.chooseSent(f.Error.Frames, &keys)
	} else {
		text := f.Error.Stack
		if text == "" {
			text = f.Error.Message
		}
		buf := fp.frameBufs.Get().(*[]stack.Frame)
		frames := fp.parser.ParseInnermostInto(*buf, text, maxAppFrames)
		n, inApp = chooseParsed(frames, &keys)
		if cap(frames) <= 4*maxAppFrames {
			// Keep the room, drop the strings.
			clear(frames)
			*buf = frames[:0]
		}
		fp.frameBufs.Put(buf)
	}
	size := 0
	for _, k := range keys[:n] {
		size += k.len() + 1
	}
	var b strings.Builder
	b.Grow(size)
	for i, k := range keys[:n] {
		if i > 0 {
			b.WriteByte('\n')
		}
		k.writeTo(&b)
	}
	return b.String(), inApp && n > 0 && !keys[0].inTestCode()
}

// frameKey is what of a frame goes into a fingerprint.
type frameKey struct{ module, function, file string }

func (k frameKey) empty() bool { return k.module == "" && k.function == "" && k.file == "" }

func (k frameKey) len() int {
	switch {
	case k.module != "" && k.function != "":
		return len(k.module) + 1 + len(k.function)
	case k.module != "" || k.function != "":
		return len(k.module) + len(k.function)
	}
	return len(baseName(k.file))
}

// writeTo writes "module.function", or what there is of it; a frame known
// only by its file (go test's "cart_test.go:42:") by the file's name.
func (k frameKey) writeTo(b *strings.Builder) {
	switch {
	case k.module != "" && k.function != "":
		b.WriteString(k.module)
		b.WriteByte('.')
		b.WriteString(k.function)
	case k.module != "" || k.function != "":
		b.WriteString(k.module)
		b.WriteString(k.function)
	default:
		b.WriteString(baseName(k.file))
	}
}

// chooseSent picks frames the publisher sent, innermost first: those marked
// in-app, or classified so when unmarked; inApp is false when none is and
// the innermost frames stand in.
func (fp *Fingerprinter) chooseSent(frames []contract.Frame, keys *[maxAppFrames]frameKey) (n int, inApp bool) {
	for _, fr := range frames {
		k := frameKey{fr.Module, fr.Function, fr.File}
		if k.empty() {
			continue
		}
		inApp := fp.parser.InApp(fr.Module, fr.Function, fr.File)
		if fr.InApp != nil {
			inApp = *fr.InApp
		}
		if inApp {
			keys[n] = k
			if n++; n == maxAppFrames {
				return n, true
			}
		}
	}
	if n > 0 {
		return n, true
	}
	for _, fr := range frames {
		if k := (frameKey{fr.Module, fr.Function, fr.File}); !k.empty() {
			keys[n] = k
			if n++; n == maxOtherFrames {
				break
			}
		}
	}
	return n, false
}

// chooseParsed picks parsed frames, innermost first: those in-app, or the
// innermost ones when none is (inApp false).
func chooseParsed(frames []stack.Frame, keys *[maxAppFrames]frameKey) (n int, inApp bool) {
	for _, fr := range frames {
		if k := (frameKey{fr.Module, fr.Function, fr.File}); fr.InApp && !k.empty() {
			keys[n] = k
			if n++; n == maxAppFrames {
				return n, true
			}
		}
	}
	if n > 0 {
		return n, true
	}
	for _, fr := range frames {
		if k := (frameKey{fr.Module, fr.Function, fr.File}); !k.empty() {
			keys[n] = k
			if n++; n == maxOtherFrames {
				break
			}
		}
	}
	return n, false
}

// testDirs are directories that hold test code by convention.
var testDirs = []string{"test", "tests", "__tests__", "spec", "specs", "testdata"}

// inTestCode reports whether a frame is in test code by the conventions of
// Go (cart_test.go), Python (test_cart.py, cart_test.py, conftest.py, a
// test_ module), JavaScript and TypeScript (cart.test.js, cart.spec.ts, a
// __tests__ or test directory), JVM and .NET (CartTest.java, CartTests.cs,
// a class named so).
func (k frameKey) inTestCode() bool {
	if k.file != "" {
		// No allocation: this runs for the innermost frame of every
		// failure.
		path := k.file
		base := baseName(path)
		stem, ext, _ := strings.Cut(base, ".")
		switch {
		case strings.HasSuffix(base, "_test.go"),
			strings.HasSuffix(base, ".py") && (strings.HasPrefix(base, "test_") || strings.HasSuffix(base, "_test.py") || base == "conftest.py"),
			innerPart(ext, "test") || innerPart(ext, "spec"),
			isTestClass(stem):
			return true
		}
		for len(path) > 0 {
			i := strings.IndexAny(path, `/\`)
			if i < 0 {
				break // the base name
			}
			if slices.Contains(testDirs, path[:i]) {
				return true
			}
			path = path[i+1:]
		}
		return false
	}
	// Known by module and function only: the last part of a Python module,
	// a JVM or .NET class.
	last := k.module
	if i := strings.LastIndexAny(last, "./"); i >= 0 {
		last = last[i+1:]
	}
	return strings.HasPrefix(last, "test_") || last == "conftest" || isTestClass(last) ||
		strings.HasPrefix(k.function, "Test") && strings.HasSuffix(k.module, "_test")
}

// innerPart reports whether part is one of the dot-separated parts of ext
// other than the last: "test" in "test.js", "spec" in "spec.ts".
func innerPart(ext, part string) bool {
	for {
		p, rest, more := strings.Cut(ext, ".")
		if !more {
			return false
		}
		if p == part {
			return true
		}
		ext = rest
	}
}

// isTestClass reports whether a JVM or .NET class (or file stem) is named
// as a test: CartTest, CartTests, CartIT.
func isTestClass(name string) bool {
	for _, suf := range []string{"Test", "Tests", "IT"} {
		if rest, ok := strings.CutSuffix(name, suf); ok && rest != "" && rest[len(rest)-1] >= 'a' && rest[len(rest)-1] <= 'z' {
			return true
		}
	}
	return false
}

func baseName(path string) string {
	for k := len(path) - 1; k >= 0; k-- {
		if path[k] == '/' || path[k] == '\\' {
			return path[k+1:]
		}
	}
	return path
}

// stackLines returns the first lines of a stack that could not be parsed
// into frames, masked like a message but keeping a path's last element (a
// file, or a function qualified by its package).
func stackLines(text string) string {
	var b strings.Builder
	lines := 0
	for rest := text; rest != "" && lines < maxStackLines; {
		line := rest
		if i := strings.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = ""
		}
		if goTestStatusLine(line) {
			continue
		}
		t := template(line, true)
		if !meaningful(t) {
			continue
		}
		lines++
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(t)
	}
	return b.String()
}

// goTestStatusLines start the lines with which go test -v frames a test's
// output ("=== RUN   TestX", "--- FAIL: TestX (0.00s)") or ends a package.
// JUnit writers keep them in some failures' text (gotestsum does, and
// go-junit-report does not): they name the test, already a component, and
// say nothing of the failure, so they would only split one bug by the tool
// that wrote the report.
var goTestStatusLines = []string{
	"=== RUN ", "=== PAUSE ", "=== CONT ", "=== NAME ",
	"--- FAIL: ", "--- PASS: ", "--- SKIP: ", "FAIL\t", "ok  \t",
}

// goTestStatusLine reports whether line is one of go test's status lines.
func goTestStatusLine(line string) bool {
	line = strings.TrimLeft(line, " \t")
	if line == "FAIL" || line == "PASS" {
		return true
	}
	for _, p := range goTestStatusLines {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
}

// meaningful reports whether a templated line has a word left in it.
func meaningful(t string) bool {
	t = strings.ReplaceAll(t, Mask, "")
	for i := 0; i < len(t); i++ {
		if isWordByte(t[i]) {
			return true
		}
	}
	return false
}

// title names the signature by its test or service, error type and the
// first line of its message, templated.
func title(f *contract.Failure, test, tmpl string) string {
	what := f.Error.Type
	first := tmpl
	if line := firstLine(f.Error.Message); len(line) < len(f.Error.Message) {
		first = Template(line)
	}
	if first != "" {
		if what != "" {
			what += ": "
		}
		what += first
	}
	what = clip(what, 120)
	switch {
	case f.Test != nil:
		return clip(test, 120) + ": " + what
	case f.Service != nil:
		return f.Service.Name + ": " + what
	}
	return what
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
