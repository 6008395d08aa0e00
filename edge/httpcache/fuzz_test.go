package httpcache

import (
	"bytes"
	"reflect"
	"testing"
	"time"
)

func FuzzParseCacheControl(f *testing.F) {
	for _, s := range []string{
		"max-age=60", "public, s-maxage=300, stale-while-revalidate=30, stale-if-error=86400",
		`no-cache="Set-Cookie, X", private="a,b"`, "max-stale, min-fresh=5, only-if-cached",
		`max-age="5"`, "max-age=99999999999999999999", "MAX-AGE=1 , no-store=x,,,", `private="\"`, "=\"", "\t,\t",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d := ParseCacheControl(b)
		for _, v := range []Delta{d.MaxAge, d.SMaxAge, d.StaleWhileRevalidate, d.StaleIfError, d.MaxStale, d.MinFresh} {
			if v.Seconds < 0 || v.Seconds > MaxDelta || !v.Set && v.Seconds != 0 {
				t.Fatalf("out of range delta %+v from %q", v, b)
			}
		}
		out := d.AppendFormat(nil)
		if again := ParseCacheControl(out); again != d {
			t.Fatalf("%q → %v → %q → %v", b, d, out, again)
		}
		// A directive list split over two lines means the same.
		if i := bytes.IndexByte(b, ','); i >= 0 && bytes.Count(b, []byte(`"`)) == 0 {
			two, _ := cacheControl(hdr("Cache-Control", string(b[:i]), "Cache-Control", string(b[i+1:])))
			if two != d {
				t.Fatalf("%q split in two lines: %v, want %v", b, two, d)
			}
		}
	})
}

func FuzzUnmarshalEntry(f *testing.F) {
	for _, e := range []*Entry{
		sampleEntry(f),
		store(f, exchange(204, nil, hdr("Cache-Control", "max-age=1")), nil, ""),
		store(f, exchange(200, nil, hdr("Cache-Control", "max-age=1", "Content-Encoding", "zstd")), nil, "zz"),
	} {
		b, err := e.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("CQHC\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := UnmarshalEntry(b)
		if err != nil {
			return
		}
		// Whatever decodes must be safe to serve from.
		now := time.Unix(0, e.responseTime).Add(time.Minute)
		req := hdr("Accept-Encoding", "br", "If-None-Match", `"a"`, "If-Modified-Since", httpDate(t0))
		_, _, _, _ = e.State(now), e.Age(now), e.TTL(now), e.Matches(req)
		_, _ = e.NotModified(req), e.StateFor(now, &Directives{NoCache: true})
		if body, _ := e.Pick([]byte("gzip, br")); body == nil {
			t.Fatal("no body")
		}
		again, err := e.MarshalBinary()
		if err != nil {
			return // too complex to encode again is fine, panicking is not
		}
		e2, err := UnmarshalEntry(again)
		if err != nil {
			t.Fatalf("re-encoded entry does not decode: %v", err)
		}
		if !reflect.DeepEqual(normalizeNil(e), normalizeNil(e2)) {
			t.Fatal("re-encoded entry differs")
		}
	})
}

// FuzzRequestFields feeds hostile request fields to the hit path.
func FuzzRequestFields(f *testing.F) {
	f.Add("gzip, br;q=0.5", `"v1", W/"x"`, httpDate(t0), "de, fr")
	f.Add("*;q=0, identity;q=0", "*", "Sunday, 06-Nov-94 08:49:37 GMT", "")
	f.Add("br;q=1.0001", `W/"`, "Sun Nov  6 08:49:37 1994", " , ,")
	e := hitEntry(f)
	f.Fuzz(func(t *testing.T, ae, inm, ims, lang string) {
		req := hdr("Accept-Encoding", ae, "If-None-Match", inm, "If-Modified-Since", ims, "Accept-Language", lang)
		body, coding := e.Pick([]byte(ae))
		if c := codingIndex(string(coding)); !bytes.Equal(body, e.bodies[c]) || body == nil {
			t.Fatalf("Pick(%q) = body of %d bytes, coding %q", ae, len(body), coding)
		}
		_ = e.NotModified(req)
		_ = e.NotModified(hdr("If-Modified-Since", ims))
		_ = RequestDirectives(req)
		// Vary matching is reflexive for any value.
		x := exchange(200, req, hdr("Cache-Control", "max-age=60", "Vary", "Accept-Language, If-None-Match"))
		if v := store(t, x, nil, "b"); !v.Matches(req) {
			t.Fatalf("a request does not match itself: %q %q", lang, inm)
		}
	})
}

// FuzzDecide feeds hostile response fields to the storing rules.
func FuzzDecide(f *testing.F) {
	f.Add("max-age=60, stale-if-error=30", httpDate(t0.Add(time.Hour)), "3", "Accept, Accept-Language", "a b c", `"v1"`, 200)
	f.Add("private, no-cache", "0", "x", "*", "", "W/", 404)
	f.Fuzz(func(t *testing.T, cc, expires, age, vary, skeys, etag string, status int) {
		x := exchange(status, hdr("Accept", "x"), hdr("Cache-Control", cc, "Expires", expires, "Age", age, "Vary", vary,
			"Surrogate-Key", skeys, "ETag", etag, "Last-Modified", expires, "Content-Type", "text/plain"))
		d := Decide(x, &Policy{KeepForRevalidation: time.Minute})
		if d.Lifetime < 0 || d.InitialAge < 0 || d.StaleIfError < 0 || d.StaleWhileRevalidate < 0 {
			t.Fatalf("negative duration in %+v", d)
		}
		if !d.Store {
			return
		}
		e, err := NewEntry(x, &d, []byte(cc+expires), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, err := e.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := UnmarshalEntry(b); err != nil {
			t.Fatal(err)
		}
		if !e.Matches(x.Request) {
			t.Fatal("the stored request does not match")
		}
	})
}
