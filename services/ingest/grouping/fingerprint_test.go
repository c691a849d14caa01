package grouping

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rounds-dev/rounds/pkg/contract"
)

// occurrence holds what changes between two occurrences of one bug.
type occurrence struct {
	id        string
	goroutine int
	line      int
	offset    string // +0x.. after a file line
	pointer   string // an argument's address
	tmpDir    string
	port      int
	order     string
	crlf      bool
}

func firstOccurrence() occurrence {
	return occurrence{
		id:        "evt-1",
		goroutine: 7,
		line:      42,
		offset:    "+0x1d",
		pointer:   "0xc000012345",
		tmpDir:    "/tmp/TestCheckout3141592/001",
		port:      41234,
		order:     "123e4567-e89b-12d3-a456-426614174000",
	}
}

// checkoutFailure is one occurrence of a Go test failing to reach its
// cache, with a panic's stack as text.
func checkoutFailure(o occurrence) *contract.Failure {
	stack := fmt.Sprintf(`goroutine %d [running]:
github.com/acme/shop/cart.(*Cart).Checkout(%s, {0x%x, 0x3})
	/home/runner/work/shop/cart/cart.go:%d %s
github.com/acme/shop/cart.TestCheckout(%s)
	/home/runner/work/shop/cart/cart_test.go:%d %s
testing.tRunner(%s, 0x5b1e28)
	/usr/local/go/src/testing/testing.go:1792 +0xf4
created by testing.(*T).Run in goroutine 1
	/usr/local/go/src/testing/testing.go:1851 +0x413
`, o.goroutine, o.pointer, o.line*1000, o.line, o.offset, o.pointer, o.line+17, o.offset, o.pointer)
	if o.crlf {
		stack = strings.ReplaceAll(stack, "\n", "\r\n")
	}
	return &contract.Failure{
		Schema:  contract.SchemaFailure,
		ID:      o.id,
		Project: "shop",
		Time:    time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		Kind:    contract.KindTest,
		Test:    &contract.TestIdentity{Framework: "go", Suite: "github.com/acme/shop/cart", Name: "TestCheckout"},
		Error: contract.ErrorInfo{
			Type: "*net.OpError",
			Message: fmt.Sprintf("checkout order %s: dial tcp 127.0.0.1:%d: connect: connection refused (cache %s/cart.db)",
				o.order, o.port, o.tmpDir),
			Stack: stack,
		},
		Run: contract.RunInfo{ID: "run-1", Commit: "abc123", Branch: "main", Attempt: 1},
	}
}

func with(o occurrence, change func(*occurrence)) *contract.Failure {
	change(&o)
	return checkoutFailure(o)
}

func changed(f *contract.Failure, change func(*contract.Failure)) *contract.Failure {
	change(f)
	return f
}

func yes() *bool { b := true; return &b }
func no() *bool  { b := false; return &b }

// framesFailure is a runtime failure whose publisher sent frames.
func framesFailure(frames ...contract.Frame) *contract.Failure {
	return &contract.Failure{
		Schema: contract.SchemaFailure, ID: "evt-1", Project: "shop",
		Time: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), Kind: contract.KindRuntime,
		Service: &contract.ServiceIdentity{Name: "api", Version: "1.2.3", Host: "pod-7f9c"},
		Error:   contract.ErrorInfo{Type: "NullPointerException", Message: "cart is null", Frames: frames},
	}
}

func frame(module, function string, line int, inApp *bool) contract.Frame {
	return contract.Frame{Module: module, Function: function, File: module + ".java", Line: line, Column: line % 7, InApp: inApp}
}

func manyFrames(n int, last string) []contract.Frame {
	fr := make([]contract.Frame, 0, n+1)
	for i := range n {
		fr = append(fr, frame("com.acme.shop", fmt.Sprintf("step%c", 'a'+i%26), i, yes()))
	}
	return append(fr, frame("com.acme.shop", last, n, yes()))
}

func manyStackLines(n int, last string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "\tat com.acme.Shop.step%c(Shop.java:%d)\n", 'a'+i%26, i)
	}
	fmt.Fprintf(&b, "\tat com.acme.Shop.%s(Shop.java:1)\n", last)
	return b.String()
}

// machine holds what differs between two runs of the same code on two
// machines: the checkout and temp directories, line numbers moved by an
// edit elsewhere in the file, columns, addresses, goroutine ids and the
// numbers compilers give to lambdas and state machines.
type machine struct {
	root      string
	tmp       string
	shift     int
	col       int
	addr      string
	goroutine int
	generated int
	port      int
}

var (
	ciRunner = machine{root: "/home/runner/work/shop/shop", tmp: "/tmp/pytest-of-runner/pytest-3/test_total0",
		shift: 0, col: 5, addr: "0xc000012345", goroutine: 7, generated: 14, port: 41234}
	laptop = machine{root: "/Users/alice/src/shop", tmp: "/private/var/folders/x1/T/pytest-of-alice/pytest-12/test_total1",
		shift: 9, col: 11, addr: "0xc0001f0000", goroutine: 123, generated: 71, port: 50001}
)

// testFailure is a failed test with the given message and stack text.
func testFailure(message, stackText string) *contract.Failure {
	return &contract.Failure{
		Schema: contract.SchemaFailure, ID: "evt-1", Project: "shop",
		Time: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), Kind: contract.KindTest,
		Test:  &contract.TestIdentity{Suite: "shop", Name: "test_total"},
		Error: contract.ErrorInfo{Message: message, Stack: stackText},
	}
}

func goPanic(m machine, fn string) string {
	return fmt.Sprintf(`panic: runtime error: invalid memory address or nil pointer dereference [recovered]
	panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x1 addr=0x18 pc=0x4a1f2c]

goroutine %d [running]:
testing.tRunner.func1.2({0x5e9b60, 0x6b1f10})
	/usr/local/go/src/testing/testing.go:1734 +0x21c
panic({0x5e9b60?, 0x6b1f10?})
	/usr/local/go/src/runtime/panic.go:787 +0x132
github.com/acme/shop/cart.(*Cart).%s(%s)
	%s/cart/cart.go:%d +0x2c
github.com/acme/shop/cart.TestTotal(%s)
	%s/cart/cart_test.go:%d +0x45
testing.tRunner(%s, 0x5b1e28)
	/usr/local/go/src/testing/testing.go:1792 +0xf4
created by testing.(*T).Run in goroutine 1
	/usr/local/go/src/testing/testing.go:1851 +0x413

goroutine 1 [chan receive]:
testing.(*T).Run(%s, {0x5a3f1e?, 0x4bd8b3?}, 0x5b1e28)
	/usr/local/go/src/testing/testing.go:1859 +0x431
`, m.goroutine, fn, m.addr, m.root, 42+m.shift, m.addr, m.root, 17+m.shift, m.addr, m.addr)
}

