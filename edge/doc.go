// Package edge is the fasthttp edge node that runs in every region: it
// authenticates and polices end users, answers cacheable reads from its
// in-process cache and the region's Redis, and forwards writes and misses over
// mTLS tunnels to the core cluster (DESIGN.md, the request's path, steps 2–4).
//
// The edge node arrives with a later issue; this package marks its place in
// the layout and must never import a MySQL driver or the SQL router.
package edge
