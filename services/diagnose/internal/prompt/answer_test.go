package prompt_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/diagnose/internal/prompt"
)

const goodAnswer = `{
  "root_cause": "Total indexes items[0] without checking the cart is empty.",
  "evidence": [
    {"kind": "frame", "summary": "The panic is raised in Total.", "file": "cart/cart.go", "line": 11},
    {"kind": "Commit", "summary": "9f2c1e7 removed the empty-cart guard."}
  ],
  "suggested_fix": "Return 0 when the cart is empty.",
  "confidence": 0.8,
  "category": "Index Out Of Range"
}`

func TestParseAnswer(t *testing.T) {
	want := contract.Diagnosis{
		Category:  "index-out-of-range",
		RootCause: "Total indexes items[0] without checking the cart is empty.",
		Evidence: []contract.Evidence{
			{Kind: "frame", Summary: "The panic is raised in Total.", File: "cart/cart.go", Line: 11},
			{Kind: "commit", Summary: "9f2c1e7 removed the empty-cart guard."},
		},
		SuggestedFix: "Return 0 when the cart is empty.",
		Confidence:   0.8,
	}
	tests := []struct {
		name    string
		text    string
		want    *contract.Diagnosis
		wantErr string
	}{
		{name: "a bare JSON object is parsed", text: goodAnswer, want: &want},
		{name: "an object in a json fence is parsed", text: "Here is my analysis.\n\n```json\n" + goodAnswer + "\n```\n", want: &want},
		{name: "an object in a fence without a language is parsed", text: "```\n" + goodAnswer + "\n```", want: &want},
		{name: "an object surrounded by prose is parsed", text: "After reading cart.go {briefly} I conclude:\n" + goodAnswer + "\nHope this helps {:}", want: &want},
		{name: "the object with a root cause wins over an earlier one", text: `The config was {"a": 1}. Answer: ` + goodAnswer, want: &want},
		{
			name: "a missing category becomes unknown and missing evidence an empty list",
			text: `{"root_cause": "r", "suggested_fix": "f", "confidence": 0}`,
			want: &contract.Diagnosis{Category: "unknown", RootCause: "r", SuggestedFix: "f", Evidence: []contract.Evidence{}},
		},
		{
			name: "secrets in the answer are scrubbed",
			text: `{"root_cause": "the key AKIAIOSFODNN7EXAMPLE expired", "suggested_fix": "rotate it; mail ops@example.com", "confidence": 0.5, "category": "configuration"}`,
			want: &contract.Diagnosis{Category: "configuration", RootCause: "the key [REDACTED] expired", SuggestedFix: "rotate it; mail [EMAIL]", Confidence: 0.5, Evidence: []contract.Evidence{}},
		},
		{name: "an empty answer is refused", text: "  \n", wantErr: "empty"},
		{name: "prose without JSON is refused", text: "I could not find the cause.", wantErr: "no JSON object"},
		{name: "a truncated object is refused", text: `{"root_cause": "r", "suggested_fix": "f", "confid`, wantErr: "no JSON object"},
		{name: "an array is refused", text: `[{"root_cause": "r"}]`, wantErr: "suggested_fix is missing"},
		{name: "an empty root cause is refused", text: `{"root_cause": " ", "suggested_fix": "f", "confidence": 0.5}`, wantErr: "root_cause is missing or empty"},
		{name: "a missing suggested fix is refused", text: `{"root_cause": "r", "confidence": 0.5}`, wantErr: "suggested_fix is missing or empty"},
		{name: "a missing confidence is refused", text: `{"root_cause": "r", "suggested_fix": "f"}`, wantErr: "confidence is missing"},
		{name: "a confidence above 1 is refused", text: `{"root_cause": "r", "suggested_fix": "f", "confidence": 80}`, wantErr: "not between 0 and 1"},
		{name: "a negative confidence is refused", text: `{"root_cause": "r", "suggested_fix": "f", "confidence": -0.1}`, wantErr: "not between 0 and 1"},
		{name: "a confidence given as a string is refused", text: `{"root_cause": "r", "suggested_fix": "f", "confidence": "high"}`, wantErr: "decode"},
		{name: "an unknown evidence kind is refused", text: `{"root_cause": "r", "suggested_fix": "f", "confidence": 0.5, "evidence": [{"kind": "hunch", "summary": "s"}]}`, wantErr: `evidence[0].kind "hunch"`},
		{name: "evidence without a summary is refused", text: `{"root_cause": "r", "suggested_fix": "f", "confidence": 0.5, "evidence": [{"kind": "note"}]}`, wantErr: "evidence[0].summary is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := prompt.ParseAnswer(tt.text)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseAnswer() error = %v, want one about %q", err, tt.wantErr)
				}
				if !errors.Is(err, prompt.ErrInvalidAnswer) {
					t.Errorf("ParseAnswer() error = %v, want it to wrap ErrInvalidAnswer", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseAnswer() error = %v", err)
			}
			if !reflect.DeepEqual(got, *tt.want) {
				t.Errorf("ParseAnswer()\n got: %#v\nwant: %#v", got, *tt.want)
			}
		})
	}
}

func TestParseAnswerBoundsWhatItKeeps(t *testing.T) {
	var ev []string
	for range 50 {
		ev = append(ev, `{"kind": "note", "summary": "`+strings.Repeat("s", 5000)+`"}`)
	}
	text := `{"root_cause": "` + strings.Repeat("r", 10000) + `", "suggested_fix": "f", "confidence": 0.5, "evidence": [` + strings.Join(ev, ",") + `]}`
	got, err := prompt.ParseAnswer(text)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.RootCause) > 2100 || len(got.Evidence) > 20 || len(got.Evidence[0].Summary) > 700 {
		t.Errorf("ParseAnswer kept a %d-byte root cause and %d pieces of evidence of %d bytes", len(got.RootCause), len(got.Evidence), len(got.Evidence[0].Summary))
	}
}

func TestAttachSource(t *testing.T) {
	tree := writeTree(t)
	ev := []contract.Evidence{
		{Kind: "frame", Summary: "resolves", File: "/ci/work/shop/cart/cart.go", Line: 10},
		{Kind: "source", Summary: "line past the end", File: "cart/cart.go", Line: 999},
		{Kind: "frame", Summary: "no such file", File: "cart/missing.go", Line: 3},
		{Kind: "commit", Summary: "not a location", File: "cart/cart.go", Line: 11},
		{Kind: "frame", Summary: "escapes the tree", File: "../../etc/passwd", Line: 1},
	}
	prompt.AttachSource(ev, tree)
	if ev[0].File != "cart/cart.go" || !strings.Contains(ev[0].Snippet, "> 10 | \t}") || !strings.Contains(ev[0].Snippet, "token=[REDACTED]") {
		t.Errorf("a resolvable frame got file %q and snippet %q", ev[0].File, ev[0].Snippet)
	}
	if strings.Contains(ev[0].Snippet, "HARDCODED") {
		t.Errorf("the attached snippet leaks a secret: %q", ev[0].Snippet)
	}
	for _, e := range ev[1:] {
		if e.Snippet != "" {
			t.Errorf("evidence %q got a snippet: %q", e.Summary, e.Snippet)
		}
	}
	if ev[2].File != "cart/missing.go" {
		t.Errorf("an unresolvable file was changed to %q", ev[2].File)
	}
}
