// Package shardserver runs private MariaDB servers: the embedded shard
// servers that tests and the local deployment (cangqiong up) use where
// production has TiDB clusters. Any MySQL-protocol server will do for a
// shard; MariaDB is installed from the distribution (apt-get install
// mariadb-server) and started by this package, never as a system service.
//
// # Model
//
// Start makes a server in Options.Dir and returns once it answers queries as
// root over TCP on 127.0.0.1. The server runs with --no-defaults and small
// settings (16 MiB buffer pool, 8 MiB redo log, no performance schema, no
// binary log, utf8mb4_bin and UTC like TiDB) but keeps InnoDB's durable
// commit, so a Kill loses no committed transaction. Root has no password and
// may connect only from 127.0.0.1; DSN builds a go-sql-driver/mysql DSN for
// it.
//
// # Cost
//
// mariadb-install-db takes seconds, so it runs once per machine, user and
// MariaDB version: the result is a template data directory in os.TempDir()
// (or $CANGQIONG_SHARDSERVER_TEMPLATES) that every Start copies. Parallel
// test processes share it: the first takes an exclusive flock and publishes
// the template by rename, the others wait for the lock and reuse it. A start
// from the template takes a few hundred milliseconds.
//
// # Lifecycle
//
// Stop is graceful and idempotent; Kill is a crash (SIGKILL) for failure
// tests and is idempotent too; Restart starts the server again on the same
// port and data, so clients reconnect to the same address. A Dir that already
// holds data from an earlier run is reused, which lets a local deployment
// keep its shards across restarts.
//
// # Pitfalls
//
//   - The child is killed when the process that started it dies (Linux
//     Pdeathsig), so a killed test binary leaves no server behind. It runs in
//     its own process group: a terminal's Ctrl-C reaches only the parent,
//     which should Stop its servers.
//   - With Port 0 a free port is chosen by binding :0 and releasing it; if
//     another process takes it first, Start retries with another port. A
//     fixed Port that is taken fails with the server's log in the error.
//   - mariadbd refuses to run as root unless told to; Start passes
//     --user=root when running as root.
//   - Unix socket paths are limited to 108 bytes; when Dir is deep the
//     socket goes to a short private directory under the temp dir instead.
//
// Servers are safe for concurrent use.
package shardserver
