package stack

import "strings"

// Limits on the work per stack: a runaway dump must not stall ingest.
const (
	maxFramesPerSegment = 256
	maxSegments         = 32
)

// kind is the form of a run of frames.
type kind uint8

const (
	kindGoStack kind = iota + 1 // a goroutine's frames
	kindGoTest                  // file.go:12: lines of go test and testify
	kindPython                  // a traceback, outermost first
	kindPytest                  // a pytest report, outermost first
	kindJVM                     // an exception or one of its causes
	kindJS                      // a V8 stack
	kindDotNet                  // a .NET exception and its inner ones
)

func (k kind) language() language {
	switch k {
	case kindGoStack, kindGoTest:
		return langGo
	case kindPython, kindPytest:
		return langPython
	case kindJVM:
		return langJVM
	case kindJS:
		return langJS
	case kindDotNet:
		return langDotNet
	}
	return langUnknown
}

// segment is a run of frames of one kind: a traceback, a cause.
type segment struct {
	kind       kind
	start, end int // frames[start:end]
}

// scanner holds the state of one pass over one stack text.
type scanner struct {
	p      *Parser
	frames []Frame
	// segs[:nsegs] are the segments, in an array so that a scan does not
	// allocate them.
	segs  [maxSegments]segment
	nsegs int
	// split forces the next frame into a new segment (a new traceback, a
	// cause).
	split bool

	// goFunc is the function of a Go function line waiting for its file
	// line, which is indented deeper than goFuncIndent.
	goFunc       string
	goFuncIndent int
	goroutines   int
	// goDone is set at the second goroutine: only the first one, which
	// panicked or failed, says where it broke.
	goDone bool
	// errorTrace is set inside testify's "Error Trace:" block.
	errorTrace bool
	// pyDef is the function whose source pytest showed last.
	pyDef string
	// skipIndent is the indentation of a JVM "Suppressed:" block being
	// skipped, or -1.
	skipIndent int
	// enough, when above 0, ends the scan once the first segment printed
	// innermost first holds that many in-app frames: nothing after them
	// can come before them.
	enough int
	inApp  int
	done   bool
}

// Parse returns the frames of text, innermost first. Where an exception
// has causes, the root cause's frames come first (a JVM "Caused by:", the
// first of Python's chained tracebacks, a .NET inner exception), then those
// of the exceptions around it. Of a Go goroutine dump, only the first
// goroutine is read; go test's "file.go:12:" lines count only when there is
// no goroutine dump. Lines that are no frame are skipped, so the text may
// hold messages, logs and source lines too.
func (p *Parser) Parse(text string) []Frame {
	return p.parse(nil, text, 0)
}

// ParseInnermost returns a prefix of Parse(text) that holds its first n
// in-app frames (or all of it, when it holds fewer), with less work when
// the frames come innermost first: a Go goroutine, a V8 or .NET stack.
func (p *Parser) ParseInnermost(text string, n int) []Frame {
	return p.parse(nil, text, n)
}

// ParseInnermostInto is ParseInnermost reusing buf's room (not its
// content), which saves an allocation on the hot path.
func (p *Parser) ParseInnermostInto(buf []Frame, text string, n int) []Frame {
	return p.parse(buf[:0], text, n)
}

func (p *Parser) parse(buf []Frame, text string, enough int) []Frame {
	s := scanner{p: p, skipIndent: -1, enough: enough, frames: buf}
	for rest := text; rest != "" && !s.done; {
		line := rest
		if i := strings.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = ""
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		s.line(line)
	}
	return s.result()
}

