package httpcache

import (
	"slices"
	"testing"
	"time"
)

func TestDecideStorable(t *testing.T) {
	perUser := &Policy{PerUser: true}
	for _, tc := range []struct {
		name   string
		method string
		status int
		req    fieldList
		resp   fieldList
		p      *Policy
		user   int64
		want   Reason
		owner  int64
	}{
		{name: "3 GET 200 with max-age", resp: hdr("Cache-Control", "max-age=60"), want: Stored},
		{name: "3 HEAD is not stored", method: "HEAD", resp: hdr("Cache-Control", "max-age=60"), want: ReasonMethod},
		{name: "3 POST is not stored", method: "POST", resp: hdr("Cache-Control", "max-age=60"), want: ReasonMethod},
		{name: "3 206 is not stored", status: 206, resp: hdr("Cache-Control", "max-age=60"), want: ReasonStatus},
		{name: "3 304 is not stored", status: 304, resp: hdr("Cache-Control", "max-age=60"), want: ReasonStatus},
		{name: "3 1xx is not final", status: 103, resp: hdr("Cache-Control", "max-age=60"), want: ReasonStatus},
		{name: "3 500 with explicit freshness", status: 500, resp: hdr("Cache-Control", "max-age=5"), want: Stored},
		{name: "3 500 without explicit freshness", status: 500, resp: hdr("Last-Modified", httpDate(t0.Add(-time.Hour))), want: ReasonStatus},
		{name: "3 302 without explicit freshness", status: 302, resp: hdr(), want: ReasonStatus},
		{name: "3 302 with public is heuristically cacheable", status: 302,
			resp: hdr("Cache-Control", "public", "Last-Modified", httpDate(t0.Add(-time.Hour))), want: Stored},
		{name: "3 policy TTL does not make a 302 storable", status: 302, resp: hdr(),
			p: &Policy{TTL: Setting{Value: time.Minute}}, want: ReasonStatus},
		{name: "3 private makes a per-user 302 cacheable", status: 302, resp: hdr("Cache-Control", "private"),
			p: &Policy{PerUser: true, TTL: Setting{Value: time.Minute}}, user: 5, want: Stored, owner: 5},
		{name: "4.2.2 404 heuristically cacheable", status: 404,
			resp: hdr("Last-Modified", httpDate(t0.Add(-time.Hour))), want: Stored},
		{name: "3 200 without freshness or validator is useless", resp: hdr(), want: ReasonUseless},
		{name: "3 200 with Expires", resp: hdr("Date", httpDate(t0), "Expires", httpDate(t0.Add(time.Minute))), want: Stored},
		{name: "5.2.2.5 no-store", resp: hdr("Cache-Control", "no-store, max-age=60"), want: ReasonNoStore},
		{name: "5.2.2.5 no-store on a second line", resp: hdr("Cache-Control", "max-age=60", "Cache-Control", "no-store"), want: ReasonNoStore},
		{name: "5.2.2.5 policy may override no-store", resp: hdr("Cache-Control", "no-store"),
			p: &Policy{OverrideNoStore: true, TTL: Setting{Value: time.Minute}}, want: Stored},
		{name: "5.2.2.3 must-understand with understood status ignores no-store",
			resp: hdr("Cache-Control", "must-understand, no-store, max-age=60"), want: Stored},
		{name: "5.2.2.3 must-understand with unknown status", status: 299,
			resp: hdr("Cache-Control", "must-understand, no-store, max-age=60"), want: ReasonStatus},
		{name: "5.2.1.5 request no-store", req: hdr("Cache-Control", "no-store"),
			resp: hdr("Cache-Control", "max-age=60"), want: ReasonRequestNoStore},
		{name: "5.2.2.7 private in shared cache", resp: hdr("Cache-Control", "private, max-age=60"), want: ReasonPrivate},
		{name: "5.2.2.7 qualified private in shared cache", resp: hdr("Cache-Control", `private="X-A", max-age=60`), want: ReasonPrivate},
		{name: "5.2.2.7 private per user", resp: hdr("Cache-Control", "private, max-age=60"), p: perUser, user: 42, want: Stored, owner: 42},
		{name: "5.2.2.7 private per user route, anonymous", resp: hdr("Cache-Control", "private, max-age=60"), p: perUser, want: ReasonPrivate},
		{name: "3.5 Authorization without permission", req: hdr("Authorization", "Bearer x"),
			resp: hdr("Cache-Control", "max-age=60"), want: ReasonAuthorization},
		{name: "3.5 Authorization with public", req: hdr("Authorization", "Bearer x"),
			resp: hdr("Cache-Control", "public, max-age=60"), want: Stored},
		{name: "3.5 Authorization with s-maxage", req: hdr("Authorization", "Bearer x"),
			resp: hdr("Cache-Control", "s-maxage=60"), want: Stored},
		{name: "3.5 Authorization with must-revalidate", req: hdr("Authorization", "Bearer x"),
			resp: hdr("Cache-Control", "max-age=60, must-revalidate"), want: Stored},
		{name: "3.5 Authorization per user", req: hdr("Authorization", "Bearer x"),
			resp: hdr("Cache-Control", "max-age=60"), p: perUser, user: 7, want: Stored, owner: 7},
		{name: "4.1 Vary star", resp: hdr("Cache-Control", "max-age=60", "Vary", "Accept, *"), want: ReasonVary},
		{name: "4.1 Vary with a non-token", resp: hdr("Cache-Control", "max-age=60", "Vary", "a b"), want: ReasonVary},
		{name: "policy bypass", resp: hdr("Cache-Control", "max-age=60"), p: &Policy{Bypass: true}, want: ReasonBypass},
		{name: "5.2.2.4 no-cache with validator kept for revalidation",
			resp: hdr("Cache-Control", "no-cache", "ETag", `"v1"`), p: &Policy{KeepForRevalidation: time.Hour}, want: Stored},
		{name: "5.2.2.4 no-cache without keep is useless",
			resp: hdr("Cache-Control", "no-cache", "ETag", `"v1"`), want: ReasonUseless},
		{name: "surrogate template the route cannot fill", resp: hdr("Cache-Control", "max-age=60"),
			p: &Policy{SurrogateKeys: []string{"shop:{shop}"}}, want: ReasonSurrogateKeys},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := exchange(200, tc.req, tc.resp)
			if tc.method != "" {
				x.Method = []byte(tc.method)
			}
			if tc.status != 0 {
				x.Status = tc.status
			}
			x.UserID = tc.user
			d := Decide(x, tc.p)
			if d.Reason != tc.want || d.Store != (tc.want == Stored) {
				t.Fatalf("Decide = %v (store %v), want %v", d.Reason, d.Store, tc.want)
			}
			if d.Store && d.Owner != tc.owner {
				t.Errorf("owner = %d, want %d", d.Owner, tc.owner)
			}
		})
	}
}

