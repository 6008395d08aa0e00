// Package core is the core node: it terminates the edges' tunnels, runs the
// takeout application handlers, gossips the shard map with its peers and
// serves the admin API (DESIGN.md, the request's path, step 5).
//
// The core node arrives with a later issue; this package marks its place in
// the layout and must never import fasthttp.
package core
