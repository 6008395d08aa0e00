// Package auth verifies end users' JWTs at the edge (DESIGN.md, the request's
// path, step 2). Its one job: turn the bytes of a bearer token into a
// verified user id and role, or into a typed error that the edge answers with
// 401 and a WWW-Authenticate challenge. The verified identity travels to the
// core only over the tunnel; the core never sees the token.
//
// # Model
//
// A [Verifier] holds a set of keys, each named by a key id (the token
// header's kid) and bound to one algorithm: EdDSA (Ed25519 public key) or
// HS256 (shared secret of at least 32 bytes). A token verifies only if its kid
// names a configured key, its alg equals that key's alg, its signature checks
// out, it carries exp, and exp, nbf and iat (each with [Config.Leeway] of
// clock skew), iss and aud (when configured) are right. The claims the edge
// uses are sub, a positive decimal int64 in a string (the user id), and role,
// one of customer, merchant or admin ([identity.Role]).
//
// Parsing and signature checks are github.com/golang-jwt/jwt/v5's; this
// package adds the key set, the strict claim rules and the cache.
//
// # Guarantees
//
//   - No alg confusion: the algorithm comes from the key, not from the token,
//     so "none", HS256 signed with a public key as secret, or any other
//     algorithm than the key's, is refused.
//   - Rotation is atomic: after [Verifier.SetKeys] returns, a token signed by
//     a removed kid fails (even if it was cached) and a new kid works.
//   - A cache hit costs a hash and a map lookup and does not allocate.
//   - Errors never echo the token: [Challenge] and [Code] return fixed text.
//
// # Cache
//
// Ed25519 verification costs tens of microseconds and the edge verifies on
// every request, so verified tokens are kept in a bounded cache
// (github.com/maypok86/otter/v2) keyed by the xxhash of the token bytes. An
// entry stores the token itself and is used only if the bytes match exactly,
// so a hash collision cannot hand one user's claims to another token. It
// expires with the token (exp plus leeway), is re-checked against the clock
// on every hit, and is dropped when its key is rotated out. Entries cost about
// the token's length plus ~230 bytes; the default 100,000 entries of ~300-byte
// tokens take ~55 MB. Only successful verifications are cached: the per-IP
// rate limit in front of auth (edge/limit) bounds what forged tokens cost.
//
// A Verifier is safe for concurrent use. Close stops the cache's clean-up
// goroutine.
package auth
