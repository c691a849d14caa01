// Package grouping decides which failures are the same bug: it masks the
// variable parts of messages into templates, parses stack text into frames
// (package stack) and computes the versioned fingerprint of a failure.
//
// It runs on ingest's per-message path, so it scans bytes by hand: no
// regular expressions (see shared/bench/PERF-NOTES.md).
package grouping

import "unsafe"

// Mask replaces each variable part of a message in a template.
const Mask = "<*>"

// maxTemplateInput bounds the work per message; what follows rarely tells
// two bugs apart and often carries run-specific dumps.
const maxTemplateInput = 4 << 10

// Template returns msg with its variable parts masked, so that two
// occurrences of one bug give the same template:
//
//   - every word holding a digit: numbers, hex, uuids, hashes, ids, ips,
//     versions, dates and times, and a long run of hex letters;
//   - paths, URLs (with their query) and e-mail addresses;
//   - quoted values, but for a quoted command, which keeps its verb and
//     shape ("GET <*>", "SELECT * FROM users WHERE id = <*>");
//   - the value of key=value, of "key": value and in an assertion's
//     brackets ("expected:<[alice]>");
//   - a dotted host before :port, and a dotted host name;
//   - month and weekday names next to a number (a date);
//   - the unit after a number (a duration or a size: "5 ms", "1.2 KB"),
//     and a bound before it ("<1 sec");
//   - the name after "user";
//   - true, false, nil, null, None, undefined and NaN where a value is
//     expected (after got, want, expected, is, ==, ...);
//   - in a message of several lines, the lines of a diff ("- x", "+ y").
//
// Masks next to each other, separated by nothing but white space, commas
// or colons, become one: a list, a date or an address of any length gives
// the same template, and so does a value followed by another form of it in
// parentheses ("512 bytes (0.5 KB)"). Runs of white space become one space.
//
// Template is a pure function of msg: it keeps no state between messages.
func Template(msg string) string {
	return template(msg, false)
}

// template masks msg. In a stack line (stackLine), a path keeps its last
// element: a file or a function qualified by its package, which say where
// it broke, while the directories before it vary from machine to machine.
func template(msg string, stackLine bool) string {
	if len(msg) > maxTemplateInput {
		cut := maxTemplateInput
		// Not inside a rune (which is at most 4 bytes long).
		for back := 0; back < 3 && msg[cut]&0xC0 == 0x80; back++ {
			cut--
		}
		msg = msg[:cut]
	}
	t := templater{msg: msg, stackLine: stackLine, maskEnd: -1, parenOuter: -1}
	t.out = make([]byte, 0, len(msg)+len(msg)/4+8)
	t.numberEnd = -1
	t.scan(0, len(msg))
	if len(t.out) == 0 {
		return ""
	}
	// The bytes are never written again: the string can share them.
	return unsafe.String(unsafe.SliceData(t.out), len(t.out))
}

// templater holds the state of one pass over one message.
type templater struct {
	msg       string
	stackLine bool
	out       []byte

	// space is set when white space was skipped and not yet written.
	space bool
	// lines counts the line breaks seen: a diff only exists from the
	// second line on.
	lines int
	// maskEnd is len(out) right after the last mask, or -1.
	maskEnd int
	// parenOuter is the maskEnd before an open parenthesis whose content
	// so far is a mask ("<*> (<*>"), or -1.
	parenOuter int
	// numberEnd is len(out) right after a mask that stood for a number,
	// or -1: a unit after it is part of it.
	numberEnd int

	// valueNext: the next word, right after "key=", is a value.
	valueNext bool
	// literalNext: the next word is a value if it is a literal (true,
	// nil, ...): after got, want, expected, is, ==, "key": and such.
	literalNext bool
	// userNext: the next word follows "user" and names one.
	userNext bool
}

