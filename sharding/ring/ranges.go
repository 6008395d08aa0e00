package ring

// Range is a stretch of the circle owned by one member. Both ends are
// inclusive, so a Range can end at MaxUint64 and a single position is
// Start == End.
type Range struct {
	Start uint64 `json:"start"`
	End   uint64 `json:"end"`
	Owner string `json:"owner"`
}

// Ranges returns the ownership of the whole circle as ranges sorted by
// Start: the first starts at 0, each next one starts at the previous End+1,
// the last ends at MaxUint64. Adjacent ranges of the same owner are merged.
//
// The arc that wraps past MaxUint64 to the first point is split in two: the
// first range [0, first point] and the last range (last point, MaxUint64]
// have the same owner but stay separate because a Range does not wrap.
// (With a single owner the result is the one range [0, MaxUint64].)
func (r *Ring) Ranges() []Range {
	out := make([]Range, 0, r.Len()+1)
	var start uint64
	for _, s := range r.slots { // includes the sentinel, which closes the wrap
		end := position(s)
		out = appendRange(out, start, end, r.members[ownerOf(s)].ID)
		if end == ^uint64(0) {
			break // a real point at the top leaves no wrap arc
		}
		start = end + 1
	}
	return out
}

// appendRange adds [start, end] for owner, merging with the previous range.
func appendRange(rs []Range, start, end uint64, owner string) []Range {
	if n := len(rs); n > 0 && rs[n-1].Owner == owner {
		rs[n-1].End = end
		return rs
	}
	return append(rs, Range{Start: start, End: end, Owner: owner})
}
