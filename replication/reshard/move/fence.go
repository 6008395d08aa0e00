package move

import (
	"context"
)

// fenceSQL raises a shard's write fence (schema migration 7 of the shards;
// replication/outbox checks it in every write). Args: epoch, epoch.
const fenceSQL = "UPDATE cq_change_seq SET min_epoch = ? WHERE singleton = 1 AND min_epoch < ?"

// Fence makes the shard refuse every write of a shard map older than
// epoch (outbox.ErrFenced), and returns once the writes that already took
// a sequence number have ended: the UPDATE waits for the row lock they
// hold. After Fence, SourceHead is final for every older map's writes,
// whatever any node still believes, so a cutover that fences the shards
// users leave, under the map that holds those users' writes, loses no
// write of a node gossip has not reached (a partition, a paused process).
func Fence(ctx context.Context, db DB, epoch uint64) error {
	if _, err := db.ExecContext(ctx, fenceSQL, epoch, epoch); err != nil {
		return wrap("raise the write fence", err)
	}
	return nil
}
