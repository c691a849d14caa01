package heuristic

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/diagnose/internal/codebase"
	"github.com/rounds-dev/rounds/services/diagnose/internal/evidence"
	"github.com/rounds-dev/rounds/services/diagnose/internal/git"
)

const goNilPanic = `panic: runtime error: invalid memory address or nil pointer dereference [recovered]
	panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x1 addr=0x8 pc=0x5f3a2d]

goroutine 7 [running]:
testing.tRunner.func1.2({0x61d2a0, 0x8a5d50})
	/usr/local/go/src/testing/testing.go:1631 +0x24a
panic({0x61d2a0?, 0x8a5d50?})
	/usr/local/go/src/runtime/panic.go:770 +0x132
github.com/acme/shop/pkg/cart.(*Cart).Total(0x0)
	/home/runner/work/shop/shop/pkg/cart/cart.go:17 +0x1d
github.com/acme/shop/pkg/cart.TestCheckout(0xc000103520)
	/home/runner/work/shop/shop/pkg/cart/checkout_test.go:12 +0x2c
`

const javaCausedBy = `java.lang.IllegalStateException: Failed to compute total
	at com.acme.shop.cart.CartService.checkout(CartService.java:42)
	at com.acme.shop.cart.CartServiceTest.checkoutComputesTotal(CartServiceTest.java:18)
Caused by: java.lang.NullPointerException: Cannot invoke "com.acme.shop.cart.Item.price()" because "item" is null
	at com.acme.shop.cart.Cart.total(Cart.java:5)
	at com.acme.shop.cart.CartService.checkout(CartService.java:40)
	... 68 more`

