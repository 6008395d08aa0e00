package auth

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"strings"
	"sync/atomic"
)

// Algorithms a Key may use, spelled as in a JWT header's alg.
const (
	AlgEdDSA = "EdDSA" // Ed25519 signatures (RFC 8037)
	AlgHS256 = "HS256" // HMAC-SHA256 with a shared secret
)

// MinSecretSize is the least number of bytes an HS256 secret may have: as
// many as the hash's output (RFC 7518 §3.2).
const MinSecretSize = 32

// Key is one verification key. Exactly one of PublicKey (EdDSA) and Secret
// (HS256) is set, matching Alg.
type Key struct {
	ID        string            // the kid tokens name it by; unique in a key set
	Alg       string            // AlgEdDSA or AlgHS256
	PublicKey ed25519.PublicKey // EdDSA: 32 bytes
	Secret    []byte            // HS256: at least MinSecretSize bytes
}

// ParseKey builds a Key from configuration strings.
//
// For AlgEdDSA, material is an Ed25519 public key as either
//   - PEM, "-----BEGIN PUBLIC KEY-----" around a PKIX SubjectPublicKeyInfo
//     (what `openssl pkey -pubout` prints), or
//   - base64 (standard or URL alphabet, padded or not) of the raw 32 bytes or
//     of the same DER SubjectPublicKeyInfo.
//
// Private keys are refused: the edge verifies, it never signs.
//
// For AlgHS256, material is base64 (standard or URL alphabet, padded or not)
// of a secret of at least MinSecretSize bytes.
//
// Surrounding white space is ignored. Errors wrap ErrBadKey and never
// contain the material.
func ParseKey(id, alg, material string) (Key, error) {
	material = strings.TrimSpace(material)
	k := Key{ID: id, Alg: alg}
	var err error
	switch alg {
	case AlgEdDSA:
		k.PublicKey, err = parseEdDSA(material)
	case AlgHS256:
		k.Secret, err = decodeBase64(material)
	default:
		err = fmt.Errorf("alg %q is not %s or %s", alg, AlgEdDSA, AlgHS256)
	}
	if err == nil {
		err = k.validate()
	}
	if err != nil {
		return Key{}, fmt.Errorf("%w %q: %w", ErrBadKey, id, err)
	}
	return k, nil
}

func parseEdDSA(material string) (ed25519.PublicKey, error) {
	if strings.HasPrefix(material, "-----BEGIN") {
		block, rest := pem.Decode([]byte(material))
		if block == nil || len(bytes.TrimSpace(rest)) != 0 {
			return nil, fmt.Errorf("not a single PEM block")
		}
		if block.Type != "PUBLIC KEY" {
			return nil, fmt.Errorf("PEM block is %q, want PUBLIC KEY", block.Type)
		}
		return parsePKIX(block.Bytes)
	}
	raw, err := decodeBase64(material)
	if err != nil {
		return nil, err
	}
	if len(raw) == ed25519.PublicKeySize {
		return ed25519.PublicKey(raw), nil
	}
	return parsePKIX(raw)
}

func parsePKIX(der []byte) (ed25519.PublicKey, error) {
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("not a PKIX public key")
	}
	ed, ok := pub.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("public key is %T, want ed25519", pub)
	}
	return ed, nil
}

// decodeBase64 accepts both alphabets, padded or not, since config files
// come from different tools.
func decodeBase64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("material is not base64")
}

func (k Key) validate() error {
	switch {
	case k.ID == "":
		return fmt.Errorf("empty key id")
	case k.Alg == AlgEdDSA && len(k.PublicKey) != ed25519.PublicKeySize:
		return fmt.Errorf("EdDSA public key has %d bytes, want %d", len(k.PublicKey), ed25519.PublicKeySize)
	case k.Alg == AlgEdDSA && len(k.Secret) != 0:
		return fmt.Errorf("EdDSA key with a secret")
	case k.Alg == AlgHS256 && len(k.Secret) < MinSecretSize:
		return fmt.Errorf("HS256 secret has %d bytes, want at least %d", len(k.Secret), MinSecretSize)
	case k.Alg == AlgHS256 && len(k.PublicKey) != 0:
		return fmt.Errorf("HS256 key with a public key")
	case k.Alg != AlgEdDSA && k.Alg != AlgHS256:
		return fmt.Errorf("alg %q is not %s or %s", k.Alg, AlgEdDSA, AlgHS256)
	}
	return nil
}

func (k Key) equal(o Key) bool {
	return k.ID == o.ID && k.Alg == o.Alg && bytes.Equal(k.PublicKey, o.PublicKey) && bytes.Equal(k.Secret, o.Secret)
}

// verifyKey is a configured key as the verifier holds it. Cache entries
// point at the verifyKey that verified them; revoked is set when a rotation
// removes or replaces the key, which makes those entries dead at once.
type verifyKey struct {
	Key
	material any // what golang-jwt's Verify wants: ed25519.PublicKey or []byte
	revoked  atomic.Bool
}

// keySet maps kid → key. It is immutable once published.
type keySet map[string]*verifyKey

// newKeySet validates keys and copies their material, so later changes to
// the caller's slices cannot change what verifies. A key identical to one in
// prev keeps prev's *verifyKey, and with it its cache entries.
func newKeySet(keys []Key, prev keySet) (keySet, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no keys", ErrBadKey)
	}
	ks := make(keySet, len(keys))
	for _, k := range keys {
		if err := k.validate(); err != nil {
			return nil, fmt.Errorf("%w %q: %w", ErrBadKey, k.ID, err)
		}
		if ks[k.ID] != nil {
			return nil, fmt.Errorf("%w %q: duplicate key id", ErrBadKey, k.ID)
		}
		if old := prev[k.ID]; old != nil && old.equal(k) {
			ks[k.ID] = old
			continue
		}
		ks[k.ID] = newVerifyKey(k)
	}
	return ks, nil
}

func newVerifyKey(k Key) *verifyKey {
	vk := &verifyKey{Key: Key{ID: k.ID, Alg: k.Alg}}
	if k.Alg == AlgEdDSA {
		vk.PublicKey = bytes.Clone(k.PublicKey)
		vk.material = vk.PublicKey
	} else {
		vk.Secret = bytes.Clone(k.Secret)
		vk.material = vk.Secret
	}
	return vk
}
