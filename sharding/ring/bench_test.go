package ring_test

import (
	"testing"

	"github.com/cangqiong/cangqiong/sharding/ring"
)

// BenchmarkRingLookup routes a different user on every iteration so the
// lookups touch the table and points the way real traffic does, instead of
// hitting one cache line.
func BenchmarkRingLookup(b *testing.B) {
	r := mustNew(b, equalMembers("shard-", 64), ring.Options{})
	b.ReportAllocs()
	var sink int
	var id int64
	for b.Loop() {
		id++
		sink += r.OwnerIndex(id)
	}
	_ = sink
}

func BenchmarkRingOwner(b *testing.B) {
	r := mustNew(b, equalMembers("shard-", 64), ring.Options{})
	b.ReportAllocs()
	var id int64
	for b.Loop() {
		id++
		_ = r.Owner(id)
	}
}

func BenchmarkRingNew(b *testing.B) {
	ms := equalMembers("shard-", 64)
	b.ReportAllocs()
	for b.Loop() {
		mustNew(b, ms, ring.Options{})
	}
}

// BenchmarkRingLookupLatency makes each lookup depend on the previous one,
// so the CPU cannot overlap their cache misses: the cost of one lookup on
// its own, as in a request that routes a single statement.
func BenchmarkRingLookupLatency(b *testing.B) {
	r := mustNew(b, equalMembers("shard-", 64), ring.Options{})
	b.ReportAllocs()
	var id int64
	for b.Loop() {
		id += int64(r.OwnerIndex(id)) + 1
	}
}
