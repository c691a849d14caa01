// Package payment charges cards.
package payment

import "fmt"

// Gateway charges cards of some brands.
type Gateway struct {
	fees map[string]int
}

// NewGateway returns a gateway; with broken set it forgets its fees table.
func NewGateway(broken bool) *Gateway {
	if broken {
		return &Gateway{}
	}
	return &Gateway{fees: map[string]int{}}
}

// Charge charges amount cents to a card of brand and returns the fee.
func (g *Gateway) Charge(brand string, amount int) (int, error) {
	if amount <= 0 {
		return 0, fmt.Errorf("charge %d cents: amount must be positive", amount)
	}
	fee := amount * 3 / 100
	g.fees[brand] += fee // panics on a nil map
	return fee, nil
}
