package auth

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
)

func TestParseKey(t *testing.T) {
	der, err := x509.MarshalPKIXPublicKey(testEdPub)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	privDER, err := x509.MarshalPKCS8PrivateKey(testEdPriv)
	if err != nil {
		t.Fatal(err)
	}
	privPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}))
	b64 := base64.StdEncoding.EncodeToString
	url := base64.RawURLEncoding.EncodeToString

	tests := []struct {
		name, alg, material string
		ok                  bool
	}{
		{"EdDSA PEM", AlgEdDSA, pubPEM, true},
		{"EdDSA PEM with spaces", AlgEdDSA, "\n  " + pubPEM + "\n", true},
		{"EdDSA raw base64", AlgEdDSA, b64(testEdPub), true},
		{"EdDSA raw base64url", AlgEdDSA, url(testEdPub), true},
		{"EdDSA DER base64", AlgEdDSA, b64(der), true},
		{"EdDSA private PEM", AlgEdDSA, privPEM, false},
		{"EdDSA private raw", AlgEdDSA, b64(testEdPriv), false},
		{"EdDSA private DER", AlgEdDSA, b64(privDER), false},
		{"EdDSA two PEM blocks", AlgEdDSA, pubPEM + pubPEM, false},
		{"EdDSA short", AlgEdDSA, b64(testEdPub[:31]), false},
		{"EdDSA not base64", AlgEdDSA, "not base64!", false},
		{"EdDSA empty", AlgEdDSA, "", false},
		{"HS256 base64", AlgHS256, b64(testSecret), true},
		{"HS256 base64url", AlgHS256, url(testSecret), true},
		{"HS256 31 bytes", AlgHS256, b64(testSecret[:31]), false},
		{"HS256 not base64", AlgHS256, "a-shared-hs256-secret-of-32bytes!", false},
		{"RS256", "RS256", pubPEM, false},
		{"none", "none", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseKey("k1", tt.alg, tt.material)
			if !tt.ok {
				if !errors.Is(err, ErrBadKey) {
					t.Fatalf("ParseKey = %+v, %v; want ErrBadKey", k, err)
				}
				if tt.material != "" && strings.Contains(err.Error(), strings.TrimSpace(tt.material)) {
					t.Fatalf("error echoes the key material: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if k.ID != "k1" || k.Alg != tt.alg {
				t.Fatalf("key = %+v", k)
			}
			if tt.alg == AlgEdDSA && !bytes.Equal(k.PublicKey, testEdPub) {
				t.Fatalf("public key = %x", k.PublicKey)
			}
			if tt.alg == AlgHS256 && !bytes.Equal(k.Secret, testSecret) {
				t.Fatalf("secret = %q", k.Secret)
			}
		})
	}
	if _, err := ParseKey("", AlgHS256, b64(testSecret)); !errors.Is(err, ErrBadKey) {
		t.Fatalf("empty kid: %v", err)
	}
}

// TestParsedKeysVerify: keys from config strings verify tokens.
func TestParsedKeysVerify(t *testing.T) {
	ed, err := ParseKey("ed-1", AlgEdDSA, base64.StdEncoding.EncodeToString(testEdPub))
	if err != nil {
		t.Fatal(err)
	}
	hs, err := ParseKey("hs-1", AlgHS256, base64.StdEncoding.EncodeToString(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.Keys = []Key{ed, hs}
	v := newVerifier(t, cfg)
	for _, tok := range []string{edToken(t, claims()), hsToken(t, claims())} {
		if _, err := v.Verify([]byte(tok)); err != nil {
			t.Fatal(err)
		}
	}
}

func FuzzParseKey(f *testing.F) {
	der, _ := x509.MarshalPKIXPublicKey(testEdPub)
	f.Add(AlgEdDSA, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
	f.Add(AlgEdDSA, base64.StdEncoding.EncodeToString(testEdPub))
	f.Add(AlgEdDSA, base64.StdEncoding.EncodeToString(der))
	f.Add(AlgHS256, base64.StdEncoding.EncodeToString(testSecret))
	f.Add(AlgHS256, "-----BEGIN PUBLIC KEY-----\n")
	f.Fuzz(func(t *testing.T, alg, material string) {
		k, err := ParseKey("k", alg, material)
		if err != nil {
			if !errors.Is(err, ErrBadKey) {
				t.Fatalf("error %v does not wrap ErrBadKey", err)
			}
			return
		}
		if err := k.validate(); err != nil {
			t.Fatalf("ParseKey returned an invalid key: %v", err)
		}
		if k.Alg == AlgEdDSA && len(k.PublicKey) != ed25519.PublicKeySize {
			t.Fatalf("EdDSA key of %d bytes", len(k.PublicKey))
		}
		if k.Alg == AlgHS256 && len(k.Secret) < MinSecretSize {
			t.Fatalf("HS256 secret of %d bytes", len(k.Secret))
		}
	})
}
