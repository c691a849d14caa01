// Package heuristic is the default diagnoser: offline, free and
// deterministic. It categorises a failure with hand-written rules over the
// error type, message and stack, finds the failing frame and its source
// lines, and says what to check.
package heuristic

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/diagnose/internal/codebase"
	"github.com/rounds-dev/rounds/services/diagnose/internal/evidence"
	"github.com/rounds-dev/rounds/services/diagnose/internal/git"
)

// Name is the diagnoser's name, in Diagnosis.Diagnoser.
const Name = "heuristic"

const (
	// snippetContext is how many lines around the failing one are quoted.
	snippetContext = 3
	// maxSourceAttempts bounds the frames tried against the codebase, each
	// of which may cost a few stat calls.
	maxSourceAttempts = 8
	// maxHeadlineBytes bounds the error text quoted in a root cause.
	maxHeadlineBytes = 200
	// maxSourceLineBytes bounds the failing source line quoted in a root cause.
	maxSourceLineBytes = 160
)

// Input is what a signature is diagnosed from.
type Input struct {
	Signature contract.Signature
	// Occurrences are recent occurrences, the most recent last; at least one.
	Occurrences []contract.Failure
	// Tree is the project's source, nil when no codebase is mounted.
	Tree *codebase.Tree
	// Evidence was gathered before the diagnosis (source of the top
	// frames, git history, owners, related signatures); nil when none was.
	Evidence *evidence.Set
}

// Diagnoser is the heuristic diagnoser. Its zero value is ready to use; it
// is safe for concurrent use.
type Diagnoser struct {
	rules []rule
}

// New returns a heuristic diagnoser with the built-in rules.
func New() *Diagnoser {
	return &Diagnoser{rules: defaultRules()}
}

// failure is what the diagnosis is built from, gathered once.
type failure struct {
	errType string
	message string
	stack   string
	// cause is the innermost JVM "Caused by:" line, if any.
	cause    string
	testName string
	frames   []contract.Frame
	// inApp indexes the frames that belong to the project.
	inApp []int
}

// located is the failing frame and what the codebase says about it.
type located struct {
	frame contract.Frame
	found bool
	inApp bool
	// file is the frame's path relative to the codebase when it resolved,
	// else as reported.
	file    string
	snippet *codebase.Snippet
	// staleSource is set when the file exists but is shorter than the
	// frame's line: the codebase is probably not at the failing commit.
	staleSource string
}

// Diagnose explains the most recent occurrence of a signature. It fails
// only when there is no occurrence or ctx is done; a missing codebase or
// an unresolvable frame just means less evidence.
func (d *Diagnoser) Diagnose(ctx context.Context, in Input) (contract.Diagnosis, error) {
	if err := ctx.Err(); err != nil {
		return contract.Diagnosis{}, fmt.Errorf("diagnose signature %s: %w", in.Signature.ID, err)
	}
	if len(in.Occurrences) == 0 {
		return contract.Diagnosis{}, fmt.Errorf("diagnose signature %s: no occurrences", in.Signature.ID)
	}
	rules := d.rules
	if rules == nil {
		rules = defaultRules()
	}

	f := gather(in)
	m := classify(rules, evidenceText{
		typ:     strings.ToLower(strings.TrimSpace(f.errType + " " + causeType(f.cause))),
		message: strings.ToLower(f.message),
		stack:   strings.ToLower(f.stack),
	})
	loc, err := locate(ctx, in.Tree, f)
	if err != nil {
		return contract.Diagnosis{}, fmt.Errorf("diagnose signature %s: %w", in.Signature.ID, err)
	}
	var cmp *comparison
	if m.rule.category == CategoryAssertion {
		if c, ok := extractComparison(f.message); ok {
			cmp = &c
		} else if c, ok := extractComparison(f.stack); ok {
			cmp = &c
		}
	}
	var race *raceAccess
	if m.rule.category == CategoryDataRace {
		race = previousAccess(f.stack)
	}

	cause := rootCause(m, f, loc, cmp, race)
	fix := suggestFix(m.rule.category, loc, cmp, in.Signature.Flaky)
	conf := confidence(m, loc, cmp, in.Signature.Flaky)
	if c, ok := in.Evidence.Suspect(); ok {
		cause += " " + suspectSentence(c, in.Evidence.SuspectsChangedFiles)
		fix += " Start with commit " + c.Short() + "."
		if in.Evidence.SuspectsChangedFiles {
			conf = min(conf+0.05, 0.9)
		}
	}
	if file, who := in.Evidence.FailingOwners(); len(who) > 0 {
		fix += fmt.Sprintf(" %s own%s %s (per %s): ask them to review the fix.", strings.Join(who, ", "), plural(len(who)), file, in.Evidence.OwnersFile)
	}
	return contract.Diagnosis{
		Category:     m.rule.category,
		RootCause:    cause,
		Evidence:     evidence.Merge(listEvidence(in, loc, race), in.Evidence.Items()),
		SuggestedFix: fix,
		Confidence:   conf,
		Diagnoser:    Name,
	}, nil
}

