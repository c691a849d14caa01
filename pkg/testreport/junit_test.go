package testreport

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
	"unicode/utf8"

	"github.com/rounds-dev/rounds/pkg/contract"
)

// junitWant is what a test checks of one failure parsed from JUnit.
type junitWant struct {
	test       contract.TestIdentity
	errType    string
	message    string
	stackStart string // the stack must start with this; "" means no stack
	time       time.Time
	attempt    int               // run.attempt; 0 when the test was not retried
	attrs      map[string]string // attributes the failure must have, among others
}

// checkAttrs checks that f has every attribute of want.
func checkAttrs(t *testing.T, i int, f contract.Failure, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got, ok := f.Attributes[k]; !ok || got != v {
			t.Errorf("failure %d: attribute %q = %q (set: %v), want %q", i, k, got, ok, v)
		}
	}
}

func TestParseJUnitDialects(t *testing.T) {
	tests := []struct {
		name string
		file string
		want []junitWant
	}{
		{
			name: "a Surefire report yields its failure, its error and the failed attempt of its flaky test with their stack traces, and properties as attributes",
			file: "surefire.xml",
			want: []junitWant{
				{
					test:       contract.TestIdentity{Framework: "junit", Suite: "com.acme.shop.cart.CartServiceTest", Name: "appliesPercentageDiscount"},
					errType:    "org.opentest4j.AssertionFailedError",
					message:    "expected: <85.00> but was: <90.00>",
					stackStart: "org.opentest4j.AssertionFailedError: expected: <85.00> but was: <90.00>\n\tat org.junit.jupiter.api.AssertionFailureBuilder.build(",
					time:       fallbackTime,
					attrs:      map[string]string{AttrSystemOut: "2024-03-05 10:11:12.345 INFO  CartService - applying discount SPRING10 to cart 42", "os.name": "Linux"},
				},
				{
					test:       contract.TestIdentity{Framework: "junit", Suite: "com.acme.shop.cart.CartServiceTest", Name: "removesLastItem"},
					errType:    "java.lang.NullPointerException",
					message:    `Cannot invoke "com.acme.shop.cart.Item.getQuantity()" because "item" is null`,
					stackStart: `java.lang.NullPointerException: Cannot invoke "com.acme.shop.cart.Item.getQuantity()"`,
					time:       fallbackTime,
					attrs:      map[string]string{"java.version": "17.0.10", "os.name": "Linux"},
				},
				{
					test:       contract.TestIdentity{Framework: "junit", Suite: "com.acme.shop.cart.CartServiceTest", Name: "checksOutWithSavedCard"},
					errType:    "java.net.ConnectException",
					message:    "Connection refused",
					stackStart: "java.net.ConnectException: Connection refused\n\tat java.base/sun.nio.ch.Net.connect0(Native Method)",
					time:       fallbackTime,
					attempt:    1,
					attrs:      map[string]string{AttrPassedOnRetry: "true", "java.version": "17.0.10"},
				},
			},
		},
		{
			name: "a pytest report yields classnames, files and lines, and the suite timestamp",
			file: "pytest.xml",
			want: []junitWant{
				{
					test:       contract.TestIdentity{Framework: "junit", Suite: "tests.test_cart.TestCart", Name: "test_total_with_discount", File: "tests/test_cart.py", Line: 41},
					errType:    "failure",
					message:    "AssertionError: assert 90.0 == 85.0\n +  where 90.0 = <bound method Cart.total of <shop.cart.Cart object at 0x7f3a2c1d9e50>>()",
					stackStart: "self = <tests.test_cart.TestCart object at 0x7f3a2c1d9d10>\ncart = ",
					time:       time.Date(2024, 3, 5, 10, 11, 12, 345678000, time.UTC),
				},
				{
					test:       contract.TestIdentity{Framework: "junit", Suite: "tests.test_cart.TestCart", Name: "test_remove_missing_item", File: "tests/test_cart.py", Line: 50},
					errType:    "failure",
					message:    "KeyError: 'sku-404'",
					stackStart: "self = <tests.test_cart.TestCart object at 0x7f3a2c1da110>",
					time:       time.Date(2024, 3, 5, 10, 11, 12, 345678000, time.UTC),
				},
				{
					test:       contract.TestIdentity{Framework: "junit", Suite: "tests.test_checkout", Name: "test_pay_with_card", File: "tests/test_checkout.py", Line: 27},
					errType:    "error",
					message:    `failed on setup with "ConnectionRefusedError: [Errno 111] Connection refused"`,
					stackStart: "@pytest.fixture\n    def payment_gateway():",
					time:       time.Date(2024, 3, 5, 10, 11, 12, 345678000, time.UTC),
				},
			},
		},
		{
			name: "a jest-junit report yields the describe path as suite and the first line of the text as message",
			file: "jest-junit.xml",
			want: []junitWant{
				{
					test:       contract.TestIdentity{Framework: "junit", Suite: "Cart › totals", Name: "applies a percentage discount"},
					errType:    "failure",
					message:    "Error: expect(received).toBe(expected) // Object.is equality",
					stackStart: "Error: expect(received).toBe(expected) // Object.is equality\n\nExpected: 85\nReceived: 90\n    at Object.<anonymous>",
					time:       time.Date(2024, 3, 5, 10, 11, 12, 0, time.UTC),
				},
				{
					test:       contract.TestIdentity{Framework: "junit", Suite: "Cart › empty state", Name: "renders the empty state"},
					errType:    "failure",
					message:    "TestingLibraryElementError: Unable to find an element with the text: Your cart is empty. This could be because the text is broken up by multiple elements.",
					stackStart: "TestingLibraryElementError: Unable to find an element",
					time:       time.Date(2024, 3, 5, 10, 11, 12, 0, time.UTC),
				},
				{
					test:       contract.TestIdentity{Framework: "junit", Suite: "Cart › empty state", Name: "renders the empty state"},
					errType:    "failure",
					message:    "TestingLibraryElementError: Unable to find an element with the text: Your cart is empty.",
					stackStart: "TestingLibraryElementError: Unable to find an element with the text: Your cart is empty.\n    at Object.<anonymous> (/home/runner/work/shop/src/cart/Cart.test.tsx:68:12)",
					time:       time.Date(2024, 3, 5, 10, 11, 12, 0, time.UTC),
				},
			},
		},
		{
			name: "a go-junit-report report yields package paths as suites, subtests, panics and build errors, and not the parent failed only with its subtest",
			file: "go-junit-report.xml",
			want: []junitWant{
				{
					test:       contract.TestIdentity{Framework: "junit", Suite: "github.com/acme/shop/cart", Name: "TestTotal/with_discount"},
					errType:    "failure",
					message:    "Failed",
					stackStart: "cart_test.go:27: Total() = 90, want 85",
					time:       time.Date(2024, 3, 5, 10, 11, 12, 0, time.UTC),
				},
				{
					test:       contract.TestIdentity{Framework: "junit", Suite: "github.com/acme/shop/cart", Name: "TestRemove"},
					errType:    "failure",
					message:    "Failed",
					stackStart: "panic: runtime error: invalid memory address or nil pointer dereference [recovered]\n\tpanic:",
					time:       time.Date(2024, 3, 5, 10, 11, 12, 0, time.UTC),
				},
				{
					test:       contract.TestIdentity{Framework: "junit", Suite: "github.com/acme/shop/payment", Name: "[build failed]"},
					errType:    "error",
					message:    "Build error",
					stackStart: "payment/gateway.go:17:2: undefined: stripe.NewClient",
					time:       time.Date(2024, 3, 5, 10, 11, 13, 0, time.UTC),
				},
			},
		},
		{
			name: "a nested testsuites report without classnames yields the suite path and the nearest timestamp",
			file: "nested.xml",
			want: []junitWant{
				{
					test:       contract.TestIdentity{Framework: "junit", Suite: "checkout/guest user", Name: "pays with card"},
					errType:    "TimeoutError",
					message:    "Timed out 10000ms waiting for locator('#pay-button') to be visible",
					stackStart: "TimeoutError: Timed out 10000ms waiting for locator('#pay-button') to be visible\n    at CheckoutPage.pay",
					time:       time.Date(2024, 3, 5, 9, 11, 12, 0, time.UTC),
				},
				{
					test:       contract.TestIdentity{Framework: "junit", Suite: "checkout/signed-in user", Name: "reuses the saved address"},
					errType:    "error",
					message:    "Error: page.goto: net::ERR_CONNECTION_REFUSED at http://localhost:3000/checkout",
					stackStart: "Error: page.goto: net::ERR_CONNECTION_REFUSED at http://localhost:3000/checkout\n          Call log:",
					time:       time.Date(2024, 3, 5, 9, 0, 0, 0, time.UTC),
				},
				{
					test:    contract.TestIdentity{Framework: "junit", Suite: "home", Name: "loads"},
					errType: "failure",
					message: "expected status 200, got 502",
					time:    time.Date(2024, 3, 5, 9, 0, 0, 0, time.UTC),
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions()
			got, err := ParseJUnit("build/reports/"+tt.file, openTestdata(t, tt.file), opts)
			if err != nil {
				t.Fatalf("ParseJUnit() error = %v", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("ParseJUnit() returned %d failures, want %d", len(got), len(tt.want))
			}
			for i, want := range tt.want {
				f := got[i]
				if *f.Test != want.test {
					t.Errorf("failure %d: test = %+v, want %+v", i, *f.Test, want.test)
				}
				if f.Error.Type != want.errType {
					t.Errorf("failure %d: error.type = %q, want %q", i, f.Error.Type, want.errType)
				}
				if f.Error.Message != want.message {
					t.Errorf("failure %d: error.message = %q, want %q", i, f.Error.Message, want.message)
				}
				if want.stackStart == "" && f.Error.Stack != "" || !strings.HasPrefix(f.Error.Stack, want.stackStart) {
					t.Errorf("failure %d: error.stack = %q, want it to start with %q", i, f.Error.Stack, want.stackStart)
				}
				if f.Error.Stack != strings.TrimSpace(f.Error.Stack) {
					t.Errorf("failure %d: error.stack %q is not trimmed", i, f.Error.Stack)
				}
				if !f.Time.Equal(want.time) {
					t.Errorf("failure %d: time = %v, want %v", i, f.Time, want.time)
				}
				checkAttrs(t, i, f, want.attrs)
				checkCommonFields(t, f, opts, want.attempt)
			}
		})
	}
}

// checkCommonFields checks what every failure parsed from JUnit has in
// common.
func checkCommonFields(t *testing.T, f contract.Failure, opts Options, attempt int) {
	t.Helper()
	if f.Schema != contract.SchemaFailure || f.Kind != contract.KindTest || f.Project != opts.Project {
		t.Errorf("schema, kind, project = %q, %q, %q; want %q, %q, %q", f.Schema, f.Kind, f.Project, contract.SchemaFailure, contract.KindTest, opts.Project)
	}
	wantRun := contract.RunInfo{ID: opts.RunID, Commit: opts.Commit, Branch: opts.Branch, CIURL: opts.CIURL, Attempt: attempt}
	if f.Run != wantRun {
		t.Errorf("run = %+v, want %+v", f.Run, wantRun)
	}
	if !idPattern.MatchString(f.ID) {
		t.Errorf("id = %q, want 32 lower-case hex characters", f.ID)
	}
	if err := f.Validate(); err != nil {
		t.Errorf("failure does not validate: %v", err)
	}
}

func TestParseJUnitCases(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []junitWant
	}{
		{
			name:  "a bare testsuite root without classname names the suite",
			input: `<testsuite name="smoke"><testcase name="loads"><failure message="502"/></testcase></testsuite>`,
			want:  []junitWant{{test: contract.TestIdentity{Framework: "junit", Suite: "smoke", Name: "loads"}, errType: "failure", message: "502", time: fallbackTime}},
		},
		{
			name:  "a testcase directly under testsuites has no suite",
			input: `<testsuites name="all"><testcase name="loads"><error type="Timeout"/></testcase></testsuites>`,
			want:  []junitWant{{test: contract.TestIdentity{Framework: "junit", Name: "loads"}, errType: "Timeout", time: fallbackTime}},
		},
		{
			name:  "an empty classname falls back to the suite names",
			input: `<testsuite name="api"><testsuite name=""><testsuite name="users"><testcase classname="" name="lists"><failure>boom</failure></testcase></testsuite></testsuite></testsuite>`,
			want:  []junitWant{{test: contract.TestIdentity{Framework: "junit", Suite: "api/users", Name: "lists"}, errType: "failure", message: "boom", stackStart: "boom", time: fallbackTime}},
		},
		{
			name:  "the first failure or error child is used and the rest ignored",
			input: `<testsuite name="s"><testcase name="t"><skipped/><error type="IOError" message="first">one</error><failure type="AssertionError" message="second">two</failure></testcase></testsuite>`,
			want:  []junitWant{{test: contract.TestIdentity{Framework: "junit", Suite: "s", Name: "t"}, errType: "IOError", message: "first", stackStart: "one", time: fallbackTime}},
		},
		{
			name:  "a blank message is replaced by the first non-blank line of the text",
			input: "<testsuite name=\"s\"><testcase name=\"t\"><failure message=\"  \">\n\n   \n  expected 3, got 2  \n  at t.go:3\n</failure></testcase></testsuite>",
			want:  []junitWant{{test: contract.TestIdentity{Framework: "junit", Suite: "s", Name: "t"}, errType: "failure", message: "expected 3, got 2", stackStart: "expected 3, got 2  \n  at t.go:3", time: fallbackTime}},
		},
		{
			name:  "character data and CDATA sections are joined in the stack",
			input: `<testsuite name="s"><testcase name="t"><failure>a &lt; b<![CDATA[ & <c> ]]>d<!-- note --></failure></testcase></testsuite>`,
			want:  []junitWant{{test: contract.TestIdentity{Framework: "junit", Suite: "s", Name: "t"}, errType: "failure", message: "a < b & <c> d", stackStart: "a < b & <c> d", time: fallbackTime}},
		},
		{
			name:  "a line attribute that is not a number is ignored",
			input: `<testsuite name="s"><testcase name="t" file="t.py" line="forty-two"><failure message="m"/></testcase></testsuite>`,
			want:  []junitWant{{test: contract.TestIdentity{Framework: "junit", Suite: "s", Name: "t", File: "t.py"}, errType: "failure", message: "m", time: fallbackTime}},
		},
		{
			name:  "a timestamp that does not parse leaves the time from the options",
			input: `<testsuite name="s" timestamp="Tue Mar 5 10:11:12 2024"><testcase name="t"><failure message="m"/></testcase></testsuite>`,
			want:  []junitWant{{test: contract.TestIdentity{Framework: "junit", Suite: "s", Name: "t"}, errType: "failure", message: "m", time: fallbackTime}},
		},
		{
			name:  "passed and skipped testcases yield nothing",
			input: `<testsuite name="s"><testcase name="passes"/><testcase name="skips"><skipped message="later"/></testcase></testsuite>`,
			want:  nil,
		},
		{
			name:  "each flaky attempt of a test that then passed is a failure numbered in order and marked passed on retry",
			input: `<testsuite name="s"><testcase name="t"><flakyFailure message="once" type="E"><stackTrace>E: once</stackTrace><system-out>try 1</system-out></flakyFailure><flakyError message="twice"><stackTrace>at x</stackTrace></flakyError><system-out>final try</system-out></testcase></testsuite>`,
			want: []junitWant{
				{test: contract.TestIdentity{Framework: "junit", Suite: "s", Name: "t"}, errType: "E", message: "once", stackStart: "E: once", time: fallbackTime, attempt: 1, attrs: map[string]string{AttrPassedOnRetry: "true", AttrSystemOut: "try 1"}},
				{test: contract.TestIdentity{Framework: "junit", Suite: "s", Name: "t"}, errType: "error", message: "twice", stackStart: "at x", time: fallbackTime, attempt: 2, attrs: map[string]string{AttrPassedOnRetry: "true"}},
			},
		},
		{
			name:  "a failure followed by reruns that failed too is a failure per attempt, not marked",
			input: `<testsuite name="s"><testcase name="t"><failure message="first" type="A">trace 1</failure><rerunFailure message="second" type="A"><stackTrace>trace 2</stackTrace></rerunFailure><rerunError message="third" type="B"/></testcase></testsuite>`,
			want: []junitWant{
				{test: contract.TestIdentity{Framework: "junit", Suite: "s", Name: "t"}, errType: "A", message: "first", stackStart: "trace 1", time: fallbackTime, attempt: 1},
				{test: contract.TestIdentity{Framework: "junit", Suite: "s", Name: "t"}, errType: "A", message: "second", stackStart: "trace 2", time: fallbackTime, attempt: 2},
				{test: contract.TestIdentity{Framework: "junit", Suite: "s", Name: "t"}, errType: "B", message: "third", time: fallbackTime, attempt: 3},
			},
		},
		{
			name:  "testcase properties win over suite properties, and secrets are left out",
			input: `<testsuites><testsuite name="s"><properties><property name="os" value="linux"/><property name="shard" value="1"/><property name="db.password" value="hunter2"/><property name="GITHUB_TOKEN" value="ghp_x"/></properties><testcase name="t"><properties><property name="shard" value="3"/><property name="" value="nameless"/></properties><failure message="m"/></testcase></testsuite></testsuites>`,
			want:  []junitWant{{test: contract.TestIdentity{Framework: "junit", Suite: "s", Name: "t"}, errType: "failure", message: "m", time: fallbackTime, attrs: map[string]string{"os": "linux", "shard": "3"}}},
		},
		{
			name:  "the system-out and system-err of a failed testcase keep their last 4 KiB",
			input: `<testsuite name="s"><testcase name="t"><failure message="m"/><system-out>` + strings.Repeat("early line\n", 1000) + `the last line</system-out><system-err>  warning: slow  </system-err></testcase></testsuite>`,
			want:  []junitWant{{test: contract.TestIdentity{Framework: "junit", Suite: "s", Name: "t"}, errType: "failure", message: "m", time: fallbackTime, attrs: map[string]string{AttrSystemErr: "warning: slow"}}},
		},
		{
			name:  "a testsuite with no testcases yields nothing",
			input: `<?xml version="1.0"?><testsuites><testsuite name="empty" tests="0"/></testsuites>`,
			want:  nil,
		},
		{
			name:  "elements in other namespaces and unknown elements are skipped",
			input: `<testsuite xmlns:x="urn:x" name="s"><x:meta><testcase name="hidden"><failure/></testcase></x:meta><properties><property name="a" value="b"/></properties><testcase name="t"><system-out>log</system-out><failure message="m"/></testcase></testsuite>`,
			want:  []junitWant{{test: contract.TestIdentity{Framework: "junit", Suite: "s", Name: "t"}, errType: "failure", message: "m", time: fallbackTime}},
		},
		{
			name:  "a byte order mark is skipped",
			input: utf8BOM + `<?xml version="1.0" encoding="UTF-8"?><testsuite name="s"><testcase name="t"><failure message="m"/></testcase></testsuite>`,
			want:  []junitWant{{test: contract.TestIdentity{Framework: "junit", Suite: "s", Name: "t"}, errType: "failure", message: "m", time: fallbackTime}},
		},
		{
			name:  "an ISO-8859-1 report is decoded",
			input: "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><testsuite name=\"s\"><testcase name=\"gr\xfc\xdfe\"><failure message=\"erwartet \xbb3\xab\"/></testcase></testsuite>",
			want:  []junitWant{{test: contract.TestIdentity{Framework: "junit", Suite: "s", Name: "grüße"}, errType: "failure", message: "erwartet »3«", time: fallbackTime}},
		},
		{
			name:  "a timestamp without a zone is UTC",
			input: `<testsuite name="s" timestamp="2024-03-05T10:11:12"><testcase name="t"><failure message="m"/></testcase></testsuite>`,
			want:  []junitWant{{test: contract.TestIdentity{Framework: "junit", Suite: "s", Name: "t"}, errType: "failure", message: "m", time: time.Date(2024, 3, 5, 10, 11, 12, 0, time.UTC)}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions()
			got, err := ParseJUnit("report.xml", strings.NewReader(tt.input), opts)
			if err != nil {
				t.Fatalf("ParseJUnit() error = %v", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("ParseJUnit() returned %d failures, want %d", len(got), len(tt.want))
			}
			for i, want := range tt.want {
				f := got[i]
				if *f.Test != want.test {
					t.Errorf("test = %+v, want %+v", *f.Test, want.test)
				}
				if f.Error.Type != want.errType || f.Error.Message != want.message {
					t.Errorf("error type, message = %q, %q; want %q, %q", f.Error.Type, f.Error.Message, want.errType, want.message)
				}
				if want.stackStart == "" && f.Error.Stack != "" || !strings.HasPrefix(f.Error.Stack, want.stackStart) {
					t.Errorf("error.stack = %q, want it to start with %q", f.Error.Stack, want.stackStart)
				}
				if !f.Time.Equal(want.time) {
					t.Errorf("time = %v, want %v", f.Time, want.time)
				}
				checkAttrs(t, i, f, want.attrs)
				checkCommonFields(t, f, opts, want.attempt)
			}
		})
	}
}

func TestParseJUnitTruncatesLongMessagesAndStacks(t *testing.T) {
	// "ü" is two bytes and the suffix is odd, so a cut at the limit would
	// split a rune.
	longMessage := strings.Repeat("ü", contract.MaxMessageBytes)
	longStack := strings.Repeat("ü", contract.MaxStackBytes)
	tests := []struct {
		name  string
		input string
	}{
		{
			name:  "a long message attribute and stack are cut on a rune boundary and marked",
			input: `<testsuite name="s"><testcase name="t"><failure message="` + longMessage + `">` + longStack + `</failure></testcase></testsuite>`,
		},
		{
			name:  "a long first line becomes a cut message",
			input: `<testsuite name="s"><testcase name="t"><failure>` + longStack + `</failure></testcase></testsuite>`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseJUnit("report.xml", strings.NewReader(tt.input), testOptions())
			if err != nil {
				t.Fatalf("ParseJUnit() error = %v", err)
			}
			if len(got) != 1 {
				t.Fatalf("ParseJUnit() returned %d failures, want 1", len(got))
			}
			e := got[0].Error
			for field, v := range map[string]struct {
				s   string
				max int
			}{"message": {e.Message, contract.MaxMessageBytes}, "stack": {e.Stack, contract.MaxStackBytes}} {
				if len(v.s) > v.max || len(v.s) < v.max-len(truncatedSuffix)-utf8.UTFMax {
					t.Errorf("%s is %d bytes, want just under %d", field, len(v.s), v.max)
				}
				if !strings.HasSuffix(v.s, "ü"+truncatedSuffix) {
					t.Errorf("%s ends with %q, want a whole rune and %q", field, v.s[len(v.s)-20:], truncatedSuffix)
				}
				if !utf8.ValidString(v.s) {
					t.Errorf("%s is not valid UTF-8", field)
				}
			}
		})
	}
}

func TestParseJUnitKeepsTextThatFitsAfterTrimming(t *testing.T) {
	// The text is over the limit only because of the white space around it,
	// which the stack does not keep.
	stack := strings.Repeat("x", contract.MaxStackBytes)
	input := `<testsuite name="s"><testcase name="t"><failure message="m">` + "\n\t\t" + stack + "\n\t\t\n" + `</failure></testcase></testsuite>`
	got, err := ParseJUnit("report.xml", strings.NewReader(input), testOptions())
	if err != nil {
		t.Fatalf("ParseJUnit() error = %v", err)
	}
	if got[0].Error.Stack != stack {
		t.Errorf("stack is %d bytes ending %q, want the %d bytes untouched", len(got[0].Error.Stack), got[0].Error.Stack[len(got[0].Error.Stack)-20:], len(stack))
	}
}

func TestParseJUnitIDs(t *testing.T) {
	parse := func(t *testing.T, name, file string, opts Options) []contract.Failure {
		t.Helper()
		got, err := ParseJUnit(name, openTestdata(t, file), opts)
		if err != nil {
			t.Fatalf("ParseJUnit() error = %v", err)
		}
		return got
	}
	ids := func(fs []contract.Failure) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f.ID)
		}
		return out
	}
	otherRun := testOptions()
	otherRun.RunID = "gha-8112345678-2"
	otherProject := testOptions()
	otherProject.Project = "shop-web"

	t.Run("the same report in the same run gets the same ids", func(t *testing.T) {
		a := ids(parse(t, "build/jest-junit.xml", "jest-junit.xml", testOptions()))
		b := ids(parse(t, "build/jest-junit.xml", "jest-junit.xml", testOptions()))
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("ids differ between two parses:\n%v\n%v", a, b)
		}
	})
	t.Run("the same report read from another directory gets the same ids", func(t *testing.T) {
		a := ids(parse(t, "/home/runner/work/shop/build/jest-junit.xml", "jest-junit.xml", testOptions()))
		b := ids(parse(t, "build/jest-junit.xml", "jest-junit.xml", testOptions()))
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("ids differ with the directory:\n%v\n%v", a, b)
		}
	})
	for name, tc := range map[string]struct {
		reportName string
		opts       Options
	}{
		"the same report in another run gets other ids":          {"build/jest-junit.xml", otherRun},
		"the same report in another project gets other ids":      {"build/jest-junit.xml", otherProject},
		"the same report under another file name gets other ids": {"build/jest-junit-shard2.xml", testOptions()},
	} {
		t.Run(name, func(t *testing.T) {
			a := ids(parse(t, "build/jest-junit.xml", "jest-junit.xml", testOptions()))
			b := ids(parse(t, tc.reportName, "jest-junit.xml", tc.opts))
			for i := range a {
				if a[i] == b[i] {
					t.Errorf("failure %d has id %s in both", i, a[i])
				}
			}
		})
	}
	t.Run("two testcases with the same suite and name get different ids", func(t *testing.T) {
		got := parse(t, "build/jest-junit.xml", "jest-junit.xml", testOptions())
		a, b := got[1], got[2]
		if a.Test.Suite != b.Test.Suite || a.Test.Name != b.Test.Name {
			t.Fatalf("testdata changed: failures 1 and 2 are %+v and %+v", a.Test, b.Test)
		}
		if a.ID == b.ID {
			t.Errorf("both have id %s", a.ID)
		}
	})
	t.Run("every failure of every report has its own id", func(t *testing.T) {
		seen := make(map[string]string)
		for _, file := range []string{"surefire.xml", "pytest.xml", "jest-junit.xml", "go-junit-report.xml", "nested.xml"} {
			for _, f := range parse(t, file, file, testOptions()) {
				where := file + " " + f.Test.Suite + " " + f.Test.Name
				if prev, ok := seen[f.ID]; ok {
					t.Errorf("%s and %s both have id %s", prev, where, f.ID)
				}
				seen[f.ID] = where
			}
		}
	})
}