// scan templates msg[from:to].
func (t *templater) scan(from, to int) {
	msg := t.msg[:to]
	lineStart := from == 0
	for i := from; i < len(msg); {
		c := msg[i]
		if isSpace(c) {
			t.space = true
			if c == '\n' {
				t.lines++
				lineStart = true
			}
			i++
			continue
		}
		if lineStart {
			lineStart = false
			if t.lines > 0 && !t.stackLine {
				if end, ok := diffLine(msg, i); ok {
					t.mask()
					t.clearContext()
					i = end
					continue
				}
			}
		}
		switch {
		case c == '<' && len(msg)-i >= len(Mask) && msg[i:i+len(Mask)] == Mask:
			// A template's own mask stays one.
			t.mask()
			t.clearContext()
			i += len(Mask)
		case isQuote(c):
			i = t.quoted(i, to)
		case (c == '<' || c == '>' || c == '~') && i+1 < len(msg) && isDigit(msg[i+1]) &&
			(i == 0 || !isWordByte(msg[i-1])) && !closesAngle(msg, i):
			// "<1 sec", ">100": a bound on a number is part of it.
			i = t.word(i, i+1)
		case isDelim(c):
			i = t.delim(i)
		default:
			i = t.word(i, i)
		}
	}
}

func (t *templater) clearContext() {
	t.valueNext, t.literalNext, t.userNext = false, false, false
}

// writeSpace writes the pending white space, if any and if not at the start.
func (t *templater) writeSpace() {
	if t.space && len(t.out) > 0 {
		t.out = append(t.out, ' ')
	}
	t.space = false
}

// mask writes a mask, or extends the last one when only separators stand
// between them.
func (t *templater) mask() {
	if t.joinsLastMask() {
		t.out = t.out[:t.maskEnd]
		t.space = false
		t.parenOuter = -1
		return
	}
	t.parenOuter = t.openParenAfterMask()
	t.writeSpace()
	t.out = append(t.out, Mask...)
	t.maskEnd = len(t.out)
}

// quotedMask writes q<*>q, which joins masks like a mask does.
func (t *templater) quotedMask(q byte) {
	if t.joinsLastMask() {
		t.out = t.out[:t.maskEnd]
		t.space = false
		t.parenOuter = -1
		return
	}
	t.parenOuter = t.openParenAfterMask()
	t.writeSpace()
	t.out = append(t.out, q)
	t.out = append(t.out, Mask...)
	t.out = append(t.out, q)
	t.maskEnd = len(t.out)
}

// joinsLastMask reports whether only separators were written since the
// last mask.
func (t *templater) joinsLastMask() bool {
	if t.maskEnd < 0 {
		return false
	}
	tail := t.out[t.maskEnd:]
	if len(tail) == 1 && tail[0] == ':' {
		// "10.0.0.1:5432", "07:07:00", but not "<*>: <*>", where the
		// colon ends a clause.
		return !t.space
	}
	for _, c := range tail {
		if c != ',' && c != ' ' {
			return false
		}
	}
	return true
}

// openParenAfterMask returns the last mask's end when what was written
// since is separators and one open parenthesis or bracket, else -1.
func (t *templater) openParenAfterMask() int {
	if t.maskEnd < 0 {
		return -1
	}
	tail := t.out[t.maskEnd:]
	if t.space {
		return -1 // "<*> ( <*>": not a value's other form
	}
	n := len(tail)
	if n == 0 || (tail[n-1] != '(' && tail[n-1] != '[' && tail[n-1] != '{') {
		return -1
	}
	for _, c := range tail[:n-1] {
		if c != ' ' && c != ',' {
			return -1
		}
	}
	return t.maskEnd
}

// quoted handles the quote at i, closed before to, and returns where to go on.
func (t *templater) quoted(i, to int) int {
	msg := t.msg
	q := msg[i]
	end := closingQuote(msg[:to], i)
	if end < 0 {
		t.writeSpace()
		t.out = append(t.out, q)
		t.clearContext()
		return i + 1
	}
	inner := msg[i+1 : end]
	if end+1 < len(msg) && msg[end+1] == ':' && plainKey(inner) {
		// "key": value: the key names the value.
		t.writeSpace()
		t.out = append(t.out, msg[i:end+1]...)
		t.clearContext()
		t.literalNext = true
		return end + 1
	}
	if isStatement(inner) {
		// "GET /v2/servers HTTP/1.1", "SELECT * FROM t WHERE id = 3": a
		// command keeps its verb and shape, its arguments are masked.
		t.writeSpace()
		t.out = append(t.out, q)
		t.clearContext()
		t.numberEnd = -1
		t.scan(i+1, end)
		t.space = false
		t.out = append(t.out, q)
		t.clearContext()
		t.numberEnd = -1
		return end + 1
	}
	t.quotedMask(q)
	t.clearContext()
	t.numberEnd = -1
	return end + 1
}

