package httpcache

import "testing"

func TestMatches(t *testing.T) {
	for _, tc := range []struct {
		name   string
		vary   string
		stored fieldList // the request the entry was stored for
		req    Header
		want   bool
	}{
		{"4.1 no Vary matches anything", "", hdr("Accept-Language", "de"), hdr("Accept-Language", "fr"), true},
		{"4.1 same value", "Accept-Language", hdr("Accept-Language", "de"), hdr("Accept-Language", "de"), true},
		{"4.1 different value", "Accept-Language", hdr("Accept-Language", "de"), hdr("Accept-Language", "fr"), false},
		{"4.1 names are case-insensitive", "ACCEPT-language", hdr("accept-language", "de"), hdr("Accept-Language", "de"), true},
		{"4.1 whitespace around elements", "Accept-Language", hdr("Accept-Language", "de,  fr;q=0.5"), hdr("Accept-Language", " de ,fr;q=0.5 "), true},
		{"4.1 whitespace runs collapse", "X-A", hdr("X-A", "a  b"), hdr("X-A", "a \t b"), true},
		{"4.1 whitespace inside is not removed", "X-A", hdr("X-A", "a b"), hdr("X-A", "ab"), false},
		{"4.1 empty elements dropped", "X-A", hdr("X-A", "a,,b"), hdr("X-A", "a, b,"), true},
		{"4.1 lines combine", "X-A", hdr("X-A", "a, b"), hdr("X-A", "a", "X-A", "b"), true},
		{"4.1 values are case-sensitive", "X-A", hdr("X-A", "abc"), hdr("X-A", "ABC"), false},
		{"4.1 absent matches only absent", "X-A", hdr(), hdr(), true},
		{"4.1 absent does not match empty", "X-A", hdr(), hdr("X-A", ""), false},
		{"4.1 empty does not match absent", "X-A", hdr("X-A", ""), hdr(), false},
		{"4.1 empty matches empty", "X-A", hdr("X-A", ""), hdr("X-A", " "), true},
		{"4.1 prefix is not a match", "X-A", hdr("X-A", "abc"), hdr("X-A", "ab"), false},
		{"4.1 longer is not a match", "X-A", hdr("X-A", "ab"), hdr("X-A", "abc"), false},
		{"4.1 every field must match", "X-A, X-B", hdr("X-A", "1", "X-B", "2"), hdr("X-A", "1", "X-B", "3"), false},
		{"4.1 credential field by digest", "Cookie", hdr("Cookie", "s=1"), hdr("Cookie", "s=1"), true},
		{"4.1 credential field differs", "Authorization", hdr("Authorization", "Bearer a"), hdr("Authorization", "Bearer b"), false},
		{"4.1 peek-only header", "X-A", hdr("X-A", "a"), peekOnly{hdr("X-A", "a")}, true},
		{"4.1 Accept-Encoding is negotiated, not matched", "Accept-Encoding", hdr("Accept-Encoding", "gzip"), hdr("Accept-Encoding", "br"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := hdr("Cache-Control", "public, max-age=60")
			if tc.vary != "" {
				resp = append(resp, hdr("Vary", tc.vary)...)
			}
			e := store(t, exchange(200, tc.stored, resp), nil, "body")
			if got := e.Matches(tc.req); got != tc.want {
				t.Errorf("Matches = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestVaryCredentialNotStoredInClear(t *testing.T) {
	e := store(t, exchange(200, hdr("Cookie", "session=secret"), hdr("Cache-Control", "max-age=60", "Vary", "Cookie")), nil, "b")
	raw, err := e.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if containsBytes(raw, []byte("secret")) {
		t.Error("the encoded entry holds the cookie in the clear")
	}
}

func containsBytes(b, sub []byte) bool {
	for i := 0; i+len(sub) <= len(b); i++ {
		if string(b[i:i+len(sub)]) == string(sub) {
			return true
		}
	}
	return false
}

func TestVaryAcceptEncodingKeptForOpaqueCoding(t *testing.T) {
	// The origin's deflate body is kept as is, so Accept-Encoding selects.
	resp := hdr("Cache-Control", "max-age=60", "Vary", "Accept-Encoding", "Content-Encoding", "deflate")
	e := store(t, exchange(200, hdr("Accept-Encoding", "deflate"), resp), nil, "xx")
	if e.Matches(hdr("Accept-Encoding", "gzip")) {
		t.Error("matched another Accept-Encoding")
	}
	if !e.Matches(hdr("Accept-Encoding", "deflate")) {
		t.Error("did not match the same Accept-Encoding")
	}
}

func TestOpaqueCodingAlwaysSelectsOnAcceptEncoding(t *testing.T) {
	// No Vary from the origin, but a body in a coding not every client takes.
	resp := hdr("Cache-Control", "max-age=60", "Content-Encoding", "zstd")
	e := store(t, exchange(200, hdr("Accept-Encoding", "zstd, gzip"), resp), nil, "xx")
	if e.Matches(hdr("Accept-Encoding", "gzip")) || e.Matches(hdr()) || !e.Matches(hdr("Accept-Encoding", "zstd,gzip")) {
		t.Error("opaque coding served regardless of Accept-Encoding")
	}
	if v := fieldList(e.Header()).Peek("Vary"); string(v) != "accept-encoding" {
		t.Errorf("Vary %q", v)
	}
}
