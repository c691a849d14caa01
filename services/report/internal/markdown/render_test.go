package markdown

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestRender(t *testing.T) {
	tests := []struct {
		name string
		ev   contract.DiagnosisCompleted
	}{
		{"an assertion failure with a source snippet", assertionFailure()},
		{"a runtime panic with no test identity", runtimePanic()},
		{"a fallback diagnosis", fallbackDiagnosis()},
		{"a snippet containing triple backticks", snippetWithBackticks()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Render(tt.ev)
			if again := Render(tt.ev); !bytes.Equal(got, again) {
				t.Fatal("Render gave different output for the same input")
			}
			golden := filepath.Join("testdata", strings.ReplaceAll(tt.name, " ", "_")+".golden.md")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden file (run with -update to create it): %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Render differs from %s (run with -update to accept):\n%s", golden, got)
			}
		})
	}
}

func TestRenderKeepsUserTextInsideItsBlock(t *testing.T) {
	ev := assertionFailure()
	ev.Signature.Title = "a | b\n# not a heading"
	ev.Signature.MessageTemplate = "x | y\r\n| Injected | row |"
	ev.Signature.Test.Name = "weird`name|"
	ev.Diagnosis.RootCause = "Look:\n```go\nfmt.Println(\"unclosed\")"
	ev.Diagnosis.SuggestedFix = "<script>\nalert(1)\n"
	ev.Diagnosis.Evidence = []contract.Evidence{{
		Kind: "source", File: "a.go", Line: 1,
		Snippet: "ok\r## escaped heading\n````\n```",
	}}
	out := string(Render(ev))
	for _, want := range []string{
		"# a | b # not a heading\n",
		"| Message | `x \\| y \\| Injected \\| row \\|` |\n",
		"| Test | ``weird`name\\|`` in `com.shop.OrderServiceTest` (JUnit 5) |\n",
		"```go\nfmt.Println(\"unclosed\")\n```\n\n### Evidence",
		"\\<script>\nalert(1)\n\n## Grouping",
		"   `````go\n   ok\n   ## escaped heading\n   ````\n   ```\n   `````\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("Render output lacks %q:\n%s", want, out)
		}
	}
	for _, heading := range []string{"## Diagnosis", "### Root cause", "### Evidence", "### Suggested fix", "## Grouping"} {
		if n := strings.Count(out, "\n"+heading+"\n"); n != 1 {
			t.Errorf("Render output has %d %q headings, want 1", n, heading)
		}
	}
}

