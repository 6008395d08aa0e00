package auth

import (
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/cangqiong/cangqiong/core/identity"
)

// tamper flips one character of the payload, keeping the signature.
func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	p, _ := base64.RawURLEncoding.DecodeString(parts[1])
	p = []byte(strings.Replace(string(p), `"sub":"42"`, `"sub":"43"`, 1))
	parts[1] = base64.RawURLEncoding.EncodeToString(p)
	return strings.Join(parts, ".")
}

func TestVerify(t *testing.T) {
	hs512 := sign(t, jwt.SigningMethodHS512, testSecret, "hs-1", claims())
	none := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "ed-1", claims())
	noneNoKid := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", claims())
	// Classic confusion: HMAC keyed with the Ed25519 public key, kid of the
	// Ed25519 key.
	confusion := sign(t, jwt.SigningMethodHS256, []byte(testEdPub), "ed-1", claims())
	edWithHSKid := sign(t, jwt.SigningMethodEdDSA, testEdPriv, "hs-1", claims())

	tests := []struct {
		name  string
		token string
		want  error // nil: valid
		user  int64
		role  identity.Role
	}{
		{"EdDSA", edToken(t, claims()), nil, 42, identity.Customer},
		{"HS256", hsToken(t, claims("role", "merchant", "sub", "7")), nil, 7, identity.Merchant},
		{"admin", edToken(t, claims("role", "admin")), nil, 42, identity.Admin},
		{"max user id", edToken(t, claims("sub", "9223372036854775807")), nil, 1<<63 - 1, identity.Customer},
		{"aud array", edToken(t, claims("aud", []string{"other", testAudience})), nil, 42, identity.Customer},
		{"no iat", edToken(t, claims("iat", nil)), nil, 42, identity.Customer},
		{"expired within leeway", edToken(t, claims("exp", testNow.Add(-20*time.Second).Unix())), nil, 42, identity.Customer},
		{"nbf within leeway", edToken(t, claims("nbf", testNow.Add(20*time.Second).Unix())), nil, 42, identity.Customer},

		{"empty", "", ErrNoToken, 0, ""},
		{"garbage", "garbage", ErrMalformed, 0, ""},
		{"three dots", "...", ErrMalformed, 0, ""},
		{"bad base64", "a!.b!.c!", ErrMalformed, 0, ""},
		{"too long", strings.Repeat("a", MaxTokenSize+1), ErrMalformed, 0, ""},
		{"numeric sub", edToken(t, claims("sub", 42)), ErrMalformed, 0, ""},
		{"bad signature", sign(t, jwt.SigningMethodEdDSA, otherEdPriv, "ed-1", claims()), ErrSignature, 0, ""},
		{"tampered payload", tamper(edToken(t, claims())), ErrSignature, 0, ""},
		{"tampered HS256", tamper(hsToken(t, claims())), ErrSignature, 0, ""},
		{"alg none", none, ErrSignature, 0, ""},
		{"alg none without kid", noneNoKid, ErrSignature, 0, ""},
		{"alg confusion HS256 with public key", confusion, ErrSignature, 0, ""},
		{"EdDSA token with HS256 kid", edWithHSKid, ErrSignature, 0, ""},
		{"unsupported alg HS512", hs512, ErrSignature, 0, ""},
		{"unknown kid", sign(t, jwt.SigningMethodEdDSA, testEdPriv, "ed-9", claims()), ErrUnknownKey, 0, ""},
		{"missing kid", sign(t, jwt.SigningMethodEdDSA, testEdPriv, "", claims()), ErrUnknownKey, 0, ""},
		{"expired", edToken(t, claims("exp", testNow.Add(-time.Minute).Unix())), ErrExpired, 0, ""},
		{"expired and wrong audience", edToken(t, claims("exp", testNow.Add(-time.Minute).Unix(), "aud", "x")), ErrExpired, 0, ""},
		{"not yet valid", edToken(t, claims("nbf", testNow.Add(time.Minute).Unix())), ErrNotYetValid, 0, ""},
		{"issued in the future", edToken(t, claims("iat", testNow.Add(time.Minute).Unix())), ErrNotYetValid, 0, ""},
		{"wrong audience", edToken(t, claims("aud", "other")), ErrAudience, 0, ""},
		{"wrong audience array", edToken(t, claims("aud", []string{"a", "b"})), ErrAudience, 0, ""},
		{"missing audience", edToken(t, claims("aud", nil)), ErrAudience, 0, ""},
		{"wrong issuer", edToken(t, claims("iss", "https://evil.example")), ErrIssuer, 0, ""},
		{"missing issuer", edToken(t, claims("iss", nil)), ErrIssuer, 0, ""},
		{"missing exp", edToken(t, claims("exp", nil)), ErrClaims, 0, ""},
		{"missing sub", edToken(t, claims("sub", nil)), ErrClaims, 0, ""},
		{"sub zero", edToken(t, claims("sub", "0")), ErrClaims, 0, ""},
		{"sub negative", edToken(t, claims("sub", "-5")), ErrClaims, 0, ""},
		{"sub plus sign", edToken(t, claims("sub", "+5")), ErrClaims, 0, ""},
		{"sub leading zero", edToken(t, claims("sub", "042")), ErrClaims, 0, ""},
		{"sub not a number", edToken(t, claims("sub", "alice")), ErrClaims, 0, ""},
		{"sub overflows int64", edToken(t, claims("sub", "9223372036854775808")), ErrClaims, 0, ""},
		{"unknown role", edToken(t, claims("role", "root")), ErrClaims, 0, ""},
		{"missing role", edToken(t, claims("role", nil)), ErrClaims, 0, ""},
	}
	for _, cache := range []int{0, 100} {
		cfg := testConfig()
		cfg.CacheSize = cache
		v := newVerifier(t, cfg)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				for range 2 { // the second round hits the cache
					c, err := v.Verify([]byte(tt.token))
					if tt.want == nil {
						if err != nil {
							t.Fatalf("Verify: %v", err)
						}
						if c.UserID != tt.user || c.Role != tt.role || c.KeyID == "" || c.Expiry.IsZero() {
							t.Fatalf("claims = %+v, want user %d role %s", c, tt.user, tt.role)
						}
						continue
					}
					if !errors.Is(err, tt.want) {
						t.Fatalf("Verify: %v, want %v", err, tt.want)
					}
					var te *TokenError
					if !errors.As(err, &te) || te.Kind != tt.want {
						t.Fatalf("error %#v is not a *TokenError of kind %v", err, tt.want)
					}
					if c != (Claims{}) {
						t.Fatalf("claims %+v returned with an error", c)
					}
					ch := Challenge(err)
					if !strings.HasPrefix(ch, `Bearer realm="cangqiong"`) || (tt.token != "" && strings.Contains(ch, tt.token)) {
						t.Fatalf("Challenge = %q", ch)
					}
				}
			})
		}
	}
}