// suspectSentence names the commit that most likely brought the failure.
func suspectSentence(c git.Commit, changedFiles bool) string {
	what := "the only commit since it last passed"
	if changedFiles {
		what = "the only commit since it last passed that changed the failing files"
	}
	return sentence(fmt.Sprintf("It most likely came with commit %s, %s", evidence.Label(c), what))
}

func plural(n int) string {
	if n == 1 {
		return "s"
	}
	return ""
}

// Sources returns the source around the project's top frames that the
// codebase has, at most limit of them, the failing frame first: the
// frames whose source evidence and prompts quote.
func Sources(ctx context.Context, in Input, limit int) []codebase.Snippet {
	if in.Tree == nil || len(in.Occurrences) == 0 || limit < 1 {
		return nil
	}
	f := gather(in)
	type key struct {
		file string
		line int
	}
	seen := map[key]bool{}
	var out []codebase.Snippet
	for n, i := range f.inApp {
		if n == maxSourceAttempts || len(out) == limit || ctx.Err() != nil {
			break
		}
		fr := f.frames[i]
		if fr.Line < 1 {
			continue
		}
		for _, p := range sourcePaths(fr) {
			s, err := in.Tree.Snippet(p, fr.Line, snippetContext)
			if err != nil {
				continue
			}
			if k := (key{s.File, s.Line}); !seen[k] {
				seen[k] = true
				out = append(out, s)
			}
			break
		}
	}
	return out
}

// gather collects the error of the most recent occurrence, taking the
// location from an older one when the latest carries no stack.
func gather(in Input) failure {
	latest := in.Occurrences[len(in.Occurrences)-1]
	f := failure{
		errType: latest.Error.Type,
		message: stripANSI(latest.Error.Message),
		stack:   stripANSI(latest.Error.Stack),
	}
	if f.errType == "" {
		f.errType = in.Signature.ErrorType
	}
	if f.message == "" {
		f.message = in.Signature.MessageTemplate
	}
	if f.message == "" && f.errType == "" {
		f.message = in.Signature.Title
	}

	for i := len(in.Occurrences) - 1; i >= 0 && len(f.frames) == 0; i-- {
		e := in.Occurrences[i].Error
		f.frames = frames(e.Frames, stripANSI(e.Stack), stripANSI(e.Message))
		if f.cause == "" {
			f.cause, _ = causeSection(stripANSI(e.Stack))
		}
	}

	f.inApp = inAppFrames(f.frames)

	test := latest.Test
	if test == nil {
		test = in.Signature.Test
	}
	if test != nil {
		f.testName = test.Name
		// The test's own location is project code, and the last resort for
		// source.
		if test.File != "" && test.Line > 0 {
			f.frames = append(f.frames, contract.Frame{Function: test.Name, File: test.File, Line: test.Line})
			f.inApp = append(f.inApp, len(f.frames)-1)
		}
	}
	return f
}

