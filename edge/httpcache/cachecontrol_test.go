package httpcache

import "testing"

func TestParseCacheControl(t *testing.T) {
	d := func(s int64) Delta { return Delta{Seconds: s, Set: true} }
	for _, tc := range []struct {
		name, in string
		want     Directives
	}{
		{"5.2.2.1 max-age", "max-age=60", Directives{MaxAge: d(60)}},
		{"5.2 names are case-insensitive", "MAX-AGE=60, Public", Directives{MaxAge: d(60), Public: true}},
		{"5.2 quoted argument accepted", `max-age="60"`, Directives{MaxAge: d(60)}},
		{"5.2.2.10 s-maxage with max-age", "public, max-age=10, s-maxage=300", Directives{MaxAge: d(10), SMaxAge: d(300), Public: true}},
		{"4.2.1 duplicate max-age: first wins", "max-age=60, max-age=10", Directives{MaxAge: d(60)}},
		{"4.2.1 malformed max-age is stale", "max-age=abc", Directives{MaxAge: d(0)}},
		{"4.2.1 max-age without argument is stale", "max-age", Directives{MaxAge: d(0)}},
		{"4.2.1 negative max-age is stale", "max-age=-1", Directives{MaxAge: d(0)}},
		{"4.2.1 trailing junk is stale", "max-age=60x", Directives{MaxAge: d(0)}},
		{"4.2.1 junk after argument is stale", "max-age=60 x", Directives{MaxAge: d(0)}},
		{"4.2.1 malformed s-maxage is stale", "s-maxage=1.5", Directives{SMaxAge: d(0)}},
		{"4.2.1 first occurrence even if malformed", "max-age=x, max-age=60", Directives{MaxAge: d(0)}},
		{"5.2 no whitespace around =", "max-age = 60", Directives{MaxAge: d(0)}},
		{"1.2.2 overflow saturates at 2^31", "max-age=99999999999999999999999", Directives{MaxAge: d(MaxDelta)}},
		{"1.2.2 leading zeros", "max-age=007", Directives{MaxAge: d(7)}},
		{"5.2.2.4 qualified no-cache is no-cache", `no-cache="Set-Cookie, X-Foo", max-age=5`, Directives{NoCache: true, MaxAge: d(5)}},
		{"5.2.2.7 qualified private is private", `private="X-User"`, Directives{Private: true}},
		{"5.2 comma inside quotes does not split", `private="a,max-age=9", max-age=3`, Directives{Private: true, MaxAge: d(3)}},
		{"5.2.2.5 no-store with junk still counts", "no-store=1", Directives{NoStore: true}},
		{"5.2.2.9 public with argument ignored", "public=yes", Directives{}},
		{"5.2.2.2 must-revalidate", "max-age=0, must-revalidate", Directives{MaxAge: d(0), MustRevalidate: true}},
		{"5.2.2.8 proxy-revalidate", "proxy-revalidate", Directives{ProxyRevalidate: true}},
		{"5.2.2.3 must-understand", "must-understand, no-store", Directives{MustUnderstand: true, NoStore: true}},
		{"5.2.2.6 no-transform", "no-transform", Directives{NoTransform: true}},
		{"RFC5861 stale windows", "max-age=60, stale-while-revalidate=30, stale-if-error=600",
			Directives{MaxAge: d(60), StaleWhileRevalidate: d(30), StaleIfError: d(600)}},
		{"RFC5861 malformed window ignored", "stale-while-revalidate=soon, stale-if-error", Directives{}},
		{"5.2.1.2 max-stale without value is unlimited", "max-stale", Directives{MaxStale: d(MaxDelta)}},
		{"5.2.1.2 max-stale with value", "max-stale=30", Directives{MaxStale: d(30)}},
		{"5.2.1.3 min-fresh", "min-fresh=20", Directives{MinFresh: d(20)}},
		{"5.2.1.7 only-if-cached", "only-if-cached", Directives{OnlyIfCached: true}},
		{"5.2.3 unknown extensions ignored", `community="UCI", foo, bar=baz, max-age=1`, Directives{MaxAge: d(1)}},
		{"RFC9110 5.6.1 empty elements", " , ,max-age=1,, ", Directives{MaxAge: d(1)}},
		{"5.2 garbage element skipped", "@@@, no-store", Directives{NoStore: true}},
		{"5.2 unterminated quote", `private="abc, max-age=1`, Directives{Private: true}},
		{"5.2 quoted-pair in number is stale", `max-age="6\0"`, Directives{MaxAge: d(0)}},
		{"empty", "", Directives{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ParseCacheControl([]byte(tc.in)); got != tc.want {
				t.Errorf("ParseCacheControl(%q)\n got %v\nwant %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestCacheControlSeveralLines(t *testing.T) {
	// RFC 9110 §5.3: lines of a list field combine.
	d, _ := cacheControl(hdr("Cache-Control", "public", "cache-control", "max-age=30"))
	if !d.Public || d.MaxAge != (Delta{30, true}) {
		t.Errorf("got %v", d)
	}
	// A Header without PeekAll only shows the first line.
	d, _ = cacheControl(peekOnly{hdr("Cache-Control", "public", "Cache-Control", "max-age=30")})
	if !d.Public || d.MaxAge.Set {
		t.Errorf("peek-only: got %v", d)
	}
}

func TestRequestDirectives(t *testing.T) {
	for _, tc := range []struct {
		name    string
		h       fieldList
		noCache bool
	}{
		{"5.4 Pragma no-cache without Cache-Control", hdr("Pragma", "no-cache"), true},
		{"5.4 Pragma ignored next to Cache-Control", hdr("Pragma", "no-cache", "Cache-Control", "max-age=5"), false},
		{"5.4 other pragma", hdr("Pragma", "x-foo"), false},
		{"5.2.1.4 no-cache", hdr("Cache-Control", "no-cache"), true},
		{"none", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := RequestDirectives(tc.h).NoCache; got != tc.noCache {
				t.Errorf("no-cache = %v, want %v", got, tc.noCache)
			}
		})
	}
}

func TestCacheControlFormatRoundTrip(t *testing.T) {
	for _, in := range []string{
		"max-age=60, s-maxage=0, public, no-transform",
		`no-cache="a", private, must-revalidate, proxy-revalidate, must-understand, immutable`,
		"max-stale, min-fresh=3, only-if-cached, no-store",
		"max-stale=2147483648",
		"stale-while-revalidate=1, stale-if-error=2, max-age=x",
	} {
		d := ParseCacheControl([]byte(in))
		out := d.String()
		if again := ParseCacheControl([]byte(out)); again != d {
			t.Errorf("%q → %q → %v, want %v", in, out, again, d)
		}
	}
}