// isStatement reports whether a quoted value is a command rather than
// data: a verb in capitals (GET, SELECT, DELETE) and its arguments.
func isStatement(s string) bool {
	k := 0
	for k < len(s) && s[k] >= 'A' && s[k] <= 'Z' {
		k++
	}
	return k >= 3 && k < len(s)-1 && s[k] == ' ' && s[k+1] != ' '
}

// delim writes the delimiter at i and returns where to go on.
func (t *templater) delim(i int) int {
	msg := t.msg
	c := msg[i]
	if (c == ')' || c == ']' || c == '}') && t.parenOuter >= 0 && t.maskEnd == len(t.out) && !t.space {
		// "512 bytes (0.5 KB)": the value in parentheses is another form
		// of the one before it.
		t.out = t.out[:t.parenOuter]
		t.maskEnd = t.parenOuter
		t.parenOuter = -1
		t.clearContext()
		return i + 1
	}
	if (c == ')' || c == ']' || c == '}') && !t.space && t.maskEnd >= 0 && len(t.out) > t.maskEnd &&
		t.out[len(t.out)-1] == opening(c) {
		// "24.54.76.216 ()": an empty other form of a value.
		t.out = t.out[:len(t.out)-1]
		if t.joinsLastMask() {
			t.out = t.out[:t.maskEnd]
			t.clearContext()
			return i + 1
		}
		t.out = append(t.out, opening(c))
	}
	t.writeSpace()
	t.out = append(t.out, c)
	literal := t.literalNext
	t.clearContext()
	switch c {
	case '=':
		prev, next := byte(' '), byte(' ')
		if i > 0 {
			prev = msg[i-1]
		}
		if i+1 < len(msg) {
			next = msg[i+1]
		}
		switch {
		case prev == '=' || prev == '!' || next == '=':
			// ==, !=, ===: a comparison.
			t.literalNext = true
		case prev == '<' || prev == '>' || next == '>':
			// <=, >=, =>.
		case isWordByte(prev) && !isSpace(next):
			t.valueNext = true
		}
	case ':', '(', '{':
		// "got: nil", "toBe(null)".
		t.literalNext = literal
	case '<', '[':
		// "expected:<[alice]> but was:<[bob]>", "Expected: [false]": a
		// value in brackets after an assertion's word.
		t.literalNext = literal
		t.valueNext = literal && i+1 < len(msg) && byteClass[msg[i+1]]&classStop == 0
	}
	return i + 1
}