func TestDecideFreshness(t *testing.T) {
	date := httpDate(t0)
	lm := httpDate(t0.Add(-100 * time.Hour))
	for _, tc := range []struct {
		name      string
		resp      fieldList
		p         Policy
		want      time.Duration
		heuristic bool
	}{
		{name: "4.2.1 s-maxage beats max-age", resp: hdr("Cache-Control", "max-age=10, s-maxage=300"), want: 300 * time.Second},
		{name: "4.2.1 max-age beats Expires", resp: hdr("Cache-Control", "max-age=10", "Date", date, "Expires", httpDate(t0.Add(time.Hour))), want: 10 * time.Second},
		{name: "4.2.1 Expires minus Date", resp: hdr("Date", date, "Expires", httpDate(t0.Add(time.Hour))), want: time.Hour},
		{name: "4.2.1 Expires minus response time without Date", resp: hdr("Expires", httpDate(t0.Add(time.Hour))), want: time.Hour},
		{name: "4.2.1 Expires in the past", resp: hdr("Date", date, "Expires", httpDate(t0.Add(-time.Hour)), "ETag", `"a"`),
			p: Policy{KeepForRevalidation: time.Minute}, want: 0},
		{name: "5.3 invalid Expires is expired", resp: hdr("Date", date, "Expires", "0", "ETag", `"a"`),
			p: Policy{KeepForRevalidation: time.Minute}, want: 0},
		{name: "4.2.1 Expires with obsolete date format", resp: hdr("Date", date, "Expires", t0.Add(time.Hour).Format("Monday, 02-Jan-06 15:04:05 GMT")), want: time.Hour},
		{name: "4.2.1 malformed max-age is stale", resp: hdr("Cache-Control", "max-age=ten", "ETag", `"a"`),
			p: Policy{KeepForRevalidation: time.Minute}, want: 0},
		{name: "4.2.2 heuristic is 10% of Date - Last-Modified", resp: hdr("Date", date, "Last-Modified", httpDate(t0.Add(-5*time.Hour))),
			want: 30 * time.Minute, heuristic: true},
		{name: "4.2.2 heuristic is capped", resp: hdr("Date", date, "Last-Modified", lm), want: DefaultHeuristicMax, heuristic: true},
		{name: "4.2.2 heuristic cap from policy", resp: hdr("Date", date, "Last-Modified", lm), p: Policy{HeuristicMax: 2 * time.Hour},
			want: 2 * time.Hour, heuristic: true},
		{name: "4.2.2 heuristic off", resp: hdr("Date", date, "Last-Modified", lm, "Cache-Control", "public"),
			p: Policy{HeuristicMax: -1, KeepForRevalidation: time.Second}, want: 0},
		{name: "policy TTL fills in for the heuristic", resp: hdr("Date", date, "Last-Modified", lm), p: Policy{TTL: Setting{Value: time.Minute}},
			want: time.Minute},
		{name: "policy TTL fill-in does not beat max-age", resp: hdr("Cache-Control", "max-age=5"), p: Policy{TTL: Setting{Value: time.Minute}},
			want: 5 * time.Second},
		{name: "policy TTL override beats s-maxage", resp: hdr("Cache-Control", "s-maxage=5"), p: Policy{TTL: Setting{Value: time.Minute, Override: true}},
			want: time.Minute},
		{name: "5.2.2.4 no-cache beats a TTL override", resp: hdr("Cache-Control", "no-cache, max-age=60", "ETag", `"a"`),
			p: Policy{TTL: Setting{Value: time.Minute, Override: true}, KeepForRevalidation: time.Second}, want: 0},
		{name: "1.2.2 huge max-age saturates", resp: hdr("Cache-Control", "max-age=99999999999999"), want: maxDeltaDuration},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(exchange(200, nil, tc.resp), &tc.p)
			if !d.Store {
				t.Fatalf("not stored: %v", d.Reason)
			}
			if d.Lifetime != tc.want || d.Heuristic != tc.heuristic {
				t.Errorf("lifetime %v (heuristic %v), want %v (%v)", d.Lifetime, d.Heuristic, tc.want, tc.heuristic)
			}
		})
	}
}

