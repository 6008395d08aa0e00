// Package vschema says, for every table the product knows, where its rows
// live: on the shard that owns the row's shard-key value (sharded tables),
// in the single global keyspace (catalog and control tables), or once on
// every shard with no key (local tables: per-shard bookkeeping such as the
// outbox sequence). The router refuses statements on tables the vschema does
// not name.
package vschema

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Kind is where a table's rows live.
type Kind string

const (
	// Sharded rows live on the shard that owns the value of the table's
	// shard-key column.
	Sharded Kind = "sharded"
	// Global rows live in the global keyspace, one copy for everyone.
	Global Kind = "global"
	// Local tables exist on every shard and describe that shard, not a
	// user; a statement on one runs on the shard its transaction is pinned
	// to.
	Local Kind = "local"
)

// Table describes one table.
type Table struct {
	Kind Kind `json:"kind"`
	// Column is the shard-key column of a sharded table (lower case).
	Column string `json:"column,omitempty"`
}

// ErrUnknownTable is returned for a table the vschema does not name.
var ErrUnknownTable = errors.New("unknown table")

// ErrInvalid is returned by New for a malformed vschema.
var ErrInvalid = errors.New("invalid vschema")

// VSchema maps table names to their Table. It is immutable and safe for
// concurrent use.
type VSchema struct {
	tables map[string]Table
}

// New checks tables and returns a VSchema. Table and column names are
// matched case-insensitively, as MySQL does on Linux for columns.
func New(tables map[string]Table) (*VSchema, error) {
	v := &VSchema{tables: make(map[string]Table, len(tables))}
	for name, t := range tables {
		if name == "" {
			return nil, fmt.Errorf("%w: empty table name", ErrInvalid)
		}
		switch t.Kind {
		case Sharded:
			if t.Column == "" {
				return nil, fmt.Errorf("%w: sharded table %q has no shard-key column", ErrInvalid, name)
			}
		case Global, Local:
			if t.Column != "" {
				return nil, fmt.Errorf("%w: %s table %q cannot have a shard-key column", ErrInvalid, t.Kind, name)
			}
		default:
			return nil, fmt.Errorf("%w: table %q has kind %q, want sharded, global or local", ErrInvalid, name, t.Kind)
		}
		t.Column = strings.ToLower(t.Column)
		v.tables[strings.ToLower(name)] = t
	}
	return v, nil
}

// Table returns the description of the named table, or an error wrapping
// ErrUnknownTable.
func (v *VSchema) Table(name string) (Table, error) {
	t, ok := v.tables[strings.ToLower(name)]
	if !ok {
		return Table{}, fmt.Errorf("%w %q", ErrUnknownTable, name)
	}
	return t, nil
}

// Names lists the tables of one kind, sorted.
func (v *VSchema) Names(kind Kind) []string {
	var names []string
	for name, t := range v.tables {
		if t.Kind == kind {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}
