package stack

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// Stacks as runtimes and test runners print them.
const (
	goPanic = `panic: runtime error: invalid memory address or nil pointer dereference [recovered]
	panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x1 addr=0x18 pc=0x4a1f2c]

goroutine 7 [running]:
testing.tRunner.func1.2({0x5e9b60, 0x6b1f10})
	/usr/local/go/src/testing/testing.go:1734 +0x21c
testing.tRunner.func1()
	/usr/local/go/src/testing/testing.go:1737 +0x35e
panic({0x5e9b60?, 0x6b1f10?})
	/usr/local/go/src/runtime/panic.go:787 +0x132
github.com/acme/shop/cart.(*Cart).Total(0x0)
	/home/runner/work/shop/shop/cart/cart.go:42 +0x2c
github.com/acme/shop/cart.TestTotal.func1(...)
	/home/runner/work/shop/shop/cart/cart_test.go:20
github.com/acme/shop/cart.TestTotal(0xc000103520)
	/home/runner/work/shop/shop/cart/cart_test.go:17 +0x45
testing.tRunner(0xc000103520, 0x5b1e28)
	/usr/local/go/src/testing/testing.go:1792 +0xf4
created by testing.(*T).Run in goroutine 1
	/usr/local/go/src/testing/testing.go:1851 +0x413

goroutine 1 [chan receive]:
testing.(*T).Run(0xc000103380, {0x5a3f1e?, 0x4bd8b3?}, 0x5b1e28)
	/usr/local/go/src/testing/testing.go:1859 +0x431
testing.runTests.func1(0xc000103380)
	/usr/local/go/src/testing/testing.go:2279 +0x37
exit status 2
FAIL	github.com/acme/shop/cart	0.015s
`

	goPanicInDependency = `panic: assignment to entry in nil map

goroutine 1 [running]:
gopkg.in/yaml%2ev3.(*decoder).unmarshal(0xc00012a000, 0xc000150000)
	/home/runner/go/pkg/mod/gopkg.in/yaml.v3@v3.0.1/decode.go:493 +0x2d
github.com/acme/shop/config.Load({0x4d2a1c, 0xb})
	/src/config/config.go:31 +0x85
main.main()
	/src/main.go:12 +0x25
`

	goDataRace = `==================
WARNING: DATA RACE
Write at 0x00c0000a4010 by goroutine 8:
  github.com/acme/shop/cart.(*Cart).Add()
      /src/cart/cart.go:12 +0x44
  github.com/acme/shop/cart.TestAdd.func1()
      /src/cart/cart_test.go:20 +0x3c

Previous read at 0x00c0000a4010 by goroutine 7:
  github.com/acme/shop/cart.(*Cart).Total()
      /src/cart/cart.go:30 +0x3a

Goroutine 8 (running) created at:
  github.com/acme/shop/cart.TestAdd()
      /src/cart/cart_test.go:18 +0x12c
  testing.tRunner()
      /usr/local/go/src/testing/testing.go:1792 +0x225
==================
`

	goTestOutput = `=== RUN   TestCheckout
    cart_test.go:42: checkout: got 3 items, want 4
    cart_test.go:47: total = 12.5, want 10
--- FAIL: TestCheckout (0.00s)
FAIL
FAIL	github.com/acme/shop/cart	0.012s
`

	testifyOutput = "=== RUN   TestCheckout\n" +
		"    cart_test.go:42: \n" +
		"        \tError Trace:\t/home/runner/work/shop/shop/cart/cart_test.go:42\n" +
		"        \t            \t\t\t\t/home/runner/work/shop/shop/cart/helpers_test.go:12\n" +
		"        \tError:      \tNot equal: \n" +
		"        \t            \texpected: 4\n" +
		"        \t            \tactual  : 3\n" +
		"        \tTest:       \tTestCheckout\n" +
		"--- FAIL: TestCheckout (0.00s)\n"

	pythonChained = `Traceback (most recent call last):
  File "/home/runner/work/shop/shop/app/billing/cart.py", line 12, in total
    return sum(i.price for i in self.items)
  File "/home/runner/work/shop/shop/app/billing/cart.py", line 12, in <genexpr>
    return sum(i.price for i in self.items)
AttributeError: 'NoneType' object has no attribute 'price'

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/usr/lib/python3.12/runpy.py", line 198, in _run_module_as_main
    return _run_code(code, main_globals, None,
  File "/home/runner/work/shop/shop/.venv/lib/python3.12/site-packages/flask/app.py", line 880, in full_dispatch_request
    rv = self.dispatch_request()
  File "/home/runner/work/shop/shop/app/api.py", line 30, in handle
    raise CheckoutError("cannot total cart") from err
app.errors.CheckoutError: cannot total cart
`

	pytestLong = `_________________________________ test_total __________________________________

cart = <app.billing.cart.Cart object at 0x7f3a2b1c4d50>

    def test_total(cart):
        cart.add(Item(price=None))
>       assert cart.total() == 10

tests/test_cart.py:14: 
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _

self = <app.billing.cart.Cart object at 0x7f3a2b1c4d50>

    def total(self):
>       return sum(i.price for i in self.items)
E       TypeError: unsupported operand type(s) for +: 'int' and 'NoneType'

app/billing/cart.py:12: TypeError
=========================== short test summary info ============================
FAILED tests/test_cart.py::test_total - TypeError: unsupported operand type(s) for +: 'int' and 'NoneType'
`

	pytestShort = `tests/test_cart.py:14: in test_total
    assert cart.total() == 10
app/billing/cart.py:12: in total
    return sum(i.price for i in self.items)
../../.venv/lib/python3.12/site-packages/pydantic/main.py:811: in __getattr__
    raise AttributeError(item)
E   AttributeError: price
`

	javaCausedBy = `java.lang.IllegalStateException: checkout failed for order 42
	at com.acme.shop.CheckoutService.checkout(CheckoutService.java:57)
	at com.acme.shop.CheckoutServiceTest.checksOut(CheckoutServiceTest.java:31)
	at java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)
	at org.junit.platform.commons.util.ReflectionUtils.invokeMethod(ReflectionUtils.java:728)
	Suppressed: java.io.IOException: close failed
		at com.acme.shop.Db.close(Db.java:20)
		... 4 more
	Caused by: java.lang.Error: flush failed
		at com.acme.shop.Db.flush(Db.java:25)
Caused by: java.sql.SQLException: connection refused
	at com.acme.shop.Db.open(Db.java:12)
	at com.acme.shop.CheckoutService$$Lambda$14/0x0000000800066840.accept(Unknown Source)
	... 4 more
Caused by: java.net.ConnectException: Connection refused
	at java.base/sun.nio.ch.Net.pollConnect(Native Method)
	at app//com.acme.shop.PgStream.<init>(PgStream.kt:98)
	... 7 more
`

	nodeTypeError = `TypeError: Cannot read properties of undefined (reading 'map')
    at renderItems (/home/runner/work/shop/shop/src/cart/render.js:12:23)
    at Cart.render [as draw] (/home/runner/work/shop/shop/src/cart/index.js:40:12)
    at new CartView (/home/runner/work/shop/shop/src/cart/view.js:8:10)
    at async Promise.all (index 0)
    at async loadAll (file:///home/runner/work/shop/shop/src/app.mjs:22:3)
    at Object.<anonymous> (/home/runner/work/shop/shop/node_modules/express/lib/router/layer.js:95:5)
    at Module._compile (node:internal/modules/cjs/loader:1358:14)
    at /home/runner/work/shop/shop/src/server.js:5:1
`

	jestFailure = `  ● Cart › renders the total

    expect(received).toBe(expected) // Object.is equality

    Expected: 10
    Received: 12

      12 |   const cart = new Cart([item(5), item(7)]);
      13 |   render(cart);
    > 14 |   expect(screen.getByTestId('total').textContent).toBe(10);
         |                                                   ^
      15 | });

      at Object.toBe (src/cart/cart.test.js:14:51)
      at Promise.then.completed (node_modules/jest-circus/build/utils.js:298:28)
      at new Promise (<anonymous>)
      at callAsyncCircusFn (node_modules/jest-circus/build/utils.js:231:10)
`

	dotNetInner = `System.InvalidOperationException: Checkout failed
 ---> System.NullReferenceException: Object reference not set to an instance of an object.
   at Acme.Shop.Cart.<TotalAsync>d__5.MoveNext() in /home/runner/work/shop/src/Shop/Cart.cs:line 42
--- End of stack trace from previous location ---
   at Acme.Shop.Cart.<>c__DisplayClass5_0.<Total>b__0(Item i) in C:\work\shop\src\Shop\Cart.cs:line 15
   at System.Linq.Enumerable.Sum[TSource](IEnumerable` + "`" + `1 source, Func` + "`" + `2 selector)
   at Acme.Shop.Cart..ctor(IEnumerable` + "`" + `1 items) in /home/runner/work/shop/src/Shop/Cart.cs:line 9
   --- End of inner exception stack trace ---
   at Acme.Shop.CheckoutService.CheckoutAsync(Order order) in /home/runner/work/shop/src/Shop/CheckoutService.cs:line 31
   at Acme.Shop.Tests.CheckoutTests.ChecksOut() in /home/runner/work/shop/tests/Shop.Tests/CheckoutTests.cs:line 19
   at Xunit.Sdk.TestInvoker` + "`" + `1.CallTestMethod(Object testClassInstance)
`
)

