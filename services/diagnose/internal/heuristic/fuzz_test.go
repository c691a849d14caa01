package heuristic

import (
	"context"
	"testing"

	"github.com/rounds-dev/rounds/pkg/contract"
)

// FuzzDiagnose checks that no message or stack, however malformed, makes
// the diagnoser fail or produce an empty diagnosis.
func FuzzDiagnose(f *testing.F) {
	f.Add("AssertionError", "assert 9 == 10", goNilPanic)
	f.Add("", "got 9, want 10", javaCausedBy)
	f.Add("TypeError", "Expected: 10\nReceived: 9", "    at Cart.total (/ci/src/cart.js:14:24)")
	f.Add("", "expected:<", "  File \"x.py\", line ")
	d := New()
	f.Fuzz(func(t *testing.T, typ, msg, stack string) {
		got, err := d.Diagnose(context.Background(), Input{
			Signature:   contract.Signature{ID: "sig-1"},
			Occurrences: []contract.Failure{testFailure("T", contract.ErrorInfo{Type: typ, Message: msg, Stack: stack})},
		})
		if err != nil {
			t.Fatal(err)
		}
		if got.Category == "" || got.RootCause == "" || got.SuggestedFix == "" || got.Confidence <= 0 || got.Confidence > 1 {
			t.Fatalf("incomplete diagnosis %+v", got)
		}
	})
}
