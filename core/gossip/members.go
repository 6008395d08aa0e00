package gossip

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// State is a member's state as this node sees it.
type State string

const (
	// StateAlive members answer probes. memberlist does not expose its
	// "suspect" state to delegates, so a suspect member shows as alive
	// until it is declared dead or refutes the suspicion.
	StateAlive State = "alive"
	// StateDead members stopped answering and were declared failed.
	StateDead State = "dead"
	// StateLeft members shut down on purpose (Shutdown).
	StateLeft State = "left"
)

// forgetAfter is how long a dead or departed member stays in Members.
const forgetAfter = time.Hour

// Member is one node of the cluster, this one included.
type Member struct {
	Name string
	// Addr is the node's gossip address, host:port.
	Addr string
	// Region, TunnelAddr and AdminAddr are what the node put in its
	// metadata (Config fields of the same name); empty if its metadata did
	// not decode.
	Region     string
	TunnelAddr string
	AdminAddr  string
	State      State
	// Epoch is the shard-map epoch the node last announced serving.
	Epoch uint64
	// Since is when this node saw State begin.
	Since time.Time
}

// memberTable follows memberlist's join/leave/update events. It implements
// memberlist.EventDelegate; memberlist calls it with its own locks held, so
// it must not call back into memberlist.
type memberTable struct {
	// ahead is called (without the table's lock) when a member announces
	// an epoch; the node uses it to notice that it is behind.
	ahead func(epoch uint64)
	now   func() time.Time

	mu     sync.Mutex
	byName map[string]*entry
}

type entry struct {
	Member
	leaving bool // the member's last metadata said it is leaving
}

var _ memberlist.EventDelegate = (*memberTable)(nil)

func newMemberTable(ahead func(uint64)) *memberTable {
	return &memberTable{ahead: ahead, now: time.Now, byName: map[string]*entry{}}
}

func (t *memberTable) NotifyJoin(n *memberlist.Node)   { t.seen(n) }
func (t *memberTable) NotifyUpdate(n *memberlist.Node) { t.seen(n) }

func (t *memberTable) NotifyLeave(n *memberlist.Node) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entry(n)
	st := StateDead
	if e.leaving {
		st = StateLeft
	}
	t.setState(e, st)
}

// seen records an alive member and its metadata.
func (t *memberTable) seen(n *memberlist.Node) {
	md, err := decodeMeta(n.Meta)
	t.mu.Lock()
	e := t.entry(n)
	e.Region, e.TunnelAddr, e.AdminAddr, e.Epoch, e.leaving = md.region, md.tunnelAddr, md.adminAddr, md.epoch, md.leaving
	t.setState(e, StateAlive)
	t.mu.Unlock()
	if err == nil && t.ahead != nil {
		t.ahead(md.epoch)
	}
}

// entry returns the entry for n, creating it; t.mu must be held.
func (t *memberTable) entry(n *memberlist.Node) *entry {
	e := t.byName[n.Name]
	if e == nil {
		e = &entry{Member: Member{Name: n.Name}}
		t.byName[n.Name] = e
	}
	e.Addr = n.Address()
	return e
}

func (t *memberTable) setState(e *entry, st State) {
	if e.State != st {
		e.State, e.Since = st, t.now()
	}
}

// list returns the members sorted by name and forgets long-gone ones.
func (t *memberTable) list() []Member {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Member, 0, len(t.byName))
	for name, e := range t.byName {
		if e.State != StateAlive && t.now().Sub(e.Since) > forgetAfter {
			delete(t.byName, name)
			continue
		}
		out = append(out, e.Member)
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// alive counts alive members, this node included (at least 1): the size
// the broadcast queue scales its retransmissions by.
func (t *memberTable) alive() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, e := range t.byName {
		if e.State == StateAlive {
			n++
		}
	}
	return max(n, 1)
}
