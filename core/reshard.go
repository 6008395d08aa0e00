package core

import (
	"context"
	"time"

	"github.com/cangqiong/cangqiong/core/gossip"
	"github.com/cangqiong/cangqiong/replication/reshard"
	"github.com/cangqiong/cangqiong/sharding/ids"
	"github.com/cangqiong/cangqiong/sharding/ring"
)

// ReshardConfig tunes the resharding workflows a node runs or resumes
// (replication/reshard.Config; zero fields take its defaults).
type ReshardConfig struct {
	// LeaseTTL: a workflow whose node stopped renewing it for this long is
	// resumed by another node (default 6 s).
	LeaseTTL time.Duration
	// PollInterval: how often a node looks for a workflow to resume (1 s).
	PollInterval time.Duration
	// CutoverWait bounds the wait for every node to hold the moving
	// users' writes (5 s).
	CutoverWait time.Duration
	// CutoverBudget bounds fencing the source shards and copying the last
	// changes while writes are held (1 s); past it the cutover lets go.
	CutoverBudget time.Duration
	// Grace keeps the old copies after the cutover (30 s).
	Grace time.Duration
	// ReadBatch and RowsPerSecond tune the copy (1000 rows, no limit).
	ReadBatch     int
	RowsPerSecond float64
}

// buildReshard makes the node's resharding coordinator.
func (n *Node) buildReshard(gen *ids.Generator) error {
	rc := n.cfg.Reshard
	var err error
	n.reshard, err = reshard.New(reshard.Config{
		Node: n.cfg.NodeName, Global: n.global, Maps: n.gossip, Members: n.servingMembers, IDs: gen,
		Credentials: n.cfg.Credentials, RingOptions: ring.Options{},
		LeaseTTL: rc.LeaseTTL, PollInterval: rc.PollInterval, CutoverWait: rc.CutoverWait, CutoverBudget: rc.CutoverBudget, Grace: rc.Grace,
		ReadBatch: rc.ReadBatch, RowsPerSecond: rc.RowsPerSecond, Logger: n.cfg.Logger,
	})
	return err
}

// startReshard resumes workflows whose node died. Its stop runs before the
// relay's and gossip's: a workflow this node runs is released for another
// node to resume at once.
func (n *Node) startReshard(context.Context) error {
	n.reshard.Run()
	n.onStop(n.reshard.Shutdown)
	return nil
}

// servingMembers are the alive core nodes with the epoch each announces.
func (n *Node) servingMembers() []reshard.Member {
	var out []reshard.Member
	for _, m := range n.gossip.Members() {
		if m.State == gossip.StateAlive {
			out = append(out, reshard.Member{Name: m.Name, Epoch: m.Epoch})
		}
	}
	return out
}
