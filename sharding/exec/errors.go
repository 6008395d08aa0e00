package exec

import (
	"errors"
	"fmt"

	"github.com/cangqiong/cangqiong/sharding/router"
)

// ErrCrossShard is router.ErrCrossShard: a statement inside a transaction
// routed to another shard than the transaction's.
var ErrCrossShard = router.ErrCrossShard

var (
	// ErrTooManyRows: a merge would hold more than Config.MaxMergeRows rows.
	ErrTooManyRows = errors.New("exec: merged result exceeds the row bound")
	// ErrNotAQuery: a scatter or multi-shard SELECT was passed to Exec, or
	// DDL to Query.
	ErrNotAQuery = errors.New("exec: statement kind does not fit the call")
	// ErrUnknownShard: the topology names no such shard.
	ErrUnknownShard = errors.New("exec: unknown shard")
	// ErrNeedsPin: a statement on a per-shard (local) table ran outside a
	// transaction, or before a keyed statement pinned the transaction.
	ErrNeedsPin = errors.New("exec: a per-shard table needs a transaction pinned to a shard")
	// ErrClosed: the Executor was closed.
	ErrClosed = errors.New("exec: executor closed")
	// ErrFrozen: a statement inside a transaction, or a write, involves a
	// user the map freezes (shardmap.Map.Freeze, Topology.Frozen). Nothing
	// reached the shard and a transaction was rolled back; run it again once
	// a newer map lifts the freeze (Executor.Changed).
	ErrFrozen = errors.New("exec: the user's writes are held while a reshard cuts over")
)

// ShardError says which shard failed. errors.As finds it in any error of
// this package; Unwrap gives the driver's error.
type ShardError struct {
	Shard   string // shard id, or "global"
	Address string
	Err     error
}

func (e *ShardError) Error() string {
	return fmt.Sprintf("shard %s (%s): %v", e.Shard, e.Address, e.Err)
}

func (e *ShardError) Unwrap() error { return e.Err }