func pythonTraceback(m machine, fn string) string {
	return fmt.Sprintf(`Traceback (most recent call last):
  File "%[1]s/tests/test_cart.py", line %[2]d, in test_total
    assert cart.total() == 10
  File "%[1]s/app/billing/cart.py", line %[3]d, in %[4]s
    return sum(i.price for i in self.items)
  File "%[1]s/.venv/lib/python3.12/site-packages/pydantic/main.py", line 811, in __getattr__
    raise AttributeError(f'{type(self).__name__!r} object has no attribute {item!r}')
AttributeError: 'Item' object has no attribute 'price'
`, m.root, 14+m.shift, 12+m.shift, fn)
}

func pytestReport(m machine, fn string) string {
	return fmt.Sprintf(`cart = <app.billing.cart.Cart object at %[1]s>

    def test_total(cart):
        cart.load("%[2]s/cart.json")
>       assert cart.total() == 10

tests/test_cart.py:%[3]d: 
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _

self = <app.billing.cart.Cart object at %[1]s>

    def %[5]s(self):
>       return sum(i.price for i in self.items)
E       TypeError: unsupported operand type(s) for +: 'int' and 'NoneType'

app/billing/cart.py:%[4]d: TypeError
`, m.addr, m.tmp, 14+m.shift, 12+m.shift, fn)
}

func javaTrace(m machine, rootCause string) string {
	return fmt.Sprintf(`java.lang.IllegalStateException: checkout failed for order %[3]d
	at com.acme.shop.CheckoutService.checkout(CheckoutService.java:%[1]d)
	at com.acme.shop.CheckoutServiceTest.checksOut(CheckoutServiceTest.java:%[2]d)
	at java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)
	at org.junit.platform.commons.util.ReflectionUtils.invokeMethod(ReflectionUtils.java:728)
	Suppressed: java.io.IOException: close failed
		at com.acme.shop.Db.close(Db.java:%[1]d)
		... 4 more
Caused by: java.sql.SQLException: connection to localhost:%[4]d refused
	at com.acme.shop.Db.%[5]s(Db.java:%[2]d)
	at com.acme.shop.CheckoutService$$Lambda$%[3]d/0x0000000800066840.accept(Unknown Source)
	... 4 more
`, 57+m.shift, 31+m.shift, m.generated, m.port, rootCause)
}

func nodeTrace(m machine, file string) string {
	return fmt.Sprintf(`TypeError: Cannot read properties of undefined (reading 'map')
    at renderItems (%[1]s/src/cart/%[4]s.js:%[2]d:%[3]d)
    at Cart.render (%[1]s/src/cart/index.js:%[2]d:%[3]d)
    at async Promise.all (index 0)
    at Object.<anonymous> (%[1]s/node_modules/express/lib/router/layer.js:95:5)
    at Module._compile (node:internal/modules/cjs/loader:1358:14)
`, m.root, 12+m.shift, m.col, file)
}

func dotNetTrace(m machine, method string) string {
	return fmt.Sprintf(`System.NullReferenceException: Object reference not set to an instance of an object.
   at Acme.Shop.Cart.<%[3]s>d__%[2]d.MoveNext() in %[1]s/src/Shop/Cart.cs:line %[4]d
--- End of stack trace from previous location ---
   at Acme.Shop.Cart.<>c__DisplayClass%[2]d_0.<Total>b__0(Item i) in %[1]s/src/Shop/Cart.cs:line %[4]d
   at System.Linq.Enumerable.Sum[TSource](IEnumerable`+"`"+`1 source, Func`+"`"+`2 selector)
   at Acme.Shop.Tests.CartTests.TotalOfEmptyCart() in %[1]s/tests/CartTests.cs:line %[4]d
   at Xunit.Sdk.TestInvoker`+"`"+`1.CallTestMethod(Object testClassInstance)
`, m.root, m.generated, method, 42+m.shift)
}

func jestFailure(expected, received int) string {
	return fmt.Sprintf(`expect(received).toBe(expected) // Object.is equality

Expected: %d
Received: %d`, expected, received)
}

const jestStack = `    at Object.toBe (src/cart/cart.test.js:14:51)
    at Promise.then.completed (node_modules/jest-circus/build/utils.js:298:28)
    at new Promise (<anonymous>)
    at callAsyncCircusFn (node_modules/jest-circus/build/utils.js:231:10)`