// frames returns the structured frames, or those found in the stack or the
// message, with a JVM exception's innermost cause first.
func frames(structured []contract.Frame, stack, message string) []contract.Frame {
	var out []contract.Frame
	if _, section := causeSection(stack); section != "" {
		out = scanStack(section)
	}
	switch {
	case len(structured) > 0:
		out = append(out, structured...)
	case stack != "":
		out = append(out, scanStack(stack)...)
	}
	if len(out) == 0 {
		// testify's "Error Trace" and t.Errorf's "file_test.go:42:" prefix
		// are in the message.
		out = scanStack(message)
	}
	return dedupe(out)
}

// dedupe drops repeated frames, which appear when the cause section of a
// JVM stack is scanned both on its own and as part of the whole stack.
func dedupe(frames []contract.Frame) []contract.Frame {
	type key struct {
		fn, file string
		line     int
	}
	seen := make(map[key]bool, len(frames))
	out := frames[:0]
	for _, f := range frames {
		k := key{f.Function, f.File, f.Line}
		if !seen[k] {
			seen[k] = true
			out = append(out, f)
		}
	}
	return out
}

// causeType is the exception class of a "Caused by:" line.
func causeType(cause string) string {
	t, _, _ := strings.Cut(cause, ":")
	return strings.TrimSpace(t)
}

// locate picks the failing frame: the first project frame whose file the
// codebase has, else the first project frame, else the first frame. The
// source is quoted when the file has the frame's line.
func locate(ctx context.Context, tree *codebase.Tree, f failure) (located, error) {
	candidates := f.inApp
	if len(candidates) == 0 {
		for i := range f.frames {
			candidates = append(candidates, i)
		}
	}
	if len(candidates) == 0 {
		return located{}, nil
	}
	loc := located{frame: f.frames[candidates[0]], found: true, inApp: len(f.inApp) > 0}
	loc.file = loc.frame.File
	if tree == nil {
		return loc, nil
	}
	for n, i := range candidates {
		if n == maxSourceAttempts {
			break
		}
		fr := f.frames[i]
		if fr.Line < 1 {
			continue
		}
		for _, p := range sourcePaths(fr) {
			if err := ctx.Err(); err != nil {
				return located{}, err
			}
			s, err := tree.Snippet(p, fr.Line, snippetContext)
			if err == nil {
				loc.frame, loc.file, loc.snippet = fr, s.File, &s
				return loc, nil
			}
			if errors.Is(err, codebase.ErrLineOutOfRange) {
				// The file is there but not as it was when the code failed;
				// quoting a caller instead would point at the wrong place.
				if rel, err := tree.Resolve(p); err == nil {
					loc.frame, loc.file = fr, rel
					loc.staleSource = fmt.Sprintf("%s exists in the codebase but has no line %d", rel, fr.Line)
					return loc, nil
				}
			}
		}
	}
	return loc, nil
}

// raceAccess is the earlier of the two conflicting accesses in a Go race
// report.
type raceAccess struct {
	kind  string // "read" or "write"
	frame contract.Frame
}

// previousAccess finds the "Previous write at ... by goroutine N:" section
// of a Go race report and its first project frame.
func previousAccess(stack string) *raceAccess {
	i := strings.Index(stack, "Previous ")
	if i < 0 {
		return nil
	}
	header, rest, _ := strings.Cut(stack[i+len("Previous "):], "\n")
	kind, _, _ := strings.Cut(header, " ")
	frames := scanStack(rest)
	if app := inAppFrames(frames); len(app) > 0 {
		return &raceAccess{kind: kind, frame: frames[app[0]]}
	}
	return nil
}

// where says where the failure happened, for a sentence:
// "in cart.(*Cart).Total at pkg/cart/cart.go:17".
func where(loc located, testName string) string {
	if !loc.found {
		if testName != "" {
			return "in test " + testName
		}
		return ""
	}
	at := loc.file
	if loc.frame.Line > 0 {
		at = fmt.Sprintf("%s:%d", at, loc.frame.Line)
	}
	fn := shortFunction(loc.frame.Function)
	switch {
	case fn != "" && at != "":
		return "in " + fn + " at " + at
	case at != "" && testName != "":
		return "at " + at + ", in test " + testName
	case at != "":
		return "at " + at
	case fn != "":
		return "in " + fn
	}
	return ""
}