func TestInlineEscapes(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"snake case stays as it is", "test_user_login", "test_user_login"},
		{"dunder names are escaped", "__init__", `\_\_init\_\_`},
		{"emphasis and code are escaped", "*a* `b`", "\\*a\\* \\`b\\`"},
		{"a link is escaped", "[x](http://e)", `\[x](http://e)`},
		{"html is escaped", "<b>x</b>", `\<b>x\</b>`},
		{"an entity is escaped but a lone ampersand is not", "&amp; & b", `\&amp; & b`},
		{"a pipe is left to table cells", "a|b", "a|b"},
		{"lines are joined", "a\r\nb\rc\n", "a b c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := inline(tt.in); got != tt.want {
				t.Errorf("inline(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCodeSpan(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain text is quoted with one backtick", "a.b", "`a.b`"},
		{"a backtick inside takes two", "a`b", "``a`b``"},
		{"a leading backtick is padded", "`a", "`` `a ``"},
		{"a run of three takes four", "```", "```` ``` ````"},
		{"empty text is shown as empty", "", "_(empty)_"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := codeSpan(tt.in); got != tt.want {
				t.Errorf("codeSpan(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestPercentAndDollars(t *testing.T) {
	for in, want := range map[float64]string{0: "0%", 0.87: "87%", 0.004: "0%", 1: "100%", 1.7: "100%", -1: "0%"} {
		if got := percent(in); got != want {
			t.Errorf("percent(%v) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[float64]string{0.00001: "less than $0.0001", 0.0123: "$0.0123", 2.5: "$2.5000"} {
		if got := dollars(in); got != want {
			t.Errorf("dollars(%v) = %q, want %q", in, got, want)
		}
	}
}

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func assertionFailure() contract.DiagnosisCompleted {
	return contract.DiagnosisCompleted{
		Schema: contract.SchemaDiagnosis,
		ID:     "diag-7f3a",
		Time:   date("2024-05-17T09:04:03Z"),
		Signature: contract.Signature{
			ID:                 "sig-1c9e42",
			Project:            "shop",
			Fingerprint:        "9b2f6c1de0a84a7f",
			FingerprintVersion: 2,
			Title:              "AssertionError in OrderServiceTest.placesOrderWithDiscount",
			Kind:               contract.KindTest,
			Test: &contract.TestIdentity{
				Framework: "JUnit 5",
				Suite:     "com.shop.OrderServiceTest",
				Name:      "placesOrderWithDiscount",
				File:      "src/test/java/com/shop/OrderServiceTest.java",
				Line:      48,
			},
			ErrorType:       "org.opentest4j.AssertionFailedError",
			MessageTemplate: "expected: <<num>> but was: <<num>>",
			Components: []contract.Component{
				{Name: "kind", Value: "test"},
				{Name: "test", Value: "com.shop.OrderServiceTest.placesOrderWithDiscount"},
				{Name: "error_type", Value: "org.opentest4j.AssertionFailedError"},
				{Name: "message", Value: "expected: <<num>> but was: <<num>>"},
			},
			Status:      contract.StatusDiagnosed,
			Occurrences: 12,
			FirstSeen:   date("2024-05-15T14:22:10+02:00"),
			LastSeen:    date("2024-05-17T09:03:58Z"),
			FirstCommit: "4e1d2a9",
			LastCommit:  "b77c0f3",
			Regressed:   true,
			Tags:        []string{"checkout", "team:payments"},
		},
		Diagnosis: contract.Diagnosis{
			Category: "assertion",
			RootCause: "`OrderService.applyDiscount` rounds the discounted price down with integer division, " +
				"so a 15% discount on 90.00 yields 76 instead of 76.50.\n\n" +
				"The test expects the exact amount, which `b77c0f3` started to compute in cents.",
			Evidence: []contract.Evidence{
				{
					Kind:    "source",
					Summary: "The assertion compares the total against 7650 cents.",
					File:    "src/test/java/com/shop/OrderServiceTest.java",
					Line:    48,
					Snippet: "        Order order = service.place(cart, Discount.percent(15));\n" +
						"        assertEquals(7650, order.totalCents());\n",
				},
				{
					Kind:    "frame",
					Summary: "The total is computed by `applyDiscount`.",
					File:    "src/main/java/com/shop/OrderService.java",
					Line:    112,
					Snippet: "    long applyDiscount(long cents, int percent) {\n" +
						"        return cents * (100 - percent) / 100 / 100 * 100;\n" +
						"    }",
				},
				{Kind: "commit", Summary: "`b77c0f3` moved prices from doubles to cents; the failures start there."},
			},
			SuggestedFix: "Drop the `/ 100 * 100` in `applyDiscount` so the cents survive:\n\n" +
				"```java\nreturn cents * (100 - percent) / 100;\n```",
			Confidence: 0.87,
			Diagnoser:  "llm",
			Model:      "claude-sonnet-4",
			CostUSD:    0.0123,
		},
	}
}

func runtimePanic() contract.DiagnosisCompleted {
	return contract.DiagnosisCompleted{
		Schema: contract.SchemaDiagnosis,
		ID:     "diag-0042",
		Time:   date("2024-06-01T00:00:05Z"),
		Signature: contract.Signature{
			ID:                 "sig-77aa01",
			Project:            "billing",
			Fingerprint:        "c0ffee00deadbeef",
			FingerprintVersion: 1,
			Title:              "panic: assignment to entry in nil map",
			Kind:               contract.KindRuntime,
			Service: &contract.ServiceIdentity{
				Name:        "invoicer",
				Version:     "1.8.2",
				Environment: "production",
			},
			ErrorType:       "runtime.Error",
			MessageTemplate: "assignment to entry in nil map",
			Components: []contract.Component{
				{Name: "kind", Value: "runtime"},
				{Name: "service", Value: "invoicer"},
				{Name: "error_type", Value: "runtime.Error"},
				{Name: "frames", Value: "billing/invoice.(*Builder).AddLine\nbilling/invoice.Build\nmain.handleInvoice"},
			},
			Status:      contract.StatusNew,
			Occurrences: 3,
			FirstSeen:   date("2024-05-31T23:58:00Z"),
			LastSeen:    date("2024-06-01T00:00:01Z"),
			LastCommit:  "a1b2c3d4e5f6",
		},
		Diagnosis: contract.Diagnosis{
			Category:  "nil-dereference",
			RootCause: "`Builder.AddLine` writes to `b.totals`, which is only made by `NewBuilder`; a zero `Builder{}` panics.",
			Evidence: []contract.Evidence{
				{
					Kind:    "frame",
					Summary: "The innermost frame in the application.",
					File:    "invoice/builder.go",
					Line:    57,
					Snippet: "func (b *Builder) AddLine(l Line) {\n\tb.totals[l.Currency] += l.Amount\n\tb.lines = append(b.lines, l)\n}",
				},
				{Kind: "occurrence", Summary: "All 3 occurrences come from `handleInvoice` with a zero `Builder`."},
			},
			SuggestedFix: "Create the map lazily in `AddLine`, or build with `NewBuilder` in `handleInvoice`.",
			Confidence:   0.6,
			Diagnoser:    "heuristic",
		},
	}
}

func fallbackDiagnosis() contract.DiagnosisCompleted {
	return contract.DiagnosisCompleted{
		Schema: contract.SchemaDiagnosis,
		ID:     "diag-fb01",
		Time:   date("2024-07-04T12:00:00Z"),
		Signature: contract.Signature{
			ID:                 "sig-3f3f3f",
			Project:            "web",
			Fingerprint:        "0123456789abcdef",
			FingerprintVersion: 2,
			Title:              "TypeError: Cannot read properties of undefined (reading 'id') | checkout > pays",
			Kind:               contract.KindTest,
			Test: &contract.TestIdentity{
				Framework: "jest",
				Suite:     "checkout",
				Name:      "pays with a saved card",
			},
			ErrorType:       "TypeError",
			MessageTemplate: "Cannot read properties of undefined (reading '<str>')\n    at pay (src/checkout.ts)",
			Components: []contract.Component{
				{Name: "kind", Value: "test"},
				{Name: "test", Value: "checkout › pays with a saved card"},
				{Name: "error_type", Value: "TypeError"},
				{Name: "route", Value: ""},
			},
			Status:      contract.StatusDiagnosed,
			Occurrences: 5,
			FirstSeen:   date("2024-07-01T08:00:00Z"),
			LastSeen:    date("2024-07-04T11:59:00Z"),
			Flaky:       true,
		},
		Diagnosis: contract.Diagnosis{
			Category:  "type-error",
			RootCause: "The test reads `card.id` from a card list that is empty in some runs.",
			Evidence: []contract.Evidence{
				{Kind: "note", Summary: "The signature is flaky: it passed on retry in 2 of 5 runs."},
			},
			Confidence:     0.3,
			Diagnoser:      "heuristic",
			Fallback:       true,
			FallbackReason: "llm: request timed out after 30s",
		},
	}
}

func snippetWithBackticks() contract.DiagnosisCompleted {
	return contract.DiagnosisCompleted{
		Schema: contract.SchemaDiagnosis,
		ID:     "diag-md99",
		Time:   date("2024-08-08T08:08:08Z"),
		Signature: contract.Signature{
			ID:                 "sig-md-fence",
			Project:            "docs",
			Fingerprint:        "feedface",
			FingerprintVersion: 2,
			Title:              "AssertionError: rendered `code` block differs",
			Kind:               contract.KindTest,
			Test: &contract.TestIdentity{
				Framework: "pytest",
				Suite:     "tests/test_render.py",
				Name:      "test_fenced_block",
				File:      "tests/test_render.py",
				Line:      21,
			},
			ErrorType: "AssertionError",
			Components: []contract.Component{
				{Name: "test", Value: "tests/test_render.py::test_fenced_block"},
				{Name: "error_type", Value: "AssertionError"},
				{Name: "message", Value: "assert '```' | '~~~'"},
			},
			Status:      contract.StatusDiagnosed,
			Occurrences: 1,
			FirstSeen:   date("2024-08-08T08:00:00Z"),
			LastSeen:    date("2024-08-08T08:00:00Z"),
			FirstCommit: "deadbee",
			LastCommit:  "deadbee",
		},
		Diagnosis: contract.Diagnosis{
			Category: "assertion",
			RootCause: "The renderer closes a fence at the first line of three backticks, even inside a longer fence. " +
				"It also stops here without closing its own example:\n\n```python\nrender('```')",
			Evidence: []contract.Evidence{
				{
					Kind:    "source",
					Summary: "The test renders markdown that nests fences.",
					File:    "tests/test_render.py",
					Line:    21,
					Snippet: "def test_fenced_block():\n" +
						"    src = \"\"\"````\n```\ninner\n```\n````\"\"\"\n" +
						"\n" +
						"    assert render(src) == \"<pre>```\\ninner\\n```</pre>\"\n",
				},
			},
			SuggestedFix: "Compare the closing fence's length with the opening one's.",
			Confidence:   0.92,
			Diagnoser:    "llm",
			Model:        "claude-sonnet-4",
			CostUSD:      0.00004,
		},
	}
}
