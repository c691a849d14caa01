package heuristic

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
)

// testFailure builds an occurrence of a failed test.
func testFailure(name string, e contract.ErrorInfo) contract.Failure {
	return contract.Failure{
		Schema:  contract.SchemaFailure,
		ID:      "f-" + name,
		Project: "shop",
		Time:    time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC),
		Kind:    contract.KindTest,
		Test:    &contract.TestIdentity{Name: name},
		Error:   e,
		Run:     contract.RunInfo{Commit: "9f2c1e7d4b5a6c3e2f1a0b9c8d7e6f5a4b3c2d1e"},
	}
}

func TestDiagnoseCategorisesRealFailures(t *testing.T) {
	tests := []struct {
		name     string
		test     string
		err      contract.ErrorInfo
		category string
		// rootCause holds substrings the root cause must contain.
		rootCause []string
	}{
		{
			name: "a Go testify failure is an assertion with expected and actual",
			test: "TestCartTotal",
			err: contract.ErrorInfo{Message: `    cart_test.go:42: 
        	Error Trace:	/home/runner/work/shop/shop/pkg/cart/cart_test.go:42
        	Error:      	Not equal: 
        	            	expected: 10
        	            	actual  : 9
        	Test:       	TestCartTotal`},
			category:  CategoryAssertion,
			rootCause: []string{"expected 10, got 9", "cart_test.go:42", "TestCartTotal"},
		},
		{
			name:      "a Go t.Errorf with got and want is an assertion",
			test:      "TestDiscount",
			err:       contract.ErrorInfo{Message: "    discount_test.go:27: Apply(100, \"SPRING\") = 90, want 80"},
			category:  CategoryAssertion,
			rootCause: []string{"expected 80, got 90", "discount_test.go:27"},
		},
		{
			name: "a Go nil pointer panic points at the first project frame",
			test: "TestCheckout",
			err: contract.ErrorInfo{
				Message: "runtime error: invalid memory address or nil pointer dereference",
				Stack: `panic: runtime error: invalid memory address or nil pointer dereference [recovered]
	panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x1 addr=0x8 pc=0x5f3a2d]

goroutine 7 [running]:
testing.tRunner.func1.2({0x61d2a0, 0x8a5d50})
	/opt/hostedtoolcache/go/1.22.1/x64/src/testing/testing.go:1631 +0x24a
testing.tRunner.func1()
	/opt/hostedtoolcache/go/1.22.1/x64/src/testing/testing.go:1634 +0x377
panic({0x61d2a0?, 0x8a5d50?})
	/opt/hostedtoolcache/go/1.22.1/x64/src/runtime/panic.go:770 +0x132
github.com/acme/shop/pkg/cart.(*Cart).Total(0x0)
	/home/runner/work/shop/shop/pkg/cart/cart.go:17 +0x1d
github.com/acme/shop/pkg/cart.Checkout(...)
	/home/runner/work/shop/shop/pkg/cart/checkout.go:31
github.com/acme/shop/pkg/cart.TestCheckout(0xc000103520)
	/home/runner/work/shop/shop/pkg/cart/checkout_test.go:12 +0x2c
testing.tRunner(0xc000103520, 0x6a7e18)
	/opt/hostedtoolcache/go/1.22.1/x64/src/testing/testing.go:1689 +0xfb
created by testing.(*T).Run in goroutine 1
	/opt/hostedtoolcache/go/1.22.1/x64/src/testing/testing.go:1742 +0x390
`},
			category:  CategoryNilDereference,
			rootCause: []string{"cart.(*Cart).Total", "pkg/cart/cart.go:17", "nil pointer dereference"},
		},
		{
			name: "a Go index out of range panic is an index error",
			test: "TestFirstItem",
			err: contract.ErrorInfo{
				Type:    "runtime.boundsError",
				Message: "runtime error: index out of range [0] with length 0",
				Stack: `goroutine 19 [running]:
github.com/acme/shop/pkg/cart.(*Cart).First(...)
	/home/runner/work/shop/shop/pkg/cart/cart.go:41
github.com/acme/shop/pkg/cart.TestFirstItem(0xc0001249c0)
	/home/runner/work/shop/shop/pkg/cart/cart_test.go:58 +0x18
`},
			category:  CategoryIndexOutOfRange,
			rootCause: []string{"cart.(*Cart).First", "cart.go:41", "index out of range [0] with length 0"},
		},
		{
			name: "pytest assertion output yields expected and actual from the assert line",
			test: "test_total",
			err: contract.ErrorInfo{
				Type: "AssertionError",
				Message: `assert 9 == 10
 +  where 9 = <bound method Cart.total of <shop.cart.Cart object at 0x7f3b2c1d5e50>>()
 +    where <bound method Cart.total of <shop.cart.Cart object at 0x7f3b2c1d5e50>> = <shop.cart.Cart object at 0x7f3b2c1d5e50>.total`,
				Stack: `    def test_total():
        cart = Cart()
        cart.add(Item("apple", 4))
        cart.add(Item("pear", 5))
>       assert cart.total() == 10
E       assert 9 == 10
E        +  where 9 = <bound method Cart.total of <shop.cart.Cart object at 0x7f3b2c1d5e50>>()
E        +    where <bound method Cart.total of <shop.cart.Cart object at 0x7f3b2c1d5e50>> = <shop.cart.Cart object at 0x7f3b2c1d5e50>.total

tests/test_cart.py:12: AssertionError`},
			category:  CategoryAssertion,
			rootCause: []string{"expected 10, got 9", "tests/test_cart.py:12"},
		},
		{
			name: "a unittest assertEqual failure reads first != second",
			test: "test_total",
			err: contract.ErrorInfo{
				Type:    "AssertionError",
				Message: "9 != 10",
				Stack: `Traceback (most recent call last):
  File "/home/runner/work/shop/shop/tests/test_cart.py", line 14, in test_total
    self.assertEqual(cart.total(), 10)
AssertionError: 9 != 10`},
			category:  CategoryAssertion,
			rootCause: []string{"expected 10, got 9", "test_total", "test_cart.py:14"},
		},
		{
			name: "a Python NoneType attribute error points at the innermost project frame",
			test: "test_checkout",
			err: contract.ErrorInfo{
				Type:    "AttributeError",
				Message: "'NoneType' object has no attribute 'amount'",
				Stack: `Traceback (most recent call last):
  File "/home/runner/work/shop/shop/tests/test_checkout.py", line 9, in test_checkout
    assert checkout(cart) == 9
  File "/home/runner/work/shop/shop/shop/checkout.py", line 31, in checkout
    return cart.total()
  File "/home/runner/work/shop/shop/shop/cart.py", line 23, in total
    return sum(i.price for i in self.items) - self.discount.amount
AttributeError: 'NoneType' object has no attribute 'amount'`},
			category:  CategoryNilDereference,
			rootCause: []string{"in total at", "shop/cart.py:23", "'NoneType' object has no attribute 'amount'"},
		},
		{
			name: "a Java NullPointerException under Caused by points at the innermost cause",
			test: "checkoutComputesTotal",
			err: contract.ErrorInfo{
				Type:    "java.lang.IllegalStateException",
				Message: "Failed to compute total",
				Stack: `java.lang.IllegalStateException: Failed to compute total
	at com.acme.shop.cart.CartService.checkout(CartService.java:42)
	at com.acme.shop.cart.CartServiceTest.checkoutComputesTotal(CartServiceTest.java:18)
	at java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)
	at java.base/java.lang.reflect.Method.invoke(Method.java:580)
	at org.junit.platform.commons.util.ReflectionUtils.invokeMethod(ReflectionUtils.java:728)
Caused by: java.lang.NullPointerException: Cannot invoke "com.acme.shop.cart.Item.price()" because "item" is null
	at com.acme.shop.cart.Cart.total(Cart.java:27)
	at com.acme.shop.cart.CartService.checkout(CartService.java:40)
	... 68 more`},
			category:  CategoryNilDereference,
			rootCause: []string{"com.acme.shop.cart.Cart.total", "Cart.java:27", "java.lang.NullPointerException", "wrapped in java.lang.IllegalStateException"},
		},
		{
			name: "a JUnit 5 assertEquals failure is an assertion with expected and actual",
			test: "totalSumsPrices",
			err: contract.ErrorInfo{
				Type:    "org.opentest4j.AssertionFailedError",
				Message: "expected: <10> but was: <9>",
				Stack: `org.opentest4j.AssertionFailedError: expected: <10> but was: <9>
	at org.junit.jupiter.api.AssertionFailureBuilder.build(AssertionFailureBuilder.java:151)
	at org.junit.jupiter.api.AssertionFailureBuilder.buildAndThrow(AssertionFailureBuilder.java:132)
	at org.junit.jupiter.api.AssertEquals.failNotEqual(AssertEquals.java:197)
	at org.junit.jupiter.api.AssertEquals.assertEquals(AssertEquals.java:150)
	at org.junit.jupiter.api.Assertions.assertEquals(Assertions.java:563)
	at com.acme.shop.cart.CartTest.totalSumsPrices(CartTest.java:21)
	at java.base/java.lang.reflect.Method.invoke(Method.java:580)`},
			category:  CategoryAssertion,
			rootCause: []string{"expected 10, got 9", "CartTest.totalSumsPrices", "CartTest.java:21"},
		},
		{
			name: "a JUnit 4 assertEquals failure is an assertion with expected and actual",
			test: "totalSumsPrices",
			err: contract.ErrorInfo{
				Type:    "java.lang.AssertionError",
				Message: "expected:<10> but was:<9>",
				Stack: `java.lang.AssertionError: expected:<10> but was:<9>
	at org.junit.Assert.fail(Assert.java:89)
	at org.junit.Assert.failNotEquals(Assert.java:835)
	at org.junit.Assert.assertEquals(Assert.java:647)
	at com.acme.shop.cart.CartTest.totalSumsPrices(CartTest.java:19)`},
			category:  CategoryAssertion,
			rootCause: []string{"expected 10, got 9", "CartTest.java:19"},
		},
		{
			name: "a Node TypeError on undefined is a nil dereference at the V8 frame",
			test: "computes the total",
			err: contract.ErrorInfo{
				Type:    "TypeError",
				Message: "Cannot read properties of undefined (reading 'price')",
				Stack: `TypeError: Cannot read properties of undefined (reading 'price')
    at /home/runner/work/shop/shop/src/cart.js:14:32
    at Array.reduce (<anonymous>)
    at Cart.total (/home/runner/work/shop/shop/src/cart.js:14:24)
    at Object.<anonymous> (/home/runner/work/shop/shop/test/cart.test.js:9:17)
    at Promise.then.completed (/home/runner/work/shop/shop/node_modules/jest-circus/build/utils.js:298:28)
    at new Promise (<anonymous>)
    at callAsyncCircusFn (/home/runner/work/shop/shop/node_modules/jest-circus/build/utils.js:231:10)`},
			category:  CategoryNilDereference,
			rootCause: []string{"src/cart.js:14", "TypeError: Cannot read properties of undefined (reading 'price')"},
		},
		{
			name: "a Jest expect failure is an assertion with expected and received",
			test: "Cart computes the total",
			err: contract.ErrorInfo{
				Type: "Error",
				Message: "\x1b[2mexpect(\x1b[22m\x1b[31mreceived\x1b[39m\x1b[2m).\x1b[22mtoBe\x1b[2m(\x1b[22m\x1b[32mexpected\x1b[39m\x1b[2m) // Object.is equality\x1b[22m\n\n" +
					"Expected: \x1b[32m10\x1b[39m\nReceived: \x1b[31m9\x1b[39m",
				Stack: `Error: expect(received).toBe(expected) // Object.is equality

Expected: 10
Received: 9
    at Object.toBe (/home/runner/work/shop/shop/test/cart.test.js:12:26)
    at Promise.then.completed (/home/runner/work/shop/shop/node_modules/jest-circus/build/utils.js:298:28)
    at new Promise (<anonymous>)`},
			category:  CategoryAssertion,
			rootCause: []string{"expected 10, got 9", "Object.toBe", "test/cart.test.js:12"},
		},
		{
			name: "a Chai failure is an assertion with expected and actual",
			test: "cart total",
			err: contract.ErrorInfo{
				Type:    "AssertionError",
				Message: "expected 9 to equal 10",
				Stack: `AssertionError: expected 9 to equal 10
    at Context.<anonymous> (test/cart.spec.js:15:33)
    at process.processImmediate (node:internal/timers:476:21)`},
			category:  CategoryAssertion,
			rootCause: []string{"expected 10, got 9", "test/cart.spec.js:15"},
		},
		{
			name: "a .NET NullReferenceException is a nil dereference at the first project frame",
			test: "Total_SumsPrices",
			err: contract.ErrorInfo{
				Type:    "System.NullReferenceException",
				Message: "Object reference not set to an instance of an object.",
				Stack: `   at Acme.Shop.Cart.Total() in /home/runner/work/shop/shop/src/Acme.Shop/Cart.cs:line 27
   at Acme.Shop.Tests.CartTests.Total_SumsPrices() in /home/runner/work/shop/shop/tests/Acme.Shop.Tests/CartTests.cs:line 18
   at System.RuntimeMethodHandle.InvokeMethod(Object target, Void** arguments, Signature sig, Boolean isConstructor)
   at System.Reflection.MethodBaseInvoker.InvokeWithNoArgs(Object obj, BindingFlags invokeAttr)`},
			category:  CategoryNilDereference,
			rootCause: []string{"Acme.Shop.Cart.Total", "Cart.cs:27", "Object reference not set"},
		},
		{
			name: "an xUnit Assert.Equal failure is an assertion with expected and actual",
			test: "Total_SumsPrices",
			err: contract.ErrorInfo{
				Type:    "Xunit.Sdk.EqualException",
				Message: "Assert.Equal() Failure: Values differ\nExpected: 10\nActual:   9",
				Stack:   `   at Acme.Shop.Tests.CartTests.Total_SumsPrices() in D:\a\shop\shop\tests\Acme.Shop.Tests\CartTests.cs:line 21`},
			category:  CategoryAssertion,
			rootCause: []string{"expected 10, got 9", "CartTests.cs:21"},
		},
		{
			name:      "connection refused from Go's net package is a connection failure",
			test:      "TestStoreSave",
			err:       contract.ErrorInfo{Message: "    store_test.go:18: open store: failed to connect to `host=localhost user=postgres database=shop`: dial error (dial tcp 127.0.0.1:5432: connect: connection refused)"},
			category:  CategoryConnRefused,
			rootCause: []string{"store_test.go:18", "dial tcp 127.0.0.1:5432: connect: connection refused"},
		},
		{
			name: "a testify error check quoting connection refused is a connection failure, not an assertion",
			test: "TestStoreSave",
			err: contract.ErrorInfo{Message: `    store_test.go:21: 
        	Error Trace:	/home/runner/work/shop/shop/internal/store/store_test.go:21
        	Error:      	Received unexpected error:
        	            	dial tcp 127.0.0.1:6379: connect: connection refused
        	Test:       	TestStoreSave`},
			category:  CategoryConnRefused,
			rootCause: []string{"store_test.go:21", "dial tcp 127.0.0.1:6379: connect: connection refused"},
		},
		{
			name: "a Python requests connection error is a connection failure",
			test: "test_health",
			err: contract.ErrorInfo{
				Type:    "requests.exceptions.ConnectionError",
				Message: "HTTPConnectionPool(host='localhost', port=8080): Max retries exceeded with url: /health (Caused by NewConnectionError('<urllib3.connection.HTTPConnection object at 0x7f8a1c2b3d90>: Failed to establish a new connection: [Errno 111] Connection refused'))",
			},
			category:  CategoryConnRefused,
			rootCause: []string{"Max retries exceeded"},
		},
		{
			name: "a Go data race report names both accesses",
			test: "TestConcurrentInc",
			err: contract.ErrorInfo{
				Message: "    testing.go:1398: race detected during execution of test",
				Stack: `==================
WARNING: DATA RACE
Write at 0x00c00001c0f8 by goroutine 8:
  github.com/acme/shop/pkg/counter.(*Counter).Inc()
      /home/runner/work/shop/shop/pkg/counter/counter.go:12 +0x44
  github.com/acme/shop/pkg/counter.TestConcurrentInc.func1()
      /home/runner/work/shop/shop/pkg/counter/counter_test.go:15 +0x2e

Previous read at 0x00c00001c0f8 by goroutine 7:
  github.com/acme/shop/pkg/counter.(*Counter).Value()
      /home/runner/work/shop/shop/pkg/counter/counter.go:17 +0x3a
  github.com/acme/shop/pkg/counter.TestConcurrentInc.func1()
      /home/runner/work/shop/shop/pkg/counter/counter_test.go:16 +0x44

Goroutine 8 (running) created at:
  github.com/acme/shop/pkg/counter.TestConcurrentInc()
      /home/runner/work/shop/shop/pkg/counter/counter_test.go:13 +0x84
  testing.tRunner()
      /opt/hostedtoolcache/go/1.22.1/x64/src/testing/testing.go:1689 +0x21e
==================`},
			category:  CategoryDataRace,
			rootCause: []string{"counter.(*Counter).Inc", "counter.go:12", "previous read in counter.(*Counter).Value", "counter.go:17"},
		},
		{
			name: "a Go test timeout panic is a timeout",
			test: "TestWaitForEvent",
			err: contract.ErrorInfo{
				Message: "panic: test timed out after 10m0s",
				Stack: `panic: test timed out after 10m0s
running tests:
	TestWaitForEvent (10m0s)

goroutine 21 [chan receive, 9 minutes]:
github.com/acme/shop/pkg/events.TestWaitForEvent(0xc000007860)
	/home/runner/work/shop/shop/pkg/events/events_test.go:44 +0x10c
testing.tRunner(0xc000007860, 0x6b1f28)
	/opt/hostedtoolcache/go/1.22.1/x64/src/testing/testing.go:1689 +0xfb`},
			category:  CategoryTimeout,
			rootCause: []string{"events.TestWaitForEvent", "events_test.go:44", "test timed out after 10m0s"},
		},
		{
			name:      "a Go HTTP client deadline is a timeout",
			test:      "TestListOrders",
			err:       contract.ErrorInfo{Message: "    orders_test.go:33: list orders: Get \"http://localhost:9000/orders\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"},
			category:  CategoryTimeout,
			rootCause: []string{"orders_test.go:33", "context deadline exceeded"},
		},
		{
			name:      "a .NET TimeoutException is a timeout",
			test:      "Checkout_Completes",
			err:       contract.ErrorInfo{Type: "System.TimeoutException", Message: "The operation has timed out."},
			category:  CategoryTimeout,
			rootCause: []string{"System.TimeoutException: The operation has timed out."},
		},
		{
			name: "a Node DNS failure is a network error",
			test: "charges the card",
			err: contract.ErrorInfo{
				Type:    "Error",
				Message: "getaddrinfo ENOTFOUND api.payments.internal",
				Stack: `Error: getaddrinfo ENOTFOUND api.payments.internal
    at GetAddrInfoReqWrap.onlookup [as oncomplete] (node:dns:107:26)`},
			category:  CategoryNetwork,
			rootCause: []string{"getaddrinfo ENOTFOUND api.payments.internal"},
		},
		{
			name:      "an EOF from a Go HTTP call is a network error",
			test:      "TestCharge",
			err:       contract.ErrorInfo{Message: "    charge_test.go:25: charge: Post \"http://127.0.0.1:8081/charge\": EOF"},
			category:  CategoryNetwork,
			rootCause: []string{"charge_test.go:25", "EOF"},
		},
		{
			name:      "an unexpected EOF reading a file is not a network error",
			test:      "TestLoadFixture",
			err:       contract.ErrorInfo{Message: "    fixture_test.go:12: decode fixture: unexpected EOF"},
			category:  CategoryUnknown,
			rootCause: []string{"fixture_test.go:12", "decode fixture: unexpected EOF"},
		},
		{
			name:      "a Go permission denied is a permission error",
			test:      "TestCacheOpen",
			err:       contract.ErrorInfo{Message: "    cache_test.go:14: open /var/lib/shop/cache.db: permission denied"},
			category:  CategoryPermission,
			rootCause: []string{"cache_test.go:14", "permission denied"},
		},
		{
			name:      "a Node EACCES is a permission error",
			test:      "writes the report",
			err:       contract.ErrorInfo{Type: "Error", Message: "EACCES: permission denied, open '/etc/shop/report.json'"},
			category:  CategoryPermission,
			rootCause: []string{"EACCES"},
		},
		{
			name: "a Python FileNotFoundError is a missing file",
			test: "test_load_orders",
			err: contract.ErrorInfo{
				Type:    "FileNotFoundError",
				Message: "[Errno 2] No such file or directory: 'fixtures/orders.json'",
				Stack: `Traceback (most recent call last):
  File "/home/runner/work/shop/shop/tests/test_orders.py", line 6, in test_load_orders
    orders = load_orders("fixtures/orders.json")
  File "/home/runner/work/shop/shop/shop/orders.py", line 11, in load_orders
    with open(path) as f:
FileNotFoundError: [Errno 2] No such file or directory: 'fixtures/orders.json'`},
			category:  CategoryMissingFile,
			rootCause: []string{"load_orders", "shop/orders.py:11", "fixtures/orders.json"},
		},
		{
			name:      "a Node ENOENT is a missing file",
			test:      "loads fixtures",
			err:       contract.ErrorInfo{Type: "Error", Message: "ENOENT: no such file or directory, open 'fixtures/orders.json'"},
			category:  CategoryMissingFile,
			rootCause: []string{"ENOENT"},
		},
		{
			name:      "a Java OutOfMemoryError is out of memory",
			test:      "importsLargeCatalog",
			err:       contract.ErrorInfo{Type: "java.lang.OutOfMemoryError", Message: "Java heap space"},
			category:  CategoryOutOfMemory,
			rootCause: []string{"java.lang.OutOfMemoryError: Java heap space"},
		},
		{
			name: "a Node heap exhaustion is out of memory",
			test: "imports the catalog",
			err: contract.ErrorInfo{Message: `<--- Last few GCs --->

[2817:0x5e1a4c0]    41235 ms: Mark-Compact 2047.1 (2083.4) -> 2046.3 (2084.1) MB, 1801.3 / 0.0 ms  (average mu = 0.098, current mu = 0.011) allocation failure; scavenge might not succeed

FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory`},
			category:  CategoryOutOfMemory,
			rootCause: []string{"JavaScript heap out of memory"},
		},
		{
			name: "a Python KeyError from os.environ is a configuration problem",
			test: "test_settings",
			err: contract.ErrorInfo{
				Type:    "KeyError",
				Message: "'DATABASE_URL'",
				Stack: `Traceback (most recent call last):
  File "/home/runner/work/shop/shop/shop/settings.py", line 8, in <module>
    DATABASE_URL = os.environ["DATABASE_URL"]
  File "/usr/lib/python3.11/os.py", line 679, in __getitem__
    raise KeyError(key) from None
KeyError: 'DATABASE_URL'`},
			category:  CategoryConfiguration,
			rootCause: []string{"shop/settings.py:8", "KeyError: 'DATABASE_URL'"},
		},
		{
			name:      "a Python KeyError on the code's own data is a key error",
			test:      "test_price_lookup",
			err:       contract.ErrorInfo{Type: "KeyError", Message: "'sku-123'"},
			category:  CategoryIndexOutOfRange,
			rootCause: []string{"KeyError: 'sku-123'"},
		},
		{
			name:      "a Java ArrayIndexOutOfBoundsException is an index error",
			test:      "firstItem",
			err:       contract.ErrorInfo{Type: "java.lang.ArrayIndexOutOfBoundsException", Message: "Index 3 out of bounds for length 3", Stack: "java.lang.ArrayIndexOutOfBoundsException: Index 3 out of bounds for length 3\n\tat com.acme.shop.cart.Cart.item(Cart.java:51)"},
			category:  CategoryIndexOutOfRange,
			rootCause: []string{"com.acme.shop.cart.Cart.item", "Cart.java:51"},
		},
		{
			name:      "a missing environment variable is a configuration problem",
			test:      "TestPaymentsClient",
			err:       contract.ErrorInfo{Message: "    payments_test.go:11: load config: required environment variable \"STRIPE_API_KEY\" is not set"},
			category:  CategoryConfiguration,
			rootCause: []string{"payments_test.go:11", "STRIPE_API_KEY"},
		},
		{
			name: "an unclassified Go panic is a panic",
			test: "TestAddItem",
			err: contract.ErrorInfo{
				Message: "panic: cart: negative quantity -1",
				Stack: `panic: cart: negative quantity -1

goroutine 6 [running]:
github.com/acme/shop/pkg/cart.(*Cart).Add(0xc00011e000, {0x5d2f1e, 0x5}, 0xffffffffffffffff)
	/home/runner/work/shop/shop/pkg/cart/cart.go:29 +0x1a5
github.com/acme/shop/pkg/cart.TestAddItem(0xc000007a00)
	/home/runner/work/shop/shop/pkg/cart/cart_test.go:70 +0x4e`},
			category:  CategoryPanic,
			rootCause: []string{"cart.(*Cart).Add", "cart.go:29", "negative quantity -1"},
		},
		{
			name:      "an error no rule knows is unknown but still located",
			test:      "TestSync",
			err:       contract.ErrorInfo{Message: "    sync_test.go:40: sync: upstream returned 2 conflicting versions"},
			category:  CategoryUnknown,
			rootCause: []string{"sync_test.go:40", "upstream returned 2 conflicting versions"},
		},
	}
	d := New()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{
				Signature:   contract.Signature{ID: "sig-1", Project: "shop", Occurrences: 1},
				Occurrences: []contract.Failure{testFailure(tt.test, tt.err)},
			}
			got, err := d.Diagnose(context.Background(), in)
			if err != nil {
				t.Fatalf("Diagnose: %v", err)
			}
			if got.Category != tt.category {
				t.Errorf("Category = %q, want %q (root cause %q)", got.Category, tt.category, got.RootCause)
			}
			for _, want := range tt.rootCause {
				if !strings.Contains(got.RootCause, want) {
					t.Errorf("RootCause = %q, want it to mention %q", got.RootCause, want)
				}
			}
			if got.Diagnoser != Name || got.Model != "" || got.CostUSD != 0 {
				t.Errorf("Diagnoser, Model, CostUSD = %q, %q, %v; want %q, \"\", 0", got.Diagnoser, got.Model, got.CostUSD, Name)
			}
			if got.Confidence <= 0 || got.Confidence > 1 {
				t.Errorf("Confidence = %v, want within (0, 1]", got.Confidence)
			}
			if got.SuggestedFix == "" {
				t.Error("SuggestedFix is empty")
			}
		})
	}
}