// word handles the word starting at i (whose first byte may be a bound
// like '<' before the digits that start at from) and returns where to go on.
func (t *templater) word(i, from int) int {
	msg := t.msg
	j := from
	anyOf, allOf := uint8(0), uint8(0xFF)
	for j < len(msg) {
		c := byteClass[msg[j]]
		if c&classStop != 0 {
			break
		}
		anyOf |= c
		allOf &= c
		j++
	}
	if !t.stackLine && j < len(msg) && (msg[j] == ':' || msg[j] == '?') {
		if end := pathEnd(msg, i, j); end != j {
			j = end
			anyOf |= classSlash
		}
	}
	w := msg[i:j]
	if t.stackLine {
		if last := lastPathElement(w); len(last) < len(w) {
			w = last
			anyOf, allOf = 0, 0xFF
			for k := 0; k < len(w); k++ {
				anyOf |= byteClass[w[k]]
				allOf &= byteClass[w[k]]
			}
		}
	}
	valueNext, literalNext, userNext := t.valueNext, t.literalNext, t.userNext
	t.clearContext()

	// A unit right after a number is part of it: "5 ms", "1.2 KB".
	if t.numberEnd >= 0 && t.numberEnd == len(t.out) && t.maskEnd == t.numberEnd && isUnit(w) {
		t.space = false
		t.numberEnd = -1
		return j
	}
	t.numberEnd = -1

	switch {
	case anyOf&classDigit != 0:
		t.mask()
		if startsNumber(w) {
			t.numberEnd = len(t.out)
		}
	case anyOf&(classSlash|classAt) != 0 && isVariable(w),
		allOf&classHex != 0 && len(w) >= 8,
		valueNext,
		literalNext && isLiteral(w),
		userNext && !isFunctionWord(w),
		allOf&classHex != 0 && len(w) <= 4 && t.inAddress(i),
		!t.stackLine && anyOf&classDot != 0 && beforePort(msg, j) && isDottedHost(w),
		!t.stackLine && anyOf&classDot != 0 && anyOf&classUpper == 0 && isHostName(w),
		w[0] >= 'A' && w[0] <= 'Z' && isDateName(w) && nextIsDatePart(msg, j):
		t.mask()
	default:
		t.writeSpace()
		t.out = append(t.out, w...)
		switch {
		case isAssertionWord(w):
			t.literalNext = true
		case (len(w) == 4 || len(w) == 8) && (equalFold(w, "user") || equalFold(w, "username")):
			t.userNext = nextIsWord(msg, j)
		}
	}
	return j
}

// Classes of bytes, for scanning words with one look-up per byte.
const (
	classStop = 1 << iota // white space, a delimiter or a quote
	classDigit
	classSlash // '/' or '\'
	classAt
	classDot
	classUpper
	classHex // a-f, A-F
)

var byteClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		switch {
		case isSpace(b) || isDelim(b) || isQuote(b):
			t[c] = classStop
		case isDigit(b):
			t[c] = classDigit
		case b == '/' || b == '\\':
			t[c] = classSlash
		case b == '@':
			t[c] = classAt
		case b == '.':
			t[c] = classDot
		}
		if b >= 'A' && b <= 'Z' {
			t[c] |= classUpper
		}
		if b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F' {
			t[c] |= classHex
		}
	}
	return t
}()

// closesAngle reports whether the '<' at i opens a bracket around a number
// ("expected:<3>") rather than bounding it ("<1 sec").
func closesAngle(msg string, i int) bool {
	if msg[i] != '<' {
		return false
	}
	j := i + 1
	for j < len(msg) && !isDelim(msg[j]) && !isSpace(msg[j]) && !isQuote(msg[j]) {
		j++
	}
	return j < len(msg) && msg[j] == '>'
}

// pathEnd returns the end of the word msg[i:j], extended to the end of
// the URL or path it starts: a scheme ("https://host/x?id=7"), a drive
// ("C:\\Users\\ci") or a path's query ("/v2/servers?all=True&since=...").
func pathEnd(msg string, i, j int) int {
	rest := msg[j:]
	switch {
	case len(rest) >= 3 && rest[0] == ':' && rest[1] == '/' && rest[2] == '/' && allLetters(msg[i:j]):
	case j-i == 1 && isLetter(msg[i]) && len(rest) >= 2 && rest[0] == ':' && (rest[1] == '\\' || rest[1] == '/'):
	case len(rest) >= 2 && rest[0] == '?' && !isSpace(rest[1]) && isPathWord(msg[i:j]):
	default:
		return j
	}
	for j < len(msg) {
		switch msg[j] {
		case ' ', '\t', '\n', '\r', '"', '\'', '`', ')', ']', '>', '}', ',':
			return j
		case ':':
			// "open C:\\x.txt: access denied".
			if j+1 == len(msg) || isSpace(msg[j+1]) {
				return j
			}
		}
		j++
	}
	return j
}

func isPathWord(w string) bool {
	slashes := 0
	for k := 0; k < len(w); k++ {
		if w[k] == '/' || w[k] == '\\' {
			slashes++
		}
	}
	return slashes > 0 && isPath(w, slashes)
}

