package gossip

import (
	"bytes"
	"context"
	"net"
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
		if err := g.compileAndApply(testMap(e), nil, "test"); err != nil {
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
	if err := g.compileAndApply(big, nil, "test"); err != nil {
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

// A node that heard of an epoch whose map it is still decoding or applying
// (a big one takes a while) gives it another hintGrace before it reads the
// store; if the map never makes it, the store is read after all.
func TestReloadWaitsForAMapOnItsWay(t *testing.T) {
	g := offlineNode(t, nil)
	store := g.cfg.Store.(*memStore)
	store.mu.Lock()
	store.m = testMap(4)
	store.mu.Unlock()
	raise(&g.incoming, 4) // as receive does before decoding; this one never arrives
	start := time.Now()
	delegate{g}.NotifyMsg(encodeNotice(4))
	waitFor(t, 5*time.Second, "epoch 4 from the store", func() bool { return g.Epoch() == 4 })
	if took := time.Since(start); took < 2*hintGrace {
		t.Errorf("read the store after %v, want at least twice hintGrace (%v)", took, 2*hintGrace)
	}
}

func TestNodeMeta(t *testing.T) {
	g := offlineNode(t, nil)
	g.cfg.Region, g.cfg.TunnelAddr = "eu", "10.0.0.1:8443"
	m, err := decodeMeta(delegate{g}.NodeMeta(memberlist.MetaMaxSize))
	if err != nil || m.epoch != 1 || m.region != "eu" || m.tunnelAddr != "10.0.0.1:8443" || m.leaving {
		t.Errorf("NodeMeta decodes to %+v, %v", m, err)
	}
}

// Serving announcements from alive members raise their Epoch; malformed
// ones, ones as push/pull state, and ones naming this node or a name that
// is not an alive member are dropped.
func TestDelegateServingAnnouncements(t *testing.T) {
	g := offlineNode(t, nil)
	d := delegate{g}
	g.members.NotifyJoin(&memberlist.Node{Name: "peer", Addr: net.ParseIP("127.0.0.1"), Port: 7946, Meta: meta_(1, false)})
	serving := func(epoch uint64, node string) []byte {
		b, err := encodeServing(epoch, node)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	peerEpoch := func() uint64 {
		for _, m := range g.Members() {
			if m.Name == "peer" {
				return m.Epoch
			}
		}
		t.Fatal("peer is not listed")
		return 0
	}

	d.NotifyMsg(serving(3, "peer"))
	if got := peerEpoch(); got != 3 {
		t.Errorf("after peer announced 3: Epoch %d", got)
	}
	d.NotifyMsg(serving(2, "peer"))
	if got := peerEpoch(); got != 3 {
		t.Errorf("after peer announced 2: Epoch %d, want still 3", got)
	}

	rejected, ignored := g.stats.rejected.Load(), g.stats.ignored.Load()
	d.MergeRemoteState(serving(4, "peer"), false)
	d.MergeRemoteState(serving(4, "peer"), true)
	if got := g.stats.rejected.Load() - rejected; got != 2 || peerEpoch() != 3 {
		t.Errorf("serving announcements as push/pull state: %d of 2 rejected, peer at %d", got, peerEpoch())
	}
	d.NotifyMsg(serving(9, "ghost"))
	d.NotifyMsg(serving(9, g.cfg.NodeName))
	if got := g.stats.ignored.Load() - ignored; got != 2 {
		t.Errorf("%d of 2 announcements from a non-member or this node ignored", got)
	}
	for _, m := range g.Members() {
		if m.Name != "peer" {
			t.Errorf("an announcement listed %+v", m)
		}
	}

	g.members.NotifyLeave(&memberlist.Node{Name: "peer", Addr: net.ParseIP("127.0.0.1"), Port: 7946})
	d.NotifyMsg(serving(5, "peer"))
	if got := peerEpoch(); got != 1 {
		t.Errorf("dead peer: Epoch %d, want its metadata's 1", got)
	}
	if g.Epoch() != 1 {
		t.Errorf("serving epoch %d: an announcement is no map", g.Epoch())
	}
}

// A received map is served onwards as it came, from a copy: memberlist
// reuses the buffer once NotifyMsg or MergeRemoteState returned.
func TestReceivedMapIsKeptFromACopy(t *testing.T) {
	g := offlineNode(t, nil)
	d := delegate{g}
	for _, tc := range []struct {
		epoch   uint64
		deliver func([]byte)
	}{{2, func(b []byte) { d.MergeRemoteState(b, false) }}, {3, d.NotifyMsg}} {
		want, err := encodeMap(testMap(tc.epoch))
		if err != nil {
			t.Fatal(err)
		}
		b := bytes.Clone(want)
		tc.deliver(b)
		for i := range b {
			b[i] = 0xff
		}
		waitFor(t, 5*time.Second, "the map to be served", func() bool { return g.Epoch() == tc.epoch })
		if got := d.LocalState(false); !bytes.Equal(got, want) {
			t.Fatalf("epoch %d: serving %q, want %q", tc.epoch, got, want)
		}
	}
}
