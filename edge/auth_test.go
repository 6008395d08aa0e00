package edge

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/core/identity"
	"github.com/cangqiong/cangqiong/edge/auth"
	"github.com/cangqiong/cangqiong/edge/auth/authtest"
	"github.com/cangqiong/cangqiong/edge/httpcache"
	"github.com/cangqiong/cangqiong/edge/limit"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// echoUser answers with the user the origin was told about.
func echoUser(cacheControl string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", cacheControl)
		fmt.Fprintf(w, "user=%s role=%s auth=%q", r.Header.Get("Cq-User-Id"), r.Header.Get("Cq-User-Role"), r.Header.Get("Authorization"))
	}
}

func authEdge(t *testing.T, o *testOrigin, iss *authtest.Issuer, tune func(*Config)) *testEdge {
	v, err := auth.New(iss.Config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return edgeFor(t, o, func(c *Config) {
		c.Auth, c.Tunnel = v, true
		me := httpcache.DefaultPolicy()
		me.PerUser = true
		c.Routes = []Route{{Pattern: "* /api/v1/me/**", Auth: AuthRequired, Policy: me}}
		if tune != nil {
			tune(c)
		}
	})
}

func TestJWTFailuresAre401(t *testing.T) {
	o := newOrigin(t, echoUser("no-store"))
	iss := authtest.NewIssuer(t)
	e := authEdge(t, o, iss, nil)
	other := authtest.NewIssuer(t) // same kid, another key: a bad signature
	stranger := authtest.NewIssuer(t)
	stranger.KeyID = "nobody-knows-me"
	now := time.Now()
	claims := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"sub": "42", "role": "customer", "iss": iss.Issuer, "aud": iss.Audience, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		mod(c)
		return c
	}
	for _, c := range []struct {
		name, token, code string
	}{
		{"bad signature", other.Token(42, identity.Customer, time.Hour), "invalid_signature"},
		{"expired", iss.Sign(claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Hour).Unix() })), "token_expired"},
		{"wrong audience", iss.Sign(claims(func(c jwt.MapClaims) { c["aud"] = "someone-else" })), "wrong_audience"},
		{"unknown kid", stranger.Token(42, identity.Customer, time.Hour), "unknown_key"},
		{"garbage", "not.a.jwt", "malformed_token"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.get("/api/v1/me/orders", "Authorization", "Bearer "+c.token)
			if r.StatusCode != 401 || !strings.Contains(r.body, c.code) || !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("%d %q WWW-Authenticate %q; want 401 %s", r.StatusCode, r.body, r.Header.Get("WWW-Authenticate"), c.code)
			}
		})
	}
	if r := e.get("/api/v1/me/orders"); r.StatusCode != 401 || r.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("no token on a route that needs a user: %d", r.StatusCode)
	}
	if o.hits.Load() != 0 {
		t.Fatalf("%d refused requests reached the origin", o.hits.Load())
	}
	// A good token: the origin (the core) is told who, not given the token;
	// the client cannot claim an identity itself.
	r := e.get("/api/v1/me/orders", "Authorization", iss.Header(42, identity.Merchant, time.Hour), "Cq-User-Id", "7", "Cq-User-Role", "admin")
	if r.StatusCode != 200 || r.body != `user=42 role=merchant auth=""` {
		t.Fatalf("verified request: %d %q", r.StatusCode, r.body)
	}
	if r := e.get("/catalog", "Cq-User-Id", "7", "Cq-User-Role", "admin"); r.body != `user= role= auth=""` {
		t.Fatalf("identity headers from the client reached the origin: %q", r.body)
	}
}

func TestPerUserEntriesAreIsolated(t *testing.T) {
	o := newOrigin(t, echoUser("private, max-age=60"))
	iss := authtest.NewIssuer(t)
	e := authEdge(t, o, iss, nil)
	alice, bob := iss.Header(1, identity.Customer, time.Hour), iss.Header(2, identity.Customer, time.Hour)
	for i := range 2 {
		if r := e.get("/api/v1/me/orders", "Authorization", alice); !strings.HasPrefix(r.body, "user=1 ") || (i == 1 && r.xcache() != "HIT-L1") {
			t.Fatalf("alice, request %d: %s %q", i, r.xcache(), r.body)
		}
		if r := e.get("/api/v1/me/orders", "Authorization", bob); !strings.HasPrefix(r.body, "user=2 ") || (i == 1 && r.xcache() != "HIT-L1") {
			t.Fatalf("bob, request %d: %s %q", i, r.xcache(), r.body)
		}
	}
	if o.hits.Load() != 2 {
		t.Fatalf("origin hit %d times, want once per user", o.hits.Load())
	}
}

func TestRateLimits(t *testing.T) {
	o := newOrigin(t, echoUser("no-store"))
	iss := authtest.NewIssuer(t)
	e := authEdge(t, o, iss, func(c *Config) {
		c.PerIP = limit.Config{Rate: rate.Limit(0.001), Burst: 20}
		c.PerUser = limit.Config{Rate: rate.Limit(0.001), Burst: 3}
	})
	alice := iss.Header(1, identity.Customer, time.Hour)
	for i := range 3 {
		if r := e.get("/api/v1/me/cart", "Authorization", alice); r.StatusCode != 200 {
			t.Fatalf("request %d within the user's burst: %d", i, r.StatusCode)
		}
	}
	r := e.get("/api/v1/me/cart", "Authorization", alice)
	if r.StatusCode != 429 || r.Header.Get("Retry-After") == "" || !strings.Contains(r.body, "rate_limited") {
		t.Fatalf("past the user's burst: %d Retry-After %q %q", r.StatusCode, r.Header.Get("Retry-After"), r.body)
	}
	for i := 0; ; i++ { // the same address, anonymous: its own bucket runs dry too
		r := e.get("/public")
		if r.StatusCode == 429 {
			break
		}
		if i > 20 {
			t.Fatal("the per-IP limit never refused")
		}
	}
}

func TestMetricsAndPurgeNeedTheAdminToken(t *testing.T) {
	o := newOrigin(t, answer("x", "Cache-Control", "public, max-age=60", "Surrogate-Key", "shop:12 menu:12"))
	e := edgeFor(t, o, nil)
	e.get("/m")
	e.get("/m")
	req, _ := http.NewRequest("GET", "http://"+e.admin+"/metrics", nil)
	if resp, _ := http.DefaultClient.Do(req); resp.StatusCode != 401 {
		t.Fatalf("metrics without the token: %d", resp.StatusCode)
	}
	body := e.adminCall("GET", "/metrics", "")
	for _, series := range []string{`cangqiong_edge_requests_total{cache="HIT-L1",edge="edge-1",region="test",status_class="2xx"} 1`, `cangqiong_edge_cache_lookups_total`, `cangqiong_edge_l1_bytes`, `cangqiong_edge_upstream_duration_seconds`} {
		if !strings.Contains(body, series) {
			t.Errorf("metrics lack %s", series)
		}
	}
	e.adminCall("POST", "/purge", `{"keys": ["menu:12"]}`)
	if r := e.get("/m"); r.xcache() != "MISS" {
		t.Fatalf("after a purge of its key: %s, want MISS", r.xcache())
	}
	if r := e.adminCall("POST", "/purge", `{"keys": []}`); !strings.Contains(r, "bad_purge") {
		t.Fatalf("an empty purge: %s", r)
	}
}
