package schema

import (
	"fmt"

	"github.com/cangqiong/cangqiong/sharding/vschema"
)

// ShardKey is the column every shard table is sharded by.
const ShardKey = "user_id"

// bookkeeping tables live in every database and are reached per target by
// Migrate, never through the router.
var bookkeeping = map[string]bool{"cq_schema_migrations": true}

// LocalTables exist once on every shard and describe the shard, not a user.
var LocalTables = map[string]bool{"cq_change_seq": true}

// VSchema is the takeout domain's vschema: every table Migrations creates on
// the shards is sharded by user_id (but the LocalTables), every table of the
// global keyspace is global. It is derived from the migrations, so a new table is routable as
// soon as a migration creates it.
func VSchema() *vschema.VSchema {
	tables := map[string]vschema.Table{}
	for _, name := range Tables(Shard) {
		switch {
		case bookkeeping[name]:
		case LocalTables[name]:
			tables[name] = vschema.Table{Kind: vschema.Local}
		default:
			tables[name] = vschema.Table{Kind: vschema.Sharded, Column: ShardKey}
		}
	}
	for _, name := range Tables(Global) {
		if bookkeeping[name] {
			continue
		}
		if _, dup := tables[name]; dup {
			panic(fmt.Sprintf("schema: table %q is both global and sharded", name))
		}
		tables[name] = vschema.Table{Kind: vschema.Global}
	}
	vs, err := vschema.New(tables)
	if err != nil {
		panic("schema: " + err.Error()) // the migrations are constants: a test catches this
	}
	return vs
}
