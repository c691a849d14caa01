//go:build race

package grouping

// raceEnabled is set under the race detector, which makes sync.Pool drop
// what it holds at random: allocation counts vary.
const raceEnabled = true