func TestFingerprintGroupsOccurrencesOfTheSameBug(t *testing.T) {
	tests := []struct {
		name string
		a, b *contract.Failure
	}{
		{
			name: "occurrences differing only in line numbers group together",
			a:    checkoutFailure(firstOccurrence()),
			b:    with(firstOccurrence(), func(o *occurrence) { o.line = 57 }),
		},
		{
			name: "occurrences differing only in temp paths group together",
			a:    checkoutFailure(firstOccurrence()),
			b:    with(firstOccurrence(), func(o *occurrence) { o.tmpDir = "/tmp/TestCheckout2718281/003" }),
		},
		{
			name: "occurrences differing only in goroutine ids group together",
			a:    checkoutFailure(firstOccurrence()),
			b:    with(firstOccurrence(), func(o *occurrence) { o.goroutine = 1234 }),
		},
		{
			name: "occurrences differing only in addresses and offsets group together",
			a:    checkoutFailure(firstOccurrence()),
			b:    with(firstOccurrence(), func(o *occurrence) { o.pointer = "0xc0000a8000"; o.offset = "+0x4f" }),
		},
		{
			name: "occurrences differing only in ports group together",
			a:    checkoutFailure(firstOccurrence()),
			b:    with(firstOccurrence(), func(o *occurrence) { o.port = 5432 }),
		},
		{
			name: "occurrences differing only in ids group together",
			a:    checkoutFailure(firstOccurrence()),
			b:    with(firstOccurrence(), func(o *occurrence) { o.order = "f47ac10b-58cc-4372-a567-0e02b2c3d479" }),
		},
		{
			name: "occurrences differing only in CRLF line endings group together",
			a:    checkoutFailure(firstOccurrence()),
			b:    with(firstOccurrence(), func(o *occurrence) { o.crlf = true }),
		},
		{
			name: "occurrences differing in every variable part at once group together",
			a:    checkoutFailure(firstOccurrence()),
			b: checkoutFailure(occurrence{
				id: "evt-2", goroutine: 99, line: 8, offset: "+0x4a", pointer: "0xc0001f0000",
				tmpDir: "/tmp/TestCheckout1/009", port: 1, order: "00000000-0000-0000-0000-000000000001",
			}),
		},
		{
			name: "occurrences from other runs, commits and times group together",
			a:    checkoutFailure(firstOccurrence()),
			b: changed(checkoutFailure(firstOccurrence()), func(f *contract.Failure) {
				f.ID = "evt-2"
				f.Time = f.Time.Add(36 * time.Hour)
				f.Run = contract.RunInfo{ID: "run-2", Commit: "def456", Branch: "feature", Attempt: 2, CIURL: "https://ci.example.com/2"}
				f.Attributes = map[string]string{"os": "linux"}
				f.Test.File = "cart/cart_test.go"
				f.Test.Line = 88
				f.Test.Framework = "gotestsum"
			}),
		},
		{
			name: "a Go panic on another machine, goroutine and address groups together",
			a:    testFailure("nil pointer dereference", goPanic(ciRunner, "Total")),
			b:    testFailure("nil pointer dereference", goPanic(laptop, "Total")),
		},
		{
			name: "a Go panic whose other goroutines differ groups together",
			a:    testFailure("boom", goPanic(ciRunner, "Total")),
			b: testFailure("boom", goPanic(ciRunner, "Total")+
				"\ngoroutine 9 [select]:\ngithub.com/acme/shop/cache.(*Pool).loop(0xc000010000)\n\t/src/cache/pool.go:80 +0x1d\n"),
		},
		{
			name: "a Python traceback from another checkout with moved lines groups together",
			a:    testFailure("'Item' object has no attribute 'price'", pythonTraceback(ciRunner, "total")),
			b:    testFailure("'Item' object has no attribute 'price'", pythonTraceback(laptop, "total")),
		},
		{
			name: "a pytest report from another temp dir and address groups together",
			a:    testFailure("TypeError: unsupported operand type(s) for +: 'int' and 'NoneType'", pytestReport(ciRunner, "total")),
			b:    testFailure("TypeError: unsupported operand type(s) for +: 'int' and 'NoneType'", pytestReport(laptop, "total")),
		},
		{
			name: "a Java exception with other line numbers, ports and lambda classes groups together",
			a:    testFailure("checkout failed for order 14", javaTrace(ciRunner, "open")),
			b:    testFailure("checkout failed for order 71", javaTrace(laptop, "open")),
		},
		{
			name: "a Node stack from another checkout with moved lines and columns groups together",
			a:    testFailure("Cannot read properties of undefined (reading 'map')", nodeTrace(ciRunner, "render")),
			b:    testFailure("Cannot read properties of undefined (reading 'map')", nodeTrace(laptop, "render")),
		},
		{
			name: "a .NET exception with other state machine and display class numbers groups together",
			a:    testFailure("Object reference not set to an instance of an object.", dotNetTrace(ciRunner, "TotalAsync")),
			b:    testFailure("Object reference not set to an instance of an object.", dotNetTrace(laptop, "TotalAsync")),
		},
		{
			name: "a jest failure with other values groups together",
			a:    testFailure(jestFailure(10, 12), jestStack),
			b:    testFailure(jestFailure(3, 4), jestStack),
		},
		{
			name: "a Go assertion with other values groups together",
			a:    testFailure("cart_test.go:42: Total() = 12.5, want 10", ""),
			b:    testFailure("cart_test.go:51: Total() = 3, want 4", ""),
		},
		{
			name: "a pytest assertion with other values groups together",
			a:    testFailure("AssertionError: assert {'id': 7, 'name': 'apple'} == {'id': 8, 'name': 'pear'}", ""),
			b:    testFailure("AssertionError: assert {'id': 1, 'name': 'kiwi'} == {'id': 2, 'name': 'fig'}", ""),
		},
		{
			name: "frames differing only in file, line and column group together",
			a:    framesFailure(frame("com.acme.Cart", "total", 12, yes()), frame("com.acme.Api", "handle", 40, nil)),
			b: framesFailure(
				contract.Frame{Module: "com.acme.Cart", Function: "total", File: "other/Cart.java", Line: 99, Column: 3, InApp: yes()},
				contract.Frame{Module: "com.acme.Api", Function: "handle", File: "Api.kt", Line: 1},
			),
		},
		{
			name: "frames outside the app are ignored",
			a:    framesFailure(frame("com.acme.Cart", "total", 12, yes()), frame("com.acme.Api", "handle", 40, yes())),
			b: framesFailure(
				frame("java.util.ArrayList", "get", 1, no()),
				frame("com.acme.Cart", "total", 12, yes()),
				frame("org.springframework.Dispatcher", "dispatch", 2, no()),
				frame("com.acme.Api", "handle", 40, yes()),
				frame("java.lang.Thread", "run", 3, no()),
			),
		},
		{
			name: "unmarked frames of the runtime are classified outside the app",
			a:    framesFailure(frame("com.acme.Cart", "total", 12, nil)),
			b:    framesFailure(frame("java.util.ArrayList", "get", 1, nil), frame("com.acme.Cart", "total", 12, nil)),
		},
		{
			name: "the stack text is ignored when frames are sent",
			a: changed(framesFailure(frame("com.acme.Cart", "total", 12, yes())), func(f *contract.Failure) {
				f.Error.Stack = "at com.acme.Cart.total(Cart.java:12)"
			}),
			b: changed(framesFailure(frame("com.acme.Cart", "total", 12, yes())), func(f *contract.Failure) {
				f.Error.Stack = "at com.acme.Other.thing(Other.java:1)"
			}),
		},
		{
			name: "frames past the eighth in-app one are ignored",
			a:    framesFailure(manyFrames(maxAppFrames, "outerA")...),
			b:    framesFailure(manyFrames(maxAppFrames, "outerB")...),
		},
		{
			name: "stack frames past the eighth in-app one are ignored",
			a:    changed(framesFailure(), func(f *contract.Failure) { f.Error.Stack = manyStackLines(maxAppFrames, "outerA") }),
			b:    changed(framesFailure(), func(f *contract.Failure) { f.Error.Stack = manyStackLines(maxAppFrames, "outerB") }),
		},
		{
			name: "lines of an unknown stack that are only masks do not count towards the thirty",
			a: changed(framesFailure(), func(f *contract.Failure) {
				f.Error.Stack = strings.Repeat("\t0xc000012345 +0x1d\n\n", 40) + manyUnknownLines(maxStackLines-1, "same")
			}),
			b: changed(framesFailure(), func(f *contract.Failure) { f.Error.Stack = manyUnknownLines(maxStackLines-1, "same") }),
		},
		{
			name: "lines of an unknown stack past the thirtieth are ignored",
			a:    changed(framesFailure(), func(f *contract.Failure) { f.Error.Stack = manyUnknownLines(maxStackLines, "outerA") }),
			b:    changed(framesFailure(), func(f *contract.Failure) { f.Error.Stack = manyUnknownLines(maxStackLines, "outerB") }),
		},
		{
			// gotestsum keeps go test's status lines in a failure's text,
			// go-junit-report does not.
			name: "a Go test's JUnit failure with and without go test's status lines groups together",
			a:    goJUnitFailure("TestTotal", ""),
			b:    goJUnitFailure("TestTotal", "=== RUN   TestTotal\n=== PAUSE TestTotal\n=== CONT  TestTotal\n--- FAIL: TestTotal (0.00s)\nFAIL\nFAIL\texample.com/shop/cart\t0.012s\n"),
		},
		{
			name: "the cases of a parameterised test that broke in the code under test group together",
			a: pythonFailure("test_total[0]", "ValueError", "invalid literal for int() with base 10: '3806.00'",
				pyFrame("tests/test_cart.py", 17, "test_total"), pyFrame("shop.py", 9, "total")),
			b: pythonFailure("test_total[75]", "ValueError", "invalid literal for int() with base 10: '212.00'",
				pyFrame("tests/test_cart.py", 17, "test_total"), pyFrame("shop.py", 9, "total")),
		},
		{
			name: "tests whose shared fixture broke in the code under test group together",
			a: pythonFailure("test_pay_with_card", "ConnectionRefusedError", "[Errno 111] Connection refused: http://pay-2.example.com",
				pyFrame("tests/conftest.py", 9, "gateway"), pyFrame("shop.py", 22, "__init__")),
			b: pythonFailure("test_refund", "ConnectionRefusedError", "[Errno 111] Connection refused: http://pay-7.example.com",
				pyFrame("tests/conftest.py", 9, "gateway"), pyFrame("shop.py", 22, "__init__")),
		},
		{
			name: "a Go test's JUnit output groups by its lines between go test's status lines",
			a:    goJUnitFailure("TestTotal", "cart_test.go:31: cart of 2 items\n    cart_test.go:34: Total() = 92, want 762\n"),
			b:    goJUnitFailure("TestTotal", "=== RUN   TestTotal\n    cart_test.go:31: cart of 3 items\n    cart_test.go:34: Total() = 1712, want 5034\n--- FAIL: TestTotal (0.00s)\n"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := Fingerprint(tt.a), Fingerprint(tt.b)
			if a.Fingerprint != b.Fingerprint {
				t.Errorf("fingerprints differ:\n%s\nvs\n%s", components(a), components(b))
			}
		})
	}
}