func TestDecideAge(t *testing.T) {
	for _, tc := range []struct {
		name       string
		resp       fieldList
		reqTime    time.Duration // before t0
		initialAge time.Duration
	}{
		{name: "4.2.3 no Age, Date now: response delay", resp: hdr("Date", httpDate(t0)), reqTime: 2 * time.Second, initialAge: 2 * time.Second},
		{name: "4.2.3 Age from upstream plus delay", resp: hdr("Date", httpDate(t0), "Age", "30"), reqTime: time.Second, initialAge: 31 * time.Second},
		{name: "4.2.3 apparent age when the origin's Date is old", resp: hdr("Date", httpDate(t0.Add(-time.Minute)), "Age", "5"), initialAge: time.Minute},
		{name: "4.2.3 clock skew: Date in the future counts 0", resp: hdr("Date", httpDate(t0.Add(time.Hour))), initialAge: 0},
		{name: "5.1 invalid Age ignored", resp: hdr("Date", httpDate(t0), "Age", "-3"), initialAge: 0},
		{name: "5.1 list Age: first member", resp: hdr("Date", httpDate(t0), "Age", "7, 90"), initialAge: 7 * time.Second},
		{name: "1.2.2 huge Age saturates", resp: hdr("Date", httpDate(t0), "Age", "99999999999999999999"), initialAge: maxDeltaDuration},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.resp = append(tc.resp, hdr("Cache-Control", "max-age=600")...)
			x := exchange(200, nil, tc.resp)
			x.RequestTime = t0.Add(-tc.reqTime)
			d := Decide(x, nil)
			if d.InitialAge != tc.initialAge {
				t.Errorf("corrected initial age %v, want %v", d.InitialAge, tc.initialAge)
			}
		})
	}
}

