package heuristic

import (
	"strings"
	"testing"

	"github.com/rounds-dev/rounds/pkg/contract"
)

func TestScanStackFindsTheFirstLocation(t *testing.T) {
	tests := []struct {
		name  string
		stack string
		want  contract.Frame
	}{
		{
			name:  "a Go trace location takes its function from the line above",
			stack: "goroutine 7 [running]:\ngithub.com/acme/shop/pkg/cart.(*Cart).Total(0x0, {0x1, 0x2})\n\t/ci/shop/pkg/cart/cart.go:17 +0x1d\n",
			want:  contract.Frame{Function: "github.com/acme/shop/pkg/cart.(*Cart).Total", File: "/ci/shop/pkg/cart/cart.go", Line: 17},
		},
		{
			name:  "a Go goroutine creator drops its goroutine number",
			stack: "created by testing.(*T).Run in goroutine 1\n\t/usr/local/go/src/testing/testing.go:1742 +0x390",
			want:  contract.Frame{Function: "testing.(*T).Run", File: "/usr/local/go/src/testing/testing.go", Line: 1742},
		},
		{
			name:  "testify's Error Trace is a location",
			stack: "\tError Trace:\t/ci/shop/pkg/cart/cart_test.go:42",
			want:  contract.Frame{File: "/ci/shop/pkg/cart/cart_test.go", Line: 42},
		},
		{
			name:  "a Python traceback is read innermost first",
			stack: "Traceback (most recent call last):\n  File \"/ci/tests/test_cart.py\", line 9, in test_total\n    cart.total()\n  File \"/ci/shop/cart.py\", line 23, in total\n    return x.y\nAttributeError: y",
			want:  contract.Frame{Function: "total", File: "/ci/shop/cart.py", Line: 23},
		},
		{
			name:  "a pytest report is read innermost first",
			stack: "tests/test_cart.py:7: \n_ _ _ _\n\n    def total(self):\n>       return self.discount.amount\nE       AttributeError: 'NoneType' object has no attribute 'amount'\n\nshop/cart.py:23: AttributeError",
			want:  contract.Frame{File: "shop/cart.py", Line: 23},
		},
		{
			name:  "a JVM frame names its class file",
			stack: "java.lang.NullPointerException\n\tat com.acme.shop.Cart.total(Cart.java:27)",
			want:  contract.Frame{Function: "com.acme.shop.Cart.total", File: "Cart.java", Line: 27},
		},
		{
			name:  "a JVM frame with a module has it split off",
			stack: "\tat java.base/java.util.Objects.requireNonNull(Objects.java:233)",
			want:  contract.Frame{Function: "java.util.Objects.requireNonNull", Module: "java.base", File: "Objects.java", Line: 233},
		},
		{
			name:  "a JVM frame with a jar suffix is read",
			stack: "\tat com.acme.shop.Cart.total(Cart.java:27) ~[shop.jar:1.4.0]",
			want:  contract.Frame{Function: "com.acme.shop.Cart.total", File: "Cart.java", Line: 27},
		},
		{
			name:  "a native JVM frame is skipped",
			stack: "\tat jdk.internal.reflect.NativeMethodAccessorImpl.invoke0(Native Method)\n\tat com.acme.shop.Cart.total(Cart.java:27)",
			want:  contract.Frame{Function: "com.acme.shop.Cart.total", File: "Cart.java", Line: 27},
		},
		{
			name:  "a V8 frame has a line and a column",
			stack: "TypeError: x is undefined\n    at async Cart.total (/ci/src/cart.js:14:24)",
			want:  contract.Frame{Function: "Cart.total", File: "/ci/src/cart.js", Line: 14, Column: 24},
		},
		{
			name:  "an anonymous V8 frame is a bare location",
			stack: "    at new Promise (<anonymous>)\n    at file:///ci/src/cart.mjs:3:9",
			want:  contract.Frame{File: "file:///ci/src/cart.mjs", Line: 3, Column: 9},
		},
		{
			name:  "a .NET frame names its file after in",
			stack: `   at Acme.Shop.Cart.Total(Item item) in C:\src\Acme.Shop\Cart.cs:line 27`,
			want:  contract.Frame{Function: "Acme.Shop.Cart.Total", File: `C:\src\Acme.Shop\Cart.cs`, Line: 27},
		},
		{
			name:  "a host and port are not a location",
			stack: "dial tcp db.example.com:5432: connect: connection refused\n    store_test.go:18: boom",
			want:  contract.Frame{File: "store_test.go", Line: 18},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frames := scanStack(tt.stack)
			if len(frames) == 0 {
				t.Fatalf("scanStack(%q) found no frame", tt.stack)
			}
			if frames[0] != tt.want {
				t.Fatalf("scanStack(%q)[0] = %+v, want %+v", tt.stack, frames[0], tt.want)
			}
		})
	}
}