// manyUnknownLines is a Ruby backtrace, which the stack parser does not
// read: it groups by its lines, masked.
func manyUnknownLines(n int, last string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "app/models/shop.rb:%d:in `step%c'\n", i, 'a'+i%26)
	}
	fmt.Fprintf(&b, "app/models/shop.rb:1:in `%s'\n", last)
	return b.String()
}

// nodeRefused is Node's stack of a refused connection: no frame of the
// project's.
const nodeRefused = "Error: connect ECONNREFUSED 127.0.0.1:44960\n" +
	"    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)\n"

// pyFrame is one frame of a Python traceback.
func pyFrame(file string, line int, function string) string {
	return fmt.Sprintf("  File \"/home/runner/work/shop/%s\", line %d, in %s\n    x = 1\n", file, line, function)
}

// pythonFailure is a pytest failure with a Python traceback of frames,
// outermost first.
func pythonFailure(name, typ, message string, frames ...string) *contract.Failure {
	return &contract.Failure{
		Kind: contract.KindTest,
		Test: &contract.TestIdentity{Framework: "junit", Suite: "tests.test_cart", Name: name},
		Error: contract.ErrorInfo{Type: typ, Message: message,
			Stack: "Traceback (most recent call last):\n" + strings.Join(frames, "") + typ + ": " + message + "\n"},
	}
}

// goJUnitFailure is a Go test's failure as JUnit writers for Go report it:
// "Failed" and the test's output.
func goJUnitFailure(name, output string) *contract.Failure {
	return &contract.Failure{
		Kind:  contract.KindTest,
		Test:  &contract.TestIdentity{Framework: "junit", Suite: "example.com/shop/cart", Name: name},
		Error: contract.ErrorInfo{Type: "failure", Message: "Failed", Stack: output},
	}
}