func TestDecideStaleWindows(t *testing.T) {
	fill := Policy{StaleWhileRevalidate: Setting{Value: time.Minute}, StaleIfError: Setting{Value: time.Hour}}
	force := Policy{StaleWhileRevalidate: Setting{Value: time.Minute, Override: true}, StaleIfError: Setting{Value: time.Hour, Override: true}}
	for _, tc := range []struct {
		name      string
		cc        string
		p         Policy
		swr, sie  time.Duration
		mustReval bool
	}{
		{name: "RFC5861 origin windows", cc: "max-age=60, stale-while-revalidate=30, stale-if-error=600", swr: 30 * time.Second, sie: 10 * time.Minute},
		{name: "RFC5861 no windows, no policy", cc: "max-age=60"},
		{name: "4.2.4 policy fills in when the origin is silent", cc: "max-age=60", p: fill, swr: time.Minute, sie: time.Hour},
		{name: "4.2.4 origin window beats a fill-in", cc: "max-age=60, stale-if-error=5", p: fill, swr: time.Minute, sie: 5 * time.Second},
		{name: "4.2.4 override beats the origin", cc: "max-age=60, stale-if-error=5", p: force, swr: time.Minute, sie: time.Hour},
		{name: "5.2.2.2 must-revalidate forbids stale", cc: "max-age=60, must-revalidate, stale-while-revalidate=30", p: force, mustReval: true},
		{name: "5.2.2.8 proxy-revalidate forbids stale", cc: "max-age=60, proxy-revalidate, stale-if-error=30", mustReval: true},
		{name: "5.2.2.4 no-cache forbids stale", cc: "no-cache, stale-if-error=30", p: Policy{KeepForRevalidation: time.Minute}},
		{name: "5.2.2.10 s-maxage implies proxy-revalidate: no fill-in", cc: "s-maxage=60", p: fill, mustReval: true},
		{name: "5.2.2.10 s-maxage with explicit windows keeps them", cc: "s-maxage=60, stale-while-revalidate=30, stale-if-error=90",
			p: fill, swr: 30 * time.Second, sie: 90 * time.Second, mustReval: true},
		{name: "5.2.2.10 s-maxage with an override", cc: "s-maxage=60", p: force, swr: time.Minute, sie: time.Hour, mustReval: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(exchange(200, nil, hdr("Cache-Control", tc.cc, "ETag", `"x"`)), &tc.p)
			if !d.Store {
				t.Fatalf("not stored: %v", d.Reason)
			}
			if d.StaleWhileRevalidate != tc.swr || d.StaleIfError != tc.sie || d.MustRevalidate != tc.mustReval {
				t.Errorf("swr %v sie %v must-revalidate %v, want %v %v %v",
					d.StaleWhileRevalidate, d.StaleIfError, d.MustRevalidate, tc.swr, tc.sie, tc.mustReval)
			}
		})
	}
}

func TestDecideSurrogateKeysAndVary(t *testing.T) {
	x := exchange(200, nil, hdr(
		"Cache-Control", "max-age=60",
		"Surrogate-Key", "menu:12  shop:12",
		"Surrogate-Key", "shop:12 catalog",
		"Vary", "Accept-Language, accept-encoding",
		"Vary", "ACCEPT-LANGUAGE",
		"Cq-Version", "global.56",
		"ETag", `"abc"`,
	))
	x.Params = params{"shop": "12"}
	d := Decide(x, &Policy{SurrogateKeys: []string{"shop:{shop}", "menu:{shop}:x", "all"}})
	if !d.Store {
		t.Fatalf("not stored: %v", d.Reason)
	}
	wantKeys := []string{"menu:12", "shop:12", "catalog", "menu:12:x", "all", "url:example.com/menu?shop=12", "ks:global"}
	if !slices.Equal(d.SurrogateKeys, wantKeys) {
		t.Errorf("keys %q, want %q", d.SurrogateKeys, wantKeys)
	}
	if want := []string{"accept-encoding", "accept-language"}; !slices.Equal(d.Vary, want) {
		t.Errorf("vary %q, want %q", d.Vary, want)
	}
	if d.Version != "global.56" || string(d.ETag) != `"abc"` {
		t.Errorf("version %q etag %q", d.Version, d.ETag)
	}
}

