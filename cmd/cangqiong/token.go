package main

import (
	"encoding/base64"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cangqiong/cangqiong/core/identity"
	"github.com/golang-jwt/jwt/v5"
)

func init() {
	register("token", "Sign an end-user JWT (HS256) with a key file, for trying the edge by hand (the local deployment's key is .local/up/pki/jwt.key).", &tokenCmd{})
}

type tokenCmd struct {
	KeyFile  string        `name:"key-file" required:"" type:"existingfile" help:"File holding the base64 HS256 secret."`
	KeyID    string        `name:"kid" default:"local-1" help:"Key id (kid) the edge knows the key by."`
	User     int64         `required:"" help:"User id (sub)."`
	Role     string        `default:"customer" enum:"customer,merchant,admin" help:"Role (${enum})."`
	TTL      time.Duration `default:"1h" help:"Lifetime."`
	Issuer   string        `default:"cangqiong-local" help:"iss claim."`
	Audience string        `default:"cangqiong" help:"aud claim."`
}

func (c *tokenCmd) Run(e *env) error {
	raw, err := os.ReadFile(c.KeyFile)
	if err != nil {
		return err
	}
	secret, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil || len(secret) < 32 {
		return fmt.Errorf("%s: want the base64 of at least 32 bytes", c.KeyFile)
	}
	if c.User <= 0 {
		return fmt.Errorf("--user %d: want a positive user id", c.User)
	}
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": strconv.FormatInt(c.User, 10), "role": string(identity.Role(c.Role)),
		"iss": c.Issuer, "aud": c.Audience, "iat": now.Unix(), "exp": now.Add(c.TTL).Unix(),
	})
	tok.Header["kid"] = c.KeyID
	s, err := tok.SignedString(secret)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, s)
	return nil
}
