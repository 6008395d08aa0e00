// Package ringtest holds the user-id samples that the property tests of
// sharding/ring and sharding/shardmap route: the id shapes a ring must spread
// evenly and a reshard must move correctly. It is for tests only.
package ringtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

// Kind is a shape of user ids.
type Kind string

const (
	// Sequential ids count up from 1, as an auto-increment column would.
	Sequential Kind = "sequential"
	// TimeOrdered ids look like app-generated time-ordered ids: a
	// millisecond timestamp from 2026-01-01, worker 7 and a sequence, 50
	// sign-ups per millisecond.
	TimeOrdered Kind = "time-ordered"
	// Random ids are uniformly random positive int64s from a fixed seed.
	Random Kind = "random"
)

// Kinds lists every Kind, in a fixed order.
func Kinds() []Kind { return []Kind{Sequential, TimeOrdered, Random} }

// UserIDs returns n ids of kind. The same kind and n give the same ids. It
// panics on an unknown kind.
func UserIDs(kind Kind, n int) []int64 {
	var id func(i int) int64
	switch kind {
	case Sequential:
		id = func(i int) int64 { return int64(i) + 1 }
	case TimeOrdered:
		const epochMillis = 1_767_225_600_000 // 2026-01-01
		id = func(i int) int64 { return int64(epochMillis+i/50)<<22 | 7<<12 | int64(i%50) }
	case Random:
		rng := rand.New(rand.NewPCG(20260418, 1))
		id = func(int) int64 { return rng.Int64N(math.MaxInt64) + 1 }
	default:
		panic(fmt.Sprintf("ringtest: unknown kind %q", kind))
	}
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = id(i)
	}
	return ids
}

// SampleSize is how many users the property tests route: a million, or
// 200,000 under -short so that -race stays quick on a laptop.
func SampleSize() int {
	if testing.Short() {
		return 200_000
	}
	return 1_000_000
}

var samples = map[Kind]func() []int64{}

func init() {
	for _, k := range Kinds() {
		samples[k] = sync.OnceValue(func() []int64 { return UserIDs(k, SampleSize()) })
	}
}

// Sample returns UserIDs(kind, SampleSize()), made once per test binary and
// shared by every caller: do not modify it. Call it from a test, after flags
// are parsed.
func Sample(kind Kind) []int64 {
	s, ok := samples[kind]
	if !ok {
		panic(fmt.Sprintf("ringtest: unknown kind %q", kind))
	}
	return s()
}
