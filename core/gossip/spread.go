package gossip

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

// How a map reaches a node, fastest first:
//
//  1. direct push: the committing node sends the map to every member that
//     has not left, over memberlist's reliable (TCP) channel, as soon as
//     the store accepted it;
//  2. gossip: every node that starts serving an epoch queues it as a
//     named broadcast, so it spreads epidemically and a newer epoch
//     replaces an older one in the queue;
//  3. push/pull: memberlist's periodic full-state exchange (and every
//     join) carries the served map;
//  4. the store: a node that hears of a newer epoch (a notice, or a
//     member's metadata) and does not receive the map within hintGrace
//     re-reads the control table, as it also does every ReloadInterval.
//
// All paths end in apply, which only ever moves to a higher epoch.
//
// The direct push was measured before it was kept (25 in-process nodes,
// local profile, go test -race on a loaded 2-core machine): the whole
// cluster served a new epoch after p50 330–540 ms with it and 580–660 ms by
// gossip alone; per node 140–300 ms against 430–460 ms. It also reaches a
// node that a peer wrongly declared dead while it was starved of CPU,
// which gossip skips.

// apply starts serving t if it is newer than the served map, and announces
// it: queued for gossip, handed to OnChange, and then, once OnChange has
// returned, in the node's metadata. It reports whether t was applied.
func (g *Gossip) apply(t *shardmap.Topology, source string) bool {
	if g.closed.Load() {
		return false
	}
	g.applyMu.Lock()
	defer g.applyMu.Unlock()
	if g.closed.Load() {
		return false
	}
	prev := g.Epoch()
	if !g.holder.Advance(t) {
		return false
	}
	msg, err := encodeMap(t.Map)
	if err != nil { // unreachable: t compiled, so its map validates
		g.log.Error("cannot encode the served map", "epoch", t.Epoch(), "err", err)
	} else {
		g.state.Store(&msg)
		g.queueBroadcast(msg, t.Epoch())
	}
	g.log.Info("serving shard map", "epoch", t.Epoch(), "previous", prev, "source", source)
	if g.cfg.OnChange != nil {
		g.cfg.OnChange(t)
	}
	// Only now may the metadata say so: a member's Epoch means its
	// OnChange has returned for that map (the reshard relies on it).
	g.announced.Store(t.Epoch())
	g.announce()
	return true
}

// newer reports whether epoch is ahead of the served map (any epoch is,
// before the first map).
func (g *Gossip) newer(epoch uint64) bool {
	t := g.holder.Load()
	return t == nil || epoch > t.Epoch()
}

// compileAndApply applies a map that parsed and validated; one that does
// not compile is logged, counted and returned as an error.
func (g *Gossip) compileAndApply(m *shardmap.Map, source string) error {
	t, err := shardmap.Compile(m, g.cfg.RingOptions)
	if err != nil {
		g.stats.rejected.Add(1)
		g.log.Warn("ignoring a shard map that does not compile", "epoch", m.Epoch, "source", source, "err", err)
		return fmt.Errorf("gossip: epoch %d from %s: %w", m.Epoch, source, err)
	}
	g.apply(t, source)
	return nil
}

// announce re-advertises the node's metadata with the announced epoch.
// UpdateNode queues the alive message at once and then waits only to learn
// that it was sent; a millisecond is enough to not wait.
func (g *Gossip) announce() {
	if ml := g.ml.Load(); ml != nil {
		_ = ml.UpdateNode(time.Millisecond)
	}
}

// queueBroadcast queues the served map (or, if too big for a packet, a
// notice of its epoch) for gossip, replacing any older one in the queue.
func (g *Gossip) queueBroadcast(msg []byte, epoch uint64) {
	if len(msg) > maxBroadcastBytes {
		msg = encodeNotice(epoch)
	}
	g.queue.QueueBroadcast(&mapBroadcast{msg: msg})
}

// pushAll sends the served map straight to every other member that has
// not left: a commit reaches the cluster in one network round trip rather
// than several rounds of gossip; losses are covered by the other paths.
func (g *Gossip) pushAll() {
	p := g.state.Load()
	ml := g.ml.Load()
	if p == nil || ml == nil {
		return
	}
	msg := *p
	g.lifeMu.Lock()
	defer g.lifeMu.Unlock()
	if g.closed.Load() {
		return
	}
	for _, m := range g.members.list() {
		// Dead members too: a busy node is sometimes declared dead while
		// it still runs. A push to a really dead one fails in the
		// background (at worst after memberlist's TCPTimeout).
		if m.Name == g.cfg.NodeName || m.State == StateLeft {
			continue
		}
		node, err := nodeOf(m.Name, m.Addr)
		if err != nil {
			continue
		}
		g.pushes.Add(1)
		go func() {
			defer g.pushes.Done()
			if err := ml.SendReliable(node, msg); err != nil {
				g.log.Debug("direct push failed; gossip will carry the map", "to", node.Name, "err", err)
			}
		}()
	}
}

