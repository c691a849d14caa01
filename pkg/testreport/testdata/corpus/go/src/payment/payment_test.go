package payment

import (
	"os"
	"testing"
)

func TestCharge(t *testing.T) {
	g := NewGateway(os.Getenv("CORPUS_PANIC") == "1")
	t.Run("card", func(t *testing.T) {
		for _, brand := range []string{"visa", "amex"} {
			t.Run(brand, func(t *testing.T) {
				if _, err := g.Charge(brand, 1250); err != nil {
					t.Fatal(err)
				}
			})
		}
	})
}

func TestRefund(t *testing.T) {
	if _, err := NewGateway(false).Charge("visa", -5); err == nil {
		t.Fatal("a negative charge was accepted")
	}
}

func TestParallelFees(t *testing.T) {
	t.Parallel()
	if fee, _ := NewGateway(false).Charge("visa", 10000); fee != 300 {
		t.Errorf("fee = %d, want 300", fee)
	}
}
