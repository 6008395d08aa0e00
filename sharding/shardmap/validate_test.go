package shardmap_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/cangqiong/cangqiong/sharding/ring"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(m *shardmap.Map)
		want   error  // nil: valid
		naming string // the message must name this shard
	}{
		{"valid", func(m *shardmap.Map) {}, nil, ""},
		{"joining shards alongside serving", func(m *shardmap.Map) { m.Shards[1].State = shardmap.Joining }, nil, ""},
		{"draining only", func(m *shardmap.Map) {
			for i := range m.Shards {
				m.Shards[i].State = shardmap.Draining
			}
		}, nil, ""},
		{"max weight", func(m *shardmap.Map) { m.Shards[0].Weight = ring.MaxWeight }, nil, ""},
		{"64-char id", func(m *shardmap.Map) { m.Shards[0].ID = strings.Repeat("a", 64) }, nil, ""},
		{"database set", func(m *shardmap.Map) { m.Shards[0].Database = "cq_shard$0" }, nil, ""},
		{"ipv6 address", func(m *shardmap.Map) { m.Shards[0].Address = "[::1]:3306" }, nil, ""},

		{"duplicate id", func(m *shardmap.Map) { m.Shards[2].ID = "shard-0" }, shardmap.ErrDuplicateID, "shard-0"},
		{"empty id", func(m *shardmap.Map) { m.Shards[1].ID = "" }, shardmap.ErrInvalidID, `"" (#1)`},
		{"upper-case id", func(m *shardmap.Map) { m.Shards[1].ID = "Shard-1" }, shardmap.ErrInvalidID, "Shard-1"},
		{"underscore id", func(m *shardmap.Map) { m.Shards[1].ID = "shard_1" }, shardmap.ErrInvalidID, "shard_1"},
		{"65-char id", func(m *shardmap.Map) { m.Shards[1].ID = strings.Repeat("a", 65) }, shardmap.ErrInvalidID, "#1"},
		{"weight 0", func(m *shardmap.Map) { m.Shards[1].Weight = 0 }, shardmap.ErrInvalidWeight, "shard-1"},
		{"weight too big", func(m *shardmap.Map) { m.Shards[1].Weight = ring.MaxWeight + 1 }, shardmap.ErrInvalidWeight, "shard-1"},
		{"empty state", func(m *shardmap.Map) { m.Shards[2].State = "" }, shardmap.ErrInvalidState, "shard-2"},
		{"unknown state", func(m *shardmap.Map) { m.Shards[2].State = "Serving" }, shardmap.ErrInvalidState, "shard-2"},
		{"empty address", func(m *shardmap.Map) { m.Shards[0].Address = "" }, shardmap.ErrInvalidAddress, "shard-0"},
		{"no port", func(m *shardmap.Map) { m.Shards[0].Address = "db.internal" }, shardmap.ErrInvalidAddress, "shard-0"},
		{"no host", func(m *shardmap.Map) { m.Shards[0].Address = ":4000" }, shardmap.ErrInvalidAddress, "shard-0"},
		{"port 0", func(m *shardmap.Map) { m.Shards[0].Address = "db:0" }, shardmap.ErrInvalidAddress, "shard-0"},
		{"port too big", func(m *shardmap.Map) { m.Shards[0].Address = "db:65536" }, shardmap.ErrInvalidAddress, "shard-0"},
		{"named port", func(m *shardmap.Map) { m.Shards[0].Address = "db:mysql" }, shardmap.ErrInvalidAddress, "shard-0"},
		{"space in host", func(m *shardmap.Map) { m.Shards[0].Address = "d b:4000" }, shardmap.ErrInvalidAddress, "shard-0"},
		{"credentials in address", func(m *shardmap.Map) { m.Shards[0].Address = "root@db:4000" }, shardmap.ErrInvalidAddress, "shard-0"},
		{"bad database", func(m *shardmap.Map) { m.Shards[0].Database = "x`; drop" }, shardmap.ErrInvalidDatabase, "shard-0"},
		{"no global", func(m *shardmap.Map) { m.Global.Address = "" }, shardmap.ErrNoGlobal, ""},
		{"bad global", func(m *shardmap.Map) { m.Global.Address = "global" }, shardmap.ErrInvalidAddress, "global keyspace"},
		{"bad global database", func(m *shardmap.Map) { m.Global.Database = "a.b" }, shardmap.ErrInvalidDatabase, "global keyspace"},
		{"no shards", func(m *shardmap.Map) { m.Shards = nil }, shardmap.ErrNoOwner, ""},
		{"only joining", func(m *shardmap.Map) {
			for i := range m.Shards {
				m.Shards[i].State = shardmap.Joining
			}
		}, shardmap.ErrNoOwner, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMap(1, serving(3)...)
			tt.edit(m)
			err := m.Validate()
			if !errors.Is(err, tt.want) {
				t.Fatalf("Validate() = %v, want %v", err, tt.want)
			}
			if err != nil && !strings.Contains(err.Error(), tt.naming) {
				t.Errorf("message %q does not name %q", err, tt.naming)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	m := newMap(1, serving(2)...)
	m.Shards[0].Weight = 0
	m.Shards[1].Address = "nowhere"
	m.Global.Address = ""
	err := m.Validate()
	for _, want := range []error{shardmap.ErrInvalidWeight, shardmap.ErrInvalidAddress, shardmap.ErrNoGlobal} {
		if !errors.Is(err, want) {
			t.Errorf("Validate() = %v, missing %v", err, want)
		}
	}
	var se *shardmap.ShardError
	if !errors.As(err, &se) || se.ID != "shard-0" || se.Index != 0 {
		t.Errorf("first ShardError = %+v, want shard-0 at #0", se)
	}
}

func TestValidateSuccessor(t *testing.T) {
	invalid := newMap(9)
	tests := []struct {
		name       string
		prev, next *shardmap.Map
		want       error
	}{
		{"first map", nil, newMap(1, serving(1)...), nil},
		{"higher epoch", newMap(1, serving(1)...), newMap(2, serving(2)...), nil},
		{"same epoch", newMap(2, serving(1)...), newMap(2, serving(2)...), shardmap.ErrStaleEpoch},
		{"older epoch", newMap(3, serving(1)...), newMap(2, serving(1)...), shardmap.ErrStaleEpoch},
		{"invalid next", newMap(1, serving(1)...), invalid, shardmap.ErrNoOwner},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := shardmap.ValidateSuccessor(tt.prev, tt.next)
			if !errors.Is(err, tt.want) {
				t.Errorf("ValidateSuccessor = %v, want %v", err, tt.want)
			}
		})
	}
}
