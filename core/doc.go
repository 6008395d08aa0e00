// Package core is a core node: it terminates the edges' mTLS tunnels, runs
// the takeout application on the shards, gossips the shard map with its
// peers and serves the admin API (DESIGN.md, the request's path, step 5).
//
// A Node wires the parts, each in its own package:
//
//	core/tunnel    HTTP/2 over mTLS for edges; identity only from edge certs
//	core/app       the takeout API (/api/v1) on the sharding executor
//	core/gossip    memberlist membership and the versioned shard map
//	core/admin     members, shard map CAS, regions, health, /metrics
//	core/metrics   the node's Prometheus registry
//
// Start binds the listeners first (so the node's addresses are known to
// gossip), loads the authoritative shard map from the control tables,
// opens the shard pools, joins the cluster and only then serves. If a part
// fails to start, the parts already started are stopped. Shutdown drains
// the tunnel (in-flight requests finish), stops the admin API, leaves the
// cluster and closes the pools; it is idempotent.
//
// The core never imports fasthttp (deps_test.go).
package core
