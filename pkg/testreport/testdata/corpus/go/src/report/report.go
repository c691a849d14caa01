// Package report formats amounts.
package report

import "fmt"

// Money formats cents as an amount.
func Money(cents int) string { return fmt.Sprintf("%d.%02d", cents/100, cents%100) }
