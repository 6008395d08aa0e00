package gossip_test

import (
	"context"
	"errors"
	"log"
	"time"

	"github.com/cangqiong/cangqiong/core/gossip"
	"github.com/cangqiong/cangqiong/sharding/control"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

// A core node joins the cluster, serves the shard map, and changes it by
// compare-and-set; the other nodes start serving the new epoch within a
// gossip round or two.
func Example() {
	var store *control.Store // control.NewStore(globalKeyspaceDB)
	var key []byte           // 32 bytes from the node's secret config
	ctx := context.Background()
	g, err := gossip.Start(ctx, gossip.Config{
		NodeName:   "core-1",
		BindAddr:   "10.0.0.1",
		BindPort:   7946,
		SecretKey:  key,
		Seeds:      []string{"10.0.0.2:7946", "10.0.0.3:7946"},
		Region:     "eu-west",
		TunnelAddr: "10.0.0.1:8443",
		AdminAddr:  "10.0.0.1:9000",
		Store:      store,
		OnChange:   func(t *shardmap.Topology) { log.Printf("serving epoch %d", t.Epoch()) },
	})
	if err != nil {
		log.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = g.Shutdown(ctx)
	}()

	for {
		cur, err := store.Load(ctx) // decide from the authoritative copy
		if err != nil {
			log.Fatal(err)
		}
		next := cur.Settled() // finish the reshards in flight, epoch+1
		err = g.Commit(ctx, cur.Epoch, next)
		if errors.Is(err, control.ErrEpochConflict) {
			continue // another node changed the map first: decide again
		}
		if err != nil {
			log.Fatal(err)
		}
		break
	}
	for _, m := range g.Members() {
		log.Printf("%s %s region=%s epoch=%d", m.Name, m.State, m.Region, m.Epoch)
	}
}
