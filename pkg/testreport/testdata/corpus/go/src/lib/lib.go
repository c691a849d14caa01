// Package lib is imported by uses.
package lib

// Double doubles n.
func Double(n int) int { return 2 * n }
