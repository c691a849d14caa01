//go:build corpus_broken

package report

import "testing"

func TestMoneyNegative(t *testing.T) {
	if got := Money(-5); got != want {
		t.Errorf("Money(-5) = %q", got)
	}
}
