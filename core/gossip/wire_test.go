package gossip

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/cangqiong/cangqiong/sharding/ring"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

func TestEncodeDecodeMap(t *testing.T) {
	m := testMap(7)
	b, err := encodeMap(m)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.ContainsAny(b[headerLen:], "\n ") {
		t.Errorf("map body is not compact: %q", b[headerLen:])
	}
	msg, err := decodeMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	if msg.kind != kindMap || msg.epoch != 7 || !msg.m.Equal(m) {
		t.Errorf("decoded %+v, want kind map, epoch 7, map %+v", msg, m)
	}
	n, err := decodeMessage(encodeNotice(9))
	if err != nil || n.kind != kindNotice || n.epoch != 9 || n.m != nil {
		t.Errorf("notice decoded to %+v, %v", n, err)
	}
}

func TestEncodeDecodeServing(t *testing.T) {
	for _, tc := range []struct {
		epoch uint64
		node  string
	}{{1, "core-1"}, {1 << 63, "x"}, {0, strings.Repeat("n", maxNodeName)}, {7, "节点-ü"}} {
		b, err := encodeServing(tc.epoch, tc.node)
		if err != nil {
			t.Fatalf("encodeServing(%d, %q): %v", tc.epoch, tc.node, err)
		}
		if len(b) != headerLen+len(tc.node) {
			t.Errorf("%q: %d bytes, want %d", tc.node, len(b), headerLen+len(tc.node))
		}
		msg, err := decodeMessage(b)
		if err != nil || msg.kind != kindServing || msg.epoch != tc.epoch || msg.node != tc.node || msg.m != nil {
			t.Errorf("serving (%d, %q) decoded to %+v, %v", tc.epoch, tc.node, msg, err)
		}
	}
	for _, bad := range []string{"", strings.Repeat("n", maxNodeName+1)} {
		if b, err := encodeServing(1, bad); err == nil {
			t.Errorf("encodeServing accepted a %d-byte name: %x", len(bad), b)
		}
	}
}

func TestEncodeRefusesInvalidMap(t *testing.T) {
	bad := testMap(1)
	bad.Shards = nil
	if _, err := encodeMap(bad); !errors.Is(err, shardmap.ErrNoOwner) {
		t.Errorf("encodeMap(no shards) = %v, want ErrNoOwner", err)
	}
}

// craftedMessages are bytes a node must refuse, by name. Each would be
// newer than the epoch-1 map the delegate test serves.
func craftedMessages(t testing.TB) map[string][]byte {
	valid, err := encodeMap(testMap(5))
	if err != nil {
		t.Fatal(err)
	}
	body := func(epoch uint64, s string) []byte { return append(header(kindMap, epoch), s...) }
	withHeader := func(b []byte, i int, v byte) []byte {
		c := bytes.Clone(b)
		c[i] = v
		return c
	}
	return map[string][]byte{
		"empty":              nil,
		"short header":       valid[:headerLen-1],
		"header only":        valid[:headerLen],
		"wrong version":      withHeader(valid, 0, 2),
		"unknown kind":       withHeader(valid, 1, 9),
		"truncated json":     valid[:len(valid)-3],
		"trailing data":      append(bytes.Clone(valid), `{}`...),
		"garbage body":       body(5, "\x00\xff garbage"),
		"json array":         body(5, `[1,2,3]`),
		"unknown key":        body(5, `{"epoch":5,"shards":[],"global":{"address":"h:1"},"evil":1}`),
		"duplicate key":      body(5, `{"epoch":5,"epoch":6,"shards":[{"id":"a","address":"h:1","state":"serving","weight":1}],"global":{"address":"h:1"}}`),
		"invalid map":        body(5, `{"epoch":5,"shards":[],"global":{"address":"h:1"}}`),
		"bad shard weight":   body(5, `{"epoch":5,"shards":[{"id":"a","address":"h:1","state":"serving","weight":0}],"global":{"address":"h:1"}}`),
		"epoch mismatch":     append(header(kindMap, 6), valid[headerLen:]...),
		"notice with a body": append(encodeNotice(6), 'x'),
		"oversize":           body(5, strings.Repeat(" ", maxMessageBytes)),
		"null shards":        body(5, `{"epoch":5,"shards":null,"global":{"address":"h:1"}}`),
		"serving no name":    header(kindServing, 5),
		"serving long name":  append(header(kindServing, 5), strings.Repeat("n", maxNodeName+1)...),
		"serving oversize":   append(header(kindServing, 5), strings.Repeat("n", maxMessageBytes)...),
	}
}

