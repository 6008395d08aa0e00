package limit

import (
	"net"
	"net/netip"
	"testing"
)

func TestIPKey(t *testing.T) {
	same := [][2]string{
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff"}, // one /64
		{"2001:db8:1:2::1", "2001:db8:1:2:abcd::7%eth0"},        // zone ignored
		{"192.0.2.7", "::ffff:192.0.2.7"},                       // mapped IPv4
	}
	differ := [][2]string{
		{"2001:db8:1:2::1", "2001:db8:1:3::1"}, // neighbouring /64s
		{"2001:db8::1", "2002:db8::1"},
		{"192.0.2.7", "192.0.2.8"},  // IPv4: the whole address
		{"0.0.0.1", "::1"},          // not confused across families
		{"192.0.2.7", "::c000:207"}, // IPv4-compatible is IPv6
	}
	key := func(s string) uint64 { return IPKey(netip.MustParseAddr(s)) }
	for _, p := range same {
		if key(p[0]) != key(p[1]) {
			t.Errorf("%s and %s have different keys", p[0], p[1])
		}
	}
	for _, p := range differ {
		if key(p[0]) == key(p[1]) {
			t.Errorf("%s and %s share a key", p[0], p[1])
		}
	}
	if IPKey(netip.Addr{}) != IPKeyBytes(nil) || IPKeyBytes([]byte{1, 2, 3}) != IPKeyBytes(nil) {
		t.Error("invalid addresses do not share one key")
	}
	if IPKey(netip.Addr{}) == key("0.0.0.0") || IPKey(netip.Addr{}) == key("::") {
		t.Error("invalid address shares a key with a valid one")
	}
	for _, s := range []string{"192.0.2.7", "2001:db8:1:2::1", "::ffff:10.0.0.1"} {
		if got := IPKeyBytes(net.ParseIP(s)); got != key(s) { // net.IP is 16 bytes even for IPv4
			t.Errorf("IPKeyBytes(%s) != IPKey", s)
		}
		if got := IPKeyBytes(net.ParseIP(s).To4()); net.ParseIP(s).To4() != nil && got != key(s) {
			t.Errorf("IPKeyBytes(4-byte %s) != IPKey", s)
		}
	}
}

func TestUserKey(t *testing.T) {
	seen := map[uint64]int64{}
	for _, id := range []int64{1, 2, 42, 1 << 32, 1<<63 - 1, -1, 0} {
		k := UserKey(id)
		if other, dup := seen[k]; dup {
			t.Fatalf("users %d and %d share a key", id, other)
		}
		seen[k] = id
	}
}

func TestKeysDoNotAllocate(t *testing.T) {
	v6 := netip.MustParseAddr("2001:db8::1")
	raw := []byte(net.ParseIP("192.0.2.7"))
	if a := testing.AllocsPerRun(100, func() { IPKey(v6); IPKeyBytes(raw); UserKey(9) }); a != 0 {
		t.Fatalf("keys allocate %v times", a)
	}
}

// FuzzIPKeyBytes: any 16 bytes key like their /64, or like their IPv4
// address when mapped; other lengths but 4 are invalid.
func FuzzIPKeyBytes(f *testing.F) {
	f.Add([]byte{192, 0, 2, 7})
	f.Add([]byte(net.ParseIP("192.0.2.7")))
	f.Add([]byte(net.ParseIP("2001:db8::1")))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, ip []byte) {
		k := IPKeyBytes(ip)
		switch len(ip) {
		case 4:
			if k != IPKey(netip.AddrFrom4([4]byte(ip))) {
				t.Fatal("IPv4 key differs from IPKey")
			}
		case 16:
			other := append([]byte(nil), ip[:8]...)
			other = append(other, ^ip[8], ^ip[9], ^ip[10], ^ip[11], ^ip[12], ^ip[13], ^ip[14], ^ip[15])
			a := netip.AddrFrom16([16]byte(ip))
			if a.Is4In6() {
				if k != IPKey(a.Unmap()) || k == IPKeyBytes(nil) {
					t.Fatal("mapped IPv4 key differs from its IPv4 key")
				}
			} else if k != IPKeyBytes(other) && !netip.AddrFrom16([16]byte(other)).Is4In6() {
				t.Fatal("two addresses of one /64 have different keys")
			}
		default:
			if k != IPKeyBytes(nil) {
				t.Fatalf("%d-byte address has a valid key", len(ip))
			}
		}
	})
}
