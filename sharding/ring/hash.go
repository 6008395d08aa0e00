package ring

import (
	"encoding/binary"

	"github.com/cespare/xxhash/v2"
)

// Point is where a user falls on the ring. It is the splitmix64 finalizer of
// the id: a bijection on 64 bits whose output is well mixed even for
// sequential or time-ordered ids (splitmix64 is exactly "finalizer applied to
// a counter"), and it costs a few cycles with no allocation.
//
// Point is part of the placement contract; see the package documentation.
func Point(userID int64) uint64 {
	z := uint64(userID) + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// vnodeHasher derives the positions of one member's points. The input is
// the member ID followed by the replica index as 4 little-endian bytes; the
// fixed-width suffix keeps ("a", 0x3161) and ("a1", 0x61) apart.
type vnodeHasher struct {
	buf []byte
	n   int // length of the ID prefix in buf
}

func newVnodeHasher(id string) *vnodeHasher {
	buf := make([]byte, len(id)+4)
	copy(buf, id)
	return &vnodeHasher{buf: buf, n: len(id)}
}

// point returns the position of the member's replica-th point.
func (h *vnodeHasher) point(replica uint32) uint64 {
	binary.LittleEndian.PutUint32(h.buf[h.n:], replica)
	return xxhash.Sum64(h.buf)
}

// VnodePoint returns the position of member id's replica-th point: the hash
// with its low 16 bits set (see points.go). It is exported for tools that
// explain placement; New uses the same derivation.
func VnodePoint(id string, replica int) uint64 {
	return position(newVnodeHasher(id).point(uint32(replica)))
}
