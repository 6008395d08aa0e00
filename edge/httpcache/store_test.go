package httpcache

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
)

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func unbrotli(t *testing.T, b []byte) []byte {
	t.Helper()
	out, err := io.ReadAll(brotli.NewReader(bytes.NewReader(b)))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCompressionRoundTrip(t *testing.T) {
	text := strings.Repeat(`{"dish":"dumplings","price":12}`, 50)
	for _, ct := range []string{"text/html", "application/json; charset=utf-8", "application/javascript",
		"application/xml", "image/svg+xml", "application/problem+json", "TEXT/CSS"} {
		t.Run(ct, func(t *testing.T) {
			e := store(t, exchange(200, nil, hdr("Cache-Control", "max-age=60", "Content-Type", ct)), nil, text)
			gz, br := e.bodies[codingGzip], e.bodies[codingBr]
			if gz == nil || br == nil {
				t.Fatalf("variants missing: gzip %d br %d", len(gz), len(br))
			}
			if string(gunzip(t, gz)) != text || string(unbrotli(t, br)) != text || string(e.bodies[identity]) != text {
				t.Error("a variant does not decode to the identity body")
			}
			if len(br) >= len(text) || len(gz) >= len(text) {
				t.Error("variants are not smaller")
			}
		})
	}
}

func TestCompressionSkipped(t *testing.T) {
	for _, tc := range []struct {
		name, ct, body string
		o              StoreOptions
	}{
		{"binary type", "image/png", strings.Repeat("a", 1000), StoreOptions{}},
		{"no type", "", strings.Repeat("a", 1000), StoreOptions{}},
		{"below threshold", "text/plain", strings.Repeat("a", 255), StoreOptions{}},
		{"compression off", "text/plain", strings.Repeat("a", 1000), StoreOptions{CompressMin: -1}},
		{"incompressible", "text/plain", string(randomBytes(2000)), StoreOptions{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := exchange(200, nil, hdr("Cache-Control", "max-age=60", "Content-Type", tc.ct, "ETag", `"e"`))
			d := Decide(x, nil)
			e, err := NewEntry(x, &d, []byte(tc.body), &tc.o)
			if err != nil {
				t.Fatal(err)
			}
			if e.bodies[codingGzip] != nil || e.bodies[codingBr] != nil {
				t.Error("compressed anyway")
			}
			if etag := fieldList(e.Header()).Peek("ETag"); string(etag) != `"e"` {
				t.Errorf("ETag %q, want it unchanged", etag)
			}
		})
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

func TestOriginCodingDecoded(t *testing.T) {
	text := strings.Repeat("menu item ", 200)
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write([]byte(text))
	w.Close()
	x := exchange(200, nil, hdr("Cache-Control", "max-age=60", "Content-Type", "text/plain", "Content-Encoding", "gzip",
		"Vary", "Accept-Encoding", "ETag", `"o"`))
	e := store(t, x, nil, gz.String())
	if string(e.bodies[identity]) != text || !bytes.Equal(e.bodies[codingGzip], gz.Bytes()) {
		t.Error("identity not decoded or origin gzip not kept")
	}
	if string(unbrotli(t, e.bodies[codingBr])) != text {
		t.Error("br variant wrong")
	}
	h := fieldList(e.Header())
	if string(h.Peek("ETag")) != `W/"o"` || string(h.Peek("Vary")) != "accept-encoding" || h.Peek("Content-Encoding") != nil {
		t.Errorf("header %v", h)
	}
}

func TestNewEntryErrors(t *testing.T) {
	x := exchange(200, nil, hdr("Cache-Control", "max-age=60", "Content-Encoding", "gzip"))
	d := Decide(x, nil)
	if _, err := NewEntry(x, &d, []byte("not gzip"), nil); err == nil {
		t.Error("bad gzip accepted")
	}
	if _, err := NewEntry(x, &d, make([]byte, 100), &StoreOptions{MaxBody: 10}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("big body: %v", err)
	}
	var bomb bytes.Buffer
	w := gzip.NewWriter(&bomb)
	w.Write(make([]byte, 1<<20))
	w.Close()
	if _, err := NewEntry(x, &d, bomb.Bytes(), &StoreOptions{MaxBody: 64 << 10}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("gzip bomb: %v", err)
	}
	no := Decide(exchange(200, nil, hdr("Cache-Control", "no-store")), nil)
	if _, err := NewEntry(x, &no, nil, nil); !errors.Is(err, ErrNotStorable) {
		t.Errorf("not storable: %v", err)
	}
}

func TestReplayHeader(t *testing.T) {
	x := exchange(200, nil, hdr(
		"Cache-Control", "max-age=60",
		"Content-Type", "text/plain",
		"Content-Length", "4",
		"Connection", "close, X-Hop",
		"X-Hop", "1",
		"Keep-Alive", "timeout=5",
		"Transfer-Encoding", "chunked",
		"Set-Cookie", "session=1",
		"Age", "3",
		"Date", httpDate(t0),
		"Surrogate-Key", "a b",
		"X-Cache", "HIT",
		"Warning", "110 - stale",
		"Vary", "X-A",
		"ETag", `"e"`,
		"Cq-Version", "global.1",
		"X-Custom", "kept",
		"X-Custom", "twice",
	))
	e := store(t, x, nil, "body")
	var got []string
	for _, f := range e.Header() {
		got = append(got, string(f.Name)+": "+string(f.Value))
	}
	want := []string{"Cache-Control: max-age=60", "Content-Type: text/plain", "Cq-Version: global.1",
		"X-Custom: kept", "X-Custom: twice", `ETag: "e"`, "Vary: x-a"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("replayed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestEntryAccessors(t *testing.T) {
	x := exchange(200, nil, hdr("Cache-Control", "private, max-age=60", "Cq-Version", "shard-3.1234", "Surrogate-Key", "user:42:orders"))
	x.UserID = 42
	e := store(t, x, &Policy{PerUser: true}, "body")
	if e.Owner() != 42 || e.Status() != 200 || e.Version() != "shard-3.1234" || e.Weight() < 256+4 {
		t.Errorf("owner %d status %d version %q weight %d", e.Owner(), e.Status(), e.Version(), e.Weight())
	}
	if string(e.Key()) != "GET 42 11:example.com/menu?shop=12" {
		t.Errorf("key %q", e.Key())
	}
	if keys := e.SurrogateKeys(); len(keys) != 3 || keys[0] != "user:42:orders" || keys[2] != "ks:shard-3" {
		t.Errorf("keys %q", keys)
	}
}
