package limit

import (
	"encoding/binary"
	"net/netip"

	"github.com/cespare/xxhash/v2"
)

// Domains of the keys, so a user id and an address never hash alike by
// construction.
const (
	tagUser    = 'u'
	tagIPv4    = '4'
	tagIPv6    = '6'
	tagInvalid = '!'
)

// UserKey is the key of a verified user.
func UserKey(userID int64) uint64 {
	var b [9]byte
	b[0] = tagUser
	binary.BigEndian.PutUint64(b[1:], uint64(userID))
	return xxhash.Sum64(b[:])
}

// IPKey is the key of a client address: the IPv4 address itself, or the /64
// an IPv6 address is in (zone ignored). An IPv4-mapped IPv6 address is its
// IPv4 address. All invalid addresses share one key.
func IPKey(addr netip.Addr) uint64 {
	var b [9]byte
	addr = addr.Unmap()
	switch {
	case addr.Is4():
		a := addr.As4()
		b[0] = tagIPv4
		copy(b[1:], a[:])
		return xxhash.Sum64(b[:5])
	case addr.Is6():
		a := addr.As16()
		b[0] = tagIPv6
		copy(b[1:], a[:8]) // the /64
		return xxhash.Sum64(b[:])
	}
	b[0] = tagInvalid
	return xxhash.Sum64(b[:1])
}

// IPKeyBytes is IPKey of a raw 4- or 16-byte address, as net.IP holds it
// (fasthttp's RequestCtx.RemoteIP). Other lengths are invalid addresses.
func IPKeyBytes(ip []byte) uint64 {
	addr, _ := netip.AddrFromSlice(ip)
	return IPKey(addr)
}