func TestFingerprintSplitsDifferentBugs(t *testing.T) {
	tests := []struct {
		name string
		a, b *contract.Failure
	}{
		{
			name: "go test's status lines do not hide what differs between them",
			a:    goJUnitFailure("TestTotal", "=== RUN   TestTotal\n    cart_test.go:34: Total() = 92, want 762\n--- FAIL: TestTotal (0.00s)\n"),
			b:    goJUnitFailure("TestTotal", "=== RUN   TestTotal\n    panic: runtime error: index out of range [3] with length 3\n--- FAIL: TestTotal (0.00s)\n"),
		},
		{
			name: "different tests that broke in the same code do not group by the tests on their stacks",
			a:    checkoutFailure(firstOccurrence()),
			b: changed(checkoutFailure(firstOccurrence()), func(f *contract.Failure) {
				f.Test.Name = "TestRefund"
				f.Error.Stack = strings.ReplaceAll(f.Error.Stack, "cart.TestCheckout", "cart.TestRefund")
			}),
		},
		{
			name: "different tests failing their own assertions do not group",
			a:    goJUnitFailure("TestTotal", "    cart_test.go:34: Total() = 92, want 762\n"),
			b:    goJUnitFailure("TestAdd", "    cart_test.go:34: Total() = 92, want 762\n"),
		},
		{
			name: "the same test name in different suites does not group",
			a:    goJUnitFailure("TestTotal", "    cart_test.go:34: Total() = 92, want 762\n"),
			b: changed(goJUnitFailure("TestTotal", "    cart_test.go:34: Total() = 92, want 762\n"), func(f *contract.Failure) {
				f.Test.Suite = "example.com/shop/billing"
			}),
		},
		{
			name: "the cases of a parameterised test failing its assertion do not group",
			a:    pythonFailure("test_total[0]", "AssertionError", "assert 3 == 4", pyFrame("tests/test_cart.py", 17, "test_total")),
			b:    pythonFailure("test_total[10]", "AssertionError", "assert 3 == 4", pyFrame("tests/test_cart.py", 17, "test_total")),
		},
		{
			name: "tests whose failure has no in-app frame do not group",
			a: changed(goJUnitFailure("pays by card", ""), func(f *contract.Failure) {
				f.Error = contract.ErrorInfo{Type: "Error", Message: "connect ECONNREFUSED 127.0.0.1:44960", Stack: nodeRefused}
			}),
			b: changed(goJUnitFailure("sends the receipt", ""), func(f *contract.Failure) {
				f.Error = contract.ErrorInfo{Type: "Error", Message: "connect ECONNREFUSED 127.0.0.1:44961", Stack: nodeRefused}
			}),
		},
		{
			name: "different services do not group",
			a:    framesFailure(frame("com.acme.Cart", "total", 12, yes())),
			b:    changed(framesFailure(frame("com.acme.Cart", "total", 12, yes())), func(f *contract.Failure) { f.Service.Name = "worker" }),
		},
		{
			name: "different error types do not group",
			a:    checkoutFailure(firstOccurrence()),
			b:    changed(checkoutFailure(firstOccurrence()), func(f *contract.Failure) { f.Error.Type = "*os.SyscallError" }),
		},
		{
			name: "an error type does not group with none",
			a:    checkoutFailure(firstOccurrence()),
			b:    changed(checkoutFailure(firstOccurrence()), func(f *contract.Failure) { f.Error.Type = "" }),
		},
		{
			name: "connection refused does not group with permission denied",
			a:    checkoutFailure(firstOccurrence()),
			b: changed(checkoutFailure(firstOccurrence()), func(f *contract.Failure) {
				f.Error.Message = strings.Replace(f.Error.Message, "connection refused", "permission denied", 1)
			}),
		},
		{
			name: "different assertions of one test do not group",
			a:    testFailure("cart_test.go:42: Total() = 12.5, want 10", ""),
			b:    testFailure("cart_test.go:42: Count() = 3, want 4", ""),
		},
		{
			name: "different in-app functions do not group",
			a:    framesFailure(frame("com.acme.Cart", "total", 12, yes()), frame("com.acme.Api", "handle", 40, yes())),
			b:    framesFailure(frame("com.acme.Cart", "subtotal", 12, yes()), frame("com.acme.Api", "handle", 40, yes())),
		},
		{
			name: "the same function in different modules does not group",
			a:    framesFailure(frame("com.acme.Cart", "total", 12, yes())),
			b:    framesFailure(frame("com.acme.Invoice", "total", 12, yes())),
		},
		{
			name: "frames with in-app unset count as the app's",
			a:    framesFailure(frame("com.acme.Cart", "total", 12, nil)),
			b:    framesFailure(frame("com.acme.Cart", "subtotal", 12, nil)),
		},
		{
			name: "in-app frames in another order do not group",
			a:    framesFailure(frame("com.acme.Cart", "total", 1, yes()), frame("com.acme.Api", "handle", 2, yes())),
			b:    framesFailure(frame("com.acme.Api", "handle", 2, yes()), frame("com.acme.Cart", "total", 1, yes())),
		},
		{
			name: "a failure whose frames are all outside the app is told apart by its innermost frames",
			a:    framesFailure(frame("java.lang.Thread", "run", 3, no()), frame("java.util.ArrayList", "get", 1, no())),
			b:    framesFailure(frame("java.util.HashMap", "get", 3, no()), frame("java.util.ArrayList", "get", 1, no())),
		},
		{
			name: "different functions in a text stack do not group",
			a:    checkoutFailure(firstOccurrence()),
			b: changed(checkoutFailure(firstOccurrence()), func(f *contract.Failure) {
				f.Error.Stack = strings.Replace(f.Error.Stack, "(*Cart).Checkout", "(*Cart).Pay", 1)
			}),
		},
		{
			name: "different package-level functions in a Go text stack do not group",
			a: changed(framesFailure(), func(f *contract.Failure) {
				f.Error.Stack = "goroutine 7 [running]:\ngithub.com/acme/shop/cart.Add(0x1)\n\t/src/cart/cart.go:10 +0x1d\n"
			}),
			b: changed(framesFailure(), func(f *contract.Failure) {
				f.Error.Stack = "goroutine 7 [running]:\ngithub.com/acme/shop/billing.Refund(0x1)\n\t/src/billing/refund.go:10 +0x1d\n"
			}),
		},
		{
			name: "the same method of types in different Go packages does not group",
			a: changed(framesFailure(), func(f *contract.Failure) {
				f.Error.Stack = "github.com/acme/shop/cart.(*Cart).Total(0x1)\n\t/src/cart/cart.go:10 +0x1d\n"
			}),
			b: changed(framesFailure(), func(f *contract.Failure) {
				f.Error.Stack = "github.com/acme/shop/legacy.(*Cart).Total(0x1)\n\t/src/legacy/cart.go:10 +0x1d\n"
			}),
		},
		{
			name: "a Go panic in another in-app method does not group",
			a:    testFailure("boom", goPanic(ciRunner, "Total")),
			b:    testFailure("boom", goPanic(ciRunner, "Subtotal")),
		},
		{
			name: "a Python traceback failing in another in-app function does not group",
			a:    testFailure("'Item' object has no attribute 'price'", pythonTraceback(ciRunner, "total")),
			b:    testFailure("'Item' object has no attribute 'price'", pythonTraceback(ciRunner, "subtotal")),
		},
		{
			name: "a pytest report failing in another in-app function does not group",
			a:    testFailure("TypeError", pytestReport(ciRunner, "total")),
			b:    testFailure("TypeError", pytestReport(ciRunner, "subtotal")),
		},
		{
			name: "a Java exception whose root cause is elsewhere does not group",
			a:    testFailure("checkout failed", javaTrace(ciRunner, "open")),
			b:    testFailure("checkout failed", javaTrace(ciRunner, "connect")),
		},
		{
			name: "a Node stack failing in another file does not group",
			a:    testFailure("Cannot read properties of undefined (reading 'map')", nodeTrace(ciRunner, "render")),
			b:    testFailure("Cannot read properties of undefined (reading 'map')", nodeTrace(ciRunner, "summary")),
		},
		{
			name: "a .NET exception in another async method does not group",
			a:    testFailure("Object reference not set", dotNetTrace(ciRunner, "TotalAsync")),
			b:    testFailure("Object reference not set", dotNetTrace(ciRunner, "LoadAsync")),
		},
		{
			name: "a stack does not group with none",
			a:    checkoutFailure(firstOccurrence()),
			b:    changed(checkoutFailure(firstOccurrence()), func(f *contract.Failure) { f.Error.Stack = "" }),
		},
		{
			name: "a quoted value's presence splits even though its content is masked",
			a:    changed(framesFailure(), func(f *contract.Failure) { f.Error.Message = `unknown column "x"` }),
			b:    changed(framesFailure(), func(f *contract.Failure) { f.Error.Message = `unknown column x` }),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := Fingerprint(tt.a), Fingerprint(tt.b)
			if a.Fingerprint == b.Fingerprint {
				t.Errorf("fingerprints are the same:\n%s\nvs\n%s", components(a), components(b))
			}
		})
	}
}

