// Package tunnel is the edge's end of the tunnels to the core (DESIGN.md,
// the request's path, step 4): it keeps several long-lived HTTP/2 mTLS
// connections to the core nodes and forwards each request over one of
// them, to the node with the fewest outstanding requests, retrying on
// another node only when that cannot repeat a write.
//
// # Nodes
//
// The client starts from Config.Seeds and learns the core nodes from the
// core itself (GET /tunnel/v1/nodes, every Config.RefreshInterval; the
// answer replaces the set, capped at Config.MaxNodes). Each node has
// Config.ConnsPerNode connections, dialled with TLS 1.3 and ALPN h2 and
// checked with an HTTP/2 PING before use; a connection that dies or is
// told to go away (GOAWAY) is dropped and another is dialled. HTTP/2 PINGs
// on idle connections (Config.KeepAlive) close connections to a node that
// stopped answering, so a request waits for a vanished node at most about
// twice that long.
//
// Every Config.HealthInterval each node is probed (GET /tunnel/v1/health).
// A node is used when its last probe succeeded and its circuit breaker
// (gobreaker) is closed. The breaker counts connection-level failures —
// refused or failed dials and handshakes, resets, probes without an
// answer — of probes and requests alike; after Config.Breaker.Failures in
// a row it opens and the node gets nothing, not even probes, for
// Config.Breaker.OpenFor; then a single probe decides (half-open: success
// closes it, failure opens it again). An answer of any status is not a
// failure: a node that answers 503 not_ready is unhealthy (skipped) but
// reachable. When no node is healthy, requests go to any node whose
// breaker is closed rather than nowhere, because readiness can fail on
// every node at once (a shard down) while most requests would still be
// answered.
//
// # Balancing
//
// A request goes to the usable node with the fewest outstanding requests
// (attempts sent whose response body is not yet closed); ties go round
// robin. Within the node, to its connection with the fewest streams.
//
// # Retries
//
// An attempt that fails without a response (or, for a request safe to
// repeat, with one cut short before Do returned it: see Bodies) is retried
// on another node (never the one that just failed while another is
// usable), up to Config.MaxAttempts, within Config.RequestTimeout and the
// caller's context, always with the same Cq-Request-Id, when:
//
//   - the request never reached a core node: the dial or handshake failed,
//     the connection was unusable or already dead when its headers were
//     written, or HTTP/2 says the node did not process it (REFUSED_STREAM,
//     or a stream above a GOAWAY's last stream id). Such a request is sent
//     elsewhere whatever its method: nothing ran, so nothing is repeated;
//     or
//   - the request was sent (its headers went out) and is safe to repeat:
//     GET, HEAD, or a write carrying an Idempotency-Key (the core answers
//     a repeated key with the first answer).
//
// Any other write that fails after it was sent is not repeated: Do
// returns *UnavailableError and the edge answers its Status with a
// Retry-After. Any HTTP answer from the core, 5xx included, is returned
// as it is: the core answered.
//
// # Failures the edge answers
//
// *UnavailableError.Status is
//
//   - 503 Service Unavailable when no attempt reached a core node (all
//     refused, handshakes failed, no usable node): nothing happened, and
//     the client may simply retry after Retry-After;
//   - 502 Bad Gateway when an attempt was sent and its connection failed
//     before the answer: the write may or may not have happened, so a
//     client without an idempotency key must check before retrying;
//   - 504 Gateway Timeout when Config.RequestTimeout passed first.
//
// When the caller's own context ends first, Do returns its error instead:
// there is nobody left to answer.
//
// # Bodies
//
// Retries resend the body, so Do needs it again: it uses
// http.Request.GetBody (set by http.NewRequest for bytes, strings and
// their readers), and otherwise reads the body into memory, up to
// Config.MaxBodyBytes (ErrBodyTooLarge past it: the core refuses those
// anyway).
//
// The answer to a request safe to repeat (GET, HEAD, a keyed write) is
// read ahead, up to Config.ReadAheadBytes, before Do returns it. The core
// sends a response's headers as soon as its handler starts writing, so a
// node that dies mid-answer has often sent the headers and not the whole
// body; read ahead, that is a failed attempt like any other, repeated on
// another node, and the caller never sees half an answer. Past the bound,
// and for other requests, the response is streamed: once Do has returned
// it, a failure while reading its body reaches the caller and is not
// retried (what was read cannot be taken back).
//
// # Why the pool is hand-written
//
// net/http's and x/net/http2's transports pool connections per host and
// hide them, so they can neither keep N connections to each of several
// nodes nor tell how many requests each one carries. The client therefore
// dials the connections itself and wraps each in an x/net/http2
// ClientConn, which does the HTTP/2. The breaker is gobreaker's.
//
// # Lifecycle
//
// New checks the Config; Start makes first contact (probes the seeds and
// asks them for the nodes, bounded by its context) and starts the probes
// and refreshes; Do forwards; Close stops everything and is idempotent.
// The Client is safe for concurrent use.
package tunnel
