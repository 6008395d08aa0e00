package ring

import "math/bits"

// The lookup table splits the circle into 2^b equal buckets by the top b
// bits of a position, about one bucket per point, and holds for each bucket
// the index of the first slot at or after the bucket's start. A lookup reads
// that entry and steps forward over the (usually zero or one) points of the
// bucket that lie before the user's position.
//
// A binary search over ~0.5M points costs ~19 dependent cache misses; this
// costs two. Measured alternatives: a table 4–8× larger that stores the
// owner outright for buckets without a point saves the second miss for most
// lookups but was slower, because the bigger table misses the caches more
// often and the pure/impure branch mispredicts.
const (
	bucketsPerPt = 0 // log2 of buckets per point
	maxTableBits = 22
	minTableBits = 4
)

// tableBits picks the table size for n points: the power of two at or above
// n, times 2^bucketsPerPt.
func tableBits(n int) uint {
	b := uint(bits.Len(uint(n-1))) + bucketsPerPt
	return min(max(b, minTableBits), maxTableBits)
}

// buildTable fills r.table from the sorted slots.
func (r *Ring) buildTable() { r.buildTableBits(tableBits(r.Len())) }

func (r *Ring) buildTableBits(tb uint) {
	r.shift = 64 - tb
	r.table = make([]uint32, 1<<tb)
	i := 0 // first slot at or after the current bucket's start
	for b := range r.table {
		i = r.nextIndex(i, uint64(b)<<r.shift)
		r.table[b] = uint32(i)
	}
}

// nextIndex advances i to the first slot whose position is at or after p.
func (r *Ring) nextIndex(i int, p uint64) int {
	for position(r.slots[i]) < p {
		i++
	}
	return i
}

// OwnerOfPoint returns the index into Members of the member owning position
// p: the member of the first point at or after p, wrapping around.
func (r *Ring) OwnerOfPoint(p uint64) int {
	i := int(r.table[p>>(r.shift&63)]) // &63 drops the compiler's oversized-shift guard
	// The first step is taken without a branch: whether it is needed is a
	// coin toss the CPU would mispredict, and a mispredict discards the
	// cache misses of the next lookups it had already started.
	i += b2i(position(r.slots[i]) < p)
	for position(r.slots[i]) < p { // stops at the sentinel at the latest
		i++
	}
	return ownerOf(r.slots[i])
}

// b2i compiles to SETcc, not a jump.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// OwnerIndex returns the index into Members of the member owning userID.
func (r *Ring) OwnerIndex(userID int64) int {
	return r.OwnerOfPoint(Point(userID))
}

// Owner returns the ID of the member owning userID.
func (r *Ring) Owner(userID int64) string {
	return r.members[r.OwnerOfPoint(Point(userID))].ID
}