func TestLeeway(t *testing.T) {
	exp := testNow.Add(time.Hour)
	nbf := testNow.Add(-time.Hour)
	tok := []byte(edToken(t, claims("exp", exp.Unix(), "nbf", nbf.Unix(), "iat", nbf.Unix())))
	tests := []struct {
		leeway time.Duration
		at     time.Time
		want   error
	}{
		{0, exp.Add(-time.Second), nil},
		{0, exp, ErrExpired},
		{30 * time.Second, exp.Add(29 * time.Second), nil},
		{30 * time.Second, exp.Add(30 * time.Second), ErrExpired},
		{0, nbf, nil},
		{0, nbf.Add(-time.Second), ErrNotYetValid},
		{30 * time.Second, nbf.Add(-30 * time.Second), nil},
		{30 * time.Second, nbf.Add(-31 * time.Second), ErrNotYetValid},
	}
	for _, tt := range tests {
		for _, cache := range []int{0, 10} {
			cfg := testConfig()
			cfg.Leeway, cfg.CacheSize = tt.leeway, cache
			cfg.Now = func() time.Time { return tt.at }
			_, err := newVerifier(t, cfg).Verify(tok)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("leeway %v at exp%+v/nbf%+v cache %d: %v, want %v", tt.leeway, tt.at.Sub(exp), tt.at.Sub(nbf), cache, err, tt.want)
			}
		}
	}
}

