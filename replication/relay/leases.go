package relay

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"time"

	"github.com/cangqiong/cangqiong/sharding/control"
	"github.com/cangqiong/cangqiong/sharding/exec"
)

// lease is a keyspace this node holds, and its tailer.
type lease struct {
	ks      string
	version uint64       // the lease loop's
	until   atomic.Int64 // local expiry, UnixNano: start of the last renewal + LeaseTTL
	since   time.Time
	forced  bool // taken from a preferred owner that did not take it: kept RebalanceHold

	cancel context.CancelFunc // stops the tailer
	done   chan struct{}      // closed when the tailer returned
	err    error              // why it returned; read after done
}

func (l *lease) valid(now time.Time) bool { return now.UnixNano() < l.until.Load() }

// leaseLoop runs a lease round every LeaseTTL/3 until ctx ends, then
// stops the tailers (Shutdown releases the leases).
func (r *Relay) leaseLoop(ctx context.Context) {
	t := time.NewTicker(r.cfg.LeaseTTL / 3)
	defer t.Stop()
	for {
		r.leaseRound(ctx)
		select {
		case <-ctx.Done():
			for _, l := range r.held {
				l.cancel()
				<-l.done
			}
			return
		case <-t.C:
		}
	}
}

// leaseRound renews what this node holds, gives back what belongs to
// another member, and takes what is free and meant for it.
func (r *Relay) leaseRound(ctx context.Context) {
	now := time.Now()
	keyspaces := r.keyspaces()
	alive := r.alive(now)
	r.renew(ctx, keyspaces)
	if ctx.Err() != nil {
		return
	}
	rows, err := r.leases.List(ctx)
	if err != nil {
		r.log.Warn("cannot read the relay leases", "err", err)
		return
	}
	released := r.rebalance(ctx, keyspaces, alive, now)
	r.acquire(ctx, keyspaces, alive, rows, released, now)
}

// keyspaces are the current topology's shards, joining ones included, and
// the global keyspace, sorted: the order preferred owners are dealt in.
func (r *Relay) keyspaces() []string {
	ids := append(r.cfg.Exec.Topology().AllShards(), exec.GlobalTarget)
	ids = slices.DeleteFunc(ids, func(ks string) bool { return !relayable(ks) })
	slices.Sort(ids)
	return slices.Compact(ids)
}

// alive is the sorted member list (this node always in it), and records
// since when each member has been alive in every round.
func (r *Relay) alive(now time.Time) []string {
	names := append(r.cfg.Members(), r.cfg.Node)
	slices.Sort(names)
	names = slices.Compact(names)
	for name := range r.seen {
		if _, ok := slices.BinarySearch(names, name); !ok {
			delete(r.seen, name)
		}
	}
	for _, name := range names {
		if _, ok := r.seen[name]; !ok {
			r.seen[name] = now
		}
	}
	return names
}

// preferred is the member meant to relay keyspaces[i].
func preferred(alive []string, i int) string { return alive[i%len(alive)] }

// renew extends every held lease; a lease lost stops being relayed, as
// does one whose keyspace left the topology (it is released).
func (r *Relay) renew(ctx context.Context, keyspaces []string) {
	for ks, l := range r.held {
		select {
		case <-l.done:
			r.log.Warn("stopped relaying a keyspace", "keyspace", ks, "err", l.err)
			r.count.lost.Add(1)
			delete(r.held, ks)
			continue
		default:
		}
		if _, ok := slices.BinarySearch(keyspaces, ks); !ok {
			r.drop(ctx, l, true, "the keyspace left the topology")
			continue
		}
		start := time.Now()
		rctx, cancel := context.WithDeadline(ctx, time.Unix(0, l.until.Load()))
		v, err := r.leases.Renew(rctx, ks, r.cfg.Node, l.version, r.cfg.LeaseTTL)
		cancel()
		switch {
		case err == nil:
			l.version = v
			l.until.Store(start.Add(r.cfg.LeaseTTL).UnixNano())
		case errors.Is(err, control.ErrLeaseLost):
			r.count.lost.Add(1)
			r.drop(ctx, l, false, "lease lost")
		case ctx.Err() == nil:
			// The tailer stops by itself if this lasts past the lease.
			r.log.Warn("cannot renew a relay lease", "keyspace", ks, "err", err)
		}
	}
}

