//go:build !race

package grouping

const raceEnabled = false