// frame is a compact way to write an expected frame.
func frame(module, function, file string, line int, inApp bool) Frame {
	return Frame{Module: module, Function: function, File: file, Line: line, InApp: inApp}
}

func TestParse(t *testing.T) {
	const goSrc = "/home/runner/work/shop/shop/cart/"
	tests := []struct {
		name string
		text string
		want []Frame
	}{
		{
			name: "a Go panic gives the panicking goroutine's frames, innermost first",
			text: goPanic,
			want: []Frame{
				frame("testing", "tRunner.func1.2", "/usr/local/go/src/testing/testing.go", 1734, false),
				frame("testing", "tRunner.func1", "/usr/local/go/src/testing/testing.go", 1737, false),
				frame("", "panic", "/usr/local/go/src/runtime/panic.go", 787, false),
				frame("github.com/acme/shop/cart", "(*Cart).Total", goSrc+"cart.go", 42, true),
				frame("github.com/acme/shop/cart", "TestTotal.func1", goSrc+"cart_test.go", 20, true),
				frame("github.com/acme/shop/cart", "TestTotal", goSrc+"cart_test.go", 17, true),
				frame("testing", "tRunner", "/usr/local/go/src/testing/testing.go", 1792, false),
				frame("testing", "(*T).Run", "/usr/local/go/src/testing/testing.go", 1851, false),
			},
		},
		{
			name: "a Go panic in a dependency marks the module cache outside the app",
			text: goPanicInDependency,
			want: []Frame{
				frame("gopkg.in/yaml%2ev3", "(*decoder).unmarshal", "/home/runner/go/pkg/mod/gopkg.in/yaml.v3@v3.0.1/decode.go", 493, false),
				frame("github.com/acme/shop/config", "Load", "/src/config/config.go", 31, true),
				frame("main", "main", "/src/main.go", 12, true),
			},
		},
		{
			name: "a Go data race report gives the racing accesses' frames, then where the goroutine started",
			text: goDataRace,
			want: []Frame{
				frame("github.com/acme/shop/cart", "(*Cart).Add", "/src/cart/cart.go", 12, true),
				frame("github.com/acme/shop/cart", "TestAdd.func1", "/src/cart/cart_test.go", 20, true),
				frame("github.com/acme/shop/cart", "(*Cart).Total", "/src/cart/cart.go", 30, true),
				frame("github.com/acme/shop/cart", "TestAdd", "/src/cart/cart_test.go", 18, true),
				frame("testing", "tRunner", "/usr/local/go/src/testing/testing.go", 1792, false),
			},
		},
		{
			name: "go test output gives each file:line that logged",
			text: goTestOutput,
			want: []Frame{
				frame("", "", "cart_test.go", 42, true),
				frame("", "", "cart_test.go", 47, true),
			},
		},
		{
			name: "testify output gives its error trace",
			text: testifyOutput,
			want: []Frame{
				frame("", "", "cart_test.go", 42, true),
				frame("", "", goSrc+"cart_test.go", 42, true),
				frame("", "", goSrc+"helpers_test.go", 12, true),
			},
		},
		{
			name: "go test lines are dropped when a goroutine dump follows",
			text: "    cart_test.go:42: about to total\n" + goPanicInDependency,
			want: []Frame{
				frame("gopkg.in/yaml%2ev3", "(*decoder).unmarshal", "/home/runner/go/pkg/mod/gopkg.in/yaml.v3@v3.0.1/decode.go", 493, false),
				frame("github.com/acme/shop/config", "Load", "/src/config/config.go", 31, true),
				frame("main", "main", "/src/main.go", 12, true),
			},
		},
		{
			name: "chained Python tracebacks give the cause's frames first, each innermost first",
			text: pythonChained,
			want: []Frame{
				frame("billing.cart", "<genexpr>", "/home/runner/work/shop/shop/app/billing/cart.py", 12, true),
				frame("billing.cart", "total", "/home/runner/work/shop/shop/app/billing/cart.py", 12, true),
				frame("app.api", "handle", "/home/runner/work/shop/shop/app/api.py", 30, true),
				frame("flask.app", "full_dispatch_request", "/home/runner/work/shop/shop/.venv/lib/python3.12/site-packages/flask/app.py", 880, false),
				frame("runpy", "_run_module_as_main", "/usr/lib/python3.12/runpy.py", 198, false),
			},
		},
		{
			name: "a pytest report in the long form names each function by the def it shows",
			text: pytestLong,
			want: []Frame{
				frame("billing.cart", "total", "app/billing/cart.py", 12, true),
				frame("tests.test_cart", "test_total", "tests/test_cart.py", 14, true),
			},
		},
		{
			name: "a pytest report in the short form names each function after in",
			text: pytestShort,
			want: []Frame{
				frame("pydantic.main", "__getattr__", "../../.venv/lib/python3.12/site-packages/pydantic/main.py", 811, false),
				frame("billing.cart", "total", "app/billing/cart.py", 12, true),
				frame("tests.test_cart", "test_total", "tests/test_cart.py", 14, true),
			},
		},
		{
			name: "a Java exception gives the root cause's frames first and skips suppressed ones",
			text: javaCausedBy,
			want: []Frame{
				frame("sun.nio.ch", "Net.pollConnect", "", 0, false),
				frame("com.acme.shop", "PgStream.<init>", "PgStream.kt", 98, true),
				frame("com.acme.shop", "Db.open", "Db.java", 12, true),
				frame("com.acme.shop", "CheckoutService$$Lambda.accept", "", 0, true),
				frame("com.acme.shop", "CheckoutService.checkout", "CheckoutService.java", 57, true),
				frame("com.acme.shop", "CheckoutServiceTest.checksOut", "CheckoutServiceTest.java", 31, true),
				frame("jdk.internal.reflect", "DirectMethodHandleAccessor.invoke", "DirectMethodHandleAccessor.java", 103, false),
				frame("org.junit.platform.commons.util", "ReflectionUtils.invokeMethod", "ReflectionUtils.java", 728, false),
			},
		},
		{
			name: "a Node TypeError gives functions, files without extension and node's internals outside the app",
			text: nodeTypeError,
			want: []Frame{
				frame("cart/render", "renderItems", "/home/runner/work/shop/shop/src/cart/render.js", 12, true),
				frame("cart/index", "Cart.render", "/home/runner/work/shop/shop/src/cart/index.js", 40, true),
				frame("cart/view", "CartView", "/home/runner/work/shop/shop/src/cart/view.js", 8, true),
				frame("", "Promise.all", "index 0", 0, false),
				frame("src/app", "loadAll", "file:///home/runner/work/shop/shop/src/app.mjs", 22, true),
				frame("express/lib/router/layer", "Object.<anonymous>", "/home/runner/work/shop/shop/node_modules/express/lib/router/layer.js", 95, false),
				frame("node:internal/modules/cjs/loader", "Module._compile", "node:internal/modules/cjs/loader", 1358, false),
				frame("src/server", "", "/home/runner/work/shop/shop/src/server.js", 5, true),
			},
		},
		{
			name: "a jest failure gives its frames past the code frame",
			text: jestFailure,
			want: []Frame{
				frame("cart/cart.test", "Object.toBe", "src/cart/cart.test.js", 14, true),
				frame("jest-circus/build/utils", "Promise.then.completed", "node_modules/jest-circus/build/utils.js", 298, false),
				frame("", "Promise", "<anonymous>", 0, false),
				frame("jest-circus/build/utils", "callAsyncCircusFn", "node_modules/jest-circus/build/utils.js", 231, false),
			},
		},
		{
			name: "a .NET exception gives the inner exception's frames first, named after their methods",
			text: dotNetInner,
			want: []Frame{
				frame("Acme.Shop.Cart", "TotalAsync", "/home/runner/work/shop/src/Shop/Cart.cs", 42, true),
				frame("Acme.Shop.Cart", "Total", `C:\work\shop\src\Shop\Cart.cs`, 15, true),
				frame("System.Linq.Enumerable", "Sum[TSource]", "", 0, false),
				frame("Acme.Shop.Cart", ".ctor", "/home/runner/work/shop/src/Shop/Cart.cs", 9, true),
				frame("Acme.Shop.CheckoutService", "CheckoutAsync", "/home/runner/work/shop/src/Shop/CheckoutService.cs", 31, true),
				frame("Acme.Shop.Tests.CheckoutTests", "ChecksOut", "/home/runner/work/shop/tests/Shop.Tests/CheckoutTests.cs", 19, true),
				frame("Xunit.Sdk.TestInvoker`1", "CallTestMethod", "", 0, false),
			},
		},
		{
			name: "CRLF line endings are read like LF",
			text: strings.ReplaceAll(goPanicInDependency, "\n", "\r\n"),
			want: []Frame{
				frame("gopkg.in/yaml%2ev3", "(*decoder).unmarshal", "/home/runner/go/pkg/mod/gopkg.in/yaml.v3@v3.0.1/decode.go", 493, false),
				frame("github.com/acme/shop/config", "Load", "/src/config/config.go", 31, true),
				frame("main", "main", "/src/main.go", 12, true),
			},
		},
		{
			name: "a message without a stack gives no frames",
			text: "expected 3, got 4",
		},
		{
			name: "a Go function line without its file line is no frame",
			text: "main.main()\nexit status 2\n",
		},
		{
			name: "the empty text gives no frames",
			text: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Parse(tt.text)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse gave\n%s\nwant\n%s", dump(got), dump(tt.want))
			}
		})
	}
}

