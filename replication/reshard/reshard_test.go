package reshard_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/internal/testenv"
	"github.com/cangqiong/cangqiong/replication/reshard"
	"github.com/cangqiong/cangqiong/sharding/control"
	"github.com/cangqiong/cangqiong/sharding/ids"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
	"github.com/cangqiong/cangqiong/sharding/shardtest"
)

var quiet = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))

// storeMaps commits straight to the control table: a cluster of one node
// with no gossip, which serves every map the moment it is stored.
type storeMaps struct{ *control.Store }

func (s storeMaps) Commit(ctx context.Context, expect uint64, next *shardmap.Map) error {
	return s.CompareAndSwap(ctx, expect, next)
}

func coordinator(t *testing.T, d *shardtest.Cluster, grace time.Duration) (*reshard.Coordinator, *control.Store) {
	t.Helper()
	global := d.Direct(t, "global")
	store := control.NewStore(global)
	gen, err := ids.New(1)
	if err != nil {
		t.Fatal(err)
	}
	c, err := reshard.New(reshard.Config{
		Node: "core-0", Global: global, Maps: storeMaps{store}, IDs: gen, Grace: grace, Logger: quiet,
		Members: func() []reshard.Member {
			m, err := store.Load(context.Background())
			if err != nil {
				return nil
			}
			return []reshard.Member{{Name: "core-0", Epoch: m.Epoch}}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Run()
	t.Cleanup(func() { c.Shutdown(context.Background()) })
	return c, store
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestStartRefusesBeforeAnythingMoves(t *testing.T) {
	d := shardtest.Start(t, shardtest.Options{Shards: 2})
	extra := testenv.MariaDB(t, 1)[0]
	c, store := coordinator(t, d, time.Hour)
	ctx := context.Background()
	add := func(id, addr string) reshard.Request {
		return reshard.Request{Kind: reshard.Add, Shard: shardmap.Shard{ID: id, Address: addr}}
	}
	for _, tc := range []struct {
		name string
		req  reshard.Request
		want error
	}{
		{"existing id", add("shard-1", extra.Addr()), reshard.ErrShardExists},
		{"unknown shard", reshard.Request{Kind: reshard.Remove, Shard: shardmap.Shard{ID: "shard-9"}}, reshard.ErrUnknownShard},
		{"unreachable target", add("shard-2", closedAddr(t)), reshard.ErrUnreachable},
		{"bad kind", reshard.Request{Kind: "split", Shard: shardmap.Shard{ID: "shard-0"}}, reshard.ErrInvalid},
		{"bad id", add("Shard_2", extra.Addr()), reshard.ErrInvalid},
		{"bad address", add("shard-2", "no-port"), reshard.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Start(ctx, tc.req)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Start: %v, want %v", err, tc.want)
			}
			if _, err := c.Current(ctx); !errors.Is(err, reshard.ErrNotFound) {
				t.Fatalf("a refused request left a workflow: %v", err)
			}
			if m, err := store.Load(ctx); err != nil || m.Epoch != d.Map.Epoch {
				t.Fatalf("a refused request changed the map: epoch %d (%v)", m.Epoch, err)
			}
		})
	}

	// While the shards' housekeeping holds the maintenance lock, Start
	// waits for it and records nothing.
	lock, ok, err := control.AcquireMaintenance(ctx, d.Direct(t, "global"), 0)
	if err != nil || !ok {
		t.Fatalf("maintenance lock: %v %v", ok, err)
	}
	short, cancel := context.WithTimeout(ctx, time.Second)
	_, err = c.Start(short, add("shard-2", extra.Addr()))
	cancel()
	if err == nil {
		t.Fatal("Start recorded a workflow while housekeeping held the maintenance lock")
	}
	if _, err := c.Current(ctx); !errors.Is(err, reshard.ErrNotFound) {
		t.Fatalf("Start under the maintenance lock left a workflow: %v", err)
	}
	lock.Release()

	st, err := c.Start(ctx, add("shard-2", extra.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Start(ctx, reshard.Request{Kind: reshard.Remove, Shard: shardmap.Shard{ID: "shard-0"}}); !errors.Is(err, reshard.ErrBusy) {
		t.Fatalf("a second workflow: %v, want ErrBusy", err)
	}
	// The first one runs to its cleanup, which waits for the grace (an
	// hour here): the map has the new shard serving.
	deadline := time.Now().Add(time.Minute)
	for st.Phase != reshard.Cleanup {
		if st.Phase.Final() || time.Now().After(deadline) {
			t.Fatalf("workflow %d: %s %s", st.ID, st.Phase, st.Error)
		}
		time.Sleep(20 * time.Millisecond) // polling the status, as an operator would
		if st, err = c.Get(ctx, st.ID); err != nil {
			t.Fatal(err)
		}
	}
	m, err := store.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Shards) != 3 || m.Shards[2].State != shardmap.Serving || m.Freeze || m.Epoch != d.Map.Epoch+3 {
		t.Fatalf("map after the cutover: %+v", m)
	}
}

func TestRemovingTheLastShardIsRefused(t *testing.T) {
	d := shardtest.Start(t, shardtest.Options{Shards: 1})
	c, _ := coordinator(t, d, time.Hour)
	_, err := c.Start(context.Background(), reshard.Request{Kind: reshard.Remove, Shard: shardmap.Shard{ID: "shard-0"}})
	if !errors.Is(err, reshard.ErrLastShard) {
		t.Fatalf("Start: %v, want ErrLastShard", err)
	}
}
