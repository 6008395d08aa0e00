package gossip

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

// offlineNode is a node without memberlist, serving testMap(1): enough to
// drive its delegate with crafted bytes.
func offlineNode(t *testing.T, onChange func(*shardmap.Topology)) *Gossip {
	t.Helper()
	cfg, err := Config{NodeName: "solo", SecretKey: testKey, Store: &memStore{m: testMap(1)},
		ReloadInterval: time.Hour, OnChange: onChange, Logger: testLogger(t)}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	g := newGossip(cfg)
	if err := g.reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	g.startLoops()
	t.Cleanup(g.stopLoops)
	return g
}

func TestDelegateIgnoresBadMessages(t *testing.T) {
	g := offlineNode(t, nil)
	d := delegate{g}
	for name, b := range craftedMessages(t) {
		t.Run(name, func(t *testing.T) {
			before := g.stats.rejected.Load()
			d.NotifyMsg(b)
			d.MergeRemoteState(b, false)
			if got := g.stats.rejected.Load() - before; got != 2 {
				t.Errorf("%d of 2 deliveries rejected", got)
			}
			if g.Epoch() != 1 {
				t.Errorf("serving epoch %d after garbage", g.Epoch())
			}
		})
	}
}

func TestDelegateAppliesOnlyNewerEpochs(t *testing.T) {
	var seen []uint64
	g := offlineNode(t, func(tp *shardmap.Topology) { seen = append(seen, tp.Epoch()) })
	d := delegate{g}
	enc := func(epoch uint64) []byte {
		b, err := encodeMap(testMap(epoch))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	d.MergeRemoteState(enc(3), true) // push/pull applies at once
	if g.Epoch() != 3 {
		t.Fatalf("after push/pull of epoch 3: serving %d", g.Epoch())
	}
	for _, e := range []uint64{3, 2, 1} { // same and lower epochs: stale
		d.NotifyMsg(enc(e))
		d.MergeRemoteState(enc(e), false)
	}
	if g.stats.stale.Load() != 6 || g.Epoch() != 3 {
		t.Errorf("stale %d, serving %d; want 6 stale, epoch 3", g.stats.stale.Load(), g.Epoch())
	}

	d.NotifyMsg(enc(5)) // gossip goes through the applier
	d.NotifyMsg(enc(4))
	waitFor(t, 5*time.Second, "epoch 5", func() bool { return g.Epoch() == 5 })
	g.applyMu.Lock() // OnChange runs under applyMu
	defer g.applyMu.Unlock()
	if len(seen) < 3 || seen[0] != 1 || seen[1] != 3 || seen[len(seen)-1] != 5 {
		t.Errorf("OnChange saw epochs %v, want 1, 3, (4,) 5", seen)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] <= seen[i-1] {
			t.Errorf("OnChange out of order: %v", seen)
		}
	}
}

func TestDelegateLocalStateAndBroadcasts(t *testing.T) {
	g := offlineNode(t, nil)
	d := delegate{g}
	for _, e := range []uint64{2, 3} {
		if err := g.compileAndApply(testMap(e), "test"); err != nil {
			t.Fatal(err)
		}
	}
	msg, err := decodeMessage(d.LocalState(false))
	if err != nil || msg.epoch != 3 || !msg.m.Equal(testMap(3)) {
		t.Fatalf("LocalState decodes to %+v, %v; want epoch 3", msg, err)
	}
	// One named broadcast: epoch 3 replaced 2 (and 1) in the queue.
	if n := g.queue.NumQueued(); n != 1 {
		t.Fatalf("%d broadcasts queued, want 1", n)
	}
	out := d.GetBroadcasts(2, 1400)
	if len(out) != 1 {
		t.Fatalf("GetBroadcasts returned %d messages", len(out))
	}
	if _, epoch, _ := peek(out[0]); epoch != 3 {
		t.Errorf("broadcast carries epoch %d, want 3", epoch)
	}
	var b memberlist.Broadcast = &mapBroadcast{}
	if !b.Invalidates(&mapBroadcast{}) {
		t.Error("a map broadcast must invalidate an older one")
	}
}

func TestBigMapsAreGossipedAsNotices(t *testing.T) {
	g := offlineNode(t, nil)
	big := testMap(2)
	for i := range 20 {
		s := big.Shards[0]
		s.ID = "shard-big-" + string(rune('a'+i))
		big.Shards = append(big.Shards, s)
	}
	if err := g.compileAndApply(big, "test"); err != nil {
		t.Fatal(err)
	}
	out := delegate{g}.GetBroadcasts(2, 1400)
	if len(out) != 1 {
		t.Fatalf("GetBroadcasts returned %d messages", len(out))
	}
	if k, epoch, err := peek(out[0]); err != nil || k != kindNotice || epoch != 2 {
		t.Errorf("broadcast is kind %d epoch %d (%v), want a notice of epoch 2", k, epoch, err)
	}
	if len(*g.state.Load()) <= maxBroadcastBytes {
		t.Errorf("test map is too small (%d bytes) to exercise notices", len(*g.state.Load()))
	}
}

// A notice of a newer epoch makes the node read the store after hintGrace.
func TestNoticeTriggersReload(t *testing.T) {
	g := offlineNode(t, nil)
	store := g.cfg.Store.(*memStore)
	store.mu.Lock()
	store.m = testMap(4)
	store.mu.Unlock()
	delegate{g}.NotifyMsg(encodeNotice(4))
	waitFor(t, 5*time.Second, "epoch 4 from the store", func() bool { return g.Epoch() == 4 })
}

func TestNodeMeta(t *testing.T) {
	g := offlineNode(t, nil)
	g.cfg.Region, g.cfg.TunnelAddr = "eu", "10.0.0.1:8443"
	m, err := decodeMeta(delegate{g}.NodeMeta(memberlist.MetaMaxSize))
	if err != nil || m.epoch != 1 || m.region != "eu" || m.tunnelAddr != "10.0.0.1:8443" || m.leaving {
		t.Errorf("NodeMeta decodes to %+v, %v", m, err)
	}
}
