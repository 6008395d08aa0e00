package auth

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// fuzzSeeds are tokens good and bad, for both fuzz targets' corpora.
func fuzzSeeds(t testing.TB) []string {
	return []string{
		edToken(t, claims()),
		hsToken(t, claims("aud", []string{"x", testAudience})),
		edToken(t, claims("exp", testNow.Add(-time.Hour).Unix())),
		sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "ed-1", claims()),
		sign(t, jwt.SigningMethodHS256, []byte(testEdPub), "ed-1", claims()),
		sign(t, jwt.SigningMethodEdDSA, testEdPriv, "", claims()),
		"", "a.b.c", "....",
	}
}

// FuzzVerify: Verify never panics, returns only *TokenError, and accepts
// nothing whose signature a configured key does not vouch for, as checked
// here independently of golang-jwt.
func FuzzVerify(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add([]byte(s))
	}
	v := newVerifier(f, testConfig())
	f.Fuzz(func(t *testing.T, token []byte) {
		for range 2 { // the second call may hit the cache
			c, err := v.Verify(token)
			if err != nil {
				var te *TokenError
				if !errors.As(err, &te) || Code(err) == "invalid_token" {
					t.Fatalf("error %v is not a classified *TokenError", err)
				}
				continue
			}
			if !signedByConfiguredKey(token) {
				t.Fatalf("accepted %q, which no configured key signed", token)
			}
			if c.UserID <= 0 || !c.Role.Valid() {
				t.Fatalf("accepted claims %+v", c)
			}
		}
	})
}

// signedByConfiguredKey is the fuzz oracle: split, decode the header, look
// the kid up in testKeys and check the signature with the standard library.
func signedByConfiguredKey(token []byte) bool {
	parts := strings.Split(string(token), ".")
	if len(parts) != 3 {
		return false
	}
	hdr, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	sig, err2 := base64.RawURLEncoding.DecodeString(parts[2])
	var h struct{ Alg, Kid string }
	if err1 != nil || err2 != nil || json.Unmarshal(hdr, &h) != nil {
		return false
	}
	input := []byte(parts[0] + "." + parts[1])
	for _, k := range testKeys() {
		if k.ID != h.Kid || k.Alg != h.Alg {
			continue
		}
		switch k.Alg {
		case AlgEdDSA:
			return ed25519.Verify(k.PublicKey, input, sig)
		case AlgHS256:
			m := hmac.New(sha256.New, k.Secret)
			m.Write(input)
			return hmac.Equal(m.Sum(nil), sig)
		}
	}
	return false
}

// FuzzVerifyClaims signs arbitrary payloads with a configured key, so the
// fuzzer reaches claim validation, and checks every accepted token against
// the rules as written here: exp present and not past, nbf and iat not
// ahead, iss and aud right, sub a canonical positive int64, role known.
func FuzzVerifyClaims(f *testing.F) {
	for _, c := range []jwt.MapClaims{
		claims(), claims("aud", []string{"a", testAudience}), claims("exp", nil),
		claims("nbf", testNow.Unix()), claims("sub", "007"), claims("role", "root"),
		claims("exp", "1893553445"), claims("exp", 1.5e9),
	} {
		p, _ := json.Marshal(c)
		f.Add(p, false)
		f.Add(p, true)
	}
	v := newVerifier(f, testConfig())
	f.Fuzz(func(t *testing.T, payload []byte, hs bool) {
		tok := signPayload(payload, hs)
		c, err := v.Verify([]byte(tok))
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrExpired) && !errors.Is(err, ErrNotYetValid) &&
				!errors.Is(err, ErrAudience) && !errors.Is(err, ErrIssuer) && !errors.Is(err, ErrClaims) {
				t.Fatalf("signed token refused for %v", err)
			}
			return
		}
		if why := claimsBreakRules(payload, c); why != "" {
			t.Fatalf("accepted %s: %s", payload, why)
		}
	})
}

func signPayload(payload []byte, hs bool) string {
	alg, kid := AlgEdDSA, "ed-1"
	if hs {
		alg, kid = AlgHS256, "hs-1"
	}
	enc := base64.RawURLEncoding
	input := enc.EncodeToString([]byte(`{"alg":"`+alg+`","kid":"`+kid+`","typ":"JWT"}`)) + "." + enc.EncodeToString(payload)
	var sig []byte
	if hs {
		m := hmac.New(sha256.New, testSecret)
		m.Write([]byte(input))
		sig = m.Sum(nil)
	} else {
		sig = ed25519.Sign(testEdPriv, []byte(input))
	}
	return input + "." + enc.EncodeToString(sig)
}

// claimsBreakRules says why payload should not have been accepted, or "".
// encoding/json matches keys case-insensitively, last one wins; decoding into
// a struct here does the same as golang-jwt does.
func claimsBreakRules(payload []byte, got Claims) string {
	var p struct {
		Exp, Nbf, Iat *json.Number
		Sub           *string
		Role          string
		Iss           string
		Aud           json.RawMessage
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return "payload does not decode: " + err.Error()
	}
	now := float64(testNow.Unix())
	leeway := testConfig().Leeway.Seconds()
	num := func(n *json.Number) (float64, bool) {
		if n == nil {
			return 0, false
		}
		f, err := n.Float64()
		return f, err == nil
	}
	// One second of slack: NumericDate truncates to whole seconds.
	if exp, ok := num(p.Exp); !ok || exp+leeway+1 <= now {
		return "exp missing or past"
	}
	if nbf, ok := num(p.Nbf); ok && nbf-leeway-1 > now {
		return "nbf ahead"
	}
	if iat, ok := num(p.Iat); ok && iat-leeway-1 > now {
		return "iat ahead"
	}
	if p.Iss != testIssuer {
		return "wrong iss"
	}
	var aud []string
	var one string
	if json.Unmarshal(p.Aud, &one) == nil {
		aud = []string{one}
	} else if json.Unmarshal(p.Aud, &aud) != nil {
		return "aud neither string nor array of strings"
	}
	found := false
	for _, a := range aud {
		found = found || a == testAudience
	}
	if !found {
		return "wrong aud"
	}
	if p.Sub == nil || strconv.FormatInt(got.UserID, 10) != *p.Sub || got.UserID <= 0 {
		return "sub is not the canonical user id"
	}
	if string(got.Role) != p.Role || !got.Role.Valid() {
		return "role"
	}
	return ""
}
