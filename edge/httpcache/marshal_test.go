package httpcache

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sampleEntry(t testing.TB) *Entry {
	x := exchange(200, hdr("Accept-Language", "de", "Cookie", "s=1"), hdr(
		"Cache-Control", "private, max-age=60, stale-while-revalidate=30, stale-if-error=300",
		"Date", httpDate(t0), "Age", "3", "ETag", `"v1"`, "Last-Modified", httpDate(t0.Add(-time.Hour)),
		"Content-Type", "application/json", "Vary", "Accept-Language, Cookie, X-Absent",
		"Surrogate-Key", "user:42:orders shop:7", "Cq-Version", "shard-3.1234"))
	x.UserID = 42
	return store(t, x, &Policy{PerUser: true, KeepForRevalidation: time.Hour}, strings.Repeat(`{"order":1}`, 100))
}

func TestMarshalRoundTrip(t *testing.T) {
	for name, e := range map[string]*Entry{
		"full":   sampleEntry(t),
		"empty":  store(t, exchange(204, nil, hdr("Cache-Control", "max-age=1")), nil, ""),
		"opaque": store(t, exchange(200, nil, hdr("Cache-Control", "max-age=1", "Content-Encoding", "zstd")), nil, "zz"),
	} {
		t.Run(name, func(t *testing.T) {
			b, err := e.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			got, err := UnmarshalEntry(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(normalizeNil(got), normalizeNil(e)) {
				t.Errorf("round trip differs\n got %+v\nwant %+v", got, e)
			}
			b[len(b)/2] ^= 0xff // the decoded entry must not share b
			if !reflect.DeepEqual(normalizeNil(got), normalizeNil(e)) && len(b) > 0 {
				t.Error("decoded entry aliases its input")
			}
		})
	}
}

// normalizeNil maps empty slices to nil: the wire form does not tell them
// apart, and nothing reads the difference.
func normalizeNil(e *Entry) Entry {
	c := *e
	n := func(b []byte) []byte {
		if len(b) == 0 {
			return nil
		}
		return b
	}
	c.key, c.opaque, c.etag, c.lastModified, c.tag = n(c.key), n(c.opaque), n(c.etag), n(c.lastModified), n(c.tag)
	for i := range c.bodies {
		c.bodies[i] = n(c.bodies[i])
	}
	c.header = append([]Field(nil), c.header...)
	for i := range c.header {
		c.header[i] = Field{n(c.header[i].Name), n(c.header[i].Value)}
	}
	c.vary = append([]varyField(nil), c.vary...)
	for i := range c.vary {
		c.vary[i].value = n(c.vary[i].value)
	}
	if len(c.vary) == 0 {
		c.vary = nil
	}
	return c
}

func TestUnmarshalBehavesAlike(t *testing.T) {
	e := sampleEntry(t)
	b, _ := e.MarshalBinary()
	got, err := UnmarshalEntry(b)
	if err != nil {
		t.Fatal(err)
	}
	now := t0.Add(70 * time.Second)
	req := hdr("Accept-Language", "de", "Cookie", "s=1", "If-None-Match", `"v1"`)
	if got.State(now) != e.State(now) || got.Age(now) != e.Age(now) || !got.Matches(req) || !got.NotModified(req) ||
		got.TTL(now) != e.TTL(now) || got.Owner() != 42 {
		t.Error("decoded entry behaves differently")
	}
	b1, _ := got.Pick([]byte("br"))
	b2, _ := e.Pick([]byte("br"))
	if !bytes.Equal(b1, b2) {
		t.Error("bodies differ")
	}
}

func TestUnmarshalCorrupt(t *testing.T) {
	good, _ := sampleEntry(t).MarshalBinary()
	for name, b := range map[string][]byte{
		"empty":       nil,
		"bad magic":   append([]byte("XXXX"), good[4:]...),
		"bad version": append(append([]byte("CQHC"), 9), good[5:]...),
		"truncated":   good[:len(good)-1],
		"trailing":    append(append([]byte(nil), good...), 0),
		"huge length": append([]byte("CQHC\x01"), 0xff, 0xff, 0xff, 0xff, 0x0f),
		"huge count":  headerCountOverBound(),
		"too big":     make([]byte, MaxEncodedEntry+1),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := UnmarshalEntry(b); !errors.Is(err, ErrCorrupt) {
				t.Errorf("err = %v, want ErrCorrupt", err)
			}
		})
	}
	for i := range good {
		if _, err := UnmarshalEntry(good[:i]); err == nil {
			t.Fatalf("prefix of %d bytes accepted", i)
		}
	}
}

// headerCountOverBound encodes an entry whose header count claims more
// fields than the bound.
func headerCountOverBound() []byte {
	b := []byte("CQHC\x01")
	b = appendBytes(b, []byte("k"))
	b = append(b, 200, 1) // status 200
	for range 8 {
		b = append(b, 0)
	}
	b = append(b, 0, 0)
	for range 7 {
		b = append(b, 0)
	}
	b = append(b, 0xff, 0xff, 0x03) // header count 65535
	return b
}