// shopTree writes a small project into a temporary directory.
func shopTree(t *testing.T) *codebase.Tree {
	t.Helper()
	var cart strings.Builder
	cart.WriteString("package cart\n\n")
	for i := 3; i <= 15; i++ {
		fmt.Fprintf(&cart, "// line %d\n", i)
	}
	cart.WriteString("func (c *Cart) Total() int {\n\treturn c.items[0].Price\n}\n")
	files := map[string]string{
		"pkg/cart/cart.go":                            cart.String(),
		"pkg/cart/checkout_test.go":                   strings.Repeat("\n", 11) + "\tc.Checkout()\n",
		"src/main/java/com/acme/shop/cart/Cart.java":  "package com.acme.shop.cart;\n\nclass Cart {\n  int total() {\n    return items.stream().mapToInt(item -> item.price()).sum();\n  }\n}\n",
		"src/main/java/com/acme/shop/other/Cart.java": "package com.acme.shop.other;\nclass Cart {}\n",
		"tests/test_cart.py":                          "def test_total():\n    cart = Cart()\n    assert cart.total() == 10\n",
	}
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tree, err := codebase.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

func diagnose(t *testing.T, in Input) contract.Diagnosis {
	t.Helper()
	if in.Signature.ID == "" {
		in.Signature.ID = "sig-1"
		in.Signature.Project = "shop"
	}
	d, err := New().Diagnose(context.Background(), in)
	if err != nil {
		t.Fatalf("Diagnose: %v", err)
	}
	return d
}

func evidenceOf(d contract.Diagnosis, kind string) []contract.Evidence {
	var out []contract.Evidence
	for _, e := range d.Evidence {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

func TestDiagnoseQuotesTheSourceOfTheFailingFrame(t *testing.T) {
	tree := shopTree(t)
	yes, no := true, false
	tests := []struct {
		name      string
		failure   contract.Failure
		file      string
		line      int
		snippet   string
		rootCause []string
	}{
		{
			name:      "a Go panic's CI path resolves to the file in the codebase",
			failure:   testFailure("TestCheckout", contract.ErrorInfo{Message: "runtime error: invalid memory address or nil pointer dereference", Stack: goNilPanic}),
			file:      "pkg/cart/cart.go",
			line:      17,
			snippet:   "> 17 | \treturn c.items[0].Price",
			rootCause: []string{"cart.(*Cart).Total at pkg/cart/cart.go:17", "The failing line is `return c.items[0].Price`."},
		},
		{
			name:      "a JVM cause's class file resolves through its package",
			failure:   testFailure("checkoutComputesTotal", contract.ErrorInfo{Type: "java.lang.IllegalStateException", Message: "Failed to compute total", Stack: javaCausedBy}),
			file:      "src/main/java/com/acme/shop/cart/Cart.java",
			line:      5,
			snippet:   "> 5 |     return items.stream()",
			rootCause: []string{"at src/main/java/com/acme/shop/cart/Cart.java:5", "java.lang.NullPointerException"},
		},
		{
			name: "structured frames marked in-app are preferred to library frames",
			failure: testFailure("TestCheckout", contract.ErrorInfo{
				Type:    "panic",
				Message: "runtime error: invalid memory address or nil pointer dereference",
				Frames: []contract.Frame{
					{Function: "runtime.gopanic", File: "/usr/local/go/src/runtime/panic.go", Line: 770, InApp: &no},
					{Function: "github.com/acme/shop/pkg/cart.(*Cart).Total", File: "/build/pkg/cart/cart.go", Line: 17, InApp: &yes},
				},
			}),
			file:      "pkg/cart/cart.go",
			line:      17,
			snippet:   "> 17 |",
			rootCause: []string{"cart.(*Cart).Total at pkg/cart/cart.go:17"},
		},
		{
			name: "the test's own location is used when there is no stack",
			failure: func() contract.Failure {
				f := testFailure("test_total", contract.ErrorInfo{Type: "AssertionError", Message: "assert 9 == 10"})
				f.Test.File, f.Test.Line = "tests/test_cart.py", 3
				return f
			}(),
			file:      "tests/test_cart.py",
			line:      3,
			snippet:   "> 3 |     assert cart.total() == 10",
			rootCause: []string{"in test_total at tests/test_cart.py:3", "expected 10, got 9"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			with := diagnose(t, Input{Occurrences: []contract.Failure{tt.failure}, Tree: tree})
			source := evidenceOf(with, "source")
			if len(source) != 1 {
				t.Fatalf("source evidence = %+v, want one", source)
			}
			if source[0].File != tt.file || source[0].Line != tt.line || !strings.Contains(source[0].Snippet, tt.snippet) {
				t.Fatalf("source evidence = %s:%d\n%s\nwant %s:%d containing %q", source[0].File, source[0].Line, source[0].Snippet, tt.file, tt.line, tt.snippet)
			}
			frame := evidenceOf(with, "frame")
			if len(frame) == 0 || frame[0].File != tt.file || frame[0].Line != tt.line {
				t.Fatalf("frame evidence = %+v, want %s:%d", frame, tt.file, tt.line)
			}
			for _, want := range tt.rootCause {
				if !strings.Contains(with.RootCause, want) {
					t.Errorf("RootCause = %q, want it to mention %q", with.RootCause, want)
				}
			}

			without := diagnose(t, Input{Occurrences: []contract.Failure{tt.failure}})
			if len(evidenceOf(without, "source")) != 0 {
				t.Errorf("source evidence without a codebase: %+v", evidenceOf(without, "source"))
			}
			if with.Confidence <= without.Confidence {
				t.Errorf("confidence with source %.2f, without %.2f; want higher with source", with.Confidence, without.Confidence)
			}
		})
	}
}

func TestDiagnoseNotes(t *testing.T) {
	tree := shopTree(t)
	first := time.Date(2025, 3, 1, 8, 30, 0, 0, time.UTC)
	last := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	failure := testFailure("TestCheckout", contract.ErrorInfo{Message: "runtime error: invalid memory address or nil pointer dereference", Stack: goNilPanic})

	tests := []struct {
		name      string
		signature contract.Signature
		failure   contract.Failure
		kind      string
		summary   []string
	}{
		{
			name:      "occurrences are counted with their time span and first commit",
			signature: contract.Signature{Occurrences: 12, FirstSeen: first, LastSeen: last, FirstCommit: "9f2c1e7d4b5a6c3e2f1a0b9c8d7e6f5a4b3c2d1e", LastCommit: "0123456789abcdef0123"},
			failure:   failure,
			kind:      "occurrence",
			summary:   []string{"Seen 12 times between 2025-03-01 08:30 UTC and 2025-03-04 10:00 UTC", "first seen at commit 9f2c1e7d4b5a", "last at 0123456789ab"},
		},
		{
			name:    "a single occurrence is seen once",
			failure: failure,
			kind:    "occurrence",
			summary: []string{"Seen once, at 2025-03-04 10:00 UTC"},
		},
		{
			name:      "a flaky signature gets a note",
			signature: contract.Signature{Flaky: true},
			failure:   failure,
			kind:      "note",
			summary:   []string{"flaky"},
		},
		{
			name:      "a regressed signature gets a note",
			signature: contract.Signature{Regressed: true},
			failure:   failure,
			kind:      "note",
			summary:   []string{"regressed"},
		},
		{
			name:    "a frame past the end of its file says the codebase may be at another commit",
			failure: testFailure("TestCheckout", contract.ErrorInfo{Message: "runtime error: invalid memory address or nil pointer dereference", Stack: strings.ReplaceAll(goNilPanic, "cart.go:17", "cart.go:170")}),
			kind:    "note",
			summary: []string{"pkg/cart/cart.go exists in the codebase but has no line 170"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.signature.ID, tt.signature.Project = "sig-1", "shop"
			d := diagnose(t, Input{Signature: tt.signature, Occurrences: []contract.Failure{tt.failure}, Tree: tree})
			found := evidenceOf(d, tt.kind)
			for _, e := range found {
				ok := true
				for _, want := range tt.summary {
					ok = ok && strings.Contains(e.Summary, want)
				}
				if ok {
					return
				}
			}
			t.Fatalf("%s evidence = %+v, want one mentioning %q", tt.kind, found, tt.summary)
		})
	}
}

func TestDiagnoseLowersConfidenceForFlakySignatures(t *testing.T) {
	f := testFailure("TestCheckout", contract.ErrorInfo{Message: "runtime error: invalid memory address or nil pointer dereference", Stack: goNilPanic})
	steady := diagnose(t, Input{Occurrences: []contract.Failure{f}})
	flaky := diagnose(t, Input{Signature: contract.Signature{ID: "sig-1", Project: "shop", Flaky: true}, Occurrences: []contract.Failure{f}})
	if flaky.Confidence >= steady.Confidence {
		t.Fatalf("flaky confidence %.2f, steady %.2f; want lower when flaky", flaky.Confidence, steady.Confidence)
	}
	if !strings.Contains(flaky.SuggestedFix, "flaky") {
		t.Fatalf("SuggestedFix = %q, want it to mention flakiness", flaky.SuggestedFix)
	}
}

func TestDiagnoseTakesTheStackFromAnOlderOccurrence(t *testing.T) {
	older := testFailure("TestCheckout", contract.ErrorInfo{Message: "runtime error: invalid memory address or nil pointer dereference", Stack: goNilPanic})
	latest := testFailure("TestCheckout", contract.ErrorInfo{Message: "runtime error: invalid memory address or nil pointer dereference"})
	d := diagnose(t, Input{Occurrences: []contract.Failure{older, latest}})
	if !strings.Contains(d.RootCause, "cart.(*Cart).Total") {
		t.Fatalf("RootCause = %q, want the older occurrence's frame", d.RootCause)
	}
}

func TestDiagnoseWithoutALocationSaysSo(t *testing.T) {
	f := testFailure("", contract.ErrorInfo{Type: "java.lang.OutOfMemoryError", Message: "Java heap space"})
	f.Test = nil
	d := diagnose(t, Input{Occurrences: []contract.Failure{f}})
	if !strings.Contains(d.RootCause, "no stack location was reported") || len(evidenceOf(d, "frame")) != 0 {
		t.Fatalf("RootCause = %q, frame evidence %+v; want no location", d.RootCause, evidenceOf(d, "frame"))
	}
}

func TestDiagnoseRefusesWhatItCannotDiagnose(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		in      Input
		wantErr error
	}{
		{name: "a signature without occurrences is an error", ctx: context.Background(), in: Input{Signature: contract.Signature{ID: "sig-1"}}},
		{name: "a cancelled context is an error", ctx: cancelled, in: Input{Signature: contract.Signature{ID: "sig-1"}, Occurrences: []contract.Failure{testFailure("T", contract.ErrorInfo{Message: "x"})}}, wantErr: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New().Diagnose(tt.ctx, tt.in)
			if err == nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Diagnose error = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), "sig-1") {
				t.Fatalf("Diagnose error = %v, want it to name the signature", err)
			}
		})
	}
}

