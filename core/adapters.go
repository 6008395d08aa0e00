package core

import (
	"context"

	"github.com/cangqiong/cangqiong/core/admin"
	"github.com/cangqiong/cangqiong/core/gossip"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

// cluster shows gossip to the admin API.
type cluster struct{ g *gossip.Gossip }

func (c cluster) Members() []admin.Member {
	ms := c.g.Members()
	out := make([]admin.Member, len(ms))
	for i, m := range ms {
		out[i] = admin.Member{Name: m.Name, Addr: m.Addr, Region: m.Region, TunnelAddr: m.TunnelAddr, AdminAddr: m.AdminAddr, State: string(m.State), Epoch: m.Epoch}
	}
	return out
}

func (c cluster) Topology() *shardmap.Topology { return c.g.Topology() }

func (c cluster) Commit(ctx context.Context, expect uint64, next *shardmap.Map) error {
	return c.g.Commit(ctx, expect, next)
}

// gossipMetrics shows gossip to the metrics collector.
type gossipMetrics struct{ g *gossip.Gossip }

func (m gossipMetrics) Epoch() uint64 { return m.g.Epoch() }

// MemberStates counts members by state, every state present (as 0) so the
// series never vanish.
func (m gossipMetrics) MemberStates() map[string]int {
	counts := map[string]int{string(gossip.StateAlive): 0, string(gossip.StateDead): 0, string(gossip.StateLeft): 0}
	for _, mem := range m.g.Members() {
		counts[string(mem.State)]++
	}
	return counts
}
