package shardmap

import (
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/cangqiong/cangqiong/sharding/ring"
)

// Topology is a compiled map: the map and the ring of its shards that own
// users. It is immutable and safe for concurrent use.
type Topology struct {
	// Map is a private copy of the compiled map; do not modify it.
	Map *Map
	// Ring has one member per serving or draining shard, ID for ID.
	Ring *ring.Ring
	// settled is the ring of Map.Settled(), compiled only when Map.Freeze
	// holds the users whose owner differs between the two.
	settled *ring.Ring

	byID      map[string]int // shard ID → index in Map.Shards
	ringShard []int          // ring member index → index in Map.Shards
	ringIDs   []string       // sorted
	allIDs    []string       // sorted
}

// Compile validates m and builds its Topology. Later changes to m do not
// affect the result. Every node must use the same opts.
func Compile(m *Map, opts ring.Options) (*Topology, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	t := &Topology{Map: m.Clone()}
	r, err := cachedRing(t.ringMembers(), opts)
	if err != nil {
		return nil, fmt.Errorf("shardmap: epoch %d: %w", m.Epoch, err)
	}
	t.Ring = r
	if m.Moving() {
		// A reshard runs: its cutover freezes the users whose owner
		// differs in the settled ring. Build that ring now, before the
		// freeze, so that the cutover's maps find it built.
		settled, err := cachedRing((&Topology{Map: m.Settled()}).ringMembers(), opts)
		if err != nil {
			return nil, fmt.Errorf("shardmap: epoch %d settled: %w", m.Epoch, err)
		}
		if m.Freeze {
			t.settled = settled
		}
	}
	t.index()
	return t, nil
}

// ringMembers lists the shards that own users.
func (t *Topology) ringMembers() []ring.Member {
	var members []ring.Member
	for _, s := range t.Map.Shards {
		if s.State.OwnsUsers() {
			members = append(members, ring.Member{ID: s.ID, Weight: s.Weight})
		}
	}
	return members
}

// index fills the lookup fields from Map and Ring.
func (t *Topology) index() {
	t.byID = make(map[string]int, len(t.Map.Shards))
	for i, s := range t.Map.Shards {
		t.byID[s.ID] = i
		t.allIDs = append(t.allIDs, s.ID)
	}
	slices.Sort(t.allIDs)
	for _, mem := range t.Ring.Members() { // sorted by ID
		t.ringShard = append(t.ringShard, t.byID[mem.ID])
		t.ringIDs = append(t.ringIDs, mem.ID)
	}
}

// Epoch is the epoch of the compiled map.
func (t *Topology) Epoch() uint64 { return t.Map.Epoch }

// Owner returns the ID of the shard owning userID.
func (t *Topology) Owner(userID int64) string { return t.Ring.Owner(userID) }

// OwnerShard returns the shard owning userID, address included.
func (t *Topology) OwnerShard(userID int64) Shard {
	return t.Map.Shards[t.ringShard[t.Ring.OwnerIndex(userID)]]
}

// Shard returns the shard with the given ID, in any state.
func (t *Topology) Shard(id string) (Shard, bool) {
	i, ok := t.byID[id]
	if !ok {
		return Shard{}, false
	}
	return t.Map.Shards[i], true
}

// RingShards returns the sorted IDs of the shards that own users (serving
// and draining). The caller may modify the result.
func (t *Topology) RingShards() []string { return slices.Clone(t.ringIDs) }

// AllShards returns the sorted IDs of every shard, joining ones included.
// The caller may modify the result.
func (t *Topology) AllShards() []string { return slices.Clone(t.allIDs) }

// Holder publishes the current Topology to concurrent readers. The zero
// value holds nil and is ready; a Holder must not be copied after first use.
type Holder struct {
	p atomic.Pointer[Topology]
}

// Load returns the current topology, or nil if none was stored.
func (h *Holder) Load() *Topology { return h.p.Load() }

// Store makes t current unconditionally (for tests and bootstrap).
func (h *Holder) Store(t *Topology) { h.p.Store(t) }

// Advance makes t current if its epoch is higher than the current one's (or
// none is stored) and reports whether it did. Gossip delivers maps out of
// order and more than once; Advance makes that harmless.
func (h *Holder) Advance(t *Topology) bool {
	for {
		cur := h.p.Load()
		if cur != nil && t.Epoch() <= cur.Epoch() {
			return false
		}
		if h.p.CompareAndSwap(cur, t) {
			return true
		}
	}
}

// Frozen reports whether userID's writes are held: the map freezes the
// users that move and this one's owner differs in its settled form (a
// reshard's cutover). Two ring lookups, no allocation.
func (t *Topology) Frozen(userID int64) bool {
	return t.settled != nil && t.Ring.Owner(userID) != t.settled.Owner(userID)
}