func allLetters(w string) bool {
	for k := 0; k < len(w); k++ {
		if !isLetter(w[k]) && w[k] != '+' && w[k] != '-' && w[k] != '.' {
			return false
		}
	}
	return len(w) > 0
}

// diffLine reports whether the line starting at i is a line of a diff
// ("- removed", "+ added", "-removed") rather than a header ("--- a/x",
// "+++ b/x") or prose, and returns its end.
func diffLine(msg string, i int) (int, bool) {
	c := msg[i]
	if c != '-' && c != '+' && c != '?' {
		return 0, false
	}
	end := i
	for end < len(msg) && msg[end] != '\n' {
		end++
	}
	if end-i < 2 {
		return end, true
	}
	next := msg[i+1]
	if c == '?' {
		// difflib's hint line: "?   ^^".
		if next != ' ' {
			return 0, false
		}
		for _, b := range []byte(msg[i+1 : end]) {
			if b != ' ' && b != '^' && b != '+' && b != '-' && b != '~' && b != '\r' {
				return 0, false
			}
		}
		return end, true
	}
	if next == c {
		return 0, false
	}
	return end, true
}

// closingQuote returns the index of the quote closing the one at open, or
// -1 when it is an apostrophe in prose (no close on the same line, or a
// letter right before it as in "don't").
func closingQuote(msg string, open int) int {
	q := msg[open]
	if q == '\'' && open > 0 && isWordByte(msg[open-1]) {
		return -1
	}
	for j := open + 1; j < len(msg) && j-open < 512; j++ {
		switch msg[j] {
		case q:
			return j
		case '\n':
			return -1
		case '\\':
			j++
		}
	}
	return -1
}

// plainKey reports whether a quoted string before a colon is a key rather
// than a value: a short name without digits or spaces.
func plainKey(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for k := 0; k < len(s); k++ {
		c := s[k]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-' || c == '.' || c == '$' || c == '@') {
			return false
		}
	}
	return true
}

// isVariable reports whether a word varies by itself: it holds a digit, or
// it is a path, a URL or an e-mail address, or a long run of hex letters.
func isVariable(w string) bool {
	hex := true
	slashes := 0
	for k := 0; k < len(w); k++ {
		switch c := w[k]; {
		case c >= '0' && c <= '9':
			return true
		case c == '@':
			// An e-mail address, or a name@version; "@@" and "@x" stay.
			if k > 0 && k < len(w)-1 && w[k-1] != '@' && w[k+1] != '@' {
				return true
			}
			hex = false
		case c == '/' || c == '\\':
			slashes++
			hex = false
		case c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F':
		default:
			hex = false
		}
	}
	if slashes > 0 {
		return isPath(w, slashes)
	}
	return hex && len(w) >= 8
}

// isPath reports whether a word holding slashes is a path or a URL:
// rooted ("/tmp/x", "./x", "~/x", "\\share"), of several directories
// ("a/b/c") or naming a file ("config/app.yaml"). A word like "i/o",
// "and/or" or "application/json" stays.
func isPath(w string, slashes int) bool {
	if len(w) < 2 {
		return false
	}
	switch w[0] {
	case '/', '\\', '.', '~':
		// Not a comment marker ("//") nor a lone "./".
		for k := 1; k < len(w); k++ {
			if c := w[k]; c != '/' && c != '\\' && c != '.' {
				return true
			}
		}
		return false
	}
	if slashes >= 2 {
		return true
	}
	for k := len(w) - 1; k >= 0 && w[k] != '/' && w[k] != '\\'; k-- {
		if w[k] == '.' {
			return true
		}
	}
	return false
}

// startsNumber reports whether a word is a number, maybe with a sign, a
// bound or a decimal point, so that a unit may follow it.
func startsNumber(w string) bool {
	k := 0
	for k < len(w) && (w[k] == '<' || w[k] == '>' || w[k] == '~' || w[k] == '-' || w[k] == '+') {
		k++
	}
	if k == len(w) || !isDigit(w[k]) {
		return false
	}
	for ; k < len(w); k++ {
		if c := w[k]; !isDigit(c) && c != '.' && c != ',' {
			return false
		}
	}
	return true
}

