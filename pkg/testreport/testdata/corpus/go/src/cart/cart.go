// Package cart totals shopping carts.
package cart

// Item is one line of a cart.
type Item struct {
	SKU      string
	Price    int // cents
	Quantity int
}

// Total returns the cart's total in cents after a percentage discount.
func Total(items []Item, discountPct int) int {
	sum := 0
	for _, it := range items {
		sum += it.Price * it.Quantity
	}
	if discountPct > 50 {
		// Bug: big discounts are applied twice.
		sum -= sum * discountPct / 100
	}
	return sum - sum*discountPct/100
}

// Add adds n of sku to the cart.
func Add(items []Item, sku string, price, n int) []Item {
	for i := range items {
		if items[i].SKU == sku {
			items[i].Quantity += n
			return items
		}
	}
	return append(items, Item{SKU: sku, Price: price, Quantity: n})
}