func TestScanStackIgnoresTextWithoutLocations(t *testing.T) {
	for _, text := range []string{
		"",
		"panic: runtime error: index out of range [5] with length 3",
		"Get \"http://localhost:8080/health\": dial tcp 127.0.0.1:8080: connect: connection refused",
		"    at new Promise (<anonymous>)",
		// A long line of colons once took minutes to scan.
		strings.Repeat(":1", 256<<10),
	} {
		if frames := scanStack(text); len(frames) != 0 {
			t.Errorf("scanStack(%q) = %+v, want no frames", text, frames)
		}
	}
}

func TestInAppFrames(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name   string
		frames []contract.Frame
		want   []int
	}{
		{
			name:   "frames marked in-app decide alone",
			frames: []contract.Frame{{File: "/ci/app/a.go", InApp: &no}, {File: "/ci/vendor/b.go", InApp: &yes}, {File: "/ci/app/c.go"}},
			want:   []int{1},
		},
		{
			name: "unmarked Go runtime, module cache and vendor frames are libraries",
			frames: []contract.Frame{
				{Function: "runtime.gopanic", File: "/usr/local/go/src/runtime/panic.go"},
				{Function: "github.com/lib/pq.(*conn).Query", File: "/home/runner/go/pkg/mod/github.com/lib/pq@v1.10.9/conn.go"},
				{Function: "github.com/acme/shop/vendor/x.F", File: "/ci/shop/vendor/x/x.go"},
				{Function: "github.com/acme/shop/pkg/cart.Total", File: "/ci/shop/pkg/cart/cart.go"},
			},
			want: []int{3},
		},
		{
			name: "unmarked Python, Node, JVM and .NET library frames are libraries",
			frames: []contract.Frame{
				{Function: "pytest_pyfunc_call", File: "/usr/lib/python3.11/site-packages/_pytest/python.py"},
				{Function: "_call_with_frames_removed", File: "<frozen importlib._bootstrap>"},
				{Function: "processTicksAndRejections", File: "node:internal/process/task_queues"},
				{Function: "callAsyncCircusFn", File: "/ci/node_modules/jest-circus/build/utils.js"},
				{Function: "org.junit.Assert.assertEquals", File: "Assert.java"},
				{Function: "System.Linq.Enumerable.Sum", File: ""},
				{Function: "shop.cart.total", File: "/ci/shop/cart.py"},
			},
			want: []int{6},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := inAppFrames(tt.frames)
			if len(got) != len(tt.want) {
				t.Fatalf("inAppFrames = %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("inAppFrames = %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestSourcePathsNarrowJVMFramesByPackage(t *testing.T) {
	tests := []struct {
		name  string
		frame contract.Frame
		want  []string
	}{
		{name: "a Java class file is looked for under its package first", frame: contract.Frame{Function: "com.acme.shop.Cart$Item.price", File: "Item.java"}, want: []string{"com/acme/shop/Item.java", "Item.java"}},
		{name: "a Kotlin file is looked for under its package first", frame: contract.Frame{Function: "com.acme.shop.CartKt.total", File: "Cart.kt"}, want: []string{"com/acme/shop/Cart.kt", "Cart.kt"}},
		{name: "a class in the default package is looked for by name", frame: contract.Frame{Function: "Cart.total", File: "Cart.java"}, want: []string{"Cart.java"}},
		{name: "a path is used as it is", frame: contract.Frame{Function: "total", File: "/ci/shop/cart.py"}, want: []string{"/ci/shop/cart.py"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sourcePaths(tt.frame)
			if len(got) != len(tt.want) {
				t.Fatalf("sourcePaths = %q, want %q", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("sourcePaths = %q, want %q", got, tt.want)
				}
			}
		})
	}
}