// TestCacheRechecksExpiry: a cached token stops verifying when its exp (plus
// leeway) passes, whatever the cache's own expiry does.
func TestCacheRechecksExpiry(t *testing.T) {
	clk := &clock{t: testNow}
	cfg := testConfig()
	cfg.Now = clk.Now
	v := newVerifier(t, cfg)
	tok := []byte(edToken(t, claims("exp", testNow.Add(time.Minute).Unix())))
	if _, err := v.Verify(tok); err != nil {
		t.Fatal(err)
	}
	if _, ok := v.cache.GetIfPresent(hashOf(tok)); !ok {
		t.Fatal("verified token not cached")
	}
	clk.Advance(time.Minute + cfg.Leeway - time.Second)
	if _, err := v.Verify(tok); err != nil {
		t.Fatalf("within leeway: %v", err)
	}
	clk.Advance(time.Second)
	if _, err := v.Verify(tok); !errors.Is(err, ErrExpired) {
		t.Fatalf("after exp+leeway: %v, want ErrExpired", err)
	}
}

// TestFarExpiry: a token with an exp centuries away is cached like any
// other (the entry's life is capped) and still expires on time.
func TestFarExpiry(t *testing.T) {
	clk := &clock{t: testNow}
	cfg := testConfig()
	cfg.Now = clk.Now
	v := newVerifier(t, cfg)
	far := testNow.AddDate(500, 0, 0)
	tok := []byte(edToken(t, claims("exp", far.Unix())))
	for range 2 {
		if _, err := v.Verify(tok); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := v.cache.GetIfPresent(hashOf(tok)); !ok {
		t.Fatal("far-expiry token not cached")
	}
	clk.t = far.Add(cfg.Leeway)
	if _, err := v.Verify(tok); !errors.Is(err, ErrExpired) {
		t.Fatalf("after exp: %v", err)
	}
}

// TestCacheCollision: an entry is used only for the very bytes it was
// verified from, so two tokens with one hash cannot share claims.
func TestCacheCollision(t *testing.T) {
	v := newVerifier(t, testConfig())
	victim := []byte(edToken(t, claims("sub", "1")))
	forged := []byte(sign(t, jwt.SigningMethodEdDSA, otherEdPriv, "ed-1", claims("sub", "1")))
	c, err := v.Verify(victim)
	if err != nil {
		t.Fatal(err)
	}
	// Pretend the forged token collides with the victim's hash.
	e, _ := v.cache.GetIfPresent(hashOf(victim))
	v.cache.Set(hashOf(forged), &cached{token: e.token, claims: c, key: e.key, ttl: time.Hour})
	if _, err := v.Verify(forged); !errors.Is(err, ErrSignature) {
		t.Fatalf("forged token with a colliding hash: %v, want ErrSignature", err)
	}
}

func TestRotation(t *testing.T) {
	v := newVerifier(t, testConfig())
	ed := []byte(edToken(t, claims()))
	hs := []byte(hsToken(t, claims()))
	newPriv := ed25519NewKey(t)
	fresh := []byte(sign(t, jwt.SigningMethodEdDSA, newPriv, "ed-2", claims()))

	for _, tok := range [][]byte{ed, hs} {
		if _, err := v.Verify(tok); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := v.Verify(fresh); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("new kid before rotation: %v", err)
	}

	// Rotate: ed-1 out, ed-2 in, hs-1 unchanged.
	keys := []Key{{ID: "ed-2", Alg: AlgEdDSA, PublicKey: newPriv.Public().(ed25519PublicKey)}, testKeys()[1]}
	if err := v.SetKeys(keys); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ed); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("cached token of a removed kid: %v, want ErrUnknownKey", err)
	}
	if _, ok := v.cache.GetIfPresent(hashOf(hs)); !ok {
		t.Fatal("rotation dropped the cache entry of an unchanged key")
	}
	if c, err := v.Verify(fresh); err != nil || c.KeyID != "ed-2" {
		t.Fatalf("new kid after rotation: %+v, %v", c, err)
	}
	if _, err := v.Verify(hs); err != nil {
		t.Fatalf("unchanged key after rotation: %v", err)
	}

	// Same kid, new secret: old tokens die, cached or not.
	keys[1].Secret = []byte("another-hs256-secret-of-32-bytes")
	if err := v.SetKeys(keys); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(hs); !errors.Is(err, ErrSignature) {
		t.Fatalf("token of a replaced secret: %v, want ErrSignature", err)
	}

	// A bad key set changes nothing.
	if err := v.SetKeys(nil); !errors.Is(err, ErrBadKey) {
		t.Fatalf("SetKeys(nil): %v", err)
	}
	if _, err := v.Verify(fresh); err != nil {
		t.Fatalf("after refused SetKeys: %v", err)
	}
}