// beforePort reports whether the word ending at j is followed by ":" and a
// port number: a host.
func beforePort(msg string, j int) bool {
	if j+1 >= len(msg) || msg[j] != ':' || !isDigit(msg[j+1]) {
		return false
	}
	k := j + 1
	for k < len(msg) && isDigit(msg[k]) {
		k++
	}
	if k-(j+1) > 5 {
		return false
	}
	return k == len(msg) || !isWordByte(msg[k]) || msg[k] == '.'
}

// isDottedHost reports whether w, before a port, names a host: a dotted
// name in lower case that is not a file ("cart.go:12" is a file and its
// line). A name without dots ("localhost", "db") is the same on every
// machine, and "index:3" is a key and its value.
func isDottedHost(w string) bool {
	dot := false
	for k := 0; k < len(w); k++ {
		switch c := w[k]; {
		case c == '.':
			dot = true
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-':
		default:
			return false
		}
	}
	return dot && !hasSourceExtension(w)
}

// inAddress reports whether the word at i is joined by a colon, with no
// space, to a mask before it: a group of an address ("<*>:fecd").
func (t *templater) inAddress(i int) bool {
	return i > 0 && t.msg[i-1] == ':' && !t.space && t.maskEnd >= 0 && len(t.out) == t.maskEnd+1
}

// hasSourceExtension reports whether w ends like a file name: "cart.go"
// before ":12" is a file and its line, not a host and its port.
func hasSourceExtension(w string) bool {
	dot := -1
	for k := len(w) - 1; k >= 0; k-- {
		if w[k] == '.' {
			dot = k
			break
		}
	}
	if dot < 0 {
		return false
	}
	switch w[dot+1:] {
	case "go", "py", "pyx", "js", "mjs", "cjs", "jsx", "ts", "tsx", "mts", "cts", "vue", "svelte",
		"java", "kt", "kts", "scala", "groovy", "clj", "cs", "fs", "vb", "cshtml", "razor",
		"rb", "erb", "rs", "c", "h", "cc", "cpp", "cxx", "hpp", "hh", "m", "mm", "swift",
		"php", "pl", "pm", "lua", "ex", "exs", "erl", "hrl", "hs", "ml", "dart", "zig", "nim",
		"sh", "bash", "zsh", "ps1", "sql", "proto", "tf", "gradle",
		"json", "yaml", "yml", "toml", "xml", "html", "css", "scss", "less", "txt", "md", "ini",
		"cfg", "conf", "log", "csv", "lock", "mod", "sum", "snap", "feature", "robot":
		return true
	}
	return false
}

// isHostName reports whether w is a dotted host name such as
// "db.internal.example.com": at least three labels of lower-case letters,
// digits and dashes, the last one a top-level domain. A package or module
// path ("com.acme.cart", "java.util.List") has no such ending.
func isHostName(w string) bool {
	dots, last := 0, 0
	for k := 0; k < len(w); k++ {
		c := w[k]
		switch {
		case c == '.':
			if k == last || k == len(w)-1 {
				return false
			}
			dots++
			last = k + 1
		case c >= 'a' && c <= 'z', c == '-':
		default:
			return false
		}
	}
	if dots < 2 {
		return false
	}
	switch tld := w[last:]; len(tld) {
	case 2:
		// A country: "cuhk.edu.hk". Not a source file's extension.
		return !hasSourceExtension(w)
	default:
		switch tld {
		case "com", "net", "org", "edu", "gov", "mil", "int", "info", "biz", "io", "dev", "app",
			"cloud", "local", "localdomain", "internal", "lan", "corp", "home", "arpa":
			return true
		}
	}
	return false
}

// nextIsDatePart reports whether the word after j (past spaces and one
// comma) is a number or another month or weekday name.
func nextIsDatePart(msg string, j int) bool {
	if j < len(msg) && msg[j] == ',' {
		j++
	}
	for j < len(msg) && (msg[j] == ' ' || msg[j] == '\t') {
		j++
	}
	if j == len(msg) {
		return false
	}
	if isDigit(msg[j]) {
		return true
	}
	k := j
	for k < len(msg) && isLetter(msg[k]) {
		k++
	}
	return k > j && isDateName(msg[j:k])
}