// receive handles a message from the network. sync applies a map in the
// caller's goroutine (push/pull, where blocking is fine); otherwise the map
// is handed to the applier, because memberlist's packet handler must not
// block on compiling a ring or on OnChange.
func (g *Gossip) receive(b []byte, sync bool, source string) {
	_, epoch, err := peek(b)
	if err != nil {
		g.reject(source, err)
		return
	}
	if !g.newer(epoch) {
		g.stats.stale.Add(1)
		return
	}
	msg, err := decodeMessage(b)
	if err != nil {
		g.reject(source, err)
		return
	}
	if msg.kind == kindNotice {
		g.hint(epoch)
		return
	}
	if sync {
		_ = g.compileAndApply(msg.m, source) // logged
		return
	}
	g.offer(msg.m)
}

func (g *Gossip) reject(source string, err error) {
	g.stats.rejected.Add(1)
	g.log.Warn("ignoring a malformed shard-map message", "source", source, "err", err)
}

// offer keeps m if it is the newest map waiting, and wakes the applier.
func (g *Gossip) offer(m *shardmap.Map) {
	g.pendMu.Lock()
	if g.pending == nil || m.Epoch > g.pending.Epoch {
		g.pending = m
	}
	g.pendMu.Unlock()
	signal(g.applyCh)
}

func (g *Gossip) takePending() *shardmap.Map {
	g.pendMu.Lock()
	defer g.pendMu.Unlock()
	m := g.pending
	g.pending = nil
	return m
}

// hint records that some node serves epoch; if that is ahead of us, the
// reloader re-reads the store unless the map arrives first.
func (g *Gossip) hint(epoch uint64) {
	for {
		h := g.hinted.Load()
		if epoch <= h {
			break
		}
		if g.hinted.CompareAndSwap(h, epoch) {
			break
		}
	}
	if g.newer(epoch) {
		signal(g.hintCh)
	}
}

// reload reads the store and applies its map if newer.
func (g *Gossip) reload(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, loadTimeout)
	defer cancel()
	m, err := g.cfg.Store.Load(ctx)
	if err != nil {
		return fmt.Errorf("gossip: load shard map: %w", err)
	}
	if g.newer(m.Epoch) {
		return g.compileAndApply(m, "store")
	}
	return nil
}

func (g *Gossip) startLoops() {
	g.loops.Add(2)
	go g.applyLoop()
	go g.reloadLoop()
}

// applyLoop applies maps received by gossip, newest first.
func (g *Gossip) applyLoop() {
	defer g.loops.Done()
	for {
		select {
		case <-g.ctx.Done():
			return
		case <-g.applyCh:
		}
		if m := g.takePending(); m != nil && g.newer(m.Epoch) {
			_ = g.compileAndApply(m, "gossip") // logged
		}
	}
}

// reloadLoop re-reads the store every ReloadInterval, and hintGrace after
// hearing of an epoch it does not serve yet.
func (g *Gossip) reloadLoop() {
	defer g.loops.Done()
	tick := time.NewTicker(g.cfg.ReloadInterval)
	defer tick.Stop()
	grace := time.NewTimer(time.Hour)
	grace.Stop()
	armed := false // not re-armed by later hints, so a stream of them cannot postpone the reload
	for {
		select {
		case <-g.ctx.Done():
			return
		case <-g.hintCh:
			if !armed {
				grace.Reset(hintGrace)
				armed = true
			}
			continue
		case <-grace.C:
			armed = false
			if !g.newer(g.hinted.Load()) {
				continue // the map arrived by gossip
			}
			g.log.Info("heard of a newer epoch; reading the store", "epoch", g.hinted.Load(), "serving", g.Epoch())
		case <-tick.C:
		}
		if err := g.reload(g.ctx); err != nil && g.ctx.Err() == nil {
			g.log.Warn("periodic reload failed", "err", err)
		}
	}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// mapBroadcast is the served map in memberlist's broadcast queue. All of
// them share one name, so queueing a newer map drops the older one.
type mapBroadcast struct{ msg []byte }

const broadcastName = "cangqiong/shardmap"

var _ memberlist.NamedBroadcast = (*mapBroadcast)(nil)

func (b *mapBroadcast) Name() string    { return broadcastName }
func (b *mapBroadcast) Message() []byte { return b.msg }
func (b *mapBroadcast) Finished()       {}

func (b *mapBroadcast) Invalidates(other memberlist.Broadcast) bool {
	nb, ok := other.(memberlist.NamedBroadcast)
	return ok && nb.Name() == broadcastName
}

// delegate is the node's memberlist.Delegate; a separate type keeps its
// methods off Gossip's API.
type delegate struct{ g *Gossip }

var _ memberlist.Delegate = delegate{}

func (d delegate) NodeMeta(limit int) []byte {
	md := d.g.cfg.meta()
	md.epoch, md.leaving = d.g.announced.Load(), d.g.leaving.Load()
	b := md.encode()
	if len(b) > limit { // unreachable: Config.check bounds it
		d.g.log.Error("node metadata over memberlist's limit", "bytes", len(b), "limit", limit)
		return nil
	}
	return b
}

func (d delegate) NotifyMsg(b []byte) { d.g.receive(b, false, "gossip") }

func (d delegate) GetBroadcasts(overhead, limit int) [][]byte {
	return d.g.queue.GetBroadcasts(overhead, limit)
}

func (d delegate) LocalState(join bool) []byte {
	if p := d.g.state.Load(); p != nil {
		return *p
	}
	return nil
}

func (d delegate) MergeRemoteState(b []byte, join bool) { d.g.receive(b, true, "push/pull") }
