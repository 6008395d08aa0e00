// Package httpcache decides the HTTP caching semantics of the edge: it is
// the RFC 9111 shared cache of DESIGN.md's request path, step 3, without
// the storage and without the network. The edge's handler asks it what a
// key is, whether a response may be stored and for how long, what a stored
// response may be used for now, which body and headers to send, and what
// to purge; L1, L2 and the origin client live elsewhere and call it.
//
// # Model
//
// A miss goes upstream; Decide applies the storing rules to the exchange
// under the route's Policy, and NewEntry builds an immutable Entry from it:
// the full key, the status, the header fields to replay, the body in the
// codings it will serve (compressed once, here), the times that fix its
// age and freshness, its validators, Vary values, surrogate keys, version
// token and owner. Entries are shared by goroutines without locks; a 304
// makes a new one (Refreshed). MarshalBinary and UnmarshalEntry carry an
// entry to and from L2.
//
// A hit is, in order, all without allocating:
//
//	owner := policy.Owner(userID)                  // 0 unless a PerUser route
//	key = httpcache.AppendKey(key[:0], method, host, uri, owner)
//	e := l1.Get(httpcache.Hash(key))               // compare e.Key() with key
//	e.Matches(reqHeader)                           // Vary (RFC 9111 §4.1)
//	switch e.State(now) { … }                      // or StateFor with request directives
//	e.NotModified(reqHeader)                       // 304 to the client
//	body, coding := e.Pick(reqHeader.Peek("Accept-Encoding"))
//	e.Header(), e.Age(now), X-Cache: HitL1 …       // replay
//
// State tells the handler what to do: Fresh, serve; StaleRevalidate, serve
// and revalidate in the background; StaleIfError, revalidate first and
// serve the entry if the origin fails (500, 502, 503, 504 or no answer);
// Stale, revalidate first and serve nothing stale (504 if MustRevalidate
// and the origin is unreachable). Revalidation sends e.Validators()
// upstream and applies a 304 with e.Refreshed. After a non-error response
// to an unsafe method, InvalidationTargets names the URL keys to purge.
//
// Headers are read through Header, which fasthttp's request and response
// headers satisfy; when a header is also a MultiHeader every line of a
// list field is read. Storing needs Fields, which can list all lines.
//
// # Rules
//
// The storing rules, in the order Decide applies them (section numbers are
// RFC 9111 unless named otherwise):
//
//	rule                                                   where
//	GET only; HEAD answered from GET's entry, not stored   §3 (method understood)
//	final status; not 206 (no ranges), not 304             §3, §3.3, §4.3.4
//	must-understand: only statuses we implement            §5.2.2.3
//	request no-store: not stored                           §5.2.1.5
//	response no-store: not stored, unless must-understand  §5.2.2.5, §5.2.2.3
//	  with an understood status, or Policy.OverrideNoStore
//	private: only as a per-user entry                      §5.2.2.7
//	Authorization: only with public, s-maxage,             §3.5
//	  must-revalidate, or as a per-user entry
//	Vary: * (or a non-token name): not stored              §4.1
//	needs explicit freshness, public, or a heuristically   §3, §4.2.2, RFC 9110 §15.1
//	  cacheable status
//	lifetime: s-maxage > max-age > Expires − Date          §4.2.1
//	  invalid Expires (e.g. "0") is already expired        §5.3
//	  malformed max-age / s-maxage is stale (0)            §4.2.1
//	  else Policy.TTL fill-in, else 10% of Date −          §4.2.2
//	  Last-Modified capped at HeuristicMax
//	  Policy.TTL override replaces all of that             §4.2.4 (out-of-band contract)
//	  no-cache: lifetime 0, validate every use             §5.2.2.4
//	age: corrected initial age from Age, Date, request     §4.2.3, §5.1
//	  and response times; resident time added on use
//	stale windows: stale-while-revalidate, stale-if-error  RFC 5861 §3, §4
//	  none at all with no-cache, must-revalidate,           §4.2.4, §5.2.2.2, §5.2.2.8
//	  proxy-revalidate (not even a policy override)
//	  with s-maxage only the origin's explicit windows      §5.2.2.10 (see below)
//	  or a policy override
//	  else the origin's, else the policy's fill-in         §4.2.4 (configuration)
//	Date absent: the time the response arrived             RFC 9110 §6.6.1
//	replayed fields: no hop-by-hop or Connection-listed    §3.1, RFC 9110 §7.6.1
//	  fields, no Set-Cookie, Date, Age, Warning; Age is    §4, §5.1, §5.5
//	  generated from the current age
//	Vary: same fields present, values equal after          §4.1
//	  whitespace and line normalisation; "*" never
//	304 to clients: If-None-Match (weak comparison, "*")   §4.3.2, RFC 9110 §13.1.2
//	  first, else If-Modified-Since against Last-Modified  RFC 9110 §13.1.3, §13.2.2
//	  or Date; 200 entries only
//	304 from the origin: selected by its validator;        §4.3.4, §3.2
//	  fields replaced except Content-Length, -Encoding,
//	  -Type, ETag, Vary
//	unsafe method, 2xx/3xx: purge target URI and           §4.4
//	  same-host Location / Content-Location
//	request Pragma: no-cache without Cache-Control         §5.4
//
// # Choices where the RFCs leave room
//
//   - s-maxage implies proxy-revalidate (§5.2.2.10), which would forbid any
//     stale serving. When the same response carries stale-while-revalidate
//     or stale-if-error, the package honours them: they state exactly how
//     much staleness the origin allows, which is more specific than the
//     implied rule, and the core sends s-maxage with both (DESIGN.md). A
//     policy fill-in does not count there; an override does.
//   - Duplicate directives: the first counts (§4.2.1 allows first or
//     stale). Qualified no-cache="f" / private="f" count as unqualified.
//     See Directives for the parsing rules.
//   - The client's no-cache, max-age and min-fresh are honoured only when
//     the route asks (Policy.RequestDirectives): §5.2.1 phrases them as
//     preferences, and honouring them lets every reload reach the origin.
//     max-stale is never honoured.
//   - One response per key: a response with other Vary values replaces the
//     stored one. Accept-Encoding is not matched when the edge negotiates
//     the coding itself (see Pick), which removes the common case for
//     variants.
//   - Compression at store time changes the bytes, so a strong ETag is
//     served weak (W/) whenever the edge decoded or compressed the body;
//     revalidation upstream still sends the origin's own ETag. no-transform
//     keeps the body exactly as received (RFC 9110 §7.7).
//   - Set-Cookie is never stored, not even in a per-user entry: a replayed
//     cookie could undo a change the user made since.
//   - A HEAD response is not stored; serve HEAD from GET's entry, and on a
//     HEAD miss fetch GET upstream.
//   - A 304 without validators refreshes the entry: our conditional request
//     carried only that entry's validators.
//   - Credential fields named by Vary (Authorization, Cookie) are kept as
//     SHA-256 digests, so the stores never hold them in the clear.
//   - Without Accept-Encoding a client gets identity (RFC 9110 would allow
//     any coding).
//   - A response with neither a freshness lifetime nor a stale window is
//     not stored unless the policy keeps entries for revalidation
//     (Policy.KeepForRevalidation).
//
// # Why by hand
//
// No Go library implements shared-cache semantics on fasthttp's headers
// without allocating (the net/http based ones parse into maps and strings
// per request), and the rules here are the edge's own idea: per-user
// entries, policy overrides, surrogate keys, store-time compression. The
// compression itself is compress/gzip and andybalholm/brotli; the key hash
// is xxhash.
package httpcache