// An entry carries the keyspace key of its version, so that a reset of the
// change stream flushes every entry of the keyspace.
func TestDecideKeyspaceKey(t *testing.T) {
	for _, tc := range []struct {
		version string
		want    []string
	}{
		{"shard-3.1234", []string{"menu:12", "url:example.com/menu?shop=12", "ks:shard-3"}},
		{"global.56", []string{"menu:12", "url:example.com/menu?shop=12", "ks:global"}},
		{"", []string{"menu:12", "url:example.com/menu?shop=12"}},
		{"shard-3.", []string{"menu:12", "url:example.com/menu?shop=12"}},
		{".12", []string{"menu:12", "url:example.com/menu?shop=12"}},
		{"Shard 3.12", []string{"menu:12", "url:example.com/menu?shop=12"}},
		{"shard-3.x1", []string{"menu:12", "url:example.com/menu?shop=12"}},
	} {
		t.Run(tc.version, func(t *testing.T) {
			resp := hdr("Cache-Control", "max-age=60", "Surrogate-Key", "menu:12")
			if tc.version != "" {
				resp = append(resp, hdr("Cq-Version", tc.version)...)
			}
			d := Decide(exchange(200, nil, resp), nil)
			if !d.Store || !slices.Equal(d.SurrogateKeys, tc.want) {
				t.Fatalf("stored %v, keys %q, want %q", d.Store, d.SurrogateKeys, tc.want)
			}
		})
	}
	// The keyspace key counts against the limit: an entry never misses
	// the flush meant for it.
	var full []byte // with the URL key, as many keys as an entry may carry
	for i := range MaxSurrogateKeys - 1 {
		full = append(full, ' ', byte('a'+i%26), byte('a'+i/26%26))
	}
	resp := hdr("Cache-Control", "max-age=60", "Surrogate-Key", string(full[1:]))
	if d := Decide(exchange(200, nil, resp), nil); !d.Store {
		t.Fatalf("not stored: %v", d.Reason)
	}
	if d := Decide(exchange(200, nil, append(resp, hdr("Cq-Version", "global.1")...)), nil); d.Store {
		t.Fatalf("stored with %d keys and no room for the keyspace key", len(d.SurrogateKeys))
	}
}

func TestDecideTooManySurrogateKeys(t *testing.T) {
	var many []byte
	for i := range MaxSurrogateKeys + 1 {
		many = append(many, ' ', byte('a'+i%26), byte('a'+i/26%26), byte('a'+i/676))
	}
	d := Decide(exchange(200, nil, hdr("Cache-Control", "max-age=60", "Surrogate-Key", string(many))), nil)
	if d.Store || d.Reason != ReasonSurrogateKeys {
		t.Errorf("got %v", d.Reason)
	}
}

func TestPolicyValidate(t *testing.T) {
	for _, tc := range []struct {
		keys []string
		ok   bool
	}{
		{[]string{"shop:{shop}", "menu:{shop}:{day}", "static"}, true},
		{[]string{"shop:{shop"}, false},
		{[]string{"shop:shop}"}, false},
		{[]string{"shop:{}"}, false},
		{[]string{"a b"}, false},
		{[]string{""}, false},
		{[]string{"{{x}}"}, false},
	} {
		p := Policy{SurrogateKeys: tc.keys}
		if err := p.Validate(); (err == nil) != tc.ok {
			t.Errorf("Validate(%q) = %v, want ok=%v", tc.keys, err, tc.ok)
		}
	}
	if err := (&Policy{TTL: Setting{Value: -1}}).Validate(); err == nil {
		t.Error("negative TTL accepted")
	}
	if got := DefaultPolicy(); got.Validate() != nil || got.StaleIfError.Value != 5*time.Minute {
		t.Errorf("DefaultPolicy = %+v", got)
	}
}