// headline is the line of an error message that says what failed.
func headline(msg string) string {
	ls := lines(msg)
	if strings.Contains(msg, "Error Trace:") {
		// testify: "Error Trace:" says where, "Error:" says what, and a
		// value ending in a colon continues on the next line.
		for i, l := range ls {
			rest, ok := strings.CutPrefix(strings.TrimSpace(l), "Error:")
			if rest = strings.TrimSpace(rest); !ok || rest == "" {
				continue
			}
			if strings.HasSuffix(rest, ":") && i+1 < len(ls) {
				if next := strings.TrimSpace(ls[i+1]); next != "" && !strings.HasSuffix(next, ":") {
					rest += " " + next
				}
			}
			return clip(rest, maxHeadlineBytes)
		}
	}
	for _, l := range ls {
		if l = messageLine(l); l != "" && !strings.HasPrefix(l, "Error Trace:") && !decoration(l) {
			return clip(l, maxHeadlineBytes)
		}
	}
	return ""
}

// phraseLine returns the first line of msg that contains phrase, a
// lower-case phrase a rule matched: in a long message it says more than
// the first line does.
func phraseLine(msg, phrase string) string {
	if phrase == "" {
		return ""
	}
	for _, l := range lines(msg) {
		if strings.Contains(strings.ToLower(l), phrase) {
			return clip(messageLine(l), maxHeadlineBytes)
		}
	}
	return ""
}

// messageLine trims a line of a message and the "cart_test.go:42: "
// prefix go test puts before t.Errorf output.
func messageLine(l string) string {
	l = strings.TrimSpace(l)
	if f, ok := findLocation(l); ok && strings.HasPrefix(l, f.File+":") {
		_, rest, _ := strings.Cut(l[len(f.File)+1:], ": ")
		l = strings.TrimSpace(rest)
	}
	return l
}

// decoration reports whether a line is a rule or banner such as "=====" or
// "<--- Last few GCs --->" rather than text.
func decoration(l string) bool {
	run := 0
	for run < len(l) && strings.IndexByte("-=_<>*#~", l[run]) >= 0 {
		run++
	}
	return run >= 3
}

// describeError names the error: its type and the line of the message
// that matched (else its headline), and the innermost cause when the error
// wraps one.
func describeError(f failure, m match) string {
	head := ""
	if m.by == "message" && m.rule.category != CategoryAssertion {
		head = phraseLine(f.message, m.phrase)
	}
	if head == "" {
		head = headline(f.message)
	}
	label := head
	switch {
	case f.errType == "":
	case head == "":
		label = f.errType
	case !strings.HasPrefix(head, f.errType):
		label = f.errType + ": " + head
	}
	if f.cause != "" && !strings.Contains(label, f.cause) {
		if label == "" {
			return clip(f.cause, maxHeadlineBytes)
		}
		return clip(f.cause, maxHeadlineBytes) + " (wrapped in " + label + ")"
	}
	return label
}

// title starts a root cause sentence, per category.
func title(category string) string {
	switch category {
	case CategoryAssertion:
		return "Assertion failed"
	case CategoryNilDereference:
		return "Nil dereference"
	case CategoryIndexOutOfRange:
		return "Index or key out of range"
	case CategoryTimeout:
		return "Timed out"
	case CategoryConnRefused:
		return "Connection refused"
	case CategoryNetwork:
		return "Network failure"
	case CategoryPermission:
		return "Permission denied"
	case CategoryMissingFile:
		return "Missing file"
	case CategoryOutOfMemory:
		return "Out of memory"
	case CategoryDataRace:
		return "Data race"
	case CategoryPanic:
		return "Panic"
	case CategoryConfiguration:
		return "Configuration problem"
	}
	return "Failure"
}