func TestDecodeRejects(t *testing.T) {
	for name, b := range craftedMessages(t) {
		t.Run(name, func(t *testing.T) {
			msg, err := decodeMessage(b)
			if !errors.Is(err, errBadMessage) {
				t.Fatalf("decodeMessage = %+v, %v; want errBadMessage", msg, err)
			}
		})
	}
}

func TestPeekReadsEpochWithoutParsing(t *testing.T) {
	b := append(header(kindMap, 1<<40), "not json"...)
	k, epoch, err := peek(b)
	if err != nil || k != kindMap || epoch != 1<<40 {
		t.Errorf("peek = %v, %d, %v", k, epoch, err)
	}
}

func FuzzDecodeMessage(f *testing.F) {
	for _, b := range craftedMessages(f) {
		if len(b) < 4096 {
			f.Add(b)
		}
	}
	valid, _ := encodeMap(testMap(3))
	f.Add(valid)
	f.Add(encodeNotice(3))
	serving, _ := encodeServing(3, "core-0")
	f.Add(serving)
	f.Fuzz(func(t *testing.T, b []byte) {
		msg, err := decodeMessage(b)
		if err != nil {
			return
		}
		switch msg.kind {
		case kindNotice:
			if msg.m != nil || msg.node != "" || len(b) != headerLen {
				t.Fatalf("notice %+v from %d bytes", msg, len(b))
			}
			return
		case kindServing:
			// A bounded name and nothing else, and it re-encodes to b.
			if msg.m != nil || msg.node == "" || len(msg.node) > maxNodeName {
				t.Fatalf("serving %+v from %d bytes", msg, len(b))
			}
			again, err := encodeServing(msg.epoch, msg.node)
			if err != nil || !bytes.Equal(again, b) {
				t.Fatalf("serving round trip: %x, %v; want %x", again, err, b)
			}
			return
		}
		if msg.node != "" {
			t.Fatalf("map message with a node name: %+v", msg)
		}
		// What decodes is a valid map of the header's epoch, and it
		// survives re-encoding.
		if msg.m.Epoch != binary.BigEndian.Uint64(b[2:headerLen]) {
			t.Fatalf("epoch %d, header %x", msg.m.Epoch, b[:headerLen])
		}
		if err := msg.m.Validate(); err != nil {
			t.Fatalf("decoded an invalid map: %v", err)
		}
		again, err := encodeMap(msg.m)
		if err != nil {
			t.Fatal(err)
		}
		back, err := decodeMessage(again)
		if err != nil || !back.m.Equal(msg.m) {
			t.Fatalf("round trip: %v", err)
		}
		if _, err := shardmap.Compile(msg.m, ring.Options{VirtualNodes: 1}); err != nil {
			t.Logf("valid map does not compile: %v", err)
		}
	})
}

func BenchmarkDecodeMessage(b *testing.B) {
	m := testMap(1)
	for i := range 15 {
		s := m.Shards[0]
		s.ID = "shard-" + string(rune('a'+i))
		m.Shards = append(m.Shards, s)
	}
	msg, err := encodeMap(m)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeMessage(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPeekStale(b *testing.B) {
	msg, err := encodeMap(testMap(1))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := peek(msg); err != nil {
			b.Fatal(err)
		}
	}
}
