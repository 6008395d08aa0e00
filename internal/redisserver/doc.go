// Package redisserver runs private redis-server instances: the regional Redis
// (the edges' L2 cache) for tests and the local deployment, where production
// has managed Redis. redis-server comes from the distribution (apt-get
// install redis-server) and is started here, never as a system service.
//
// A server binds 127.0.0.1 only, keeps nothing on disk (no RDB snapshots, no
// AOF) and has no password: a Restart comes back empty, as a regional cache
// that lost its node would. Readiness is checked with a raw RESP PING so this
// package needs no client library.
//
// Stop (SIGTERM) and Kill (SIGKILL) are idempotent; Restart starts the server
// again on the same port. The child is killed when the process that started
// it dies (Linux Pdeathsig). With Port 0 a free port is chosen and Start
// retries with another if a different process takes it first. Servers are
// safe for concurrent use.
package redisserver