// TestSetKeysCopies: the caller's slices may be reused after SetKeys.
func TestSetKeysCopies(t *testing.T) {
	keys := testKeys()
	keys[1].Secret = append([]byte(nil), testSecret...)
	cfg := testConfig()
	cfg.Keys = keys
	cfg.CacheSize = 0
	v := newVerifier(t, cfg)
	keys[1].Secret[0] ^= 1
	if _, err := v.Verify([]byte(hsToken(t, claims()))); err != nil {
		t.Fatalf("caller's change to a secret reached the verifier: %v", err)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	ok := testKeys()
	tests := map[string]func(*Config){
		"no keys":         func(c *Config) { c.Keys = nil },
		"duplicate kid":   func(c *Config) { c.Keys = append(c.Keys, ok[0]) },
		"empty kid":       func(c *Config) { c.Keys = []Key{{Alg: AlgEdDSA, PublicKey: testEdPub}} },
		"short secret":    func(c *Config) { c.Keys = []Key{{ID: "h", Alg: AlgHS256, Secret: make([]byte, 31)}} },
		"short pub":       func(c *Config) { c.Keys = []Key{{ID: "e", Alg: AlgEdDSA, PublicKey: testEdPub[:31]}} },
		"EdDSA + secret":  func(c *Config) { c.Keys = []Key{{ID: "e", Alg: AlgEdDSA, PublicKey: testEdPub, Secret: testSecret}} },
		"HS256 + pub":     func(c *Config) { c.Keys = []Key{{ID: "h", Alg: AlgHS256, PublicKey: testEdPub, Secret: testSecret}} },
		"alg RS256":       func(c *Config) { c.Keys = []Key{{ID: "r", Alg: "RS256", Secret: testSecret}} },
		"alg none":        func(c *Config) { c.Keys = []Key{{ID: "n", Alg: "none", Secret: testSecret}} },
		"negative leeway": func(c *Config) { c.Leeway = -time.Second },
		"negative cache":  func(c *Config) { c.CacheSize = -1 },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig()
			mutate(&cfg)
			if _, err := New(cfg); err == nil {
				t.Fatal("New accepted a bad config")
			}
		})
	}
}

// TestNoIssuerNoAudience: unset Issuer and Audience are not checked.
func TestNoIssuerNoAudience(t *testing.T) {
	cfg := testConfig()
	cfg.Issuer, cfg.Audience = "", ""
	v := newVerifier(t, cfg)
	if _, err := v.Verify([]byte(edToken(t, claims("iss", nil, "aud", nil)))); err != nil {
		t.Fatal(err)
	}
}

