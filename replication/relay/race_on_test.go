//go:build race

package relay_test

// raceEnabled: the race detector slows every goroutine several times, so
// the latency bound is looser under it; the figure that counts is the
// normal build's.
const raceEnabled = true