func dump(frames []Frame) string {
	var b strings.Builder
	for _, f := range frames {
		fmt.Fprintf(&b, "  %q %q %q:%d in-app=%v\n", f.Module, f.Function, f.File, f.Line, f.InApp)
	}
	if len(frames) == 0 {
		b.WriteString("  (none)\n")
	}
	return b.String()
}

func TestInApp(t *testing.T) {
	tests := []struct {
		name                   string
		module, function, file string
		want                   bool
	}{
		{"a project's Go package is in the app", "github.com/acme/shop/cart", "Add", "/src/cart/cart.go", true},
		{"a Go module named without a dot is in the app", "shop/cart", "Add", "", true},
		{"the Go runtime is not", "runtime", "gopanic", "/usr/local/go/src/runtime/panic.go", false},
		{"Go's testing package is not", "testing", "tRunner", "", false},
		{"a Go standard package is not", "net/http", "(*conn).serve", "", false},
		{"a Go file under GOROOT is not", "", "", "/usr/local/go/src/runtime/proc.go", false},
		{"a Go file in a hosted tool cache is not", "", "", "/opt/hostedtoolcache/go/1.22.0/x64/src/testing/testing.go", false},
		{"a Go file in the module cache is not", "github.com/stretchr/testify/assert", "Equal", "/home/u/go/pkg/mod/github.com/stretchr/testify@v1.9.0/assert/assertions.go", false},
		{"a vendored Go file is not", "github.com/acme/shop/vendor/x", "F", "/src/vendor/x/x.go", false},
		{"a Python file in site-packages is not", "requests.api", "get", "/app/.venv/lib/python3.12/site-packages/requests/api.py", false},
		{"a Python file in dist-packages is not", "yaml", "load", "/usr/lib/python3/dist-packages/yaml/__init__.py", false},
		{"the Python standard library is not", "json.decoder", "decode", "/usr/lib/python3.12/json/decoder.py", false},
		{"the Python standard library on Windows is not", "json.decoder", "decode", `C:\Python312\Lib\json\decoder.py`, false},
		{"a frozen Python module is not", "", "_call_with_frames_removed", "<frozen importlib._bootstrap>", false},
		{"pytest is not", "_pytest.python", "pytest_pyfunc_call", "/app/venv/src/_pytest/python.py", false},
		{"pluggy is not", "pluggy._callers", "_multicall", "/opt/pluggy/_callers.py", false},
		{"a project's Python file is in the app", "billing.cart", "total", "/app/billing/cart.py", true},
		{"a Java class of the JDK is not", "java.util", "ArrayList.get", "ArrayList.java", false},
		{"javax is not", "javax.servlet", "HttpServlet.service", "", false},
		{"jdk internals are not", "jdk.internal.reflect", "Method.invoke", "", false},
		{"sun is not", "sun.nio.ch", "Net.connect", "", false},
		{"Kotlin's library is not", "kotlin.collections", "CollectionsKt.first", "", false},
		{"Kotlin's top package is not", "kotlin", "ExceptionsKt.throwUninitialized", "", false},
		{"JUnit is not", "org.junit.jupiter.engine", "Invoker.invoke", "", false},
		{"JUnit 4 is not", "junit.framework", "Assert.fail", "", false},
		{"TestNG is not", "org.testng.internal", "Invoker.invoke", "", false},
		{"Maven's surefire is not", "org.apache.maven.surefire", "Runner.run", "", false},
		{"a project's Java class is in the app", "com.acme.shop", "Cart.add", "Cart.java", true},
		{"a JVM function qualified without a module is classified by its prefix", "", "java.lang.Thread.run", "", false},
		{"a file in node_modules is not", "express/lib/router", "handle", "/app/node_modules/express/lib/router/index.js", false},
		{"node's own modules are not", "node:internal/process/task_queues", "processTicksAndRejections", "node:internal/process/task_queues", false},
		{"node's internal modules of old are not", "", "Module._compile", "internal/modules/cjs/loader.js", false},
		{"jest-circus is not", "jest-circus/build/utils", "callAsyncCircusFn", "/app/jest-circus/build/utils.js", false},
		{"mocha is not", "mocha/lib/runner", "Runner.run", "/usr/lib/mocha/lib/runner.js", false},
		{"a project's JavaScript file is in the app", "src/cart", "render", "/app/src/cart.js", true},
		{"a .NET System namespace is not", "System.Linq.Enumerable", "First", "", false},
		{"a Microsoft namespace is not", "Microsoft.AspNetCore.Mvc", "Invoke", "", false},
		{"xunit is not", "Xunit.Sdk.TestInvoker`1", "CallTestMethod", "", false},
		{"NUnit is not", "NUnit.Framework.Assert", "AreEqual", "", false},
		{"a project's .NET class is in the app", "Acme.Shop.Cart", "Total", `C:\src\Shop\Cart.cs`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := InApp(tt.module, tt.function, tt.file); got != tt.want {
				t.Errorf("InApp(%q, %q, %q) = %v, want %v", tt.module, tt.function, tt.file, got, tt.want)
			}
		})
	}
}

