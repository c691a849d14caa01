package report

import "testing"

func TestMoney(t *testing.T) {
	if got := Money(1234); got != "12.34" {
		t.Errorf("Money(1234) = %q", got)
	}
}
