package move

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/cangqiong/cangqiong/sharding/schema"
)

// UserColumn is the column every moved table leads its primary key with.
const UserColumn = schema.ShardKey

// Table is a moved table as the mover needs it. It is plain data.
type Table struct {
	Name string `json:"name"`
	// Columns are every column, in the table's order.
	Columns []string `json:"columns"`
	// Key are the primary key's columns in key order; Key[0] is user_id.
	Key []string `json:"key"`
}

// notMoved are shard tables that stay where they are: the outbox (a change
// stays in the outbox of the shard it was written on), the migrations'
// record and the shard-local tables (the outbox counter).
func notMoved(name string) bool {
	return name == "cq_changes" || name == "cq_schema_migrations" || schema.LocalTables[name]
}

// Statements reading the schema; DATABASE() is the shard's database.
const (
	columnsSQL = "SELECT c.TABLE_NAME, c.COLUMN_NAME FROM information_schema.COLUMNS c " +
		"JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME " +
		"WHERE c.TABLE_SCHEMA = DATABASE() AND t.TABLE_TYPE = 'BASE TABLE' " +
		"ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION"
	primaryKeySQL = "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE " +
		"WHERE TABLE_SCHEMA = DATABASE() AND CONSTRAINT_NAME = 'PRIMARY' " +
		"ORDER BY TABLE_NAME, ORDINAL_POSITION"
)

// Tables reads the moved tables of a shard from information_schema, so a
// table or column a new migration adds is moved too. The users table comes
// first (Progress counts users there), the others by name. A table whose
// primary key does not lead with user_id fails with ErrUnmovable.
func Tables(ctx context.Context, db DB) ([]Table, error) {
	cols, err := namesByTable(ctx, db, columnsSQL)
	if err != nil {
		return nil, wrap("read columns", err)
	}
	keys, err := namesByTable(ctx, db, primaryKeySQL)
	if err != nil {
		return nil, wrap("read primary keys", err)
	}
	var tables []Table
	for name, columns := range cols {
		if notMoved(name) {
			continue
		}
		t := Table{Name: name, Columns: columns, Key: keys[name]}
		if err := t.check(); err != nil {
			return nil, err
		}
		tables = append(tables, t)
	}
	slices.SortFunc(tables, byUsersThenName)
	return tables, nil
}

func byUsersThenName(a, b Table) int {
	return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a.Name, b.Name))
}

// rank puts the users table first.
func rank(t Table) int {
	if t.Name == "users" {
		return 0
	}
	return 1
}

// namesByTable reads (table, column) pairs in the query's order.
func namesByTable(ctx context.Context, db DB, query string) (map[string][]string, error) {
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	err = eachRow(rows, func(row []any) error {
		table, column := asString(row[0]), asString(row[1])
		out[table] = append(out[table], column)
		return nil
	})
	return out, err
}

func asString(v any) string {
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	return fmt.Sprint(v)
}

// check refuses a table the mover cannot move user by user.
func (t Table) check() error {
	if len(t.Key) == 0 || t.Key[0] != UserColumn {
		return fmt.Errorf("%w: %s: primary key (%s) does not lead with %s",
			ErrUnmovable, t.Name, strings.Join(t.Key, ", "), UserColumn)
	}
	for _, k := range t.Key {
		if !slices.Contains(t.Columns, k) {
			return fmt.Errorf("%w: %s: key column %s is not a column", ErrUnmovable, t.Name, k)
		}
	}
	return nil
}

// keyIndex gives, for each key column, its position in Columns.
func (t Table) keyIndex() []int {
	idx := make([]int, len(t.Key))
	for i, k := range t.Key {
		idx[i] = slices.Index(t.Columns, k)
	}
	return idx
}

// userIndex is the position of user_id in Columns.
func (t Table) userIndex() int { return slices.Index(t.Columns, UserColumn) }

// appendKey appends the key columns (positions idx) of row to k.
func appendKey(k Key, row []any, idx []int) Key {
	for _, j := range idx {
		k = append(k, row[j])
	}
	return k
}
