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
	// Epoch is the highest shard-map epoch the node announced serving,
	// that is, for which its OnChange has returned: the larger of the
	// epoch in its metadata and the one it last told this node directly
	// (a serving announcement). What it told directly is forgotten when
	// the member fails, leaves or rejoins, or its metadata epoch goes
	// back (a restarted process), so a restarted node is reported from
	// its own announcements again.
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

// entry is a member as the table keeps it; its Member.Epoch is unused
// (list computes it).
type entry struct {
	Member
	leaving   bool   // the member's last metadata said it is leaving
	metaEpoch uint64 // the epoch in the member's last metadata
	heard     uint64 // highest epoch it announced directly while alive
}

// epoch is what Member.Epoch reports.
func (e *entry) epoch() uint64 { return max(e.metaEpoch, e.heard) }

var _ memberlist.EventDelegate = (*memberTable)(nil)

func newMemberTable(ahead func(uint64)) *memberTable {
	return &memberTable{ahead: ahead, now: time.Now, byName: map[string]*entry{}}
}

// NotifyJoin is a new member, or one that failed or left coming back: a
// new life, maybe a new process, so what it announced before is dropped.
func (t *memberTable) NotifyJoin(n *memberlist.Node)   { t.seen(n, true) }
func (t *memberTable) NotifyUpdate(n *memberlist.Node) { t.seen(n, false) }

func (t *memberTable) NotifyLeave(n *memberlist.Node) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entry(n)
	st := StateDead
	if e.leaving {
		st = StateLeft
	}
	t.setState(e, st)
	e.heard = 0
}

// seen records an alive member and its metadata. The metadata epoch of a
// process grows (memberlist orders a node's alive messages by
// incarnation), so one that goes back is taken for a restarted process
// that memberlist did not see fail (it came back within the failure
// detection time and refuted its old state): like a rejoin, that drops
// what the old process announced directly, which the new one may not have
// done yet. Dropping it when in doubt only delays the member's Epoch.
func (t *memberTable) seen(n *memberlist.Node, join bool) {
	md, err := decodeMeta(n.Meta)
	t.mu.Lock()
	e := t.entry(n)
	if join || md.epoch < e.metaEpoch {
		e.heard = 0
	}
	e.Region, e.TunnelAddr, e.AdminAddr, e.metaEpoch, e.leaving = md.region, md.tunnelAddr, md.adminAddr, md.epoch, md.leaving
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

// heard records that the alive member name announced epoch directly (a
// serving announcement). It reports false, recording nothing, for a name
// that is not an alive member: an unknown, failed or departed one.
func (t *memberTable) heard(name string, epoch uint64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.byName[name]
	if e == nil || e.State != StateAlive {
		return false
	}
	e.heard = max(e.heard, epoch)
	return true
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
		m := e.Member
		m.Epoch = e.epoch()
		out = append(out, m)
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
