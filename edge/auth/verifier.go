package auth

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/golang-jwt/jwt/v5"
	"github.com/maypok86/otter/v2"

	"github.com/cangqiong/cangqiong/core/identity"
)

// MaxTokenSize bounds the tokens Verify looks at; longer ones are
// ErrMalformed without being parsed. Tokens this service issues are a few
// hundred bytes.
const MaxTokenSize = 8 << 10

// maxCacheTTL caps how long an entry lives, whatever the token's exp: a far
// exp would overflow the cache's clock arithmetic, and re-verifying a
// long-lived token once an hour costs nothing.
const maxCacheTTL = time.Hour

// Config controls a Verifier. Start from DefaultConfig: New takes every
// field literally (a zero Leeway allows no skew, a zero CacheSize disables
// the cache).
type Config struct {
	// Keys verify tokens; at least one. Rotate them with Verifier.SetKeys.
	Keys []Key
	// Issuer, when not empty, must equal the token's iss.
	Issuer string
	// Audience, when not empty, must be the token's aud or one of its
	// elements (aud may be a string or an array).
	Audience string
	// Leeway is the clock skew allowed on exp, nbf and iat. Default 30s.
	Leeway time.Duration
	// CacheSize bounds the verified-token cache in entries. Default
	// 100,000; 0 disables the cache.
	CacheSize int
	// Now is the clock. nil: time.Now.
	Now func() time.Time
}

// DefaultConfig returns a Config with the documented defaults and no keys.
func DefaultConfig() Config {
	return Config{Leeway: 30 * time.Second, CacheSize: 100_000}
}

// Claims is what a verified token says about its user.
type Claims struct {
	UserID int64         // from sub
	Role   identity.Role // from role
	Expiry time.Time     // from exp
	KeyID  string        // the kid that verified it
}

// Identity is the user the core is told about over the tunnel.
func (c Claims) Identity() identity.Identity {
	return identity.Identity{UserID: c.UserID, Role: c.Role}
}

// Verifier verifies tokens against a rotating key set. It is safe for
// concurrent use.
type Verifier struct {
	keys     atomic.Pointer[keySet]
	parser   *jwt.Parser
	issuer   string
	audience string
	leeway   time.Duration
	now      func() time.Time
	cache    *otter.Cache[uint64, *cached] // nil when disabled

	rotate    sync.Mutex // serialises SetKeys
	closeOnce sync.Once
}

// cached is a verified token. token is kept to compare against the bytes
// being verified, so an xxhash collision is a miss, never a wrong user.
type cached struct {
	token  string
	claims Claims
	key    *verifyKey
	ttl    time.Duration // exp + leeway - now at insertion, at most maxCacheTTL
}

// New returns a Verifier for cfg.
func New(cfg Config) (*Verifier, error) {
	if cfg.Leeway < 0 || cfg.CacheSize < 0 {
		return nil, fmt.Errorf("auth: negative Leeway or CacheSize")
	}
	ks, err := newKeySet(cfg.Keys, nil)
	if err != nil {
		return nil, err
	}
	v := &Verifier{issuer: cfg.Issuer, audience: cfg.Audience, leeway: cfg.Leeway, now: cfg.Now}
	if v.now == nil {
		v.now = time.Now
	}
	v.parser = newParser(cfg, v.now)
	v.keys.Store(&ks)
	if cfg.CacheSize > 0 {
		v.cache, err = otter.New(&otter.Options[uint64, *cached]{
			MaximumSize: cfg.CacheSize,
			ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[uint64, *cached]) time.Duration {
				return e.Value.ttl
			}),
		})
		if err != nil {
			return nil, fmt.Errorf("auth: cache: %w", err)
		}
	}
	return v, nil
}

func newParser(cfg Config, now func() time.Time) *jwt.Parser {
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{AlgEdDSA, AlgHS256}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithTimeFunc(now),
		jwt.WithStrictDecoding(),
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	return jwt.NewParser(opts...)
}

// SetKeys replaces the key set atomically. When it returns, tokens signed by
// a kid that is gone (or whose key changed) no longer verify, cached or not,
// and tokens signed by a new kid do. Cached tokens of keys that stay
// unchanged stay cached. On error the key set is unchanged.
func (v *Verifier) SetKeys(keys []Key) error {
	v.rotate.Lock()
	defer v.rotate.Unlock()
	old := *v.keys.Load()
	ks, err := newKeySet(keys, old)
	if err != nil {
		return err
	}
	v.keys.Store(&ks)
	for id, k := range old {
		if ks[id] != k {
			k.revoked.Store(true)
		}
	}
	v.dropRevoked()
	return nil
}

// dropRevoked frees the cache entries of revoked keys. Correctness does not
// depend on it: a hit on a revoked key is treated as a miss.
func (v *Verifier) dropRevoked() {
	if v.cache == nil {
		return
	}
	for h, e := range v.cache.All() {
		if e.key.revoked.Load() {
			v.cache.Invalidate(h)
		}
	}
}

