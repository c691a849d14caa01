package cart

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
)

func rng(t *testing.T) *rand.Rand {
	seed, _ := strconv.ParseUint(os.Getenv("CORPUS_SEED"), 10, 64)
	return rand.New(rand.NewPCG(seed, uint64(len(t.Name()))))
}

func TestTotal(t *testing.T) {
	r := rng(t)
	items := []Item{
		{SKU: fmt.Sprintf("sku-%d", r.IntN(9000)+1000), Price: r.IntN(5000) + 100, Quantity: r.IntN(5) + 1},
		{SKU: fmt.Sprintf("sku-%d", r.IntN(9000)+1000), Price: r.IntN(5000) + 100, Quantity: r.IntN(5) + 1},
	}
	sum := 0
	for _, it := range items {
		sum += it.Price * it.Quantity
	}
	for _, tc := range []struct {
		name string
		pct  int
	}{{"no discount", 0}, {"ten percent", 10}, {"big discount", 60 + r.IntN(30)}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Logf("cart of %d items, %d%% off", len(items), tc.pct)
			want := sum - sum*tc.pct/100
			if got := Total(items, tc.pct); got != want {
				t.Errorf("Total(%v, %d) = %d, want %d", items, tc.pct, got, want)
			}
		})
	}
}

func TestAdd(t *testing.T) {
	items := Add(nil, "sku-1", 100, 1)
	items = Add(items, "sku-1", 100, 2)
	if len(items) != 1 || items[0].Quantity != 3 {
		t.Fatalf("Add twice = %+v, want one line of 3", items)
	}
}

var inventoryRuns int

func TestFlakyInventory(t *testing.T) {
	inventoryRuns++
	r := rng(t)
	stock := r.IntN(20) + 1
	// Bad luck fails the test at one place, whatever makes it unlucky.
	unlucky := false
	switch os.Getenv("CORPUS_FLAKY") {
	case "1":
		unlucky = true
	case "alternate":
		unlucky = inventoryRuns%2 == 1
	}
	if unlucky {
		t.Errorf("inventory for sku-%d: got %d, want %d", r.IntN(9000)+1000, stock-1, stock)
	}
}

func TestGiftWrap(t *testing.T) {
	t.Skip("gift wrapping is not offered yet")
}

func TestParallelCheckout(t *testing.T) {
	for _, n := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("shopper %d", n), func(t *testing.T) {
			t.Parallel()
			if Total([]Item{{Price: n * 100, Quantity: 1}}, 0) != n*100 {
				t.Error("wrong total")
			}
		})
	}
}