func (s *scanner) line(line string) {
	indent, t := indentation(line)
	if t == "" {
		s.goFunc = ""
		return
	}
	if s.skipIndent >= 0 {
		if indent > s.skipIndent || indent == s.skipIndent && (strings.HasPrefix(t, "Caused by:") || strings.HasPrefix(t, "Suppressed:")) {
			return
		}
		s.skipIndent = -1
	}
	goFunc := s.goFunc
	s.goFunc = ""

	switch {
	case isGoroutineHeader(line):
		s.goroutines++
		if s.goroutines > 1 && s.has(kindGoStack) {
			s.goDone = true
		}
		s.split = true
		return
	case goFunc != "" && indent > s.goFuncIndent:
		if file, n, ok := goFileLine(t); ok {
			if !s.goDone {
				s.goFrame(goFunc, file, n)
			}
			return
		}
	}

	if t[len(t)-1] == ')' && t[0] != 'a' {
		// Most often a Go function line: "pkg.Func(args)", indented in a
		// race detector's report.
		if name, ok := goFuncName(t); ok {
			s.goFunc, s.goFuncIndent = name, indent
			return
		}
	}
	switch {
	case strings.HasPrefix(t, "at "):
		s.atLine(t[3:])
	case strings.HasPrefix(t, "File \""):
		s.pythonFrame(t)
	case strings.HasPrefix(t, "Traceback (most recent call last)"):
		s.split = true
	case strings.HasPrefix(t, "Caused by:"):
		if indent == 0 {
			s.split = true
		}
	case strings.HasPrefix(t, "Suppressed:"):
		s.skipIndent = indent
	case strings.HasPrefix(t, "Error Trace:"):
		s.errorTrace = true
		s.goTestLine(trimSpace(t[len("Error Trace:"):]), true)
	case strings.HasPrefix(t, "Error:") || strings.HasPrefix(t, "Messages:") || strings.HasPrefix(t, "Test:"):
		s.errorTrace = false
	case s.errorTrace && s.goTestLine(t, true):
	case s.pytestLine(t):
	case s.goTestLine(t, false):
	default:
		if name, ok := goFuncName(t); ok {
			s.goFunc, s.goFuncIndent = name, indent
			return
		}
		if name, ok := pythonDef(t); ok {
			s.pyDef = name
		}
	}
}

// indentation returns the width of line's leading white space (a tab
// counts four) and the line without white space around it.
func indentation(line string) (int, string) {
	w, i := 0, 0
	for ; i < len(line); i++ {
		switch line[i] {
		case ' ':
			w++
		case '\t':
			w += 4
		default:
			return w, trimSpace(line[i:])
		}
	}
	return w, ""
}

func trimSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}

func (s *scanner) has(k kind) bool {
	for _, g := range s.segs[:s.nsegs] {
		if g.kind == k {
			return true
		}
	}
	return false
}

// add appends a frame to the current segment, or starts one.
func (s *scanner) add(k kind, f Frame) {
	n := s.nsegs
	if n == 0 || s.split || s.segs[n-1].kind != k {
		if n == maxSegments {
			return
		}
		if s.frames == nil {
			s.frames = make([]Frame, 0, 16)
		}
		s.segs[n] = segment{kind: k, start: len(s.frames), end: len(s.frames)}
		s.nsegs++
		s.split = false
		n++
	}
	g := &s.segs[n-1]
	if g.end-g.start == maxFramesPerSegment {
		return
	}
	f.InApp = s.p.inApp(k.language(), f.Module, f.Function, f.File)
	s.frames = append(s.frames, f)
	g.end++
	if f.InApp && s.enough > 0 && s.firstInOrder() {
		if s.inApp++; s.inApp == s.enough {
			s.done = true
		}
	}
}

// firstInOrder reports whether the current segment comes first in the
// result and is printed innermost first.
func (s *scanner) firstInOrder() bool {
	n := s.nsegs
	switch s.segs[n-1].kind {
	case kindGoStack:
		// go test's lines before a goroutine are dropped.
		for _, g := range s.segs[:n-1] {
			if g.kind != kindGoTest {
				return false
			}
		}
		return true
	case kindJS, kindDotNet:
		return n == 1
	}
	return false
}

