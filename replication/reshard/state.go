package reshard

import (
	"encoding/hex"
	"strings"
	"time"

	"github.com/cangqiong/cangqiong/replication/reshard/move"
	"github.com/cangqiong/cangqiong/sharding/ring"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

// state is a workflow's checkpoint, stored as JSON in cq_reshards.state:
// everything a node needs to resume it where another left off.
type state struct {
	Request Request `json:"request"`
	// Start is the map the workflow began from.
	Start *shardmap.Map `json:"start"`
	// Joined is the map Preparing commits (the new shard joining, or the
	// removed one draining), and after an aborted cutover the unfrozen map
	// that replaced it. Its Settled() is where the workflow ends.
	Joined *shardmap.Map `json:"joined"`
	// JoinedCommitted says the control table holds Joined (or later).
	JoinedCommitted bool        `json:"joined_committed,omitempty"`
	Pairs           []pairState `json:"pairs"`
	// CopyStarted is when the first copy began (for the ETA).
	CopyStarted time.Time `json:"copy_started,omitzero"`
	// FrozenEpoch is the epoch of the map that holds the moving users'
	// writes, once the cutover chose it (0 again once a released cutover
	// lifted it); HoldStart when the cutover began committing it.
	FrozenEpoch uint64    `json:"frozen_epoch,omitempty"`
	HoldStart   time.Time `json:"hold_start,omitzero"`
	// Cutovers counts the cutover attempts; ReleasedAt is when the last
	// one was let go (the next waits min(Cutovers × 1 s, 10 s) after it).
	Cutovers   int       `json:"cutovers,omitempty"`
	ReleasedAt time.Time `json:"released_at,omitzero"`
	// SettledEpoch is the epoch where the new owners serve; SettledAt when
	// it was committed (recorded just before the commit, so that a run
	// resumed after it still waits the grace from it), Hold how long
	// writes were held.
	SettledEpoch uint64        `json:"settled_epoch,omitempty"`
	SettledAt    time.Time     `json:"settled_at,omitzero"`
	Hold         time.Duration `json:"hold,omitempty"`
	// AbortedEpoch is the map an abort committed, back where Start was.
	AbortedEpoch uint64 `json:"aborted_epoch,omitempty"`
}

// pairState is the checkpoint of one (source, target) pair.
type pairState struct {
	Pair
	// HeadSet says Head was read: the source's outbox sequence before the
	// copy began; the catch-up starts after it.
	HeadSet bool          `json:"head_set,omitempty"`
	Head    uint64        `json:"head,omitempty"`
	Copy    move.Progress `json:"copy"`
	// Cursor is the last source outbox change caught up.
	Cursor uint64 `json:"cursor,omitempty"`
	// TargetHead is the target's outbox sequence when the cutover ended
	// (TargetHeadSet: it was read; it may be 0): a user the target changed
	// after it is left out of verification, and the relay keeps the
	// target's outbox after it until the pair is verified.
	TargetHeadSet bool   `json:"target_head_set,omitempty"`
	TargetHead    uint64 `json:"target_head,omitempty"`
	Verified      bool   `json:"verified,omitempty"`
	Cleaned       bool   `json:"cleaned,omitempty"`
}

// reset makes p a pair to copy again from scratch (its source outbox had a
// gap: changes were lost to the catch-up).
func (p *pairState) reset() {
	*p = pairState{Pair: Pair{From: p.From, To: p.To, Fraction: p.Fraction, SourceRows: p.SourceRows}}
}

// ownerTagLen is the length of the random tag that makes an owner string
// unique to one process of a node ("core-0/1a2b3c").
const ownerTagLen = 6

// nodeOf is the node name in an owner string: the owner without its
// process tag (an owner written before tags existed has none).
func nodeOf(owner string) string {
	i := strings.LastIndexByte(owner, '/')
	if i < 0 || len(owner)-i-1 != ownerTagLen {
		return owner
	}
	if _, err := hex.DecodeString(owner[i+1:]); err != nil {
		return owner
	}
	return owner[:i]
}

// plan is what a state's Joined map moves, compiled once per run.
type plan struct {
	delta *shardmap.Delta
}

func newPlan(joined *shardmap.Map, opts ring.Options) (*plan, error) {
	d, err := shardmap.Diff(joined, joined.Settled(), opts)
	if err != nil {
		return nil, err
	}
	return &plan{delta: d}, nil
}

// filter selects the users moving from one shard to another.
func (p *plan) filter(from, to string) func(int64) bool {
	return func(user int64) bool {
		f, t, ok := p.delta.Moves(user)
		return ok && f == from && t == to
	}
}

// status is what the operator sees of a record.
func (r *record) status() Status {
	st := Status{
		ID: r.ID, Kind: r.Kind, Shard: r.Shard, Phase: r.Phase, Error: r.Error,
		StartedAt: r.Started, UpdatedAt: r.Updated, FinishedAt: r.Finished,
		Hold: r.State.Hold, Pairs: []Pair{},
	}
	if r.Expired < 0 && !r.Phase.Final() {
		st.Owner = nodeOf(r.Owner)
	}
	if r.State.Start != nil {
		st.FromEpoch = r.State.Start.Epoch
	}
	if t := r.State.SettledAt; !t.IsZero() {
		st.CutoverAt = &t
	}
	switch r.Phase {
	case Done:
		st.ToEpoch = r.State.SettledEpoch
	case Aborted:
		st.ToEpoch = r.State.AbortedEpoch
	}
	var scanned, total int64
	for _, p := range r.State.Pairs {
		st.Pairs = append(st.Pairs, p.Pair)
		st.Fraction += p.Fraction
		st.Users += p.Users
		st.Rows += p.Rows
		st.Lag += p.Lag
		scanned += p.Scanned
		total += max(p.SourceRows, p.Scanned)
	}
	copied := len(r.State.Pairs) > 0
	for _, p := range r.State.Pairs {
		copied = copied && p.Copied
	}
	switch {
	case copied:
		st.Progress = 1
	case total > 0:
		st.Progress = min(float64(scanned)/float64(total), 0.99)
		if elapsed := r.Updated.Sub(r.State.CopyStarted); r.Phase == Copying && !r.State.CopyStarted.IsZero() && st.Progress > 0.01 {
			st.ETA = time.Duration(float64(elapsed) * (1 - st.Progress) / st.Progress).Round(time.Second)
		}
	}
	return st
}