// rootCause writes the sentence that names the error, where it happened
// and, for assertions, what was compared.
func rootCause(m match, f failure, loc located, cmp *comparison, race *raceAccess) string {
	var b strings.Builder
	b.WriteString(title(m.rule.category))
	if w := where(loc, f.testName); w != "" {
		b.WriteString(" " + w)
	} else {
		b.WriteString(" (no stack location was reported)")
	}
	detail := describeError(f, m)
	if cmp != nil {
		detail = fmt.Sprintf("expected %s, got %s", cmp.Expected, cmp.Actual)
	}
	if detail != "" {
		b.WriteString(": " + detail)
	}
	if race != nil {
		fmt.Fprintf(&b, "; it conflicts with a previous %s %s", race.kind, where(located{frame: race.frame, file: race.frame.File, found: true}, ""))
	}
	out := sentence(b.String())
	if loc.snippet != nil {
		if l := strings.TrimSpace(loc.snippet.Lines[loc.snippet.Line-loc.snippet.Start]); l != "" {
			out += " The failing line is `" + clip(l, maxSourceLineBytes) + "`."
		}
	}
	return out
}

// at is a location for advice: "pkg/cart/cart.go:17" or a stand-in.
func at(loc located) string {
	if !loc.found || loc.file == "" {
		return "the failing frame"
	}
	if loc.frame.Line > 0 {
		return fmt.Sprintf("%s:%d", loc.file, loc.frame.Line)
	}
	return loc.file
}

// suggestFix says what to check first, per category.
func suggestFix(category string, loc located, cmp *comparison, flaky bool) string {
	a := at(loc)
	var fix string
	switch category {
	case CategoryAssertion:
		if cmp != nil {
			fix = fmt.Sprintf("Decide which side is right at %s: if %s is the intended new behaviour, update the expectation (%s); otherwise fix the code the test exercises so it produces %s again.", a, cmp.Actual, cmp.Expected, cmp.Expected)
		} else {
			fix = fmt.Sprintf("Read the assertion at %s against the code it exercises and rerun the test locally to see the full difference; then fix the code or the expectation, whichever is out of date.", a)
		}
	case CategoryNilDereference:
		fix = fmt.Sprintf("Find which value is nil, None or undefined at %s and trace where it should have been set: a failed lookup, an unset field, or an error path that returned no value. Set it there, or check for it and return a clear error.", a)
	case CategoryIndexOutOfRange:
		fix = fmt.Sprintf("Check the length or the presence of the key before the access at %s. An empty collection usually means the data upstream is missing; fix the producer, or guard the access and handle the empty case.", a)
	case CategoryTimeout:
		fix = fmt.Sprintf("Find what the code waits on at %s: a slow or unavailable dependency, a lock or channel never released, or a deadline too tight for CI. Fix the blocking call first; raise the timeout only if the work is legitimately slow.", a)
	case CategoryConnRefused:
		fix = "Nothing was listening at the address the code dialled. Make sure the dependency (database, broker, mock server, container) is started and ready before the test or service connects, wait for it with a readiness check, and take host and port from configuration."
	case CategoryNetwork:
		fix = fmt.Sprintf("A network call at %s failed (DNS, reset or dropped connection). Check the host name and that the dependency is reachable from where this ran; in tests, stub the remote service; for idempotent calls, retry with backoff.", a)
	case CategoryPermission:
		fix = "The process may not access the file, directory or socket named in the error. Check its owner and mode where this ran, and in tests write to a temporary directory (t.TempDir, tmp_path) rather than the source tree or a system path."
	case CategoryMissingFile:
		fix = fmt.Sprintf("The path opened at %s does not exist where the code ran. Check the working-directory assumption (tests run from their package directory), build the path from the test file's location or embed the fixture, and make sure generated files are created before the test.", a)
	case CategoryOutOfMemory:
		fix = fmt.Sprintf("Look for unbounded growth on the path through %s: whole files or result sets loaded into memory, caches without a bound, leaks across tests. Stream or paginate; raise the memory limit only once usage is known to be legitimate.", a)
	case CategoryDataRace:
		fix = "Two goroutines touch the same memory without synchronisation; the race report names both accesses. Guard the shared value with a mutex, pass it over a channel, use sync/atomic, or stop sharing it, then rerun with -race -count=20 to confirm."
	case CategoryPanic:
		fix = fmt.Sprintf("Read the panic value and the code at %s; return an error instead of panicking, or guard the condition that triggers it.", a)
	case CategoryConfiguration:
		fix = "Set the missing or invalid setting named in the error where this ran (CI secrets, environment, test fixtures), and make the code validate its configuration at startup with an error that names the setting."
	default:
		fix = fmt.Sprintf("No rule matched this failure. Start from the error message and the code at %s, and reproduce it locally with the same inputs.", a)
	}
	if flaky {
		fix += " The signature is flaky, so also look for timing, ordering between tests, shared state and external dependencies."
	}
	return fix
}

