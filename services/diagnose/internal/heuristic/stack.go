package heuristic

import (
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/rounds-dev/rounds/pkg/contract"
)

const (
	// maxScannedFrames bounds how many locations are taken from stack text;
	// the failing frame is near the innermost end, and a goroutine dump can
	// be huge.
	maxScannedFrames = 64
	// maxScannedLines bounds the lines read while scanning, for Python,
	// whose innermost frame comes last.
	maxScannedLines = 20_000
	// maxPathBytes is the longest file path taken for a location, as most
	// systems' PATH_MAX; longer tokens are not paths.
	maxPathBytes = 4096
)

// scanStack extracts frame locations from stack text, innermost first, for
// reports that carry no structured frames. It knows Go panics and race
// reports, testify's "Error Trace", Python tracebacks and pytest output,
// JVM and .NET "at" lines and V8 stacks; any other "file.ext:N" with a
// source extension counts too.
func scanStack(text string) []contract.Frame {
	var frames []contract.Frame
	python := true
	ls := lines(text)
	for i, raw := range ls[:min(len(ls), maxScannedLines)] {
		l := strings.TrimSpace(raw)
		if l == "" {
			continue
		}
		f, ok := parseFrameLine(l)
		if !ok {
			continue
		}
		if f.Function == "" && strings.HasSuffix(f.File, ".go") {
			f.Function = goCaller(ls, i)
		}
		python = python && strings.HasSuffix(f.File, ".py")
		frames = append(frames, f)
		if !python && len(frames) >= maxScannedFrames {
			break
		}
	}
	if python {
		// Python prints the most recent call last, in tracebacks and in
		// pytest's report alike.
		slices.Reverse(frames)
	}
	return frames[:min(len(frames), maxScannedFrames)]
}

// parseFrameLine reads a location from one trimmed line of a stack.
func parseFrameLine(l string) (contract.Frame, bool) {
	// Python: File "/app/cart.py", line 12, in total
	if rest, ok := strings.CutPrefix(l, `File "`); ok {
		file, rest, ok := strings.Cut(rest, `"`)
		if !ok {
			return contract.Frame{}, false
		}
		rest, ok = strings.CutPrefix(rest, ", line ")
		if !ok {
			return contract.Frame{}, false
		}
		n := 0
		for n < len(rest) && isDigit(rest[n]) {
			n++
		}
		line, err := strconv.Atoi(rest[:n])
		if err != nil || file == "" {
			return contract.Frame{}, false
		}
		_, fn, _ := strings.Cut(rest[n:], ", in ")
		return contract.Frame{Function: strings.TrimSpace(fn), File: file, Line: line}, true
	}

	if rest, ok := strings.CutPrefix(l, "at "); ok {
		return parseAtLine(rest)
	}
	return findLocation(l)
}

// parseAtLine reads JVM, .NET and V8 frames, whose lines start with "at ".
func parseAtLine(rest string) (contract.Frame, bool) {
	// .NET: at App.Cart.Total(Item item) in /src/App/Cart.cs:line 42
	if i := strings.LastIndex(rest, " in "); i >= 0 {
		if file, num, ok := strings.Cut(rest[i+len(" in "):], ":line "); ok {
			if line, err := strconv.Atoi(strings.TrimSpace(num)); err == nil {
				fn, _, _ := strings.Cut(rest[:i], "(")
				return contract.Frame{Function: strings.TrimSpace(fn), File: file, Line: line}, true
			}
		}
	}

	// JVM: at com.acme.Cart.total(Cart.java:27), maybe followed by " ~[app.jar:?]".
	// V8:  at Cart.total (/app/src/cart.js:12:5)
	var fn, loc string
	switch {
	case strings.HasSuffix(rest, ")"):
		open := strings.LastIndexByte(rest, '(')
		if open < 0 {
			return contract.Frame{}, false
		}
		fn, loc = rest[:open], rest[open+1:len(rest)-1]
	case strings.Contains(rest, "("):
		open := strings.IndexByte(rest, '(')
		end := strings.IndexByte(rest[open:], ')')
		if end < 0 {
			return contract.Frame{}, false
		}
		fn, loc = rest[:open], rest[open+1:open+end]
	default:
		// V8 anonymous function: at /app/src/cart.js:12:5
		loc = rest
	}
	file, line, col, ok := splitLocation(loc)
	if !ok {
		return contract.Frame{}, false // (Native Method), (<anonymous>), (Unknown Source)
	}
	fn = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(fn), "async "))
	f := contract.Frame{Function: fn, File: file, Line: line, Column: col}
	// JDK 9+ prefixes the module: java.base/java.util.Objects.requireNonNull
	if mod, name, ok := strings.Cut(fn, "/"); ok && !strings.ContainsAny(mod, " <") && strings.Contains(file, ".java") {
		f.Module, f.Function = mod, name
	}
	return f, true
}

