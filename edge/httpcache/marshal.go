package httpcache

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// The binary form of an Entry, for L2:
//
//	"CQHC" version(1 byte)
//	key status owner response-time date initial-age lifetime swr sie keep
//	flags weak-etag etag last-modified version opaque
//	identity gzip br
//	#header (name value)…  #vary (name present value)…  #keys (key)…
//
// Integers are varints, byte strings and counts uvarint-length-prefixed;
// the input must end exactly after the last key. UnmarshalEntry checks
// every length against what is left and every count against a bound, so
// damaged or hostile bytes give an error, never a panic or a huge
// allocation.
const (
	wireMagic   = "CQHC"
	wireVersion = 1

	// MaxEncodedEntry bounds the bytes UnmarshalEntry accepts.
	MaxEncodedEntry = 64 << 20

	maxWireHeaders = 1024
	maxWireVary    = 64
)

// ErrCorrupt is wrapped by UnmarshalEntry errors.
var ErrCorrupt = errors.New("httpcache: corrupt entry")

// MarshalBinary encodes the entry for L2.
func (e *Entry) MarshalBinary() ([]byte, error) {
	if len(e.header) > maxWireHeaders || len(e.vary) > maxWireVary || len(e.keys) > MaxSurrogateKeys {
		return nil, fmt.Errorf("httpcache: entry too complex to encode: %d fields, %d vary, %d keys",
			len(e.header), len(e.vary), len(e.keys))
	}
	b := make([]byte, 0, e.weight()+64)
	b = append(b, wireMagic...)
	b = append(b, wireVersion)
	b = appendBytes(b, e.key)
	b = binary.AppendUvarint(b, uint64(e.status))
	for _, v := range [...]int64{e.owner, e.responseTime, e.date, int64(e.initialAge),
		int64(e.lifetime), int64(e.swr), int64(e.sie), int64(e.keep)} {
		b = binary.AppendVarint(b, v)
	}
	b = append(b, e.flags, boolByte(e.weakETag))
	for _, s := range [...][]byte{e.etag, e.lastModified, []byte(e.version), e.opaque,
		e.bodies[identity], e.bodies[codingGzip], e.bodies[codingBr]} {
		b = appendBytes(b, s)
	}
	b = binary.AppendUvarint(b, uint64(len(e.header)))
	for _, f := range e.header {
		b = appendBytes(appendBytes(b, f.Name), f.Value)
	}
	b = binary.AppendUvarint(b, uint64(len(e.vary)))
	for _, v := range e.vary {
		b = appendBytes(append(appendBytes(b, []byte(v.name)), boolByte(v.present)), v.value)
	}
	b = binary.AppendUvarint(b, uint64(len(e.keys)))
	for _, k := range e.keys {
		b = appendBytes(b, []byte(k))
	}
	if len(b) > MaxEncodedEntry {
		return nil, fmt.Errorf("httpcache: encoded entry of %d bytes exceeds %d", len(b), MaxEncodedEntry)
	}
	return b, nil
}

func appendBytes(b, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// UnmarshalEntry decodes an entry that MarshalBinary encoded. The entry
// does not keep b.
func UnmarshalEntry(b []byte) (*Entry, error) {
	if len(b) > MaxEncodedEntry {
		return nil, fmt.Errorf("%w: %d bytes", ErrCorrupt, len(b))
	}
	if len(b) < len(wireMagic)+1 || string(b[:len(wireMagic)]) != wireMagic {
		return nil, fmt.Errorf("%w: bad magic", ErrCorrupt)
	}
	if b[len(wireMagic)] != wireVersion {
		return nil, fmt.Errorf("%w: unknown version %d", ErrCorrupt, b[len(wireMagic)])
	}
	r := reader{b: bytes.Clone(b[len(wireMagic)+1:])}
	e := r.entry()
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d trailing bytes", len(r.b))
	}
	if r.err != nil {
		return nil, r.err
	}
	e.finish()
	return e, nil
}

func (r *reader) entry() *Entry {
	e := &Entry{key: r.bytes()}
	e.status = int(r.uvarint(999))
	if r.err == nil && e.status < 100 {
		r.fail("status %d", e.status)
	}
	e.owner, e.responseTime, e.date = r.varint(), r.varint(), r.varint()
	for _, d := range [...]*time.Duration{&e.initialAge, &e.lifetime, &e.swr, &e.sie, &e.keep} {
		*d = time.Duration(r.varint())
	}
	e.flags = r.byte(flagsKnown)
	e.weakETag = r.byte(1) == 1
	e.etag, e.lastModified, e.version = r.bytes(), r.bytes(), string(r.bytes())
	e.opaque = r.bytes()
	for c := range e.bodies {
		e.bodies[c] = r.bytes()
	}
	e.header = make([]Field, r.uvarint(maxWireHeaders))
	for i := range e.header {
		e.header[i] = Field{Name: r.bytes(), Value: r.bytes()}
	}
	e.vary = make([]varyField, r.uvarint(maxWireVary))
	for i := range e.vary {
		e.vary[i] = varyField{name: string(r.bytes()), present: r.byte(1) == 1, value: r.bytes()}
	}
	e.keys = make([]string, r.uvarint(MaxSurrogateKeys))
	for i := range e.keys {
		e.keys[i] = string(r.bytes())
	}
	return e
}

// reader consumes the binary form; after the first error every read
// returns zero values.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
	}
	r.b = nil
}

func (r *reader) uvarint(limit uint64) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 || v > limit {
		r.fail("bad count or length")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("bad integer")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) byte(limit byte) byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) == 0 || r.b[0] > limit {
		r.fail("bad flag byte")
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

// bytes returns a length-prefixed string as a sub-slice; an empty one is
// nil. Its capacity is clipped so that appending never writes over what
// follows.
func (r *reader) bytes() []byte {
	n := r.uvarint(MaxEncodedEntry)
	if r.err == nil && n > uint64(len(r.b)) {
		r.fail("length %d past the end", n)
	}
	if r.err != nil || n == 0 {
		return nil
	}
	s := r.b[:n:n]
	r.b = r.b[n:]
	return s
}
