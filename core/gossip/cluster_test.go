package gossip

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/sharding/control"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
	"github.com/cangqiong/cangqiong/sharding/shardtest"
)

// cluster is an in-process cluster on loopback.
type cluster struct {
	t       testing.TB
	store   MapStore
	applied *applyLog
	nodes   []*Gossip
	names   []string
}

// startCluster starts n nodes named <prefix>-<i> with key, the first a new
// cluster and the others joining it, and waits until every node sees all n
// alive.
func startCluster(t testing.TB, prefix string, n int, store MapStore, key []byte) *cluster {
	t.Helper()
	return startClusterWith(t, prefix, n, store, key, nil)
}

// startClusterWith is startCluster with onChange, if not nil, called from
// each node's OnChange (after the applied log recorded the epoch).
func startClusterWith(t testing.TB, prefix string, n int, store MapStore, key []byte,
	onChange func(node string, tp *shardmap.Topology)) *cluster {
	t.Helper()
	c := &cluster{t: t, store: store, applied: newApplyLog()}
	logger := testLogger(t)
	for i := range n {
		name := fmt.Sprintf("%s-%d", prefix, i)
		var seeds []string // every node started before: each learns of the newcomer by push/pull
		for _, g := range c.nodes {
			seeds = append(seeds, g.LocalAddr())
		}
		g, err := Start(context.Background(), Config{
			NodeName:       name,
			SecretKey:      key,
			Seeds:          seeds,
			Region:         "test-1",
			TunnelAddr:     fmt.Sprintf("127.0.0.1:%d", 18000+i),
			AdminAddr:      fmt.Sprintf("127.0.0.1:%d", 19000+i),
			Store:          store,
			ReloadInterval: time.Minute, // measure gossip, not polling
			Profile:        ProfileLocal,
			OnChange: func(tp *shardmap.Topology) {
				c.applied.record(name, tp.Epoch(), time.Now())
				if onChange != nil {
					onChange(name, tp)
				}
			},
			Logger: logger.With("test_node", name),
		})
		if err != nil {
			t.Fatalf("start %s: %v", name, err)
		}
		c.nodes = append(c.nodes, g)
		c.names = append(c.names, name)
	}
	t.Cleanup(c.shutdown)
	c.waitMembers(n, 30*time.Second)
	return c
}

// waitMembers waits until every node sees n alive members.
func (c *cluster) waitMembers(n int, timeout time.Duration) {
	c.t.Helper()
	waitFor(c.t, timeout, fmt.Sprintf("every node to see %d alive members", n), func() bool {
		for _, g := range c.nodes {
			if countState(g.Members(), StateAlive) != n {
				return false
			}
		}
		return true
	})
}

func countState(ms []Member, st State) int {
	n := 0
	for _, m := range ms {
		if m.State == st {
			n++
		}
	}
	return n
}

func (c *cluster) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, g := range c.nodes {
		wg.Go(func() { _ = g.Shutdown(ctx) })
	}
	wg.Wait()
}

// commitAndMeasure commits the next epoch on a random node, waits until
// every node serves it and the committer sees every alive member announce
// it (what a reshard's cutover waits for), and records how long that took.
func (c *cluster) commitAndMeasure(rng *rand.Rand, conv *convergence, timeout time.Duration) {
	c.t.Helper()
	i := rng.IntN(len(c.nodes))
	g := c.nodes[i]
	cur := g.Topology()
	epoch := cur.Epoch() + 1
	start := time.Now()
	if err := g.Commit(context.Background(), cur.Epoch(), next(cur.Map)); err != nil {
		c.t.Fatalf("commit on %s: %v", c.names[i], err)
	}
	committed := time.Now()
	var announced time.Duration
	waitForEvery(c.t, timeout, time.Millisecond, fmt.Sprintf("all nodes to serve and announce epoch %d", epoch), func() bool {
		if announced == 0 && c.announcedTo(g, epoch, false) {
			announced = time.Since(start)
		}
		if announced == 0 {
			return false
		}
		for _, n := range c.names {
			if _, ok := c.applied.when(n, epoch); !ok {
				return false
			}
		}
		return true
	})
	conv.announce = append(conv.announce, announced)
	if err := conv.add(c.applied, c.names, c.names[i], epoch, committed); err != nil {
		c.t.Fatal(err)
	}
}