func TestParseJUnitRefusesBadReports(t *testing.T) {
	tests := []struct {
		name     string
		input    string
		wantLine int
		wantCol  int // 0: not checked
		wantErr  string
		wantIs   error
	}{
		{
			name:     "a mismatched end tag is reported on its line",
			input:    "<testsuite name=\"s\">\n  <testcase name=\"t\">\n    <failure message=\"m\">\n  </testcase>\n</testsuite>\n",
			wantLine: 4,
			wantErr:  "invalid XML: element <failure> closed by </testcase>",
		},
		{
			name:     "a truncated report is an unexpected end of file",
			input:    "<testsuites>\n  <testsuite name=\"s\">\n    <testcase name=\"t\">\n      <failure message=\"m\">at line 3",
			wantLine: 4,
			wantErr:  "unexpected EOF",
		},
		{
			name:     "an unquoted attribute is a syntax error",
			input:    "<testsuite name=\"s\">\n<testcase name=t/>\n</testsuite>",
			wantLine: 2,
			wantErr:  "invalid XML",
		},
		{
			name:     "an undefined entity is a syntax error",
			input:    "<testsuite name=\"s\">\n<testcase name=\"a&nbsp;b\"/>\n</testsuite>",
			wantLine: 2,
			wantErr:  "invalid character entity &nbsp;",
		},
		{
			name:     "invalid UTF-8 is a syntax error",
			input:    "<testsuite name=\"s\">\n<testcase name=\"\xff\"/>\n</testsuite>",
			wantLine: 2,
			wantErr:  "invalid UTF-8",
		},
		{
			name:     "a Maven POM is not a JUnit report",
			input:    "<?xml version=\"1.0\"?>\n<project xmlns=\"http://maven.apache.org/POM/4.0.0\">\n<modelVersion>4.0.0</modelVersion>\n</project>\n",
			wantLine: 2,
			wantCol:  1,
			wantErr:  "root element is <project>, not <testsuites> or <testsuite>",
			wantIs:   ErrUnknownFormat,
		},
		{
			name:     "a bare testcase root is not a JUnit report",
			input:    `<testcase name="t"><failure/></testcase>`,
			wantLine: 1,
			wantCol:  1,
			wantErr:  "root element is <testcase>",
			wantIs:   ErrUnknownFormat,
		},
		{
			name:     "a testcase without a name is reported where it starts",
			input:    "<testsuite name=\"s\">\n  <testcase classname=\"a.B\" time=\"0.1\"><failure/></testcase>\n</testsuite>",
			wantLine: 2,
			wantCol:  3,
			wantErr:  "testcase has no name attribute",
		},
		{
			name:     "a passed testcase without a name is refused too",
			input:    "<testsuite name=\"s\">\n  <testcase name=\"\"/>\n</testsuite>",
			wantLine: 2,
			wantCol:  3,
			wantErr:  "testcase has no name attribute",
		},
		{
			name:     "an empty testsuites root has no testsuite or testcase",
			input:    "<?xml version=\"1.0\"?>\n<testsuites>\n</testsuites>\n",
			wantLine: 4,
			wantErr:  "no testsuite or testcase element",
		},
		{
			name:     "a declaration and a comment alone have no testsuite or testcase",
			input:    "<?xml version=\"1.0\"?>\n<!-- no tests ran -->\n",
			wantLine: 3,
			wantErr:  "no testsuite or testcase element",
		},
		{
			name:     "text after the root element is garbage",
			input:    "<testsuite name=\"s\"/>\n\nPASS\n",
			wantLine: 1,
			wantCol:  22,
			wantErr:  "text outside the root element",
		},
		{
			name:     "a second root element is garbage",
			input:    "<testsuite name=\"a\"/>\n<testsuite name=\"b\"/>\n",
			wantLine: 2,
			wantCol:  1,
			wantErr:  "element <testsuite> after the root element",
		},
		{
			name:     "an encoding other than UTF-8 or ISO-8859-1 is refused",
			input:    `<?xml version="1.0" encoding="UTF-16"?><testsuite name="s"/>`,
			wantLine: 1,
			wantErr:  `unsupported encoding "UTF-16"`,
		},
		{
			name:     "a failure with no time anywhere does not validate",
			input:    "<testsuite name=\"s\">\n<testcase name=\"t\"><failure/></testcase>\n</testsuite>",
			wantLine: 2,
			wantCol:  1,
			wantErr:  `testcase "t": invalid event: time is required`,
			wantIs:   contract.ErrInvalidEvent,
		},
		{
			name:     "a failure too big to publish is refused",
			input:    "<testsuite name=\"s\">\n<testcase name=\"t\" file=\"" + strings.Repeat("n", contract.MaxFailureBytes) + "\"><failure/></testcase>\n</testsuite>",
			wantLine: 2,
			wantCol:  1,
			wantErr:  "more than 1048576",
			wantIs:   contract.ErrInvalidEvent,
		},
		{
			name:     "a passed test whose name is longer than 64 KiB is refused",
			input:    "<testsuite name=\"s\">\n<testcase name=\"" + strings.Repeat("n", contract.MaxTestRefBytes+1) + "\"/>\n</testsuite>",
			wantLine: 2,
			wantCol:  1,
			wantErr:  "test name is 65537 bytes, more than 65536",
			wantIs:   contract.ErrInvalidEvent,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions()
			if strings.Contains(tt.name, "no time") {
				opts.Time = time.Time{}
			}
			got, err := ParseJUnit("build/reports/TEST-shop.xml", strings.NewReader(tt.input), opts)
			if got != nil {
				t.Errorf("ParseJUnit() returned %d failures with an error", len(got))
			}
			pe := parseError(t, err)
			if pe.Name != "build/reports/TEST-shop.xml" {
				t.Errorf("error names %q, want the input name", pe.Name)
			}
			if pe.Line != tt.wantLine || (tt.wantCol != 0 && pe.Column != tt.wantCol) {
				t.Errorf("error at line %d column %d, want line %d column %d", pe.Line, pe.Column, tt.wantLine, tt.wantCol)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %q, want it to contain %q", err, tt.wantErr)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error = %v, want it to wrap %v", err, tt.wantIs)
			}
			if !strings.HasPrefix(err.Error(), fmt.Sprintf("build/reports/TEST-shop.xml:%d", tt.wantLine)) {
				t.Errorf("error = %q, want it to start with the name and line", err)
			}
		})
	}
}

func TestParseJUnitPassesOnReadErrors(t *testing.T) {
	boom := errors.New("connection reset")
	tests := []struct {
		name string
		r    io.Reader
	}{
		{name: "an error before anything is read is returned", r: iotest.ErrReader(boom)},
		{name: "an error in the middle of a report is returned", r: io.MultiReader(strings.NewReader("<testsuite name=\"s\">\n<testcase name=\"t\">"), iotest.ErrReader(boom))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseJUnit("report.xml", tt.r, testOptions())
			if got != nil || !errors.Is(err, boom) {
				t.Fatalf("ParseJUnit() = %v, %v; want nil and an error wrapping %v", got, err, boom)
			}
			parseError(t, err)
		})
	}
}

func TestParseJUnitSyntaxErrorsWrapTheDecoderError(t *testing.T) {
	_, err := ParseJUnit("report.xml", strings.NewReader("<testsuite>\n"), testOptions())
	var se *xml.SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("error %v does not wrap an *xml.SyntaxError", err)
	}
	if strings.Contains(err.Error(), "line") {
		t.Errorf("error = %q repeats the line that the position already gives", err)
	}
}
