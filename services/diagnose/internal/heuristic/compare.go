package heuristic

import (
	"strings"
)

// maxValueBytes bounds an expected or actual value quoted in a root cause.
const maxValueBytes = 120

// comparison is what a failed assertion compared, as its message shows it.
type comparison struct {
	Expected, Actual string
}

// extractComparison finds the expected and actual values in an assertion
// message, trying the formats of the common test frameworks in turn.
func extractComparison(msg string) (comparison, bool) {
	msg = stripANSI(msg)
	for _, extract := range []func(string) (comparison, bool){
		labelledValues, gotWant, pythonComparison, chaiComparison,
	} {
		if c, ok := extract(msg); ok {
			return comparison{Expected: clip(c.Expected, maxValueBytes), Actual: clip(c.Actual, maxValueBytes)}, true
		}
	}
	return comparison{}, false
}

// labelledValues reads values introduced by labels:
//
//	testify:  expected: 10 / actual  : 9
//	JUnit:    expected:<10> but was:<9>, expected: <10> but was: <9>
//	Jest:     Expected: 10 / Received: 9
//	NUnit:    Expected: 10 / But was:  9
//	xUnit:    Expected: 10 / Actual:   9
//	MSTest:   Expected:<10>. Actual:<9>.
func labelledValues(msg string) (comparison, bool) {
	_, eEnd, ok := findLabel(msg, 0, "expected")
	if !ok {
		return comparison{}, false
	}
	aStart, aEnd, ok := findLabel(msg, eEnd, "but was", "actual", "received")
	if !ok {
		return comparison{}, false
	}
	expected := msg[eEnd:min(lineEnd(msg, eEnd), aStart)]
	actual := msg[aEnd:lineEnd(msg, aEnd)]
	return bothValues(labelValue(expected), labelValue(actual))
}

// findLabel finds the first of names, at or after from, that starts a word
// and is followed by optional spaces and a colon. It returns where the name
// starts and where its value starts.
func findLabel(s string, from int, names ...string) (start, value int, ok bool) {
	start = -1
	for _, name := range names {
		for at := from; at < len(s); {
			i := wordIndex(s[at:], name)
			if i < 0 {
				break
			}
			i += at
			j := i + len(name)
			for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
				j++
			}
			if j < len(s) && s[j] == ':' {
				if start < 0 || i < start {
					start, value = i, j+1
				}
				break
			}
			at = i + 1
		}
	}
	return start, value, start >= 0
}

func lineEnd(s string, from int) int {
	if i := strings.IndexByte(s[from:], '\n'); i >= 0 {
		return from + i
	}
	return len(s)
}

// labelValue trims the punctuation around a labelled value and JUnit's and
// MSTest's angle brackets.
func labelValue(v string) string {
	v = strings.TrimSpace(v)
	v = strings.TrimRight(v, ".,; \t")
	if strings.HasPrefix(v, "<") && strings.HasSuffix(v, ">") && len(v) >= 2 {
		v = v[1 : len(v)-1]
	}
	return strings.TrimSpace(v)
}

// gotWant reads Go's idioms: "got 9, want 10", "got: 9; want: 10",
// "want 10, got 9" and "Total() = 9, want 10".
func gotWant(msg string) (comparison, bool) {
	for _, l := range lines(msg) {
		if containsAny(l, "-want +got", "-got +want", "+want -got", "+got -want") {
			continue // the header of a cmp.Diff, values follow as a diff
		}
		w := wordIndex(l, "want")
		if w < 0 {
			continue
		}
		if g := wordIndex(l, "got"); g >= 0 {
			var got, want string
			if g < w {
				got, want = l[g+len("got"):w], l[w+len("want"):]
			} else {
				want, got = l[w+len("want"):g], l[g+len("got"):]
			}
			if c, ok := bothValues(goValue(want), goValue(got)); ok {
				return c, true
			}
			continue
		}
		if eq := strings.LastIndex(l[:w], " = "); eq >= 0 {
			if c, ok := bothValues(goValue(l[w+len("want"):]), goValue(l[eq+len(" = "):w])); ok {
				return c, true
			}
		}
	}
	return comparison{}, false
}

// goValue trims the separators around a value in a got/want message.
func goValue(v string) string {
	v = strings.TrimSpace(v)
	v = strings.TrimLeft(v, ":= \t")
	return strings.TrimSpace(strings.TrimRight(v, ",; \t"))
}

// pythonComparison reads pytest's "assert 9 == 10" (the left side is what
// the code produced, by the convention assert actual == expected),
// unittest's "AssertionError: 9 != 10" and Node's "9 !== 10".
func pythonComparison(msg string) (comparison, bool) {
	for i, raw := range lines(msg) {
		l := strings.TrimSpace(raw)
		prefixed := false
		// pytest marks the explanation lines with "E".
		if rest, ok := strings.CutPrefix(l, "E "); ok {
			l, prefixed = strings.TrimSpace(rest), true
		}
		if rest, ok := strings.CutPrefix(l, "AssertionError:"); ok {
			l, prefixed = strings.TrimSpace(rest), true
		}
		if rest, ok := strings.CutPrefix(l, "assert "); ok {
			if left, right, ok := strings.Cut(rest, " == "); ok {
				if c, ok := bothValues(right, left); ok {
					return c, true
				}
			}
			continue
		}
		if left, right, ok := strings.Cut(l, " !== "); ok {
			if c, ok := bothValues(right, left); ok {
				return c, true
			}
		}
		// "!=" also appears in source lines, so only trust it where an
		// assertion message is certain to be.
		if prefixed || i == 0 {
			if left, right, ok := strings.Cut(l, " != "); ok {
				if c, ok := bothValues(right, left); ok {
					return c, true
				}
			}
		}
	}
	return comparison{}, false
}

// chaiComparison reads Chai's "expected 9 to equal 10".
func chaiComparison(msg string) (comparison, bool) {
	for _, l := range lines(msg) {
		e := wordIndex(l, "expected")
		if e < 0 {
			continue
		}
		rest := l[e+len("expected"):]
		for _, verb := range []string{" to deeply equal ", " to strictly equal ", " to equal "} {
			if i := indexFold(rest, verb); i >= 0 {
				if c, ok := bothValues(rest[i+len(verb):], rest[:i]); ok {
					return c, true
				}
			}
		}
	}
	return comparison{}, false
}

func bothValues(expected, actual string) (comparison, bool) {
	expected, actual = strings.TrimSpace(expected), strings.TrimSpace(actual)
	if expected == "" || actual == "" {
		return comparison{}, false
	}
	return comparison{Expected: expected, Actual: actual}, true
}
