package auth

import "errors"

// Sentinels for why a token was refused. Every error Verify returns is a
// *TokenError whose Kind is one of them, so errors.Is(err, ErrExpired) works.
// All of them mean 401 with [Challenge]'s WWW-Authenticate value.
var (
	// ErrNoToken: the request carried no token at all. Its challenge has no
	// error code (RFC 6750 §3.1).
	ErrNoToken = errors.New("auth: no token")
	// ErrMalformed: not a well-formed JWT (segments, base64, JSON, size).
	ErrMalformed = errors.New("auth: malformed token")
	// ErrUnknownKey: the header has no kid, or names no configured key
	// (perhaps one rotated out).
	ErrUnknownKey = errors.New("auth: unknown signing key")
	// ErrSignature: the signature does not verify, or the token's alg is not
	// its key's alg (none, alg confusion, unsupported algorithms).
	ErrSignature = errors.New("auth: invalid signature")
	// ErrExpired: exp (plus leeway) has passed.
	ErrExpired = errors.New("auth: token expired")
	// ErrNotYetValid: nbf or iat (minus leeway) is still in the future.
	ErrNotYetValid = errors.New("auth: token not valid yet")
	// ErrAudience: aud is missing or does not contain Config.Audience.
	ErrAudience = errors.New("auth: wrong audience")
	// ErrIssuer: iss is missing or is not Config.Issuer.
	ErrIssuer = errors.New("auth: wrong issuer")
	// ErrClaims: a required claim is missing or wrong: exp absent, sub not a
	// positive decimal int64, role not customer|merchant|admin.
	ErrClaims = errors.New("auth: invalid claims")
)

// ErrBadKey is returned by New, SetKeys and ParseKey for a key that cannot be
// used; it is a configuration error, not a token error.
var ErrBadKey = errors.New("auth: bad key")

// TokenError is the error Verify returns. Kind is one of the sentinels above;
// Err, when set, is the underlying cause (often from golang-jwt) and is for
// logs only: it may contain fragments of the token's header or claims, so it
// must never be sent to the client. Use [Challenge] and [Code] for that.
type TokenError struct {
	Kind error
	Err  error
}

func (e *TokenError) Error() string {
	if e.Err == nil {
		return e.Kind.Error()
	}
	return e.Kind.Error() + ": " + e.Err.Error()
}

// Unwrap lets errors.Is match both Kind and the cause.
func (e *TokenError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

func tokenErr(kind, cause error) error { return &TokenError{Kind: kind, Err: cause} }

// Realm is the realm of every challenge.
const Realm = "cangqiong"

// reason is what a client may learn about a refused token: a stable code for
// the edge's JSON error body and a fixed description for WWW-Authenticate.
type reason struct {
	kind        error
	code        string
	description string
	challenge   string
}

var reasons = func() []reason {
	rs := []reason{
		{kind: ErrMalformed, code: "malformed_token", description: "the token is malformed"},
		{kind: ErrUnknownKey, code: "unknown_key", description: "the token's signing key is unknown"},
		{kind: ErrSignature, code: "invalid_signature", description: "the token's signature is invalid"},
		{kind: ErrExpired, code: "token_expired", description: "the token has expired"},
		{kind: ErrNotYetValid, code: "token_not_yet_valid", description: "the token is not valid yet"},
		{kind: ErrAudience, code: "wrong_audience", description: "the token is not meant for this service"},
		{kind: ErrIssuer, code: "wrong_issuer", description: "the token's issuer is not trusted"},
		{kind: ErrClaims, code: "invalid_claims", description: "the token's claims are invalid"},
	}
	for i := range rs {
		rs[i].challenge = `Bearer realm="` + Realm + `", error="invalid_token", error_description="` + rs[i].description + `"`
	}
	return rs
}()

const (
	challengeNoToken = `Bearer realm="` + Realm + `"`
	challengeInvalid = `Bearer realm="` + Realm + `", error="invalid_token"`
)

// Challenge returns the WWW-Authenticate value to send with a 401 for err
// (RFC 6750 §3): no error code for ErrNoToken or nil, error="invalid_token"
// with a fixed description for the sentinels above, and error="invalid_token"
// alone for anything else. It never includes any part of the token and does
// not allocate.
func Challenge(err error) string {
	err = kindOf(err)
	if err == nil || errors.Is(err, ErrNoToken) {
		return challengeNoToken
	}
	if r := reasonOf(err); r != nil {
		return r.challenge
	}
	return challengeInvalid
}

// Code returns a stable machine-readable code for err, for the edge's JSON
// error body: "missing_token", one of "malformed_token", "unknown_key",
// "invalid_signature", "token_expired", "token_not_yet_valid",
// "wrong_audience", "wrong_issuer", "invalid_claims", or "invalid_token" for
// anything else.
func Code(err error) string {
	err = kindOf(err)
	if err == nil || errors.Is(err, ErrNoToken) {
		return "missing_token"
	}
	if r := reasonOf(err); r != nil {
		return r.code
	}
	return "invalid_token"
}

// kindOf returns the Kind of a *TokenError: the cause may wrap other
// sentinels, and Kind decides.
func kindOf(err error) error {
	if te, ok := err.(*TokenError); ok {
		return te.Kind
	}
	return err
}

func reasonOf(err error) *reason {
	for i := range reasons {
		if errors.Is(err, reasons[i].kind) {
			return &reasons[i]
		}
	}
	return nil
}
