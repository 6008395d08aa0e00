//go:build race

package edge

// raceEnabled: the race detector allocates on its own, so allocation pins
// are checked only in normal builds.
const raceEnabled = true
