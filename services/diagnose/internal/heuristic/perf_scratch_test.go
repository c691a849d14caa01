package heuristic

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
)

func TestScratchPerf(t *testing.T) {
	for _, c := range []struct{ msg, stack string }{
		{strings.Repeat("expected ", 7000), strings.Repeat("want got expected x.go:1 ", 20000)},
		{strings.Repeat("e", 64<<10), strings.Repeat("\tat a.B.c(B.java:1)\n", 25000)},
		{strings.Repeat("assert a == b\n", 4000), strings.Repeat("  File \"x.py\", line 3, in f\n", 18000)},
		{strings.Repeat("Expected: 1 ", 5000), strings.Repeat("x", 512<<10)},
		{strings.Repeat("wantwant", 8000), strings.Repeat(":1", 256<<10)},
	} {
		start := time.Now()
		_, err := New().Diagnose(context.Background(), Input{Occurrences: []contract.Failure{testFailure("T", contract.ErrorInfo{Message: c.msg, Stack: c.stack})}})
		t.Log(time.Since(start), err)
	}
}
