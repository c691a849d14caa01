//go:build corpus_broken

package lib

// Half is half-written.
func Half(n int) int { return n / two }
