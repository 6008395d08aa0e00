package ring

import "slices"

// A point is stored as one packed 64-bit slot: the top 48 bits are its
// position, the low 16 bits the index of its owner in Members. The point's
// position on the circle is the slot with the low 16 bits set (position()),
// so a point owns every position from just after the previous point up to
// and including slot|ownerMask.
//
// Packing halves the memory of separate position and owner arrays and lets
// a lookup read both with one cache miss, which is most of its cost. 48 bits
// of position are plenty: two of 0.5M points share a position with
// probability ~5e-4, and the tie rule below settles it deterministically.
const ownerMask = 1<<16 - 1

// position is where a slot's point sits on the circle.
func position(slot uint64) uint64 { return slot | ownerMask }

// ownerOf is the member index stored in a slot.
func ownerOf(slot uint64) int { return int(slot & ownerMask) }

// pack builds the slot of member owner's point with hash h.
func pack(h uint64, owner int) uint64 { return h&^ownerMask | uint64(owner) }

// placePoints derives every member's points and returns them as sorted slots
// plus a sentinel. Sorting the packed words orders equal positions by owner
// index, i.e. by member ID, since members are sorted by ID; only the first
// of equal positions is kept because the others would own an empty arc.
func placePoints(members []Member, vn, total int) []uint64 {
	slots := make([]uint64, 0, total+1)
	for i, m := range members {
		h := newVnodeHasher(m.ID)
		for rep := range m.Weight * vn {
			slots = append(slots, pack(h.point(uint32(rep)), i))
		}
	}
	slices.Sort(slots)
	slots = slices.CompactFunc(slots, func(a, b uint64) bool {
		return position(a) == position(b)
	})
	return appendSentinel(slots)
}

// appendSentinel closes the wrap-around arc: a slot at the top of the circle
// owned by the first point's member, so every lookup finds a point at or
// after its position without a bounds test.
func appendSentinel(slots []uint64) []uint64 {
	return append(slots, pack(^uint64(0), ownerOf(slots[0])))
}
