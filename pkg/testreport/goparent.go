package testreport

import (
	"regexp"
	"slices"
	"strings"
)

// Go's JUnit writers (go-junit-report, gotestsum) report a parent test as a
// failed testcase of its own when one of its subtests failed: TestTotal with
// the message "Failed" and nothing else, beside TestTotal/big_discount with
// the real failure. That is go test's aggregation, not a failure: the go
// test -json parser does not make one of it, and as a failure it would be a
// signature that nothing groups with its subtest's.
//
// So a failed testcase is left out of the failures when all of these hold:
//
//   - its name looks like a Go test (Test..., Benchmark..., Fuzz...,
//     Example..., or a subtest of one);
//   - it failed once (no Surefire reruns), with a <failure> whose type is
//     empty or "failure" and whose message is empty or "Failed";
//   - a testcase of the same suite whose name starts with its name and "/"
//     failed too;
//   - every line of its failure's text and of its <system-out> and
//     <system-err> is a go test status line (=== RUN, --- FAIL: ..., FAIL,
//     ok ...) or appears in a failed subtest's failure or output.
//
// A parent that said something of its own (t.Errorf in the parent, a panic
// in it) keeps its failure. As with go test -json, the left-out parent is
// still counted in Report.Total and Report.Failed (it did fail), is not
// listed as passed, and is no failure event.

// goParent is a failure that may be a Go parent's aggregation.
type goParent struct {
	// index is the failure's in junitParser.failures.
	index int
	// lines are the lines of its text that are not go test status lines:
	// each must be found in a failed subtest's for it to be left out.
	lines []string
}

// goTestName matches the top-level name of a Go test function.
var goTestName = regexp.MustCompile(`^(Test|Benchmark|Fuzz|Example)[^/]*`)

// goStatusLine matches the lines go test writes about a test rather than
// the test about itself.
var goStatusLine = regexp.MustCompile(`^(=== (RUN|PAUSE|CONT|NAME)\b.*|--- (FAIL|PASS|SKIP): .*|FAIL|PASS|(FAIL|ok)\s.*)$`)

// genericMessages are the messages Go's JUnit writers give every failed
// test.
var genericMessages = []string{"", "Failed"}

// goParentLines says whether c's failure carries nothing but what Go's
// JUnit writers give every failed test, and if so returns its lines that
// are not go test status lines.
func goParentLines(c *junitCase) ([]string, bool) {
	if c.problem == nil || len(c.attempts) != 1 || !goTestName.MatchString(c.name) {
		return nil, false
	}
	if c.problem.typ != "failure" || !slices.Contains(genericMessages, strings.TrimSpace(c.problem.message)) {
		return nil, false
	}
	var lines []string
	for _, text := range []string{c.problem.text.String(), c.out.String(), c.err.String()} {
		for l := range strings.Lines(text) {
			l = strings.TrimSpace(l)
			if l != "" && !goStatusLine.MatchString(l) {
				lines = append(lines, l)
			}
		}
	}
	return lines, true
}

// dropParents removes from the failures the Go parents that only repeat
// their failed subtests.
func (p *junitParser) dropParents() {
	if len(p.parents) == 0 {
		return
	}
	// The failures of each suite sorted by name: a test's subtests are the
	// run of names that start with its name and "/", found by bisection,
	// so that a report of many parents costs no quadratic time.
	bySuite := make(map[string][]int)
	for i, f := range p.failures {
		bySuite[f.Test.Suite] = append(bySuite[f.Test.Suite], i)
	}
	for _, idx := range bySuite {
		slices.SortStableFunc(idx, func(a, b int) int { return strings.Compare(p.failures[a].Test.Name, p.failures[b].Test.Name) })
	}
	drop := make(map[int]bool)
	for _, gp := range p.parents {
		parent := p.failures[gp.index].Test
		prefix := parent.Name + "/"
		idx := bySuite[parent.Suite]
		start, _ := slices.BinarySearchFunc(idx, prefix, func(i int, name string) int { return strings.Compare(p.failures[i].Test.Name, name) })
		var said []string // what the failed subtests said
		for _, i := range idx[start:] {
			f := p.failures[i]
			if !strings.HasPrefix(f.Test.Name, prefix) {
				break
			}
			said = append(said, f.Error.Stack, f.Attributes[AttrSystemOut], f.Attributes[AttrSystemErr])
		}
		if said == nil {
			continue
		}
		all := strings.Join(said, "\n")
		repeats := true
		for _, l := range gp.lines {
			if !strings.Contains(all, l) {
				repeats = false
				break
			}
		}
		if repeats {
			drop[gp.index] = true
		}
	}
	if len(drop) == 0 {
		return
	}
	kept := p.failures[:0]
	for i, f := range p.failures {
		if !drop[i] {
			kept = append(kept, f)
		}
	}
	p.failures = kept
}