// result orders the segments as printed, but for a JVM exception's causes,
// from the root cause out, and Python tracebacks, each turned innermost
// first; go test lines count only without a goroutine's frames. Every
// segment keeps its place after those printed before it, so that a scan
// may stop early (see enough).
func (s *scanner) result() []Frame {
	segs := s.segs[:s.nsegs]
	if len(segs) == 0 {
		return nil
	}
	if len(segs) == 1 {
		g := segs[0]
		if g.kind == kindPython || g.kind == kindPytest {
			for i, j := g.start, g.end-1; i < j; i, j = i+1, j-1 {
				s.frames[i], s.frames[j] = s.frames[j], s.frames[i]
			}
		}
		return s.frames[g.start:g.end:g.end]
	}
	goStack := s.has(kindGoStack)
	out := make([]Frame, 0, len(s.frames))
	for k := 0; k < len(segs); k++ {
		switch g := segs[k]; {
		case g.kind == kindJVM:
			// An exception and its causes: from the root cause out.
			last := k
			for last+1 < len(segs) && segs[last+1].kind == kindJVM {
				last++
			}
			for c := last; c >= k; c-- {
				out = append(out, s.frames[segs[c].start:segs[c].end]...)
			}
			k = last
		case g.kind == kindGoTest && goStack:
		case g.kind == kindPython || g.kind == kindPytest:
			for f := g.end - 1; f >= g.start; f-- {
				out = append(out, s.frames[f])
			}
		default:
			out = append(out, s.frames[g.start:g.end]...)
		}
	}
	return out
}

// parseLine parses the decimal number at the start of s and returns it
// with the rest of s.
func parseLine(s string) (int, string, bool) {
	n, k := 0, 0
	for k < len(s) && s[k] >= '0' && s[k] <= '9' {
		if n < 1e8 {
			n = n*10 + int(s[k]-'0')
		}
		k++
	}
	return n, s[k:], k > 0
}

// splitLastDot splits a qualified name at its last dot.
func splitLastDot(name string) (string, string) {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[:i], name[i+1:]
	}
	return "", name
}

// stripExtension drops the extension of a path's last element.
func stripExtension(path string) string {
	for k := len(path) - 1; k >= 0; k-- {
		switch path[k] {
		case '.':
			if k > 0 && path[k-1] != '/' && path[k-1] != '\\' {
				return path[:k]
			}
			return path
		case '/', '\\':
			return path
		}
	}
	return path
}

// lastElements returns the last n elements of a path.
func lastElements(path string, n int) string {
	for k := len(path) - 1; k >= 0; k-- {
		if path[k] == '/' || path[k] == '\\' {
			n--
			if n == 0 {
				return path[k+1:]
			}
		}
	}
	return path
}

// appPath returns the part of a project file's path that names its module:
// the file and its directory ("billing/cart.py"). The directories above
// vary from checkout to checkout; a directory holding a digit is taken for
// a temporary one ("pytest-3/test_total0") and left out too.
func appPath(path string) string {
	two := lastElements(path, 2)
	for len(two) > 0 && (two[0] == '/' || two[0] == '\\') {
		two = two[1:]
	}
	for k := 0; k < len(two); k++ {
		switch c := two[k]; {
		case c == '/' || c == '\\':
			return two
		case c >= '0' && c <= '9':
			return lastElements(two, 1)
		}
	}
	return two
}

// afterLast returns what follows the last occurrence of part in path right
// after a separator (or at its start), and whether there is one.
func afterLast(path, part string) (string, bool) {
	found, at := false, 0
	if pathHasPrefix(path, part) {
		found, at = true, len(part)
	}
	for i := 0; i+len(part) < len(path); i++ {
		if c := path[i]; (c == '/' || c == '\\') && pathHasPrefix(path[i+1:], part) {
			found, at = true, i+1+len(part)
		}
	}
	return path[at:], found
}
