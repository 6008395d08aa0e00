package authtest_test

import (
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/cangqiong/cangqiong/core/identity"
	"github.com/cangqiong/cangqiong/edge/auth"
	"github.com/cangqiong/cangqiong/edge/auth/authtest"
)

func TestIssuer(t *testing.T) {
	iss := authtest.NewIssuer(t)
	v, err := auth.New(iss.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	c, err := v.Verify([]byte(iss.Token(42, identity.Admin, time.Minute)))
	if err != nil || c.UserID != 42 || c.Role != identity.Admin || c.KeyID != authtest.DefaultKeyID {
		t.Fatalf("Verify = %+v, %v", c, err)
	}
	tok, ok := auth.BearerToken([]byte(iss.Header(7, identity.Customer, time.Minute)))
	if !ok {
		t.Fatal("Header is not a bearer header")
	}
	if c, err := v.Verify(tok); err != nil || c.UserID != 7 {
		t.Fatalf("Verify(Header) = %+v, %v", c, err)
	}
	if _, err := v.Verify([]byte(iss.Token(1, identity.Customer, -time.Hour))); !errors.Is(err, auth.ErrExpired) {
		t.Fatalf("expired token: %v", err)
	}
	if _, err := v.Verify([]byte(iss.Sign(jwt.MapClaims{"sub": "1"}))); err == nil {
		t.Fatal("token without exp verified")
	}

	// Another issuer's tokens do not verify here.
	other := authtest.NewIssuer(t)
	if _, err := v.Verify([]byte(other.Token(42, identity.Admin, time.Minute))); !errors.Is(err, auth.ErrSignature) {
		t.Fatalf("other issuer's token: %v", err)
	}
}

func TestIssuerClock(t *testing.T) {
	iss := authtest.NewIssuer(t)
	now := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	iss.Now = func() time.Time { return now }
	v, err := auth.New(iss.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	tok := []byte(iss.Token(5, identity.Merchant, time.Minute))
	if c, err := v.Verify(tok); err != nil || !c.Expiry.Equal(now.Add(time.Minute)) {
		t.Fatalf("Verify = %+v, %v", c, err)
	}
	now = now.Add(2 * time.Minute)
	if _, err := v.Verify(tok); !errors.Is(err, auth.ErrExpired) {
		t.Fatalf("after ttl: %v", err)
	}
}