func components(r Result) string {
	var b strings.Builder
	for _, c := range r.Components {
		fmt.Fprintf(&b, "  %s: %q\n", c.Name, c.Value)
	}
	return b.String()
}

func TestFingerprintResult(t *testing.T) {
	tests := []struct {
		name string
		f    *contract.Failure
		want Result // Fingerprint is only checked to be hex SHA-256
	}{
		{
			name: "a test failure that broke in the code under test names the type, template and in-app frames, not the test",
			f: &contract.Failure{
				Kind: contract.KindTest,
				Test: &contract.TestIdentity{Suite: "cart", Name: "TestAdd"},
				Error: contract.ErrorInfo{Type: "AssertionError", Message: "expected 3, got 4", Frames: []contract.Frame{
					frame("shop/cart", "Add", 10, yes()),
					frame("testing", "tRunner", 20, no()),
					frame("shop/cart", "TestAdd", 30, nil),
				}},
			},
			want: Result{
				Components: []contract.Component{
					{Name: "type", Value: "AssertionError"},
					{Name: "message", Value: "expected <*>, got <*>"},
					{Name: "frames", Value: "shop/cart.Add\nshop/cart.TestAdd"},
				},
				Template: "expected <*>, got <*>",
				Title:    "cart.TestAdd: AssertionError: expected <*>, got <*>",
			},
		},
		{
			name: "a test without a suite is named by its name alone",
			f: &contract.Failure{
				Kind:  contract.KindTest,
				Test:  &contract.TestIdentity{Name: "test_add"},
				Error: contract.ErrorInfo{Message: "assert 3 == 4"},
			},
			want: Result{
				Components: []contract.Component{
					{Name: "test", Value: "test_add"},
					{Name: "message", Value: "assert <*> == <*>"},
				},
				Template: "assert <*> == <*>",
				Title:    "test_add: assert <*> == <*>",
			},
		},
		{
			name: "a runtime failure with a Go stack names the service and the in-app frames",
			f: &contract.Failure{
				Kind:    contract.KindRuntime,
				Service: &contract.ServiceIdentity{Name: "api"},
				Error: contract.ErrorInfo{
					Message: "runtime error: index out of range [5] with length 3\ngoroutine 1 [running]:",
					Stack:   "goroutine 1 [running]:\nmain.handle(0x5)\n\t/app/main.go:12 +0x1d\n\n",
				},
			},
			want: Result{
				Components: []contract.Component{
					{Name: "service", Value: "api"},
					{Name: "message", Value: "runtime error: index out of range [<*>] with length <*> goroutine <*> [running]:"},
					{Name: "frames", Value: "main.handle"},
				},
				Template: "runtime error: index out of range [<*>] with length <*> goroutine <*> [running]:",
				Title:    "api: runtime error: index out of range [<*>] with length <*>",
			},
		},
		{
			name: "a Go stack gives each frame's package path and function, without files or lines",
			f: &contract.Failure{
				Kind:    contract.KindRuntime,
				Service: &contract.ServiceIdentity{Name: "api"},
				Error: contract.ErrorInfo{
					Message: "boom",
					Stack: "goroutine 7 [running]:\n" +
						"github.com/acme/shop/cart.(*Cart).Total(0x0)\n" +
						"\t/home/runner/work/shop/cart/cart.go:17 +0x1d\n" +
						"github.com/acme/shop/cart.TestTotal(0xc000103520)\n" +
						"\tC:\\work\\shop\\cart\\cart_test.go:12 +0x2c\n",
				},
			},
			want: Result{
				Components: []contract.Component{
					{Name: "service", Value: "api"},
					{Name: "message", Value: "boom"},
					{Name: "frames", Value: "github.com/acme/shop/cart.(*Cart).Total\ngithub.com/acme/shop/cart.TestTotal"},
				},
				Template: "boom",
				Title:    "api: boom",
			},
		},
		{
			name: "a Java stack gives the root cause's in-app frames, innermost first",
			f: &contract.Failure{
				Kind:  contract.KindTest,
				Test:  &contract.TestIdentity{Suite: "com.acme.shop.CheckoutServiceTest", Name: "checksOut"},
				Error: contract.ErrorInfo{Type: "java.lang.IllegalStateException", Message: "checkout failed", Stack: javaTrace(ciRunner, "open")},
			},
			want: Result{
				Components: []contract.Component{
					{Name: "type", Value: "java.lang.IllegalStateException"},
					{Name: "message", Value: "checkout failed"},
					{Name: "frames", Value: "com.acme.shop.Db.open\ncom.acme.shop.CheckoutService$$Lambda.accept\n" +
						"com.acme.shop.CheckoutService.checkout\ncom.acme.shop.CheckoutServiceTest.checksOut"},
				},
				Template: "checkout failed",
				Title:    "com.acme.shop.CheckoutServiceTest.checksOut: java.lang.IllegalStateException: checkout failed",
			},
		},
		{
			name: "a stack without in-app frames gives its innermost three",
			f: &contract.Failure{
				Kind:    contract.KindRuntime,
				Service: &contract.ServiceIdentity{Name: "api"},
				Error: contract.ErrorInfo{Message: "test timed out after 10m0s", Stack: "goroutine 50 [running]:\n" +
					"testing.(*M).startAlarm.func1()\n\t/usr/local/go/src/testing/testing.go:2366 +0x385\n" +
					"created by time.goFunc\n\t/usr/local/go/src/time/sleep.go:177 +0x2d\n"},
			},
			want: Result{
				Components: []contract.Component{
					{Name: "service", Value: "api"},
					{Name: "message", Value: "test timed out after <*>"},
					{Name: "frames", Value: "testing.(*M).startAlarm.func1\ntime.goFunc"},
				},
				Template: "test timed out after <*>",
				Title:    "api: test timed out after <*>",
			},
		},
		{
			name: "go test's file:line lines in the message stand for frames by their file",
			f: &contract.Failure{
				Kind:  contract.KindTest,
				Test:  &contract.TestIdentity{Suite: "shop/cart", Name: "TestTotal"},
				Error: contract.ErrorInfo{Message: "    cart_test.go:42: Total() = 12.5, want 10"},
			},
			want: Result{
				Components: []contract.Component{
					{Name: "test", Value: "shop/cart.TestTotal"},
					{Name: "message", Value: "cart_test.go:<*>: Total() = <*>, want <*>"},
					{Name: "frames", Value: "cart_test.go"},
				},
				Template: "cart_test.go:<*>: Total() = <*>, want <*>",
				Title:    "shop/cart.TestTotal: cart_test.go:<*>: Total() = <*>, want <*>",
			},
		},
		{
			name: "a stack the parser does not read gives its first lines, masked, with their files and functions",
			f: &contract.Failure{
				Kind:    contract.KindRuntime,
				Service: &contract.ServiceIdentity{Name: "web"},
				Error: contract.ErrorInfo{Type: "NoMethodError", Message: "undefined method 'total' for nil",
					Stack: "/app/models/cart.rb:12:in `total'\n/app/controllers/carts_controller.rb:7:in `show'\n"},
			},
			want: Result{
				Components: []contract.Component{
					{Name: "service", Value: "web"},
					{Name: "type", Value: "NoMethodError"},
					{Name: "message", Value: "undefined method '<*>' for nil"},
					{Name: "stack", Value: "cart.rb:<*>:in `total'\ncarts_controller.rb:<*>:in `show'"},
				},
				Template: "undefined method '<*>' for nil",
				Title:    "web: NoMethodError: undefined method '<*>' for nil",
			},
		},
		{
			name: "a failure with neither test nor service has no identity component",
			f:    &contract.Failure{Error: contract.ErrorInfo{Type: "Error"}},
			want: Result{
				Components: []contract.Component{
					{Name: "type", Value: "Error"},
					{Name: "message", Value: ""},
				},
				Template: "",
				Title:    "Error",
			},
		},
		{
			name: "a long title is clipped to 120 bytes with an ellipsis",
			f: &contract.Failure{
				Kind:  contract.KindTest,
				Test:  &contract.TestIdentity{Name: "T"},
				Error: contract.ErrorInfo{Type: "E", Message: strings.Repeat("é", 100)},
			},
			want: Result{
				Components: []contract.Component{
					{Name: "test", Value: "T"},
					{Name: "type", Value: "E"},
					{Name: "message", Value: strings.Repeat("é", 100)},
				},
				Template: strings.Repeat("é", 100),
				Title:    "T: E: " + strings.Repeat("é", 58) + "…",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Fingerprint(tt.f)
			if raw, err := hex.DecodeString(got.Fingerprint); err != nil || len(raw) != 32 {
				t.Errorf("Fingerprint = %q, want 64 hex digits", got.Fingerprint)
			}
			got.Fingerprint = ""
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Fingerprint gave\n%#v\nwant\n%#v", got, tt.want)
			}
		})
	}
}