func TestChallengeAndCode(t *testing.T) {
	tests := []struct {
		err       error
		challenge string
		code      string
	}{
		{nil, `Bearer realm="cangqiong"`, "missing_token"},
		{tokenErr(ErrNoToken, nil), `Bearer realm="cangqiong"`, "missing_token"},
		{tokenErr(ErrExpired, jwt.ErrTokenExpired), `Bearer realm="cangqiong", error="invalid_token", error_description="the token has expired"`, "token_expired"},
		{tokenErr(ErrSignature, errors.New("x")), `Bearer realm="cangqiong", error="invalid_token", error_description="the token's signature is invalid"`, "invalid_signature"},
		// Kind decides even if the cause wraps another sentinel.
		{tokenErr(ErrClaims, ErrExpired), `Bearer realm="cangqiong", error="invalid_token", error_description="the token's claims are invalid"`, "invalid_claims"},
		{ErrIssuer, `Bearer realm="cangqiong", error="invalid_token", error_description="the token's issuer is not trusted"`, "wrong_issuer"},
		{errors.New("other"), `Bearer realm="cangqiong", error="invalid_token"`, "invalid_token"},
	}
	for _, tt := range tests {
		if got := Challenge(tt.err); got != tt.challenge {
			t.Errorf("Challenge(%v) = %q, want %q", tt.err, got, tt.challenge)
		}
		if got := Code(tt.err); got != tt.code {
			t.Errorf("Code(%v) = %q, want %q", tt.err, got, tt.code)
		}
	}
	for _, r := range reasons {
		if strings.ContainsAny(r.description, `"\`) {
			t.Errorf("description %q needs quoting", r.description)
		}
	}
}

// TestCacheHitDoesNotAllocate pins the hot path.
func TestCacheHitDoesNotAllocate(t *testing.T) {
	v := newVerifier(t, testConfig())
	tok := []byte(edToken(t, claims()))
	if _, err := v.Verify(tok); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := v.Verify(tok); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("cache hit allocates %v times", allocs)
	}
	expired := tokenErr(ErrExpired, nil)
	if a := testing.AllocsPerRun(100, func() { _ = Challenge(expired) }); a != 0 {
		t.Fatalf("Challenge allocates %v times", a)
	}
}

// TestConcurrent runs verifications against rotations; run it with -race.
func TestConcurrent(t *testing.T) {
	v := newVerifier(t, testConfig())
	toks := [][]byte{[]byte(edToken(t, claims())), []byte(hsToken(t, claims("sub", "9")))}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 300 {
				tok := toks[(g+i)%2]
				if _, err := v.Verify(tok); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			if err := v.SetKeys(testKeys()); err != nil {
				t.Error(err)
			}
			// Rotation to a copy of the same keys keeps every key.
			if err := v.SetKeys(append([]Key(nil), testKeys()...)); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
}

func TestParseUserID(t *testing.T) {
	tests := map[string]int64{
		"1": 1, "42": 42, "9223372036854775807": 1<<63 - 1,
		"": 0, "0": 0, "00": 0, "01": 0, "-1": 0, "+1": 0, " 1": 0, "1 ": 0, "1e3": 0, "0x1": 0,
		"9223372036854775808": 0, "99999999999999999999": 0, "١": 0,
	}
	for s, want := range tests {
		got, ok := parseUserID(s)
		if ok != (want != 0) || got != want {
			t.Errorf("parseUserID(%q) = %d, %v; want %d", s, got, ok, want)
		}
	}
}

func TestClaimsIdentity(t *testing.T) {
	c := Claims{UserID: 5, Role: identity.Merchant}
	if id := c.Identity(); id.UserID != 5 || id.Role != identity.Merchant {
		t.Fatalf("Identity = %+v", id)
	}
}
