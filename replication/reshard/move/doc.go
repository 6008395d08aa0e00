// Package move is the data mover of an online reshard (DESIGN.md,
// "Resharding"): it copies the rows of the users that change owner from
// their old shard to their new one, catches the copy up with the changes
// the old shard's outbox records, checks the result by checksum, and
// finally deletes the old copies. The coordinator (replication/reshard)
// decides when each step runs and persists where it got; this package
// provides the steps, each idempotent and resumable.
//
// It talks to the shards' databases directly (pools from sharding/dbconn),
// never through the router, which would send a moving user's statements to
// the old owner.
//
// # What moves
//
// Tables reads the moved tables from information_schema, so a table a new
// migration adds is moved too: every shard table but the outbox cq_changes
// (a change stays in the outbox of the shard it was written on), the
// shard-local tables of schema.LocalTables (the outbox counter) and
// cq_schema_migrations. A moved table's primary key must lead with user_id:
// a user's rows are then one key range, and a table scan in key order meets
// them together.
//
// # The protocol, for one (source, target) pair and a filter of moving users
//
//  0. A fresh move (zero Progress) first clears what an abandoned earlier
//     attempt may have left on the target: DeleteUsers(target, tables,
//     Matching(filter)). The target does not own these users yet, so
//     nothing else writes them there; the copy only adds and replaces.
//  1. head := SourceHead(source), persisted before the copy first starts.
//  2. Copier.Copy: every table in key order, batch by batch, the matching
//     rows upserted into the target; OnProgress persists each Progress and
//     Copy(ctx, persisted) resumes. The copy is fuzzy: the source is
//     written meanwhile.
//  3. Catch-up, repeated while the source is written: users, last :=
//     ChangedUsers(source, cursor, filter, n); Recopy(source, target,
//     tables, users); persist cursor = last.
//  4. Cutover: the coordinator holds the moving users' writes and waits for
//     those in flight, then reads SourceHead again and repeats step 3 until
//     the cursor reaches it. Source and target now hold the same rows for
//     every moving user, and nothing changes them until the hold ends.
//  5. Verify(source, target, tables, Matching(filter)): the mismatches
//     should be none. Run it under the hold, or leave out the users the
//     target's outbox shows written since the cutover.
//  6. After the grace period, DeleteUsers(source, tables, Matching(filter)).
//
// # Why the target ends up exact
//
// Every write to a moved table appends to the outbox in the same
// transaction (replication/outbox; core/app's inTx), and sequence order is
// commit order. A change numbered at most head committed before head was
// read, so before the copy started: the copy sees it. A change after head,
// deletes included, commits with a number above head, so its user is
// listed by ChangedUsers and recopied from a snapshot taken after that
// commit. Recopy replaces all of a user's rows in one target transaction
// from one source snapshot, so the last recopy of a user leaves the target
// equal to the source as of a moment after the user's last change. The
// outbox is gapless, so a trimmed outbox is detected (ErrOutboxGap)
// rather than skipped. A write that bypassed the outbox (a manual fix, a
// purge job) would not be caught up; Verify reports its user.
//
// Copy and Recopy must not write the same target at the same time, and
// two Recopies of one user must not overlap: an older read committed last
// would win. The coordinator runs the steps one after the other.
//
// # Resumability
//
// Upserts make a batch written twice harmless, so a Progress may lag what
// the target holds: resuming redoes at most one batch. Recopy replaces a
// batch of users in one target transaction: cut off, it has done all or
// nothing for the batch. DeleteUsers deletes in autocommitted statements
// of a bounded number of rows; run again, it lists what is left.
//
// # Statements
//
// Every statement parses with TiDB's parser and runs on MariaDB 10.11
// (statements_test.go checks each, for every table of the schema). The scan
// after a key writes the row comparison (k1, k2) > (?, ?) as k1 > ? OR
// (k1 = ? AND k2 > ?): MariaDB scans a row comparison's index from the
// start (type=index), the disjunction from the key on (type=range).
// Snapshot reads use database/sql's read-only REPEATABLE READ transactions.
//
// # Why by hand
//
// Online copy tools (gh-ost, pt-online-schema-change, Vitess VReplication)
// copy whole tables or need binlog access and their own control tables; here
// the unit is a user chosen by the ring, and the change log is the product's
// own outbox, so the mover is a few statements over database/sql.
package move