// confidence grows with the specificity of the matching rule and with what
// the codebase confirmed.
func confidence(m match, loc located, cmp *comparison, flaky bool) float64 {
	c := m.rule.confidence
	if m.by == "stack" {
		c -= 0.1 // the stack may carry unrelated output
	}
	if loc.found {
		c += 0.05
	}
	if loc.inApp {
		c += 0.05
	}
	if loc.snippet != nil {
		c += 0.15
	}
	if cmp != nil {
		c += 0.1
	}
	if flaky {
		c -= 0.1
	}
	upper := 0.9
	if m.rule.category == CategoryUnknown {
		upper = 0.3
	}
	return min(max(c, 0.05), upper)
}

// listEvidence lists what the diagnosis rests on, before the gathered
// evidence.
func listEvidence(in Input, loc located, race *raceAccess) []contract.Evidence {
	var ev []contract.Evidence
	if loc.found {
		summary := "Failing frame"
		if loc.inApp {
			summary = "First project frame"
		}
		if w := where(loc, ""); w != "" {
			summary += " " + w
		}
		ev = append(ev, contract.Evidence{Kind: "frame", Summary: summary, File: loc.file, Line: loc.frame.Line})
	}
	if race != nil {
		ev = append(ev, contract.Evidence{
			Kind:    "frame",
			Summary: fmt.Sprintf("Previous conflicting %s %s", race.kind, where(located{frame: race.frame, file: race.frame.File, found: true}, "")),
			File:    race.frame.File,
			Line:    race.frame.Line,
		})
	}
	if s := loc.snippet; s != nil {
		ev = append(ev, evidence.SourceItem(*s))
	}
	ev = append(ev, contract.Evidence{Kind: "occurrence", Summary: occurrenceSummary(in)})
	if in.Signature.Flaky {
		ev = append(ev, contract.Evidence{Kind: "note", Summary: "The signature is flaky: it has both failed and passed on the same code, which points to timing, test order, shared state or an external dependency rather than a deterministic bug."})
	}
	if in.Signature.Regressed {
		ev = append(ev, contract.Evidence{Kind: "note", Summary: "The signature regressed: it came back after it was resolved, so compare with the change that fixed it."})
	}
	if loc.staleSource != "" {
		ev = append(ev, contract.Evidence{Kind: "note", Summary: "The codebase may not be at the failing commit: " + loc.staleSource + "."})
	}
	return ev
}

// occurrenceSummary says how often and since when the signature occurred.
func occurrenceSummary(in Input) string {
	sig := in.Signature
	count := max(sig.Occurrences, int64(len(in.Occurrences)))
	first, last := sig.FirstSeen, sig.LastSeen
	for _, o := range in.Occurrences {
		if !o.Time.IsZero() && (first.IsZero() || o.Time.Before(first)) {
			first = o.Time
		}
		if o.Time.After(last) {
			last = o.Time
		}
	}
	const layout = "2006-01-02 15:04 UTC"
	var b strings.Builder
	switch {
	case count == 1 && !first.IsZero():
		fmt.Fprintf(&b, "Seen once, at %s", first.UTC().Format(layout))
	case count == 1:
		b.WriteString("Seen once")
	case first.IsZero():
		fmt.Fprintf(&b, "Seen %d times", count)
	default:
		fmt.Fprintf(&b, "Seen %d times between %s and %s", count, first.UTC().Format(layout), last.UTC().Format(layout))
	}
	if sig.FirstCommit != "" {
		fmt.Fprintf(&b, "; first seen at commit %s", shortCommit(sig.FirstCommit))
	}
	if sig.LastCommit != "" && sig.LastCommit != sig.FirstCommit {
		fmt.Fprintf(&b, ", last at %s", shortCommit(sig.LastCommit))
	}
	return b.String() + "."
}

func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}
