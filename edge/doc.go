// Package edge is the fasthttp edge node that runs in every region
// (DESIGN.md, the request's path, steps 2–4). A request goes through:
//
//  1. limits: URL length (414), header size (431), body size (413), a
//     token bucket per client IP (429 + Retry-After);
//  2. routing: the policy file's first matching route (edge/route) says
//     whether the route needs a user and how it caches;
//  3. authentication: a Bearer JWT verified here (edge/auth); a route that
//     needs a user answers 401 with WWW-Authenticate without one; a
//     per-user token bucket;
//  4. the cache, for GET and HEAD: an RFC 9111 shared cache (edge/httpcache)
//     with an in-process L1 and the region's Redis as L2 (edge/cache),
//     concurrent misses for one key collapsed into one upstream request,
//     stale-while-revalidate in the background, stale-if-error when the
//     origin fails, 304s to conditional requests, per-user entries keyed by
//     the verified user, read-your-writes by version tokens (edge/ryw);
//  5. the origin (edge/origin): the core over mTLS tunnels (edge/tunnel),
//     which alone is told the verified identity, or any plain HTTP origin.
//     Writes are forwarded, never cached; a successful one purges the URLs
//     RFC 9111 §4.4 names and hands its version token to the client.
//
// Every answer says what the cache did (X-Cache, Age). Errors the edge
// makes itself are JSON: {"error":{"code","message"}}.
//
// The edge never imports a MySQL driver, database/sql or the router
// (deps_test.go).
package edge