// rebalance gives each held keyspace whose preferred owner is another
// member, alive for at least LeaseTTL, back to it, and returns them.
func (r *Relay) rebalance(ctx context.Context, keyspaces, alive []string, now time.Time) map[string]bool {
	released := map[string]bool{}
	for i, ks := range keyspaces {
		l := r.held[ks]
		if l == nil {
			continue
		}
		p := preferred(alive, i)
		if p == r.cfg.Node || now.Sub(r.seen[p]) < r.cfg.LeaseTTL || (l.forced && now.Sub(l.since) < r.cfg.RebalanceHold) {
			continue
		}
		r.drop(ctx, l, true, "handing over to "+p)
		released[ks] = true
	}
	return released
}

// acquire takes the free leases meant for this node, and those expired
// for LeaseGrace whoever they were meant for; not those it has just
// released (rows predate that).
func (r *Relay) acquire(ctx context.Context, keyspaces, alive []string, rows []control.Lease, released map[string]bool, now time.Time) {
	byKS := make(map[string]control.Lease, len(rows))
	for _, row := range rows {
		byKS[row.Keyspace] = row
	}
	for i, ks := range keyspaces {
		if r.held[ks] != nil || released[ks] {
			continue
		}
		mine := preferred(alive, i) == r.cfg.Node
		row, written := byKS[ks]
		if written {
			delete(r.unseenKS, ks)
		}
		var grace time.Duration
		forced := false // taken from a preferred owner that did not take it
		switch {
		case written && row.Owner == r.cfg.Node: // ours already: a restart
		case written && row.Live():
			continue
		case mine:
		case !written:
			// Nobody ever held it: give its preferred owner LeaseGrace.
			first, ok := r.unseenKS[ks]
			if !ok {
				r.unseenKS[ks] = now
			}
			if !ok || now.Sub(first) < r.cfg.LeaseGrace {
				continue
			}
			forced = true
		case row.ExpiredFor >= r.cfg.LeaseGrace:
			grace, forced = r.cfg.LeaseGrace, true
		default:
			continue
		}
		start := time.Now()
		v, err := r.leases.Acquire(ctx, ks, r.cfg.Node, r.cfg.LeaseTTL, grace)
		switch {
		case err == nil:
			r.own(ks, v, start, forced)
		case !errors.Is(err, control.ErrLeaseHeld) && ctx.Err() == nil:
			r.log.Warn("cannot acquire a relay lease", "keyspace", ks, "err", err)
		}
	}
}

// own starts relaying a keyspace whose lease was just acquired.
func (r *Relay) own(ks string, version uint64, start time.Time, forced bool) {
	ctx, cancel := context.WithCancel(r.ctx)
	l := &lease{ks: ks, version: version, since: start, forced: forced, cancel: cancel, done: make(chan struct{})}
	l.until.Store(start.Add(r.cfg.LeaseTTL).UnixNano())
	r.held[ks] = l
	r.count.acquired.Add(1)
	r.log.Info("relaying a keyspace", "keyspace", ks, "version", version, "forced", forced)
	go func() {
		defer close(l.done)
		l.err = r.tail(ctx, l)
	}()
}

// drop stops relaying a held keyspace and, with release, lets its lease
// expire at once.
func (r *Relay) drop(ctx context.Context, l *lease, release bool, why string) {
	l.cancel()
	<-l.done
	delete(r.held, l.ks)
	r.log.Info("stopped relaying a keyspace", "keyspace", l.ks, "why", why)
	if !release {
		return
	}
	r.count.released.Add(1)
	if err := r.leases.Release(ctx, l.ks, r.cfg.Node, l.version); err != nil && !errors.Is(err, control.ErrLeaseLost) && ctx.Err() == nil {
		r.log.Warn("cannot release a relay lease; it expires on its own", "keyspace", l.ks, "err", err)
	}
}
