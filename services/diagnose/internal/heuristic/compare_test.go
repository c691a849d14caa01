package heuristic

import "testing"

func TestExtractComparison(t *testing.T) {
	tests := []struct {
		name     string
		msg      string
		expected string
		actual   string
		none     bool
	}{
		{
			name: "testify prints expected and actual on labelled lines",
			msg: "\tError Trace:\t/app/cart_test.go:42\n\tError:      \tNot equal: \n" +
				"\t            \texpected: \"apple\"\n\t            \tactual  : \"pear\"\n",
			expected: `"apple"`, actual: `"pear"`,
		},
		{name: "JUnit 4 puts both on one line in angle brackets", msg: "expected:<10> but was:<9>", expected: "10", actual: "9"},
		{name: "JUnit 5 spaces its angle brackets", msg: "totals differ ==> expected: <10> but was: <9>", expected: "10", actual: "9"},
		{name: "Jest labels the actual value Received", msg: "expect(received).toEqual(expected) // deep equality\n\nExpected: [1, 2]\nReceived: [1]", expected: "[1, 2]", actual: "[1]"},
		{name: "Jest colours are ignored", msg: "Expected: \x1b[32m10\x1b[39m\nReceived: \x1b[31m9\x1b[39m", expected: "10", actual: "9"},
		{name: "NUnit labels the actual value But was", msg: "  Expected: 10\n  But was:  9\n", expected: "10", actual: "9"},
		{name: "MSTest brackets both values", msg: "Assert.AreEqual failed. Expected:<10>. Actual:<9>. ", expected: "10", actual: "9"},
		{name: "Go got before want", msg: "    cart_test.go:12: got 9, want 10", expected: "10", actual: "9"},
		{name: "Go got and want with colons", msg: "got: 9; want: 10", expected: "10", actual: "9"},
		{name: "Go want before got", msg: "want 10, got 9", expected: "10", actual: "9"},
		{name: "Go call = result, want value", msg: "Total() = 9, want 10", expected: "10", actual: "9"},
		{name: "gotests prints got = value", msg: "Total() got = 9, want 10", expected: "10", actual: "9"},
		{name: "a cmp.Diff header is not a comparison", msg: "Total() mismatch (-want +got):\n  int(\n- \t10,\n+ \t9,\n  )", none: true},
		{name: "pytest's assert line has the actual value on the left", msg: "assert 9 == 10\n +  where 9 = total()", expected: "10", actual: "9"},
		{name: "pytest's E lines are read from a long report", msg: ">       assert cart.total() == 10\nE       assert 9 == 10", expected: "10", actual: "9"},
		{name: "unittest prints first != second", msg: "AssertionError: 9 != 10", expected: "10", actual: "9"},
		{name: "Node's strict equality prints actual !== expected", msg: "Expected values to be strictly equal:\n\n9 !== 10\n", expected: "10", actual: "9"},
		{name: "Chai reads expected actual to equal expected", msg: "AssertionError: expected 9 to equal 10", expected: "10", actual: "9"},
		{name: "Chai deep equality", msg: "expected [ 1 ] to deeply equal [ 1, 2 ]", expected: "[ 1, 2 ]", actual: "[ 1 ]"},
		{name: "a message without values has no comparison", msg: "Should be true", none: true},
		{name: "an unexpected error is not an expected value", msg: "Received unexpected error:\n\tboom", none: true},
		{name: "forgot is not got", msg: "I forgot the want list", none: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := extractComparison(tt.msg)
			if tt.none {
				if ok {
					t.Fatalf("extractComparison(%q) = %+v, want none", tt.msg, got)
				}
				return
			}
			if !ok || got.Expected != tt.expected || got.Actual != tt.actual {
				t.Fatalf("extractComparison(%q) = %+v, %v; want expected %q, actual %q", tt.msg, got, ok, tt.expected, tt.actual)
			}
		})
	}
}
