package router

import (
	"encoding/json"
	"strconv"
)

// Kind says how a statement is routed. Plans are keyed, scatter, global or
// broadcast; a keyed plan resolves to a single or multi Route.
type Kind string

const (
	Keyed     Kind = "keyed"     // plan: the shard follows from key values
	Single    Kind = "single"    // route: exactly one shard
	Multi     Kind = "multi"     // route: a SELECT IN list split over shards
	Scatter   Kind = "scatter"   // SELECT on every shard that owns users, merged
	Global    Kind = "global"    // the global keyspace
	Broadcast Kind = "broadcast" // DDL on every shard
	Local     Kind = "local"     // a per-shard table: the pinned transaction's shard
)

// Value is where a key, LIMIT or OFFSET value comes from: a placeholder
// argument (Arg ≥ 0, the index into the arguments) or a literal (Arg < 0).
type Value struct {
	Arg int
	Lit int64
}

func argValue(i int) Value   { return Value{Arg: i} }
func litValue(v int64) Value { return Value{Arg: -1, Lit: v} }

// IsArg reports whether the value comes from a placeholder.
func (v Value) IsArg() bool { return v.Arg >= 0 }

// MarshalJSON prints {"arg":N} or {"literal":N}.
func (v Value) MarshalJSON() ([]byte, error) {
	if v.IsArg() {
		return []byte(`{"arg":` + strconv.Itoa(v.Arg) + `}`), nil
	}
	return []byte(`{"literal":` + strconv.FormatInt(v.Lit, 10) + `}`), nil
}

// text is the value as it appears in a rewritten statement.
func (v Value) text() string {
	if v.IsArg() {
		return "?"
	}
	return strconv.FormatInt(v.Lit, 10)
}

// Plan is how to route one statement text for any arguments. Plans are
// immutable and shared between goroutines through the plan cache.
type Plan struct {
	Kind Kind `json:"kind"`
	// Stmt is the statement type: select, insert, update, delete or ddl.
	Stmt string `json:"stmt"`
	// Tables are the distinct tables the statement touches, sorted.
	Tables []string `json:"tables,omitempty"`
	// Keys are the shard-key values of a keyed plan: one for =, the items of
	// an IN list, or one per INSERT row.
	Keys []Value `json:"keys,omitempty"`
	// Pins are key values of further tables in the statement (joined or in
	// subqueries, not through the shard key) that must live on the same
	// shard as Keys.
	Pins []Value `json:"pins,omitempty"`
	// Split: Keys are an IN list of a SELECT that may be split over shards.
	// Otherwise every key must resolve to the same shard.
	Split bool `json:"split,omitempty"`
	// Write: the statement changes data (or schema).
	Write bool `json:"write,omitempty"`
	// Params is the number of ? placeholders.
	Params int `json:"params"`
	// Merge says how rows of several shards combine (scatter, split IN).
	Merge *Merge `json:"merge,omitempty"`
	// Rewrite is the per-shard text for a merge that needs a different
	// statement on each shard (split IN lists, LIMIT with OFFSET), or
	// that may re-read a shard with a larger LIMIT (see Rewrite).
	Rewrite *Rewrite `json:"rewrite,omitempty"`

	sql      string // the statement text as given
	err      error  // the plan is a refusal
	mergeErr error  // a split IN cannot be merged if it spans shards
}

// SQL is the statement text the plan was built from.
func (p *Plan) SQL() string { return p.sql }

// Err is the refusal this plan stands for, or nil.
func (p *Plan) Err() error { return p.err }

// Merge describes how rows from several shards combine into one result.
type Merge struct {
	// OrderBy sorts the merged rows; empty means shard order.
	OrderBy []OrderItem `json:"order_by,omitempty"`
	// Limit and Offset window the merged rows.
	Limit  *Value `json:"limit,omitempty"`
	Offset *Value `json:"offset,omitempty"`
	// Aggregates, when set, has one entry per result column
	// (count, sum, min or max) and the merged result is one row.
	Aggregates []Aggregate `json:"aggregates,omitempty"`
	// ShardKey, set on scatter plans only, is the result column that holds
	// the shard key of each row. The executor drops a row whose key the
	// shard it came from does not own (a copy left behind, or not yet
	// switched over, by a reshard) before it merges. nil: the key is not
	// selected, so rows cannot be checked (aggregates never can).
	ShardKey *KeyColumn `json:"shard_key,omitempty"`
}

// KeyColumn is the result column that holds the shard key.
type KeyColumn struct {
	// Index is the 0-based result column, or -1 when a wildcard comes
	// first: then Column is looked up among the result columns by name
	// (the first one of that name; every column of that name holds the
	// key).
	Index  int    `json:"index"`
	Column string `json:"column,omitempty"`
}

// OrderItem is one ORDER BY term, resolved to a result column.
type OrderItem struct {
	// Index is the 0-based result column, or -1 when the select list has a
	// wildcard and Column must be looked up among the result columns.
	Index  int    `json:"index"`
	Column string `json:"column,omitempty"`
	Desc   bool   `json:"desc,omitempty"`
}

// Aggregate is how one result column of an aggregate scatter merges.
type Aggregate string

const (
	AggCount Aggregate = "count" // sum of the shards' counts
	AggSum   Aggregate = "sum"   // sum of the shards' non-NULL sums
	AggMin   Aggregate = "min"   // least non-NULL value
	AggMax   Aggregate = "max"   // greatest non-NULL value
)

// Rewrite is a statement with holes, to be filled per shard. A scatter
// plan with a ShardKey and a LIMIT always has one, even without OFFSET, so
// that a shard whose rows the LIMIT cut short after stale copies were
// dropped can be read again with a larger LIMIT (Route.ShardSQL).
type Rewrite struct {
	// Segments surround the holes: len(Segments) == len(Holes)+1.
	Segments []string `json:"segments"`
	// Holes are "in" (the shard's part of the IN list) and "limit" (the
	// row count each shard returns: LIMIT + OFFSET).
	Holes []string `json:"holes"`
	// InArgs and LimitArgs are the placeholder indexes that moved into the
	// holes; the other arguments keep their order.
	InArgs    []int `json:"in_args,omitempty"`
	LimitArgs []int `json:"limit_args,omitempty"`
}

// String prints the plan as JSON.
func (p *Plan) String() string {
	b, err := json.Marshal(p)
	if err != nil {
		return err.Error()
	}
	return string(b)
}