// splitLocation splits "file:line" or "file:line:column".
func splitLocation(s string) (file string, line, col int, ok bool) {
	rest, last, ok := cutNumber(s)
	if !ok {
		return "", 0, 0, false
	}
	if file, line, ok := cutNumber(rest); ok && file != "" {
		return file, line, last, true
	}
	if rest == "" || strings.HasPrefix(rest, "<") {
		return "", 0, 0, false
	}
	return rest, last, 0, true
}

// cutNumber cuts a trailing ":123" off s.
func cutNumber(s string) (string, int, bool) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 || i == len(s)-1 {
		return "", 0, false
	}
	n, err := strconv.Atoi(s[i+1:])
	if err != nil || n < 0 || s[i+1] == '+' || s[i+1] == '-' {
		return "", 0, false
	}
	return s[:i], n, true
}

// findLocation finds the first "path.ext:N" token in a line whose extension
// is a source file's: a Go trace line, testify's "Error Trace", a pytest
// summary "tests/test_x.py:7: AssertionError", a Rust or Ruby location.
func findLocation(l string) (contract.Frame, bool) {
	// start is where the token ending at i began; tracking it going forward
	// keeps the scan linear on long lines with many colons.
	start := 0
	for i := 0; i+1 < len(l); i++ {
		if strings.IndexByte(" \t\"'`()[]<>=,", l[i]) >= 0 {
			start = i + 1
			continue
		}
		if l[i] != ':' || !isDigit(l[i+1]) || i-start > maxPathBytes {
			continue
		}
		file := l[start:i]
		if !sourceFile(file) {
			continue
		}
		end := i + 1
		for end < len(l) && isDigit(l[end]) {
			end++
		}
		line, err := strconv.Atoi(l[i+1 : end])
		if err != nil {
			continue
		}
		col := 0
		if end+1 < len(l) && l[end] == ':' && isDigit(l[end+1]) {
			e := end + 1
			for e < len(l) && isDigit(l[e]) {
				e++
			}
			col, _ = strconv.Atoi(l[end+1 : e])
		}
		return contract.Frame{File: file, Line: line, Column: col}, true
	}
	return contract.Frame{}, false
}

