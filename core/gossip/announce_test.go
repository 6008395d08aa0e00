package gossip

import (
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
	go func() { applied <- g.compileAndApply(testMap(2), "test") == nil }()
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
