// Package childproc supervises one child server process on a loopback port:
// it starts it, waits until it is ready, stops it gracefully, kills it,
// restarts it on the same port and quotes the tail of its log when something
// goes wrong. sharding/shardserver (mariadbd) and internal/redisserver
// (redis-server) are built on it; they say what to run and how to tell that
// it is ready, through a Spec.
//
// # Model
//
// Start picks the port (Spec.Port, or a free one when 0), runs the program
// with its output appended to Spec.LogPath, and polls Spec.Ready every 10ms
// until it passes. A child that exits first fails the start; if its log says
// "Address already in use" and the port was picked here, Start retries on
// another free port (another process took it between the pick and the bind),
// up to 5 times. A child that exits later without being asked is logged at
// Warn level with its log tail.
//
// Stop sends SIGTERM and waits; if its context ends first it sends SIGKILL.
// Kill sends SIGKILL and waits. Both are idempotent. Restart stops a running
// child, then runs the program again on the same port.
//
// # Pitfalls
//
//   - The child is killed when the process that started it dies (Linux
//     Pdeathsig), so a killed test binary leaves no server behind. Pdeathsig
//     belongs to the forking thread, so that goroutine stays locked to its
//     thread until the child is reaped.
//   - The child runs in its own process group: a terminal's Ctrl-C reaches
//     only the parent, which should Stop its servers.
//   - Ready must check that the server is this child (by pid or by its data
//     directory): on a port lost in a race, another server may answer.
//
// A library did not fit: os/exec does the process handling, and what is left
// is this repo's policy for private test and local-deployment servers.
package childproc
