package router

import (
	"errors"

	"github.com/cangqiong/cangqiong/sharding/vschema"
)

// Sentinel errors; every error from Route wraps exactly one of them.
var (
	// ErrSyntax: TiDB's parser rejected the text.
	ErrSyntax = errors.New("sql syntax error")
	// ErrUnknownTable: the statement names a table the VSchema does not know.
	ErrUnknownTable = vschema.ErrUnknownTable
	// ErrNoShardKey: a write on a sharded table does not pin the shard key.
	ErrNoShardKey = errors.New("no shard key")
	// ErrCrossShard: the statement (or transaction) would touch more than one
	// shard, or both sharded and global tables, where that cannot be done
	// atomically or correctly.
	ErrCrossShard = errors.New("cross-shard statement")
	// ErrBadShardKey: the shard key is compared with something that is not an
	// integer the router can evaluate (an expression, NULL, a non-numeric
	// string).
	ErrBadShardKey = errors.New("bad shard key")
	// ErrShardKeyChange: the statement would change a row's shard key, which
	// would leave the row on the wrong shard.
	ErrShardKeyChange = errors.New("shard key change")
	// ErrUnsupported: valid SQL the router does not route (UNION, CTEs,
	// derived tables, a scatter with GROUP BY, …).
	ErrUnsupported = errors.New("unsupported statement")
	// ErrArgs: the arguments do not fit the statement (count of
	// placeholders, a negative LIMIT).
	ErrArgs = errors.New("bad arguments")
)

// Error is a routing error with the detail a developer needs to fix the
// statement. errors.Is(err, ErrX) matches its sentinel.
type Error struct {
	Err    error  // one of the sentinels above
	Detail string // human explanation
}

func (e *Error) Error() string {
	if e.Detail == "" {
		return "router: " + e.Err.Error()
	}
	return "router: " + e.Err.Error() + ": " + e.Detail
}

func (e *Error) Unwrap() error { return e.Err }

func refuse(sentinel error, detail string) *Error {
	return &Error{Err: sentinel, Detail: detail}
}
