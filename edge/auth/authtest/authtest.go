// Package authtest issues signed end-user tokens for tests of packages that
// sit behind edge/auth. Its one job: a throwaway Ed25519 issuer whose
// auth.Config verifies exactly the tokens it signs.
//
//	iss := authtest.NewIssuer(t)
//	v, _ := auth.New(iss.Config())
//	tok := iss.Token(42, identity.Customer, time.Hour)
package authtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"strconv"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/cangqiong/cangqiong/core/identity"
	"github.com/cangqiong/cangqiong/edge/auth"
)

// Defaults of an Issuer's tokens and Config.
const (
	DefaultKeyID    = "authtest-1"
	DefaultIssuer   = "https://auth.cangqiong.test"
	DefaultAudience = "cangqiong-edge"
)

// Issuer is a test's issuer of tokens. Its fields may be changed
// before use; the zero value is not ready, use NewIssuer.
type Issuer struct {
	t          testing.TB
	KeyID      string
	Issuer     string
	Audience   string
	PrivateKey ed25519.PrivateKey
	// Now is the clock tokens are issued by (iat, exp). nil: time.Now.
	Now func() time.Time
}

// NewIssuer returns an issuer with a fresh Ed25519 key.
func NewIssuer(t testing.TB) *Issuer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("authtest: %v", err)
	}
	return &Issuer{t: t, KeyID: DefaultKeyID, Issuer: DefaultIssuer, Audience: DefaultAudience, PrivateKey: priv}
}

// Key is the public half, as auth.Config wants it.
func (i *Issuer) Key() auth.Key {
	return auth.Key{ID: i.KeyID, Alg: auth.AlgEdDSA, PublicKey: i.PrivateKey.Public().(ed25519.PublicKey)}
}

// Config returns auth.DefaultConfig with this issuer's key, issuer and
// audience, and the issuer's clock.
func (i *Issuer) Config() auth.Config {
	cfg := auth.DefaultConfig()
	cfg.Keys = []auth.Key{i.Key()}
	cfg.Issuer = i.Issuer
	cfg.Audience = i.Audience
	cfg.Now = i.Now
	return cfg
}

// Token returns a token for userID in role, valid for ttl from now.
func (i *Issuer) Token(userID int64, role identity.Role, ttl time.Duration) string {
	now := i.now()
	return i.Sign(jwt.MapClaims{
		"sub":  strconv.FormatInt(userID, 10),
		"role": string(role),
		"iss":  i.Issuer,
		"aud":  i.Audience,
		"iat":  now.Unix(),
		"exp":  now.Add(ttl).Unix(),
	})
}

// Sign signs arbitrary claims with the issuer's key and kid, for tests of
// tokens Token would not issue.
func (i *Issuer) Sign(claims jwt.Claims) string {
	i.t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	tok.Header["kid"] = i.KeyID
	s, err := tok.SignedString(i.PrivateKey)
	if err != nil {
		i.t.Fatalf("authtest: sign: %v", err)
	}
	return s
}

// Header returns the Authorization header value carrying a Token.
func (i *Issuer) Header(userID int64, role identity.Role, ttl time.Duration) string {
	return "Bearer " + i.Token(userID, role, ttl)
}

func (i *Issuer) now() time.Time {
	if i.Now != nil {
		return i.Now()
	}
	return time.Now()
}