// sourceFile reports whether name ends with the extension of a source file,
// so that "db.example.com:5432" is not taken for a location.
func sourceFile(name string) bool {
	ext := strings.ToLower(path.Ext(strings.ReplaceAll(name, `\`, "/")))
	switch ext {
	case ".go", ".py", ".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx", ".mts", ".cts",
		".java", ".kt", ".kts", ".scala", ".groovy", ".cs", ".fs", ".vb",
		".rb", ".rs", ".c", ".cc", ".cpp", ".cxx", ".h", ".hpp", ".swift",
		".php", ".ex", ".exs", ".erl", ".clj", ".dart", ".lua", ".pl", ".sh", ".vue", ".svelte":
		return len(name) > len(ext)
	}
	return false
}

// goCaller names the function of a Go trace location at ls[i]: Go prints it
// on the line before, indented less ("pkg.(*T).M(0x0)" then
// "\t/path/file.go:17 +0x1d"; race reports indent both).
func goCaller(ls []string, i int) string {
	if i == 0 {
		return ""
	}
	prev := ls[i-1]
	if strings.TrimSpace(prev) == "" || indent(prev) >= indent(ls[i]) {
		return ""
	}
	fn := strings.TrimSpace(prev)
	if _, ok := findLocation(fn); ok {
		return "" // the previous line is a location itself, as in testify output
	}
	fn = strings.TrimPrefix(fn, "created by ")
	if j := strings.Index(fn, " in goroutine "); j >= 0 {
		fn = fn[:j]
	}
	// Drop the argument list: the last balanced (...) group.
	if strings.HasSuffix(fn, ")") {
		depth := 0
		for j := len(fn) - 1; j >= 0; j-- {
			switch fn[j] {
			case ')':
				depth++
			case '(':
				depth--
			}
			if depth == 0 {
				fn = fn[:j]
				break
			}
		}
	}
	if strings.ContainsAny(fn, " \t") {
		return "" // prose, not a function
	}
	return fn
}

func indent(s string) int {
	return len(s) - len(strings.TrimLeft(s, " \t"))
}

// causeSection returns the stack text after the last JVM "Caused by:" line
// and that line's exception, since the innermost cause is where the failure
// began.
func causeSection(stack string) (cause, section string) {
	i := strings.LastIndex(stack, "Caused by: ")
	if i < 0 {
		return "", ""
	}
	rest := stack[i+len("Caused by: "):]
	cause, section, _ = strings.Cut(rest, "\n")
	return strings.TrimSpace(cause), section
}

// inAppFrames returns the indexes of frames that belong to the project.
// Frames marked InApp decide alone when any frame is marked; otherwise
// frames of dependencies, runtimes and test frameworks are recognised by
// their path, function or module.
func inAppFrames(frames []contract.Frame) []int {
	marked := false
	for _, f := range frames {
		if f.InApp != nil {
			marked = true
			break
		}
	}
	var idx []int
	for i, f := range frames {
		if marked && f.InApp != nil && *f.InApp || !marked && !libraryFrame(f) {
			idx = append(idx, i)
		}
	}
	return idx
}

// libraryFrame reports whether a frame (with InApp unset) belongs to a
// dependency, a runtime or a test framework.
func libraryFrame(f contract.Frame) bool {
	libraryPaths := []string{
		"/vendor/", "/node_modules/", "/bower_components/",
		"/site-packages/", "/dist-packages/", "/lib/python", "/_pytest/", "/pluggy/",
		"/usr/lib/go", "/usr/local/go/", "/hostedtoolcache/", "/sdk/go", "/program files/go/", "/snap/go/",
		"/go/pkg/mod/", "/pkg/mod/", "/libexec/src/",
		"/usr/lib/jvm/", "/.m2/repository/", "/.gradle/caches/",
		"/.cargo/registry/", "/rustc/", "/.rustup/", "/gems/", "/usr/lib/ruby/",
		"/usr/share/dotnet/", "/.nuget/",
	}
	libraryFunctions := []string{
		// Go runtime and test harness
		"runtime.", "testing.", "reflect.", "github.com/stretchr/testify/",
		// JVM
		"java.", "javax.", "jdk.", "sun.", "com.sun.", "kotlin.", "kotlinx.", "scala.",
		"org.junit.", "junit.", "org.gradle.", "worker.org.gradle.", "org.apache.maven.",
		"org.mockito.", "org.assertj.", "org.hamcrest.", "org.springframework.",
		// .NET
		"System.", "Microsoft.", "Xunit.", "NUnit.", "Castle.",
	}

	file := strings.ToLower(strings.ReplaceAll(f.File, `\`, "/"))
	switch {
	case f.Function == "panic", // Go's panic frame, in runtime/panic.go
		file == "" && f.Function == "":
		return true
	case strings.HasPrefix(file, "<"), // <frozen importlib._bootstrap>, <anonymous>
		strings.HasPrefix(file, "node:"),
		strings.HasPrefix(file, "internal/") && strings.HasSuffix(file, ".js"):
		return true
	case containsAny("/"+strings.TrimPrefix(file, "/"), libraryPaths...):
		return true
	}
	for _, name := range []string{f.Function, f.Module} {
		for _, p := range libraryFunctions {
			if strings.HasPrefix(name, p) {
				return true
			}
		}
	}
	return false
}

// sourcePaths returns the paths to try, in order, to find a frame's file in
// the codebase. A JVM frame names only "Cart.java"; its package, taken from
// the function, narrows the search to com/acme/cart/Cart.java.
func sourcePaths(f contract.Frame) []string {
	if f.File == "" {
		return nil
	}
	paths := []string{f.File}
	if strings.ContainsAny(f.File, `/\`) {
		return paths
	}
	switch path.Ext(f.File) {
	case ".java", ".kt", ".scala", ".groovy":
	default:
		return paths
	}
	var pkg []string
	for _, part := range strings.Split(f.Function, ".") {
		if part == "" || part[0] < 'a' || part[0] > 'z' {
			break // class names start with a capital letter
		}
		pkg = append(pkg, part)
	}
	if len(pkg) > 0 {
		paths = append([]string{path.Join(append(pkg, f.File)...)}, paths...)
	}
	return paths
}

// shortFunction trims a Go function's import path, which repeats the file's
// directory: github.com/acme/app/pkg/cart.(*Cart).Total is cart.(*Cart).Total.
func shortFunction(fn string) string {
	head := fn
	if j := strings.IndexAny(fn, " ("); j >= 0 {
		head = fn[:j]
	}
	if i := strings.LastIndexByte(head, '/'); i >= 0 {
		return fn[i+1:]
	}
	return fn
}
