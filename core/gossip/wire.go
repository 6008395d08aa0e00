package gossip

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

// Wire format of every message this package puts on memberlist's user
// channel (gossip broadcasts, direct pushes, serving announcements and
// push/pull state):
//
//	offset 0    version   1 byte, wireVersion
//	offset 1    kind      1 byte, kindMap, kindNotice or kindServing
//	offset 2    epoch     8 bytes, big-endian
//	offset 10   body      kindMap: the map as compact JSON (shardmap's
//	                      document, strictly parsed); kindNotice: empty;
//	                      kindServing: the sender's node name, 1 to
//	                      maxNodeName bytes (the rest of the message)
//
// The epoch sits in the fixed header so a receiver drops stale messages
// without parsing JSON; a map whose body names another epoch than its header
// is rejected. memberlist already authenticates and encrypts every packet
// with the cluster key, so the format carries no checksum. kindServing was
// added without a version change: a node built before it logs and drops
// it, and the announcement still reaches it by metadata.
const (
	wireVersion = 1
	headerLen   = 10
	// maxMessageBytes bounds what a receiver accepts, far above any real
	// map, so a bug or a hostile member cannot make a node parse megabytes.
	maxMessageBytes = 1 << 20
	// maxNodeName bounds a node's name (Config.NodeName), so a serving
	// announcement is small.
	maxNodeName = 255
)

// kind says what a message carries.
type kind byte

const (
	// kindMap carries a whole shard map.
	kindMap kind = 1
	// kindNotice only announces that an epoch exists. It replaces kindMap
	// in UDP gossip when the map is too big for a packet; a node behind it
	// re-reads the control table.
	kindNotice kind = 2
	// kindServing says that the sender (named in the body) has finished
	// OnChange for the header's epoch: the same statement as its
	// metadata's epoch, sent straight to every member over TCP because
	// metadata spreads by gossip rounds. It never carries a map and is
	// never part of push/pull state.
	kindServing kind = 3
)

// errBadMessage marks bytes that are not a message of this package.
var errBadMessage = errors.New("gossip: malformed message")

// message is a decoded message. m is set for kindMap only, node for
// kindServing only.
type message struct {
	kind  kind
	epoch uint64
	m     *shardmap.Map
	node  string
}

// encodeMap encodes m as a kindMap message. It validates m (through
// shardmap.Marshal), so a node never sends a map it would itself refuse.
func encodeMap(m *shardmap.Map) ([]byte, error) {
	doc, err := shardmap.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("gossip: encode epoch %d: %w", m.Epoch, err)
	}
	var buf bytes.Buffer
	buf.Grow(headerLen + len(doc))
	buf.Write(header(kindMap, m.Epoch))
	if err := json.Compact(&buf, doc); err != nil {
		return nil, fmt.Errorf("gossip: encode epoch %d: %w", m.Epoch, err)
	}
	return buf.Bytes(), nil
}

// encodeNotice encodes a kindNotice message for epoch.
func encodeNotice(epoch uint64) []byte { return header(kindNotice, epoch) }

// encodeServing encodes a kindServing message: node finished OnChange for
// epoch. It refuses a name the receivers would refuse.
func encodeServing(epoch uint64, node string) ([]byte, error) {
	if err := checkNodeName(node); err != nil {
		return nil, err
	}
	return append(header(kindServing, epoch), node...), nil
}

// checkNodeName reports whether name can be a node's name on the wire.
func checkNodeName(name string) error {
	if name == "" || len(name) > maxNodeName {
		return fmt.Errorf("node name is %d bytes, want 1 to %d", len(name), maxNodeName)
	}
	return nil
}

func header(k kind, epoch uint64) []byte {
	b := make([]byte, headerLen, headerLen+512)
	b[0] = wireVersion
	b[1] = byte(k)
	binary.BigEndian.PutUint64(b[2:], epoch)
	return b
}

// peek decodes the header only: enough to drop a stale message cheaply.
func peek(b []byte) (kind, uint64, error) {
	switch {
	case len(b) < headerLen:
		return 0, 0, fmt.Errorf("%w: %d bytes, shorter than the header", errBadMessage, len(b))
	case len(b) > maxMessageBytes:
		return 0, 0, fmt.Errorf("%w: %d bytes, over the %d limit", errBadMessage, len(b), maxMessageBytes)
	case b[0] != wireVersion:
		return 0, 0, fmt.Errorf("%w: version %d, want %d", errBadMessage, b[0], wireVersion)
	}
	k := kind(b[1])
	if k != kindMap && k != kindNotice && k != kindServing {
		return 0, 0, fmt.Errorf("%w: unknown kind %d", errBadMessage, k)
	}
	return k, binary.BigEndian.Uint64(b[2:headerLen]), nil
}

// decodeMessage decodes and checks a whole message: a map must parse
// strictly, validate, and name the header's epoch; a serving announcement
// must name a node within the bounds. It never panics and keeps no
// reference to b.
func decodeMessage(b []byte) (message, error) {
	k, epoch, err := peek(b)
	if err != nil {
		return message{}, err
	}
	msg := message{kind: k, epoch: epoch}
	body := b[headerLen:]
	switch k {
	case kindNotice:
		if len(body) != 0 {
			return message{}, fmt.Errorf("%w: notice with a %d-byte body", errBadMessage, len(body))
		}
		return msg, nil
	case kindServing:
		if err := checkNodeName(string(body)); err != nil {
			return message{}, fmt.Errorf("%w: serving epoch %d: %w", errBadMessage, epoch, err)
		}
		msg.node = string(body)
		return msg, nil
	}
	if msg.m, err = shardmap.Parse(body); err != nil {
		return message{}, fmt.Errorf("%w: epoch %d: %w", errBadMessage, epoch, err)
	}
	if msg.m.Epoch != epoch {
		return message{}, fmt.Errorf("%w: header says epoch %d, map says %d", errBadMessage, epoch, msg.m.Epoch)
	}
	return msg, nil
}
