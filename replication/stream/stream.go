// Package stream is the wire contract of the change stream: what a core
// node sends down an edge's subscription and what the edge sends back.
// The core (replication/relay) writes it, the edge (edge/changes) reads it;
// both import it from here, the owner of the contract.
//
// A subscription is one long HTTP/2 request over the tunnel:
//
//	GET /tunnel/v1/changes?region=eu&edge=edge-1&from=shard-0.41,shard-1.7,global.12
//
// from lists the edge's cursor per keyspace (the last sequence it applied;
// a keyspace missing from the list starts from the oldest retained
// change). The response is a stream of frames, one JSON object per line
// (NDJSON), flushed as they are written:
//
//	{"t":"change","ks":"shard-0","seq":42,"keys":["user:9:orders","order:9-77"]}
//	{"t":"head","ks":"shard-0","seq":42,"oldest":1}
//	{"t":"reset","ks":"shard-1","oldest":900}
//
// change: one committed change, in sequence order per keyspace; delivery is
// at least once (after a reconnect or a relay hand-over an edge may see a
// change again), so applying one twice must be harmless (purges are).
// head: the keyspace's newest sequence and its oldest retained one, sent
// when a keyspace is idle (a heartbeat: the edge knows it is caught up) and
// after a subscription catches up. reset: the edge's cursor is older than
// the oldest retained change, so changes were lost to it: it must flush
// everything the keyspace's changes could have touched, then continue
// from oldest-1.
//
// An edge acknowledges what it applied with
//
//	POST /tunnel/v1/changes/ack {"region":"eu","edge":"edge-1","cursors":{"shard-0":42}}
//
// and the relay deletes outbox rows every registered region acknowledged.
package stream

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Paths of the two endpoints, served by the core's tunnel server.
const (
	PathSubscribe = "/tunnel/v1/changes"
	PathAck       = "/tunnel/v1/changes/ack"
)

// Frame types.
const (
	TypeChange = "change"
	TypeHead   = "head"
	TypeReset  = "reset"
)

// MaxFrameBytes bounds one frame line (a change's surrogate keys are at
// most 1 KiB, see replication/outbox).
const MaxFrameBytes = 8 << 10

// Frame is one line of the stream.
type Frame struct {
	Type     string   `json:"t"`
	Keyspace string   `json:"ks"`
	Seq      uint64   `json:"seq,omitempty"`
	Keys     []string `json:"keys,omitempty"`
	Oldest   uint64   `json:"oldest,omitempty"`
}

// ErrFrame is wrapped by every decoding error.
var ErrFrame = errors.New("stream: bad frame")

var keyspaceRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// Validate checks a frame's fields for its type.
func (f *Frame) Validate() error {
	if !keyspaceRE.MatchString(f.Keyspace) {
		return fmt.Errorf("%w: keyspace %q", ErrFrame, f.Keyspace)
	}
	switch f.Type {
	case TypeChange:
		if f.Seq == 0 || len(f.Keys) == 0 {
			return fmt.Errorf("%w: a change needs a sequence and keys", ErrFrame)
		}
		for _, k := range f.Keys {
			if k == "" || strings.ContainsAny(k, " \t\r\n") || len(k) > 256 {
				return fmt.Errorf("%w: surrogate key %q", ErrFrame, k)
			}
		}
	case TypeHead, TypeReset:
	default:
		return fmt.Errorf("%w: type %q", ErrFrame, f.Type)
	}
	return nil
}

// AppendFrame appends f as one NDJSON line.
func AppendFrame(dst []byte, f *Frame) ([]byte, error) {
	if err := f.Validate(); err != nil {
		return dst, err
	}
	b, err := json.Marshal(f)
	if err != nil {
		return dst, err
	}
	return append(append(dst, b...), '\n'), nil
}

// ParseFrame reads one line (without its newline), strictly.
func ParseFrame(line []byte) (Frame, error) {
	var f Frame
	if len(line) > MaxFrameBytes {
		return f, fmt.Errorf("%w: %d bytes", ErrFrame, len(line))
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return f, fmt.Errorf("%w: %v", ErrFrame, err)
	}
	if dec.More() {
		return f, fmt.Errorf("%w: trailing data", ErrFrame)
	}
	return f, f.Validate()
}

// Cursors are the last applied sequence per keyspace.
type Cursors map[string]uint64

// String is the from= form: "ks.seq,ks.seq", sorted by keyspace.
func (c Cursors) String() string {
	ks := make([]string, 0, len(c))
	for k := range c {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	var b strings.Builder
	for i, k := range ks {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k + "." + strconv.FormatUint(c[k], 10))
	}
	return b.String()
}

// ParseCursors reads the from= form. An empty string is no cursors.
func ParseCursors(s string) (Cursors, error) {
	c := Cursors{}
	if s == "" {
		return c, nil
	}
	for _, part := range strings.Split(s, ",") {
		i := strings.LastIndexByte(part, '.')
		if i <= 0 || !keyspaceRE.MatchString(part[:i]) {
			return nil, fmt.Errorf("%w: cursor %q", ErrFrame, part)
		}
		seq, err := strconv.ParseUint(part[i+1:], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: cursor %q", ErrFrame, part)
		}
		c[part[:i]] = seq
	}
	return c, nil
}

// Ack is the body of an acknowledgement.
type Ack struct {
	Region  string  `json:"region"`
	Edge    string  `json:"edge"`
	Cursors Cursors `json:"cursors"`
}

// KeyspaceKey is the surrogate key every cached entry of a keyspace carries
// (from its Cq-Version), so that a reset can flush all of them at once.
func KeyspaceKey(keyspace string) string { return "ks:" + keyspace }