// pinnedFingerprints are the fingerprints of checkoutFailure(firstOccurrence())
// by fingerprint version. Stored signatures carry the version they were
// computed with: a change to what goes into a fingerprint must come with a
// new Version, or old signatures split from their new occurrences.
var pinnedFingerprints = map[int]string{
	1: "4de9262b88fe3600a982c8c187b6e9565f2c6bb949b62066dcfb309467719106",
	2: "7de41e68d438e4fd73bc83b437a4af65b8034ddf9433655812da5b5dc534c2ef",
	3: "27c1fcba37c0c3d85315c54ee1d29e37e4cdccd4acce061d713167c954f318c6",
}

func TestFingerprintOfAKnownFailureIsPinnedToItsVersion(t *testing.T) {
	got := Fingerprint(checkoutFailure(firstOccurrence()))
	want, ok := pinnedFingerprints[Version]
	if !ok {
		t.Fatalf("no fingerprint pinned for version %d: add %q\n%s", Version, got.Fingerprint, components(got))
	}
	if got.Fingerprint != want {
		t.Errorf("fingerprint of version %d changed without a new Version:\n got %s\nwant %s\n%s", Version, got.Fingerprint, want, components(got))
	}
}

func TestSignatureID(t *testing.T) {
	fp := Fingerprint(checkoutFailure(firstOccurrence())).Fingerprint
	other := Fingerprint(framesFailure()).Fingerprint
	id := SignatureID("shop", fp)

	if raw, err := hex.DecodeString(id); err != nil || len(raw) != 8 {
		t.Fatalf("SignatureID = %q, want 16 hex digits", id)
	}
	tests := []struct {
		name      string
		got       string
		wantEqual bool
	}{
		{"the same project and fingerprint give the same id", SignatureID("shop", fp), true},
		{"another project gives another id", SignatureID("billing", fp), false},
		{"a project whose name extends another gives another id", SignatureID("shop2", fp), false},
		{"another fingerprint gives another id", SignatureID("shop", other), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if (tt.got == id) != tt.wantEqual {
				t.Errorf("SignatureID = %s, first was %s; want equal: %v", tt.got, id, tt.wantEqual)
			}
		})
	}
	t.Run("a known id is pinned", func(t *testing.T) {
		const want = "734de7b96ae1bdc7"
		if got := SignatureID("shop", strings.Repeat("ab", 32)); got != want {
			t.Errorf("SignatureID changed: got %s, want %s", got, want)
		}
	})
}

// shiftDigits replaces every ASCII digit by the next one: a line number,
// port, id or address that differs but has the same shape.
// It works on bytes, so invalid UTF-8 is kept as it is.
func shiftDigits(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= '0' && c <= '9' {
			b[i] = '0' + (c-'0'+1)%10
		}
	}
	return string(b)
}