func TestZeroDiagnoserUsesTheBuiltInRules(t *testing.T) {
	var d Diagnoser
	got, err := d.Diagnose(context.Background(), Input{
		Signature:   contract.Signature{ID: "sig-1"},
		Occurrences: []contract.Failure{testFailure("T", contract.ErrorInfo{Type: "java.lang.NullPointerException"})},
	})
	if err != nil || got.Category != CategoryNilDereference {
		t.Fatalf("Diagnose = %q, %v; want %q", got.Category, err, CategoryNilDereference)
	}
}

func TestSourcesQuoteTheTopProjectFrames(t *testing.T) {
	tree := shopTree(t)
	in := Input{Occurrences: []contract.Failure{testFailure("TestCheckout", contract.ErrorInfo{Message: "nil pointer dereference", Stack: goNilPanic})}, Tree: tree}

	got := Sources(context.Background(), in, 3)
	var at []string
	for _, s := range got {
		at = append(at, fmt.Sprintf("%s:%d", s.File, s.Line))
	}
	if want := []string{"pkg/cart/cart.go:17", "pkg/cart/checkout_test.go:12"}; !slices.Equal(at, want) {
		t.Errorf("Sources = %v, want %v (the runtime's frames are not the project's)", at, want)
	}
	if got := Sources(context.Background(), in, 1); len(got) != 1 || got[0].File != "pkg/cart/cart.go" {
		t.Errorf("Sources limited to 1 = %+v, want the failing frame", got)
	}
	in.Tree = nil
	if got := Sources(context.Background(), in, 3); got != nil {
		t.Errorf("Sources without a codebase = %+v", got)
	}
}

