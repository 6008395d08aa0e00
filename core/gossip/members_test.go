package gossip

import (
	"net"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

func TestMemberTableTransitions(t *testing.T) {
	var ahead []uint64
	tab := newMemberTable(func(e uint64) { ahead = append(ahead, e) })
	clock := time.Unix(1000, 0)
	tab.now = func() time.Time { return clock }
	node := func(epoch uint64, leaving bool, meta []byte) *memberlist.Node {
		if meta == nil {
			meta = meta_(epoch, leaving)
		}
		return &memberlist.Node{Name: "n1", Addr: net.ParseIP("127.0.0.1"), Port: 7946, Meta: meta}
	}
	for _, step := range []struct {
		name  string
		event func()
		state State
		epoch uint64
	}{
		{"join", func() { tab.NotifyJoin(node(3, false, nil)) }, StateAlive, 3},
		{"update", func() { tab.NotifyUpdate(node(4, false, nil)) }, StateAlive, 4},
		{"failure", func() { tab.NotifyLeave(node(4, false, nil)) }, StateDead, 4},
		{"rejoin", func() { tab.NotifyJoin(node(5, false, nil)) }, StateAlive, 5},
		{"announces leaving", func() { tab.NotifyUpdate(node(5, true, nil)) }, StateAlive, 5},
		{"leaves", func() { tab.NotifyLeave(node(5, true, nil)) }, StateLeft, 5},
		{"garbage metadata", func() { tab.NotifyJoin(node(0, false, []byte{9, 9})) }, StateAlive, 0},
	} {
		clock = clock.Add(time.Second)
		step.event()
		ms := tab.list()
		if len(ms) != 1 {
			t.Fatalf("%s: members %+v", step.name, ms)
		}
		m := ms[0]
		if m.State != step.state || m.Epoch != step.epoch || m.Addr != "127.0.0.1:7946" {
			t.Errorf("%s: member %+v, want state %s epoch %d", step.name, m, step.state, step.epoch)
		}
	}
	if want := []uint64{3, 4, 5, 5}; !slices.Equal(ahead, want) {
		t.Errorf("epochs announced to the node: %v, want %v", ahead, want)
	}
	tab.NotifyLeave(node(0, false, []byte{9}))
	clock = clock.Add(forgetAfter + time.Second)
	if ms := tab.list(); len(ms) != 0 {
		t.Errorf("long-dead member still listed: %+v", ms)
	}
	if tab.alive() != 1 {
		t.Errorf("alive() = %d with nobody alive, want the floor 1", tab.alive())
	}
}

func meta_(epoch uint64, leaving bool) []byte {
	return meta{epoch: epoch, leaving: leaving, region: "r"}.encode()
}

// What a member announced directly counts while it lives: Epoch is the
// larger of that and its metadata's, and it is forgotten when the member
// fails, leaves, rejoins or its metadata epoch goes back (a restart).
func TestMemberTableHeardEpochs(t *testing.T) {
	tab := newMemberTable(nil)
	node := func(epoch uint64, leaving bool) *memberlist.Node {
		return &memberlist.Node{Name: "n1", Addr: net.ParseIP("127.0.0.1"), Port: 7946, Meta: meta_(epoch, leaving)}
	}
	epoch := func() uint64 {
		ms := tab.list()
		if len(ms) != 1 {
			t.Fatalf("members %+v", ms)
		}
		return ms[0].Epoch
	}
	if tab.heard("n1", 5) {
		t.Error("heard() recorded an epoch for an unknown member")
	}
	for _, step := range []struct {
		name  string
		event func()
		epoch uint64
	}{
		{"join", func() { tab.NotifyJoin(node(3, false)) }, 3},
		{"heard ahead of metadata", func() { tab.heard("n1", 5) }, 5},
		{"heard an older epoch", func() { tab.heard("n1", 4) }, 5},
		{"metadata catches up", func() { tab.NotifyUpdate(node(5, false)) }, 5},
		{"metadata goes ahead", func() { tab.NotifyUpdate(node(6, false)) }, 6},
		{"heard again", func() { tab.heard("n1", 8) }, 8},
		{"metadata grows, behind heard", func() { tab.NotifyUpdate(node(7, false)) }, 8},
		{"metadata goes back: restarted", func() { tab.NotifyUpdate(node(2, false)) }, 2},
		{"heard from the new process", func() { tab.heard("n1", 9) }, 9},
		{"fails", func() { tab.NotifyLeave(node(2, false)) }, 2},
		{"heard while dead is ignored", func() { tab.heard("n1", 10) }, 2},
		{"rejoins", func() { tab.NotifyJoin(node(3, false)) }, 3},
		{"heard after rejoining", func() { tab.heard("n1", 11) }, 11},
		{"leaves", func() { tab.NotifyLeave(node(3, true)) }, 3},
		{"comes back", func() { tab.NotifyJoin(node(0, false)) }, 0},
	} {
		step.event()
		if got := epoch(); got != step.epoch {
			t.Errorf("%s: Epoch %d, want %d", step.name, got, step.epoch)
		}
	}
	if tab.heard("n2", 12) {
		t.Error("heard() recorded an epoch for an unknown member")
	}
	if ms := tab.list(); len(ms) != 1 {
		t.Errorf("an unknown name made an entry: %+v", ms)
	}
}
