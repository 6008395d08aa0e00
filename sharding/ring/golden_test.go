package ring_test

import (
	"testing"

	"github.com/cangqiong/cangqiong/sharding/ring"
)

// These values pin the placement contract. If this test fails, the change
// would route existing users to shards that do not hold their rows: do not
// update the numbers, revert the change.
func TestPlacementIsPinned(t *testing.T) {
	points := []struct {
		user int64
		want uint64
	}{
		{0, 0xe220a8397b1dcdaf}, // the published first output of splitmix64 seeded with 0
		{1, 0x910a2dec89025cc1},
		{42, 0xbdd732262feb6e95},
		{1 << 40, 0x1fdd7128f310c389},
		{9223372036854775807, 0x2a67d7552e039ea7},
	}
	for _, tt := range points {
		if got := ring.Point(tt.user); got != tt.want {
			t.Errorf("Point(%d) = %#016x, want %#016x", tt.user, got, tt.want)
		}
	}
	vnodes := []struct {
		id      string
		replica int
		want    uint64
	}{
		{"shard-0", 0, 0xae13aa0aeed9ffff},
		{"shard-0", 1, 0x16578a16a62fffff},
		{"shard-1", 8191, 0xe78bbcec7c39ffff},
	}
	for _, tt := range vnodes {
		if got := ring.VnodePoint(tt.id, tt.replica); got != tt.want {
			t.Errorf("VnodePoint(%q, %d) = %#016x, want %#016x", tt.id, tt.replica, got, tt.want)
		}
	}
	r := mustNew(t, equalMembers("shard-", 4), ring.Options{})
	owners := []struct {
		user int64
		want string
	}{
		{1, "shard-2"}, {2, "shard-2"}, {3, "shard-3"}, {4, "shard-0"},
		{7, "shard-3"}, {8, "shard-2"}, {1000, "shard-3"}, {123456789, "shard-3"},
	}
	for _, tt := range owners {
		if got := r.Owner(tt.user); got != tt.want {
			t.Errorf("Owner(%d) = %s, want %s", tt.user, got, tt.want)
		}
	}
}