// announcedTo reports whether g sees every alive member (all of the
// cluster's nodes alive, if all) at epoch or later. It fails the test if g
// reports a member at an epoch before that member's OnChange ran for it.
func (c *cluster) announcedTo(g *Gossip, epoch uint64, all bool) bool {
	c.t.Helper()
	alive := 0
	for _, m := range g.Members() {
		if m.State != StateAlive {
			continue
		}
		alive++
		if m.Epoch < epoch {
			return false
		}
		if _, ok := c.applied.when(m.Name, m.Epoch); !ok {
			c.t.Fatalf("%s reports %s at epoch %d before its OnChange for it", g.cfg.NodeName, m.Name, m.Epoch)
		}
	}
	return !all || alive == len(c.nodes)
}

// globalStore is the control store of a fresh MariaDB deployment.
func globalStore(t testing.TB) (*control.Store, *shardtest.Cluster) {
	d := shardtest.Start(t, shardtest.Options{Shards: 1})
	return control.NewStore(d.Exec.Global()), d
}

func TestConvergence25InProcess(t *testing.T) {
	store, _ := globalStore(t)
	start := time.Now()
	c := startCluster(t, "core", 25, store, testKey)
	t.Logf("25 nodes up and known to each other in %v", time.Since(start))
	rng := rand.New(rand.NewPCG(25, 25))
	var conv convergence
	for range 20 {
		c.commitAndMeasure(rng, &conv, 10*time.Second)
	}
	_, p99 := conv.report(t, "25 nodes, in-process")
	if p99 > 3*time.Second {
		t.Errorf("p99 convergence %v, want ≤ 3s", p99)
	}
	// Every node announces the epoch it serves.
	want := c.nodes[0].Epoch()
	start = time.Now()
	waitFor(t, 20*time.Second, "members to announce the current epoch", func() bool {
		for _, m := range c.nodes[0].Members() {
			if m.Epoch != want {
				return false
			}
		}
		return true
	})
	t.Logf("members announce the current epoch after %v", time.Since(start))
}

func TestMembersLeftAndMetadata(t *testing.T) {
	c := startCluster(t, "m", 3, &memStore{m: testMap(1)}, testKey)
	ms := c.nodes[0].Members()
	if len(ms) != 3 {
		t.Fatalf("members: %+v", ms)
	}
	for i, m := range ms {
		if m.Name != c.names[i] || m.Region != "test-1" || m.TunnelAddr != fmt.Sprintf("127.0.0.1:%d", 18000+i) ||
			m.AdminAddr != fmt.Sprintf("127.0.0.1:%d", 19000+i) || m.Addr != c.nodes[i].LocalAddr() || m.Epoch != 1 {
			t.Errorf("member %d: %+v", i, m)
		}
	}
	if err := c.nodes[2].Shutdown(context.Background()); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if err := c.nodes[2].Shutdown(context.Background()); err != nil {
		t.Errorf("second shutdown: %v", err)
	}
	waitFor(t, 10*time.Second, "the others to see m-2 left", func() bool {
		for _, g := range c.nodes[:2] {
			ms := g.Members()
			if ms[2].State != StateLeft {
				return false
			}
		}
		return true
	})
	if err := c.nodes[2].Commit(context.Background(), 1, testMap(2)); !errors.Is(err, ErrClosed) {
		t.Errorf("Commit after Shutdown = %v, want ErrClosed", err)
	}
}

func TestCommitErrorsPassThrough(t *testing.T) {
	store := &memStore{m: testMap(1)}
	c := startCluster(t, "c", 2, store, testKey)
	g := c.nodes[0]
	ctx := context.Background()
	if err := g.Commit(ctx, 1, testMap(2)); err != nil {
		t.Fatal(err)
	}
	err := g.Commit(ctx, 1, testMap(3)) // stale expectation
	var conflict *control.EpochConflictError
	if !errors.Is(err, control.ErrEpochConflict) || !errors.As(err, &conflict) || conflict.Current != 2 {
		t.Errorf("stale Commit = %v, want an epoch conflict at 2", err)
	}
	bad := testMap(3)
	bad.Shards[0].Weight = 0
	if err := g.Commit(ctx, 2, bad); !errors.Is(err, shardmap.ErrInvalidWeight) {
		t.Errorf("invalid Commit = %v, want ErrInvalidWeight", err)
	}
	store.fail = errStoreDown
	if err := g.Commit(ctx, 2, testMap(3)); !errors.Is(err, errStoreDown) {
		t.Errorf("Commit with the store down = %v", err)
	}
	store.fail = nil
	if g.Epoch() != 2 {
		t.Errorf("serving epoch %d after failed commits, want 2", g.Epoch())
	}
}

