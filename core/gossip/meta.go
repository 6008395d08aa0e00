package gossip

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/hashicorp/memberlist"
)

// Node metadata travels in every memberlist alive message, so it is kept
// compact and binary rather than JSON:
//
//	version  1 byte, metaVersion
//	flags    1 byte, bit 0: the node is leaving on purpose
//	epoch    uvarint, the epoch the node serves
//	region, tunnel address, admin address: each a uvarint length and bytes
//
// Start refuses a Config whose metadata could outgrow memberlist.MetaMaxSize
// even at the largest epoch.
const (
	metaVersion  = 1
	flagLeaving  = 1 << 0
	knownFlags   = flagLeaving
	maxMetaField = 255
)

var errBadMeta = errors.New("gossip: malformed node metadata")

// meta is what a node tells the others about itself.
type meta struct {
	epoch      uint64
	leaving    bool
	region     string
	tunnelAddr string
	adminAddr  string
}

func (m meta) encode() []byte {
	b := make([]byte, 0, 2+binary.MaxVarintLen64+3+len(m.region)+len(m.tunnelAddr)+len(m.adminAddr))
	var flags byte
	if m.leaving {
		flags |= flagLeaving
	}
	b = append(b, metaVersion, flags)
	b = binary.AppendUvarint(b, m.epoch)
	for _, s := range []string{m.region, m.tunnelAddr, m.adminAddr} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

// check reports whether m fits memberlist's limit whatever the epoch.
func (m meta) check() error {
	for name, s := range map[string]string{"Region": m.region, "TunnelAddr": m.tunnelAddr, "AdminAddr": m.adminAddr} {
		if len(s) > maxMetaField {
			return fmt.Errorf("%s is %d bytes, at most %d fit the node metadata", name, len(s), maxMetaField)
		}
	}
	worst := m
	worst.epoch, worst.leaving = math.MaxUint64, true
	if n := len(worst.encode()); n > memberlist.MetaMaxSize {
		return fmt.Errorf("node metadata is %d bytes, memberlist allows %d", n, memberlist.MetaMaxSize)
	}
	return nil
}

// decodeMeta parses metadata from the network strictly.
func decodeMeta(b []byte) (meta, error) {
	if len(b) < 2 || b[0] != metaVersion || b[1]&^knownFlags != 0 {
		return meta{}, fmt.Errorf("%w: bad header", errBadMeta)
	}
	m := meta{leaving: b[1]&flagLeaving != 0}
	r := b[2:]
	var n int
	if m.epoch, n = binary.Uvarint(r); n <= 0 {
		return meta{}, fmt.Errorf("%w: bad epoch", errBadMeta)
	}
	r = r[n:]
	for _, dst := range []*string{&m.region, &m.tunnelAddr, &m.adminAddr} {
		l, n := binary.Uvarint(r)
		if n <= 0 || l > uint64(len(r)-n) {
			return meta{}, fmt.Errorf("%w: bad field length", errBadMeta)
		}
		*dst = string(r[n : n+int(l)])
		r = r[n+int(l):]
	}
	if len(r) != 0 {
		return meta{}, fmt.Errorf("%w: %d bytes after the last field", errBadMeta, len(r))
	}
	return m, nil
}
