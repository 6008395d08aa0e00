// Package tunnel is the core's tunnel server: the end of the long-lived
// mTLS HTTP/2 connections that edge nodes open to a core node (DESIGN.md,
// the request's path, step 4). It authenticates the connection, decides
// which request headers to believe, bounds every request, and hands the
// request to the application handler.
//
// # Trust
//
// Every connection is TLS 1.3 with a client certificate from the
// deployment's CA (package certs); a client without one, with one from
// another CA, or with an expired one fails the handshake and never sends a
// request. New refuses a tls.Config that does not require and verify
// client certificates.
//
// The peer a request came from is the verified leaf's URI SAN
// (certs.PeerFromCert), available to handlers through PeerFrom. Only an
// edge vouches for end users: on a request from an edge, HeaderUserID and
// HeaderUserRole, when present, are the user the edge verified, and the
// server puts them in the context with identity.With (malformed values are
// a 400 bad_identity; the edge has a bug). From any other peer — another
// core node, an admin client — the headers are ignored. Either way they are
// removed before the handler runs, so handlers read the user only through
// identity.From and answer 401 themselves when a route needs one.
//
// # Bounds
//
// A request body longer than Config.MaxBodyBytes is answered 413
// body_too_large: at once when its Content-Length says so, otherwise when
// the handler reads past the limit (the read fails with
// *http.MaxBytesError, and whatever the handler answers then is replaced
// by the 413, unless it had already started its response).
//
// Each request gets Config.RequestTimeout. The handler's context carries the
// deadline; a handler that has not started its response by then is
// answered for with a 504 timeout and its later writes fail with
// http.ErrHandlerTimeout. A response started but not finished in time is
// aborted (the HTTP/2 stream is reset), so the edge sees a failure, never a
// response cut short that looks whole. Handlers run on their own goroutine
// for this; one that ignores its context keeps running after its 504, and
// Shutdown waits for it. Their ResponseWriter buffers nothing and supports
// Flush (directly or through http.ResponseController); it cannot be hijacked
// and has no per-request deadlines, which the tunnel owns.
//
// The request timeout applies to every request but those of
// Config.Routes: a long-lived stream (the change relay's push to the edges,
// DESIGN.md step 8) is mounted there, bounds its own work, and ends when
// Shutdown begins (routes.go).
//
// # Edge routes
//
// GET /tunnel/v1/nodes (where the core nodes' tunnels listen, from
// Config.Nodes) and GET /tunnel/v1/health (200, or 503 not_ready from
// Config.Ready) are answered by the server itself, before the handler and
// for any authenticated peer: edges use them to find nodes and to probe
// them (nodes.go).
//
// # Wire contract
//
// The headers exchanged with edges are the constants in wire.go, and the
// edge routes' paths and bodies those in nodes.go; the edge imports both. Errors are the JSON of core/httpapi:
// {"error":{"code":"…","message":"…"}}.
//
// # Lifecycle
//
// New checks the Config; Serve(ln) serves on a listener the caller made
// (and closes it when Shutdown stops it, like http.Server); Shutdown stops
// accepting, lets in-flight requests finish and is idempotent. The server
// is net/http's, with its built-in HTTP/2: the core never imports fasthttp.
package tunnel