func TestGatheredEvidenceNamesTheSuspectCommitAndTheOwners(t *testing.T) {
	tree := shopTree(t)
	in := Input{Occurrences: []contract.Failure{testFailure("TestCheckout", contract.ErrorInfo{Message: "nil pointer dereference", Stack: goNilPanic})}, Tree: tree}
	sources := Sources(context.Background(), in, 3)
	bob := git.Commit{Hash: "3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c", Author: "Bob", Time: time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC), Subject: "Round totals down", Files: []string{"pkg/cart/cart.go"}}
	dave := git.Commit{Hash: "4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d", Author: "Dave", Subject: "Fix a typo"}
	set := &evidence.Set{
		Sources:              sources,
		FirstFailing:         &bob,
		Suspects:             []git.Commit{bob},
		SuspectsChangedFiles: true,
		Owners:               []evidence.FileOwners{{File: "pkg/cart/cart.go", Owners: []string{"@acme/cart"}}},
		OwnersFile:           "CODEOWNERS",
	}
	without := diagnose(t, in)
	in.Evidence = set
	d := diagnose(t, in)

	for _, want := range []string{"commit 3c3c3c3c3c3c (2026-03-01, Bob): \"Round totals down\"", "the only commit since it last passed that changed the failing files"} {
		if !strings.Contains(d.RootCause, want) {
			t.Errorf("RootCause = %q, want it to mention %q", d.RootCause, want)
		}
	}
	for _, want := range []string{"@acme/cart owns pkg/cart/cart.go (per CODEOWNERS)", "Start with commit 3c3c3c3c3c3c."} {
		if !strings.Contains(d.SuggestedFix, want) {
			t.Errorf("SuggestedFix = %q, want it to mention %q", d.SuggestedFix, want)
		}
	}
	if d.Confidence <= without.Confidence {
		t.Errorf("confidence %.2f with a suspect that changed the failing file, %.2f without; want higher", d.Confidence, without.Confidence)
	}
	sources2 := evidenceOf(d, "source")
	if len(sources2) != 2 || sources2[0].File != "pkg/cart/cart.go" || sources2[1].File != "pkg/cart/checkout_test.go" {
		t.Errorf("source evidence = %+v, want the failing frame once and the test's frame", sources2)
	}
	if commits := evidenceOf(d, "commit"); len(commits) != 1 || !strings.Contains(commits[0].Summary, "the first seen failing") {
		t.Errorf("commit evidence = %+v, want the suspect, which is the first failing commit", commits)
	}

	set.Suspects = []git.Commit{bob, dave}
	set.SuspectsChangedFiles = false
	d = diagnose(t, in)
	if strings.Contains(d.RootCause, "commit") {
		t.Errorf("RootCause = %q names a commit though two are suspect", d.RootCause)
	}
}