// Close stops the cache's background clean-up. It is idempotent; Verify
// keeps working after it.
func (v *Verifier) Close() error {
	v.closeOnce.Do(func() {
		if v.cache != nil {
			v.cache.StopAllGoroutines()
		}
	})
	return nil
}

// Verify checks token (the bare JWT, without "Bearer ") and returns its
// claims. Errors are *TokenError (with zero Claims); match them with
// errors.Is against the sentinels and answer 401 with Challenge(err). Verify
// does not keep token; a cache hit does not allocate.
func (v *Verifier) Verify(token []byte) (Claims, error) {
	if len(token) == 0 {
		return Claims{}, tokenErr(ErrNoToken, nil)
	}
	if len(token) > MaxTokenSize {
		return Claims{}, tokenErr(ErrMalformed, fmt.Errorf("token is %d bytes, limit %d", len(token), MaxTokenSize))
	}
	now := v.now()
	if v.cache == nil {
		c, _, err := v.verify(token, now)
		return c, err
	}
	h := xxhash.Sum64(token)
	if e, ok := v.cache.GetIfPresent(h); ok && e.token == string(token) {
		if !e.key.revoked.Load() && now.Before(e.claims.Expiry.Add(v.leeway)) {
			return e.claims, nil
		}
		v.cache.Invalidate(h) // let the full path say why it fails
	}
	c, k, err := v.verify(token, now)
	if err != nil {
		return Claims{}, err
	}
	if ttl := c.Expiry.Add(v.leeway).Sub(now); ttl > 0 {
		v.cache.Set(h, &cached{token: string(token), claims: c, key: k, ttl: min(ttl, maxCacheTTL)})
	}
	return c, nil
}

// tokenClaims is the JSON payload golang-jwt decodes.
type tokenClaims struct {
	jwt.RegisteredClaims
	Role string `json:"role"`
}

// Errors the key lookup hands through golang-jwt to classify.
var (
	errNoKid       = errors.New("token header has no kid")
	errUnknownKid  = errors.New("kid names no configured key")
	errAlgMismatch = errors.New("token alg is not its key's alg")
	errSubject     = errors.New("sub is not a positive decimal int64")
	errRole        = errors.New("role is not customer, merchant or admin")
)

// verify is the full path: parse, look the key up, check the signature and
// the claims.
func (v *Verifier) verify(token []byte, now time.Time) (Claims, *verifyKey, error) {
	ks := *v.keys.Load()
	var used *verifyKey
	var tc tokenClaims
	_, err := v.parser.ParseWithClaims(string(token), &tc, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errNoKid
		}
		k := ks[kid]
		if k == nil {
			return nil, errUnknownKid
		}
		if t.Method.Alg() != k.Alg {
			return nil, errAlgMismatch
		}
		used = k
		return k.material, nil
	})
	if err != nil {
		return Claims{}, nil, tokenErr(v.classify(err, &tc), err)
	}
	c, err := claimsOf(&tc, used)
	if err != nil {
		return Claims{}, nil, tokenErr(ErrClaims, err)
	}
	return c, used, nil
}

// classify maps golang-jwt's error to one sentinel. Signature and key
// problems come first: nothing about the claims of an unverified token
// matters.
func (v *Verifier) classify(err error, tc *tokenClaims) error {
	switch {
	case errors.Is(err, errNoKid), errors.Is(err, errUnknownKid):
		return ErrUnknownKey
	case errors.Is(err, errAlgMismatch):
		return ErrSignature
	case errors.Is(err, jwt.ErrTokenMalformed):
		return ErrMalformed
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return ErrSignature // also: unsupported alg, none
	case errors.Is(err, jwt.ErrTokenExpired):
		return ErrExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return ErrNotYetValid
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return ErrAudience
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return ErrIssuer
	}
	// A required claim is missing: say which kind.
	if errors.Is(err, jwt.ErrTokenRequiredClaimMissing) && tc.ExpiresAt != nil {
		if v.audience != "" && len(tc.Audience) == 0 {
			return ErrAudience
		}
		if v.issuer != "" && tc.Issuer == "" {
			return ErrIssuer
		}
	}
	return ErrClaims
}

// claimsOf applies this service's rules to claims golang-jwt accepted.
func claimsOf(tc *tokenClaims, k *verifyKey) (Claims, error) {
	id, ok := parseUserID(tc.Subject)
	if !ok {
		return Claims{}, errSubject
	}
	role := identity.Role(tc.Role)
	if !role.Valid() {
		return Claims{}, errRole
	}
	return Claims{UserID: id, Role: role, Expiry: tc.ExpiresAt.Time, KeyID: k.ID}, nil
}

// parseUserID accepts only the canonical decimal form of a positive int64:
// digits, no sign, no leading zero, no overflow. One user has one spelling,
// so two tokens cannot name the same user differently.
func parseUserID(s string) (int64, bool) {
	if s == "" || len(s) > 19 || s[0] == '0' {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		d := s[i] - '0'
		if d > 9 {
			return 0, false
		}
		if n > (1<<63-1-int64(d))/10 {
			return 0, false
		}
		n = n*10 + int64(d)
	}
	return n, true
}