// Nodes with another key cannot join, and the cluster does not learn them.
func TestDifferentKeysDoNotMerge(t *testing.T) {
	a := startCluster(t, "a", 2, &memStore{m: testMap(1)}, testKey)
	otherKey := []byte("fedcba9876543210")
	b := startCluster(t, "b", 1, &memStore{m: testMap(9)}, otherKey)
	for _, cfg := range []Config{
		{NodeName: "b-1", SecretKey: otherKey, Store: &memStore{m: testMap(9)}, Seeds: []string{a.nodes[0].LocalAddr()}},
		{NodeName: "a-x", SecretKey: testKey, Store: &memStore{m: testMap(1)}, Seeds: []string{b.nodes[0].LocalAddr()}},
	} {
		cfg.Profile, cfg.Logger = ProfileLocal, testLogger(t)
		g, err := Start(context.Background(), cfg)
		if err == nil {
			_ = g.Shutdown(context.Background())
			t.Errorf("%s joined a cluster with another key", cfg.NodeName)
		}
	}
	for _, g := range a.nodes {
		if ms := g.Members(); len(ms) != 2 || g.Epoch() != 1 {
			t.Errorf("cluster a changed: epoch %d, members %+v", g.Epoch(), ms)
		}
	}
	if ms := b.nodes[0].Members(); len(ms) != 1 {
		t.Errorf("cluster b changed: %+v", ms)
	}
}

// A node whose store is down takes the map from its seed on join; without
// a seed it refuses to start.
func TestStoreDownCatchUpByPushPull(t *testing.T) {
	c := startCluster(t, "p", 1, &memStore{m: testMap(4)}, testKey)
	down := &memStore{fail: errStoreDown}
	cfg := Config{NodeName: "late", SecretKey: testKey, Store: down, Profile: ProfileLocal,
		Seeds: []string{c.nodes[0].LocalAddr()}, Logger: testLogger(t)}
	g, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Shutdown(context.Background())
	if g.Epoch() != 4 {
		t.Errorf("late node serves epoch %d, want 4 from its seed", g.Epoch())
	}
	cfg.NodeName, cfg.Seeds = "alone", nil
	if g, err := Start(context.Background(), cfg); !errors.Is(err, ErrNoMap) || !errors.Is(err, errStoreDown) {
		if g != nil {
			_ = g.Shutdown(context.Background())
		}
		t.Errorf("Start without store or seeds = %v, want ErrNoMap wrapping the store's error", err)
	}
}

// BenchmarkConvergence reports how long after Commit returns every node of
// an in-process cluster serves the new epoch (p50-ms, p99-ms: all nodes;
// node-p50-ms: one node), and how long after Commit was called the
// committer sees every alive member announce it (announce-p50-ms,
// announce-p99-ms: the wait of a reshard's cutover). The store is in
// memory, so this measures the spreading alone. Run with -benchtime 20x or
// more for a meaningful p99.
func BenchmarkConvergence(b *testing.B) {
	for _, n := range []int{3, 5, 25} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			c := startCluster(b, "bench", n, &memStore{m: testMap(1)}, testKey)
			rng := rand.New(rand.NewPCG(uint64(n), 1))
			var conv convergence
			b.ReportAllocs()
			for b.Loop() {
				c.commitAndMeasure(rng, &conv, 10*time.Second)
			}
			ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
			b.ReportMetric(ms(percentile(conv.all, 50)), "p50-ms")
			b.ReportMetric(ms(percentile(conv.all, 99)), "p99-ms")
			b.ReportMetric(ms(percentile(conv.perNode, 50)), "node-p50-ms")
			b.ReportMetric(ms(percentile(conv.announce, 50)), "announce-p50-ms")
			b.ReportMetric(ms(percentile(conv.announce, 99)), "announce-p99-ms")
		})
	}
}
