package gossip

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

// The node's metadata announces an epoch only once OnChange has returned
// for it, though the node serves the map from before.
func TestEpochIsAnnouncedAfterOnChange(t *testing.T) {
	entered, release := make(chan uint64, 1), make(chan struct{})
	g := offlineNode(t, func(tp *shardmap.Topology) {
		if tp.Epoch() == 2 {
			entered <- tp.Epoch()
			<-release
		}
	})
	announced := func() uint64 {
		md, err := decodeMeta(delegate{g}.NodeMeta(memberlist.MetaMaxSize))
		if err != nil {
			t.Fatal(err)
		}
		return md.epoch
	}
	if got := announced(); got != 1 {
		t.Fatalf("announces epoch %d, want 1", got)
	}
	applied := make(chan bool, 1)
	go func() { applied <- g.compileAndApply(testMap(2), nil, "test") == nil }()
	<-entered
	if g.Epoch() != 2 || announced() != 1 {
		t.Fatalf("while OnChange runs: serving %d, announcing %d; want 2 and 1", g.Epoch(), announced())
	}
	close(release)
	select {
	case <-applied:
	case <-time.After(5 * time.Second):
		t.Fatal("apply did not return after OnChange")
	}
	if got := announced(); got != 2 {
		t.Fatalf("after OnChange returned: announcing %d, want 2", got)
	}
}

// A commit is reflected in the committer's Members for the whole cluster
// within a round trip of the others' OnChange: serving announcements go
// straight to every member rather than by gossip rounds of metadata.
func TestCommitAnnouncedToCommitter(t *testing.T) {
	c := startCluster(t, "a", 3, &memStore{m: testMap(1)}, testKey)
	rng := rand.New(rand.NewPCG(3, 3))
	var took []time.Duration
	for range 20 {
		i := rng.IntN(len(c.nodes))
		g := c.nodes[i]
		cur := g.Topology()
		epoch := cur.Epoch() + 1
		start := time.Now()
		if err := g.Commit(context.Background(), cur.Epoch(), next(cur.Map)); err != nil {
			t.Fatalf("commit on %s: %v", c.names[i], err)
		}
		// Generous: this bounds a broken path, not the latency (logged).
		waitForEvery(t, 2*time.Second, time.Millisecond, "the committer to see all members announce the epoch",
			func() bool { return c.announcedTo(g, epoch, true) })
		took = append(took, time.Since(start))
	}
	t.Logf("3 nodes: commit → all members announce (as the committer sees it): p50 %v, p99 %v over %d trials",
		percentile(took, 50).Round(time.Microsecond), percentile(took, 99).Round(time.Microsecond), len(took))
}

// A member whose OnChange has not returned for an epoch is reported at it
// by nobody, though it serves the map already: a reshard's cutover relies
// on that. Once OnChange returns, everyone reports it.
func TestBlockedOnChangeIsNotAnnounced(t *testing.T) {
	const slow, epoch = "b-2", 2
	entered, release := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	c := startClusterWith(t, "b", 3, &memStore{m: testMap(1)}, testKey, func(node string, tp *shardmap.Topology) {
		if node == slow && tp.Epoch() == epoch {
			close(entered)
			<-release
		}
	})
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(unblock) // before the cluster's shutdown, which waits for OnChange

	reported := func(g *Gossip, name string) uint64 {
		for _, m := range g.Members() {
			if m.Name == name {
				return m.Epoch
			}
		}
		t.Fatalf("%s does not list %s", g.cfg.NodeName, name)
		return 0
	}
	if err := c.nodes[0].Commit(context.Background(), 1, testMap(epoch)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s never started OnChange for epoch %d", slow, epoch)
	}
	if got := c.nodes[2].Epoch(); got != epoch {
		t.Fatalf("%s serves epoch %d while in OnChange for %d", slow, got, epoch)
	}
	waitFor(t, 5*time.Second, "every node to report b-0 and b-1 at the new epoch", func() bool {
		for _, g := range c.nodes {
			if reported(g, "b-0") < epoch || reported(g, "b-1") < epoch {
				return false
			}
		}
		return true
	})
	// Watch for longer than metadata takes to spread (300–650 ms here):
	// nobody may report the blocked member at the new epoch.
	for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		for _, g := range c.nodes {
			if got := reported(g, slow); got >= epoch {
				t.Fatalf("%s reports %s at epoch %d while its OnChange blocks", g.cfg.NodeName, slow, got)
			}
		}
	}
	unblock()
	released := time.Now()
	waitForEvery(t, 5*time.Second, time.Millisecond, "every node to report the slow member at the new epoch", func() bool {
		for _, g := range c.nodes {
			if reported(g, slow) < epoch {
				return false
			}
		}
		return true
	})
	t.Logf("every node reports %s at epoch %d %v after its OnChange returned", slow, epoch, time.Since(released).Round(time.Microsecond))
}
