package auth

import (
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/golang-jwt/jwt/v5"
)

// The fixed world of this package's tests.
var (
	testNow      = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	testEdPriv   = ed25519.NewKeyFromSeed([]byte("cangqiong-auth-test-seed-32bytes"))
	testEdPub    = testEdPriv.Public().(ed25519.PublicKey)
	otherEdPriv  = ed25519.NewKeyFromSeed([]byte("another-auth-test-seed-32-bytes!"))
	testSecret   = []byte("a-shared-hs256-secret-of-32bytes")
	testIssuer   = "https://auth.cangqiong.test"
	testAudience = "cangqiong-edge"
)

func testKeys() []Key {
	return []Key{
		{ID: "ed-1", Alg: AlgEdDSA, PublicKey: testEdPub},
		{ID: "hs-1", Alg: AlgHS256, Secret: testSecret},
	}
}

func testConfig() Config {
	cfg := DefaultConfig()
	cfg.Keys = testKeys()
	cfg.Issuer = testIssuer
	cfg.Audience = testAudience
	cfg.Now = func() time.Time { return testNow }
	return cfg
}

// clock is a settable clock for tests that move time.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time          { return c.t }
func (c *clock) Advance(d time.Duration) { c.t = c.t.Add(d) }

func newVerifier(t testing.TB, cfg Config) *Verifier {
	t.Helper()
	v, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// claims returns good claims for user 42, overridden by kv pairs; a nil
// value deletes the claim.
func claims(kv ...any) jwt.MapClaims {
	c := jwt.MapClaims{
		"sub":  "42",
		"role": "customer",
		"iss":  testIssuer,
		"aud":  testAudience,
		"iat":  testNow.Add(-time.Minute).Unix(),
		"exp":  testNow.Add(time.Hour).Unix(),
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(c, kv[i].(string))
		} else {
			c[kv[i].(string)] = kv[i+1]
		}
	}
	return c
}

// sign signs c with method and key, putting kid in the header unless empty.
func sign(t testing.TB, method jwt.SigningMethod, key any, kid string, c jwt.Claims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

func edToken(t testing.TB, c jwt.Claims) string {
	return sign(t, jwt.SigningMethodEdDSA, testEdPriv, "ed-1", c)
}

func hsToken(t testing.TB, c jwt.Claims) string {
	return sign(t, jwt.SigningMethodHS256, testSecret, "hs-1", c)
}

type ed25519PublicKey = ed25519.PublicKey

func ed25519NewKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

func hashOf(tok []byte) uint64 { return xxhash.Sum64(tok) }