func FuzzFingerprint(f *testing.F) {
	base := checkoutFailure(firstOccurrence())
	f.Add(base.Test.Suite, base.Test.Name, base.Error.Type, base.Error.Message, base.Error.Stack, "Checkout")
	f.Add("", "test_add", "", "assert 3 == 4", "", "")
	f.Add("cart", "TestAdd", "AssertionError", "expected 'a\nb'", "  File \"/app/x.py\", line 3, in f\n", "f")
	f.Add("", "T", "E", strings.Repeat("é", 100), "\tat a.B.c(B.java:1)\r\n", "c")
	f.Add("a\x00b", "x\xff", "", "", "\n\n\n", "\x00")
	f.Fuzz(func(t *testing.T, suite, name, errType, message, stack, function string) {
		fail := &contract.Failure{
			Kind:  contract.KindTest,
			Test:  &contract.TestIdentity{Suite: suite, Name: name},
			Error: contract.ErrorInfo{Type: errType, Message: message, Stack: stack},
		}
		got := Fingerprint(fail)
		if raw, err := hex.DecodeString(got.Fingerprint); err != nil || len(raw) != 32 {
			t.Fatalf("Fingerprint = %q, want 64 hex digits", got.Fingerprint)
		}
		if again := Fingerprint(fail); !reflect.DeepEqual(again, got) {
			t.Fatalf("Fingerprint is not deterministic: %+v then %+v", got, again)
		}
		if got.Template != Template(message) {
			t.Fatalf("Template = %q, want Template(message) = %q", got.Template, Template(message))
		}
		if valid := utf8.ValidString(suite) && utf8.ValidString(name) && utf8.ValidString(errType) &&
			utf8.ValidString(message); valid && !utf8.ValidString(got.Title) {
			t.Fatalf("Title %q is not valid UTF-8", got.Title)
		}

		// Numbers in the message (ids, ports, values) never split a group.
		shifted := *fail
		shifted.Error.Message = shiftDigits(message)
		if s := Fingerprint(&shifted); s.Fingerprint != got.Fingerprint {
			t.Fatalf("shifting the message's digits split the group:\n%s\nvs\n%s", components(got), components(s))
		}

		// Goroutine ids, addresses, offsets and line numbers of a stack never
		// split a group, whatever its functions.
		a, b := *fail, *fail
		a.Error.Stack = fuzzedGoStack(function, name, 7, 0xc000012345, 42)
		b.Error.Stack = fuzzedGoStack(function, name, 1234, 0xc0001f0000, 57)
		if fa, fb := Fingerprint(&a), Fingerprint(&b); fa.Fingerprint != fb.Fingerprint {
			t.Fatalf("numbers in a Go stack split the group:\n%s\nvs\n%s", components(fa), components(fb))
		}

		// Frames outside the app never change it.
		withFrames := *fail
		withFrames.Error.Frames = []contract.Frame{{Module: "m", Function: function, InApp: yes()}}
		inApp := Fingerprint(&withFrames)
		withFrames.Error.Frames = append(withFrames.Error.Frames, contract.Frame{Module: suite, Function: function + name, InApp: no()})
		if outside := Fingerprint(&withFrames); outside.Fingerprint != inApp.Fingerprint {
			t.Fatalf("a frame outside the app changed the fingerprint:\n%s\nvs\n%s", components(inApp), components(outside))
		}

		if SignatureID("a", got.Fingerprint) == SignatureID("b", got.Fingerprint) {
			t.Fatal("two projects gave the same signature id")
		}
	})
}

// fuzzedGoStack is a goroutine dump whose functions come from the fuzzer
// and whose numbers from the test.
func fuzzedGoStack(function, caller string, goroutine, addr, line int) string {
	return fmt.Sprintf("goroutine %d [running]:\ngithub.com/acme/shop.%s(0x%x)\n\t/src/shop/a.go:%d +0x%x\n"+
		"github.com/acme/shop.%s(0x%x, {0x%x, 0x3})\n\t/src/shop/b.go:%d +0x%x\n",
		goroutine, function, addr, line, line, caller, addr, addr, line+17, line+1)
}

// benchmarkFailure is a ~2 KB Go test failure with a 30-frame stack.
func benchmarkFailure(tb testing.TB) *contract.Failure {
	var stack strings.Builder
	stack.WriteString("goroutine 18 [running]:\n")
	for i := range 30 {
		fmt.Fprintf(&stack, "shop/cart.step%02d(0xc0000%x)\n\t/src/cart.go:%d +0x%x\n", i, 0x1000+i, 10+i, 0x1d+i)
	}
	f := &contract.Failure{
		Schema:  contract.SchemaFailure,
		ID:      "0b5c9a7e-3f1d-4b8e-9a2c-5d6e7f8a9b0c",
		Project: "shop",
		Time:    time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		Kind:    contract.KindTest,
		Test:    &contract.TestIdentity{Framework: "go", Suite: "shop/cart", Name: "TestCheckout"},
		Error: contract.ErrorInfo{
			Type:    "*net.OpError",
			Message: message220,
			Stack:   stack.String(),
		},
		Run: contract.RunInfo{ID: "run-1", Commit: "abc123", Branch: "main", Attempt: 1},
	}
	data, err := json.Marshal(f)
	if err != nil {
		tb.Fatal(err)
	}
	decoded, err := contract.DecodeFailure(data)
	if err != nil {
		tb.Fatal(err)
	}
	if n := len(data); n < 1800 || n > 2300 {
		tb.Fatalf("failure is %d bytes encoded, want about 2 KB", n)
	}
	return &decoded
}

func BenchmarkFingerprint(b *testing.B) {
	f := benchmarkFailure(b)
	b.ReportAllocs()
	for b.Loop() {
		Fingerprint(f)
	}
}

func TestFrameInTestCode(t *testing.T) {
	tests := []struct {
		name string
		k    frameKey
		want bool
	}{
		{"a Go test file", frameKey{file: "/src/cart/cart_test.go"}, true},
		{"a Go file", frameKey{file: "/src/cart/cart.go"}, false},
		{"a pytest module", frameKey{file: "tests/test_cart.py"}, true},
		{"a Python module named _test", frameKey{file: "shop/cart_test.py"}, true},
		{"pytest's conftest", frameKey{file: "conftest.py"}, true},
		{"a Python module", frameKey{file: "/app/shop.py"}, false},
		{"a Python module called contest", frameKey{file: "/app/contest.py"}, false},
		{"a JavaScript test file", frameKey{file: "/w/src/cart.test.js"}, true},
		{"a TypeScript spec file", frameKey{file: "src/cart.spec.ts"}, true},
		{"a file under __tests__", frameKey{file: "src/__tests__/cart.js"}, true},
		{"a file under test/", frameKey{file: "/w/test/helpers.js"}, true},
		{"a JavaScript file", frameKey{file: "/w/src/cart.js"}, false},
		{"a JavaScript file called latest", frameKey{file: "/w/src/latest.js"}, false},
		{"a Windows path under tests", frameKey{file: `C:\w\tests\helpers.cs`}, true},
		{"a Java test class's file", frameKey{file: "CartTest.java"}, true},
		{"a .NET tests class's file", frameKey{file: "CartTests.cs"}, true},
		{"a Java class's file", frameKey{file: "Cart.java"}, false},
		{"a Java file called Contest", frameKey{file: "Contest.java"}, false},
		{"a JVM test class without a file", frameKey{module: "com.acme.CartTest", function: "adds"}, true},
		{"a JVM class without a file", frameKey{module: "com.acme.Cart", function: "add"}, false},
		{"a Python test module without a file", frameKey{module: "tests.test_cart", function: "test_add"}, true},
		{"a Go external test package without a file", frameKey{module: "example.com/cart_test", function: "TestAdd"}, true},
		{"a Go package without a file", frameKey{module: "example.com/cart", function: "Add"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.k.inTestCode(); got != tt.want {
				t.Errorf("inTestCode(%+v) = %v, want %v", tt.k, got, tt.want)
			}
		})
	}
}
