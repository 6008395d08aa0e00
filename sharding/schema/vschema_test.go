package schema

import (
	"testing"

	"github.com/cangqiong/cangqiong/sharding/vschema"
)

func TestVSchemaCoversEveryTable(t *testing.T) {
	vs := VSchema()
	for _, name := range []string{"users", "addresses", "cart_items", "orders", "order_items", "payments", "idempotency_keys", "cq_changes"} {
		tb, err := vs.Table(name)
		if err != nil || tb.Kind != vschema.Sharded || tb.Column != "user_id" {
			t.Errorf("%s: %+v, %v; want sharded by user_id", name, tb, err)
		}
	}
	for _, name := range []string{"shops", "categories", "dishes", "cq_shard_map", "cq_shard_map_history", "cq_global_changes", "cq_global_seq", "cq_regions", "cq_relay_leases", "cq_stream_acks", "cq_reshards"} {
		if tb, err := vs.Table(name); err != nil || tb.Kind != vschema.Global {
			t.Errorf("%s: %+v, %v; want global", name, tb, err)
		}
	}
	if tb, err := vs.Table("cq_change_seq"); err != nil || tb.Kind != vschema.Local {
		t.Errorf("cq_change_seq: %+v, %v; want local", tb, err)
	}
	if _, err := vs.Table("cq_schema_migrations"); err == nil {
		t.Error("cq_schema_migrations is per database and must not be routable")
	}
}
