package testreport

import (
	"slices"
	"strings"
	"testing"
)

func TestParseJUnitGoParents(t *testing.T) {
	// A failed subtest as go-junit-report writes it.
	const sub = `<testcase classname="example.com/shop/cart" name="TestTotal/big_discount"><failure message="Failed"><![CDATA[    cart_test.go:34: Total() = 1020, want 5996]]></failure></testcase>`
	suite := func(cases ...string) string {
		return `<testsuites><testsuite name="example.com/shop/cart">` + strings.Join(cases, "") + `</testsuite></testsuites>`
	}
	tests := []struct {
		name  string
		input string
		// want are the names of the failures, in order.
		want []string
		// wantTotal and wantFailed are the report's counts.
		wantTotal, wantFailed int
	}{
		{
			name:       "a parent with only go-junit-report's Failed and a failed subtest is left out but counted as failed",
			input:      suite(`<testcase classname="example.com/shop/cart" name="TestTotal"><failure message="Failed"></failure></testcase>`, sub),
			want:       []string{"TestTotal/big_discount"},
			wantTotal:  2,
			wantFailed: 2,
		},
		{
			name:       "a parent written after its subtest, with only go test's status lines (gotestsum), is left out",
			input:      suite(sub, `<testcase classname="example.com/shop/cart" name="TestTotal"><failure message="Failed" type="">=== RUN   TestTotal&#xA;--- FAIL: TestTotal (0.00s)&#xA;</failure></testcase>`),
			want:       []string{"TestTotal/big_discount"},
			wantTotal:  2,
			wantFailed: 2,
		},
		{
			name:       "a parent whose text repeats its subtest's output is left out, at every level",
			input:      suite(`<testcase classname="example.com/shop/cart" name="TestTotal"><failure message="">=== RUN TestTotal/big_discount&#xA;    cart_test.go:34: Total() = 1020, want 5996</failure><system-out>--- FAIL: TestTotal/big_discount (0.00s)</system-out></testcase>`, strings.ReplaceAll(sub, "TestTotal/big_discount", "TestTotal/big/discount"), strings.ReplaceAll(sub, "TestTotal/big_discount\"", "TestTotal/big\"")),
			want:       []string{"TestTotal/big/discount"},
			wantTotal:  3,
			wantFailed: 3,
		},
		{
			name:       "a parent that failed with its own t.Errorf is kept",
			input:      suite(`<testcase classname="example.com/shop/cart" name="TestTotal"><failure message="Failed">    cart_test.go:20: setup: no prices loaded</failure></testcase>`, sub),
			want:       []string{"TestTotal", "TestTotal/big_discount"},
			wantTotal:  2,
			wantFailed: 2,
		},
		{
			name:       "a parent that panicked is kept",
			input:      suite(sub, `<testcase classname="example.com/shop/cart" name="TestTotal"><failure message="Failed">panic: boom&#xA;&#xA;goroutine 7 [running]:&#xA;--- FAIL: TestTotal (0.00s)</failure></testcase>`),
			want:       []string{"TestTotal/big_discount", "TestTotal"},
			wantTotal:  2,
			wantFailed: 2,
		},
		{
			name:       "a parent with a message of its own is kept",
			input:      suite(`<testcase classname="example.com/shop/cart" name="TestTotal"><failure message="prices not loaded"></failure></testcase>`, sub),
			want:       []string{"TestTotal", "TestTotal/big_discount"},
			wantTotal:  2,
			wantFailed: 2,
		},
		{
			name:       "a parent that printed something of its own to system-out is kept",
			input:      suite(`<testcase classname="example.com/shop/cart" name="TestTotal"><failure message="Failed"></failure><system-out>    cart_test.go:12: loaded 0 prices</system-out></testcase>`, sub),
			want:       []string{"TestTotal", "TestTotal/big_discount"},
			wantTotal:  2,
			wantFailed: 2,
		},
		{
			name:       "a parent with an error element rather than a failure is kept",
			input:      suite(`<testcase classname="example.com/shop/cart" name="TestTotal"><error message="Failed"></error></testcase>`, sub),
			want:       []string{"TestTotal", "TestTotal/big_discount"},
			wantTotal:  2,
			wantFailed: 2,
		},
		{
			name:       "a parent whose subtests passed is kept: nothing else says it failed",
			input:      suite(`<testcase classname="example.com/shop/cart" name="TestTotal"><failure message="Failed"></failure></testcase>`, `<testcase classname="example.com/shop/cart" name="TestTotal/big_discount"></testcase>`),
			want:       []string{"TestTotal"},
			wantTotal:  2,
			wantFailed: 1,
		},
		{
			name:       "a failed subtest in another suite does not make a parent",
			input:      suite(`<testcase classname="example.com/shop/cart" name="TestTotal"><failure message="Failed"></failure></testcase>`, strings.ReplaceAll(sub, "example.com/shop/cart", "example.com/shop/payment")),
			want:       []string{"TestTotal", "TestTotal/big_discount"},
			wantTotal:  2,
			wantFailed: 2,
		},
		{
			name:       "a test whose name only starts with the parent's is no subtest",
			input:      suite(`<testcase classname="example.com/shop/cart" name="TestTotal"><failure message="Failed"></failure></testcase>`, strings.ReplaceAll(sub, "TestTotal/big_discount", "TestTotalBig")),
			want:       []string{"TestTotal", "TestTotalBig"},
			wantTotal:  2,
			wantFailed: 2,
		},
		{
			name: "pytest paths with slashes and their own failure text are kept",
			input: `<testsuites><testsuite name="pytest">` +
				`<testcase classname="tests/api" name="test_users"><failure message="AssertionError: assert 500 == 200">tests/api/test_users.py:12: AssertionError</failure></testcase>` +
				`<testcase classname="tests/api" name="test_users/list"><failure message="AssertionError: assert 1 == 2">tests/api/test_users.py:20: AssertionError</failure></testcase>` +
				`</testsuite></testsuites>`,
			want:       []string{"test_users", "test_users/list"},
			wantTotal:  2,
			wantFailed: 2,
		},
		{
			name: "jest describe names with slashes are no Go subtests, even failing with a bare Failed",
			input: `<testsuites><testsuite name="cart">` +
				`<testcase classname="cart" name="totals"><failure message="Failed"></failure></testcase>` +
				`<testcase classname="cart" name="totals/discounts"><failure message="Error: expect(received).toBe(expected)">at cart.test.js:9:5</failure></testcase>` +
				`</testsuite></testsuites>`,
			want:       []string{"totals", "totals/discounts"},
			wantTotal:  2,
			wantFailed: 2,
		},
		{
			name:       "a parent retried by Surefire's rules is kept",
			input:      suite(`<testcase classname="example.com/shop/cart" name="TestTotal"><failure message="Failed"></failure><rerunFailure message="Failed"></rerunFailure></testcase>`, sub),
			want:       []string{"TestTotal", "TestTotal", "TestTotal/big_discount"},
			wantTotal:  2,
			wantFailed: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := ParseJUnitReport("junit.xml", strings.NewReader(tt.input), testOptions())
			checkReport(t, rep, err)
			if err != nil {
				t.Fatalf("ParseJUnitReport() error = %v", err)
			}
			var got []string
			for _, f := range rep.Failures {
				got = append(got, f.Test.Name)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("failures %q, want %q", got, tt.want)
			}
			if rep.Total != tt.wantTotal || rep.Failed != tt.wantFailed {
				t.Errorf("total %d, failed %d; want %d, %d", rep.Total, rep.Failed, tt.wantTotal, tt.wantFailed)
			}
			if len(rep.Passed)+rep.Failed+rep.Skipped != rep.Total {
				t.Errorf("%d passed, %d failed and %d skipped do not make the total %d: a left-out parent must still be counted", len(rep.Passed), rep.Failed, rep.Skipped, rep.Total)
			}
		})
	}
}