// nextIsWord reports whether a word follows j after one run of spaces.
func nextIsWord(msg string, j int) bool {
	if j >= len(msg) || (msg[j] != ' ' && msg[j] != '\t') {
		return false
	}
	for j < len(msg) && (msg[j] == ' ' || msg[j] == '\t') {
		j++
	}
	return j < len(msg) && !isDelim(msg[j]) && !isSpace(msg[j])
}

// isDateName reports whether w is an English month or weekday name, full
// or in three letters, capitalized or in capitals.
func isDateName(w string) bool {
	if len(w) < 3 || len(w) > 9 || w[0] < 'A' || w[0] > 'Z' {
		return false
	}
	switch w {
	case "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec",
		"January", "February", "March", "April", "June", "July", "August", "September",
		"October", "November", "December",
		"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun",
		"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
		"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
		"MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN":
		return true
	}
	return false
}

// isUnit reports whether w is a unit of time or size.
func isUnit(w string) bool {
	switch w {
	case "ns", "us", "µs", "μs", "ms", "s", "sec", "secs", "second", "seconds",
		"min", "mins", "minute", "minutes", "h", "hr", "hrs", "hour", "hours", "day", "days",
		"nanoseconds", "microseconds", "milliseconds",
		"b", "B", "byte", "bytes", "kb", "KB", "kB", "KiB", "mb", "MB", "MiB", "gb", "GB", "GiB",
		"TB", "TiB", "PB", "PiB":
		return true
	}
	return false
}

// isLiteral reports whether w is a literal value of a programming language.
func isLiteral(w string) bool {
	switch w {
	case "true", "false", "True", "False", "TRUE", "FALSE", "nil", "null", "NULL", "None",
		"undefined", "NaN", "Infinity", "-Infinity", "inf", "-inf", "nan":
		return true
	}
	return false
}

// isAssertionWord reports whether w introduces a value in an assertion
// message: "got nil", "expected true", "is false", "toBe null".
func isAssertionWord(w string) bool {
	switch w {
	case "got", "Got", "want", "Want", "wanted", "expected", "Expected", "expect", "actual",
		"Actual", "received", "Received", "was", "is", "be", "equal", "equals", "toBe",
		"toEqual", "toStrictEqual", "but":
		return true
	}
	return false
}

// isFunctionWord reports whether w is an English function word, which
// cannot be a user's name: "user is locked", "user not found".
func isFunctionWord(w string) bool {
	switch w {
	case "is", "was", "are", "were", "has", "had", "have", "does", "did", "do", "not", "no",
		"can", "cannot", "could", "should", "must", "may", "will", "would", "and", "or",
		"the", "a", "an", "with", "from", "to", "for", "by", "in", "on", "at", "of", "as",
		"that", "this", "which", "who", "already", "if", "when", "id", "name":
		return true
	}
	return false
}

func lastPathElement(w string) string {
	for k := len(w) - 1; k >= 0; k-- {
		if w[k] == '/' || w[k] == '\\' {
			if k == len(w)-1 {
				return w
			}
			return w[k+1:]
		}
	}
	return w
}

func isDelim(c byte) bool {
	switch c {
	case '=', ',', ';', ':', '(', ')', '[', ']', '{', '}', '<', '>', '|', '!', '?':
		return true
	}
	return false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isQuote(c byte) bool { return c == '"' || c == '\'' || c == '`' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c >= 0x80
}

// equalFold is strings.EqualFold for ASCII.
func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for k := 0; k < len(a); k++ {
		x, y := a[k], b[k]
		if x >= 'A' && x <= 'Z' {
			x += 'a' - 'A'
		}
		if y >= 'A' && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func opening(c byte) byte {
	switch c {
	case ']':
		return '['
	case '}':
		return '{'
	}
	return '('
}
