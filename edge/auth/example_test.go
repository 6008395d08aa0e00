package auth_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/cangqiong/cangqiong/edge/auth"
)

func Example() {
	// The issuer's key pair; the edge gets only the public half, from config.
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	pub := base64.StdEncoding.EncodeToString(priv.Public().(ed25519.PublicKey))
	key, err := auth.ParseKey("2030-01", auth.AlgEdDSA, pub)
	if err != nil {
		panic(err)
	}
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	cfg := auth.DefaultConfig()
	cfg.Keys = []auth.Key{key}
	cfg.Issuer, cfg.Audience = "https://auth.example", "cangqiong-edge"
	cfg.Now = func() time.Time { return now }
	v, err := auth.New(cfg)
	if err != nil {
		panic(err)
	}
	defer v.Close()

	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{
		"sub": "42", "role": "customer", "iss": "https://auth.example", "aud": "cangqiong-edge",
		"exp": now.Add(time.Hour).Unix(),
	})
	tok.Header["kid"] = "2030-01"
	signed, _ := tok.SignedString(priv)

	header := []byte("Bearer " + signed) // the request's Authorization header
	bearer, _ := auth.BearerToken(header)
	c, err := v.Verify(bearer)
	fmt.Println(c.UserID, c.Role, c.KeyID, err)

	_, err = v.Verify([]byte("not-a-token"))
	fmt.Println(errors.Is(err, auth.ErrMalformed))
	fmt.Println("WWW-Authenticate:", auth.Challenge(err))
	// Output:
	// 42 customer 2030-01 <nil>
	// true
	// WWW-Authenticate: Bearer realm="cangqiong", error="invalid_token", error_description="the token is malformed"
}

func ExampleChallenge() {
	_, ok := auth.BearerToken(nil) // no Authorization header
	if !ok {
		fmt.Println(auth.Challenge(auth.ErrNoToken))
		fmt.Println(auth.Code(auth.ErrNoToken))
	}
	fmt.Println(auth.Challenge(auth.ErrExpired))
	// Output:
	// Bearer realm="cangqiong"
	// missing_token
	// Bearer realm="cangqiong", error="invalid_token", error_description="the token has expired"
}

func ExampleVerifier_SetKeys() {
	secret := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	old, _ := auth.ParseKey("hs-old", auth.AlgHS256, secret)
	cfg := auth.DefaultConfig()
	cfg.Keys = []auth.Key{old}
	v, _ := auth.New(cfg)
	defer v.Close()

	next, _ := auth.ParseKey("hs-new", auth.AlgHS256, secret)
	fmt.Println(v.SetKeys([]auth.Key{old, next})) // overlap while tokens roll over
	fmt.Println(v.SetKeys([]auth.Key{next}))      // then retire the old kid
	fmt.Println(v.SetKeys(nil) != nil)            // an empty set is refused
	// Output:
	// <nil>
	// <nil>
	// true
}