func TestParserConfig(t *testing.T) {
	p := NewParser(Config{
		InApp:    []string{"org.junit.acme.", "github.com/acme/shop/vendor/"},
		NotInApp: []string{"org.postgresql.", "third_party/", "github.com/acme/shop/gen/"},
	})
	tests := []struct {
		name                   string
		module, function, file string
		want                   bool
	}{
		{"an in-app rule wins over a default", "org.junit.acme.ext", "Rule.apply", "", true},
		{"an in-app rule wins over a library path", "github.com/acme/shop/vendor/x", "F", "/src/vendor/x/x.go", true},
		{"a not-in-app rule matches a module prefix", "org.postgresql.core", "PgStream.<init>", "", false},
		{"a not-in-app rule matches a directory anywhere in the file's path", "app.lib", "f", "/src/third_party/lib.py", false},
		{"a not-in-app rule matches a Go package prefix", "github.com/acme/shop/gen/api", "Decode", "", false},
		{"the defaults still apply", "java.util", "ArrayList.get", "", false},
		{"other frames stay in the app", "com.acme.shop", "Cart.add", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.InApp(tt.module, tt.function, tt.file); got != tt.want {
				t.Errorf("InApp(%q, %q, %q) = %v, want %v", tt.module, tt.function, tt.file, got, tt.want)
			}
		})
	}
	t.Run("parsed frames are classified by the config", func(t *testing.T) {
		frames := p.Parse("Caused by: x\n\tat org.postgresql.Driver.connect(Driver.java:300)\n\tat com.acme.Db.open(Db.java:12)\n")
		if len(frames) != 2 || frames[0].InApp || !frames[1].InApp {
			t.Errorf("Parse gave\n%s", dump(frames))
		}
	})
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want error
	}{
		{"no rules are valid", Config{}, nil},
		{"prefixes are valid", Config{InApp: []string{"com.acme."}, NotInApp: []string{"vendor/"}}, nil},
		{"an empty in-app rule is refused", Config{InApp: []string{"com.acme.", " "}}, ErrEmptyRule},
		{"an empty not-in-app rule is refused", Config{NotInApp: []string{""}}, ErrEmptyRule},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); !errors.Is(err, tt.want) {
				t.Errorf("Validate() = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParseInnermostIsAPrefixOfParse(t *testing.T) {
	for _, text := range []string{goPanic, goPanicInDependency, goDataRace, goTestOutput, testifyOutput, pythonChained,
		pytestLong, pytestShort, javaCausedBy, nodeTypeError, jestFailure, dotNetInner} {
		all := Parse(text)
		for n := 1; n <= 4; n++ {
			some := defaultParser.ParseInnermost(text, n)
			if len(some) > len(all) || !reflect.DeepEqual(some, all[:len(some)]) {
				t.Fatalf("ParseInnermost(%.30q, %d) gave\n%s\nnot a prefix of\n%s", text, n, dump(some), dump(all))
			}
			inApp := 0
			for _, f := range some {
				if f.InApp {
					inApp++
				}
			}
			if total := countInApp(all); inApp < min(n, total) {
				t.Fatalf("ParseInnermost(%.30q, %d) gave %d in-app frames of %d", text, n, inApp, total)
			}
		}
	}
}

func countInApp(frames []Frame) int {
	n := 0
	for _, f := range frames {
		if f.InApp {
			n++
		}
	}
	return n
}

func TestParseStopsAtTheLimits(t *testing.T) {
	var b strings.Builder
	for i := range 2 * maxFramesPerSegment {
		fmt.Fprintf(&b, "\tat com.acme.Shop.step%d(Shop.java:%d)\n", i, i)
	}
	if got := len(Parse(b.String())); got != maxFramesPerSegment {
		t.Errorf("a segment of %d frames gave %d, want %d", 2*maxFramesPerSegment, got, maxFramesPerSegment)
	}
	b.Reset()
	for i := range 2 * maxSegments {
		fmt.Fprintf(&b, "Caused by: E%d\n\tat com.acme.Shop.step%d(Shop.java:%d)\n", i, i, i)
	}
	if got := len(Parse(b.String())); got != maxSegments {
		t.Errorf("%d causes gave %d frames, want %d", 2*maxSegments, got, maxSegments)
	}
}

func FuzzParse(f *testing.F) {
	for _, seed := range []string{goPanic, goPanicInDependency, goDataRace, goTestOutput, testifyOutput, pythonChained,
		pytestLong, pytestShort, javaCausedBy, nodeTypeError, jestFailure, dotNetInner,
		"", "\n", "at ", "at (", "at x(", "at x (y", "File \"", "File \"a\", line ", "x.go:", "x.py:1",
		"created by ", "goroutine 1 [running]:\nmain.f()\n\t", "\tSuppressed: x\n\t\tat a.b(c.java:1)"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		frames := Parse(text)
		if again := Parse(text); !reflect.DeepEqual(again, frames) {
			t.Fatalf("Parse is not deterministic")
		}
		for _, fr := range frames {
			if fr.Line < 0 {
				t.Fatalf("frame %+v has a negative line", fr)
			}
			for _, s := range []string{fr.Module, fr.Function, fr.File} {
				if strings.ContainsAny(s, "\n") {
					t.Fatalf("frame %+v spans lines", fr)
				}
			}
		}
		for n := 1; n <= 3; n++ {
			some := defaultParser.ParseInnermost(text, n)
			if len(some) > len(frames) || !reflect.DeepEqual(some, frames[:len(some)]) {
				t.Fatalf("ParseInnermost(%q, %d) is not a prefix of Parse", text, n)
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	for _, bb := range []struct{ name, text string }{
		{"go", goPanic}, {"python", pythonChained}, {"java", javaCausedBy}, {"node", nodeTypeError}, {"dotnet", dotNetInner},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bb.text)))
			for b.Loop() {
				Parse(bb.text)
			}
		})
	}
}
