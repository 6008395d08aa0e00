package schema_test

import (
	"fmt"

	"github.com/cangqiong/cangqiong/sharding/schema"
)

func ExampleTables() {
	fmt.Println(schema.Tables(schema.Global))
	fmt.Println(schema.Tables(schema.Shard))
	// Output:
	// [cq_schema_migrations shops categories dishes cq_shard_map cq_shard_map_history cq_global_changes cq_global_seq cq_regions cq_relay_leases cq_stream_acks cq_reshards]
	// [cq_schema_migrations users addresses cart_items orders order_items payments idempotency_keys cq_changes cq_change_seq]
}

func ExampleMigrations() {
	for _, m := range schema.Migrations(schema.Shard) {
		fmt.Println(m.Version, m.Name, len(m.Statements))
	}
	// Output:
	// 1 users 2
	// 2 carts 1
	// 3 orders 3
	// 4 idempotency 1
	// 5 outbox 1
	// 6 outbox_sequence 2
	// 7 write_fence 1
}
