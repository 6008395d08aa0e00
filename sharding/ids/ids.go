package ids

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

const (
	seqBits  = 12
	nodeBits = 10
	timeBits = 41

	nodeShift = seqBits
	timeShift = seqBits + nodeBits

	seqMask  = 1<<seqBits - 1
	maxMilli = 1<<timeBits - 1
)

// MaxNode is the highest node number a Generator accepts.
const MaxNode = 1<<nodeBits - 1

// MaxLead is how far a generator's logical clock may run ahead of the latest
// wall-clock reading it has seen before Next waits for the wall clock.
const MaxLead = 100 * time.Millisecond

// Epoch is time zero of the id layout. Changing it would reorder and collide
// ids already stored: it is fixed forever.
var Epoch = time.Date(2025, time.January, 1, 0, 0, 0, 0, time.UTC)

var epochMilli = Epoch.UnixMilli()

// ErrNodeOutOfRange is returned by New for a node above MaxNode.
var ErrNodeOutOfRange = errors.New("ids: node out of range")

// Generator makes ids for one node. It is safe for concurrent use; ids from
// one Generator strictly increase in the order Next returns them.
type Generator struct {
	node int64 // node number, already shifted into place

	now  func() time.Time    // wall clock; tests inject their own
	wait func(time.Duration) // how Next waits when over MaxLead

	mu   sync.Mutex
	last int64 // last issued millisecond<<seqBits | sequence
	seen int64 // latest wall-clock millisecond seen
}

// New returns a Generator for node, which must be in [0, MaxNode] and unique
// among live generators.
func New(node uint16) (*Generator, error) {
	if node > MaxNode {
		return nil, fmt.Errorf("%w: %d (max %d)", ErrNodeOutOfRange, node, MaxNode)
	}
	return &Generator{
		node: int64(node) << nodeShift,
		now:  time.Now,
		wait: time.Sleep,
		last: -1,
	}, nil
}

// Next returns the next id. It blocks only when more than MaxLead worth of
// ids (4096 per millisecond) were made ahead of the wall clock.
func (g *Generator) Next() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	for {
		if wall := g.wallMilli(); wall > g.seen {
			g.seen = wall
		}
		next := g.last + 1 // the sequence overflows into the millisecond
		if floor := g.seen << seqBits; floor > next {
			next = floor
		}
		ms := next >> seqBits
		if lead := time.Duration(ms-g.seen) * time.Millisecond; lead > MaxLead {
			g.wait(lead - MaxLead)
			continue
		}
		if ms > maxMilli {
			panic("ids: timestamp past the end of the id layout (2094-09-07)")
		}
		g.last = next
		return ms<<timeShift | g.node | next&seqMask
	}
}

// wallMilli reads the wall clock as milliseconds since Epoch, never below 0.
func (g *Generator) wallMilli() int64 {
	return max(g.now().UnixMilli()-epochMilli, 0)
}

// Time returns the millisecond an id was made in, in UTC. For an id made
// ahead of the wall clock (see MaxLead) that is its logical time.
func Time(id int64) time.Time {
	return time.UnixMilli(epochMilli + id>>timeShift).UTC()
}

// Node returns the node number of the generator that made id.
func Node(id int64) uint16 {
	return uint16(id >> nodeShift & MaxNode)
}

// Sequence returns the position of id among the ids its generator made in
// the same millisecond.
func Sequence(id int64) int {
	return int(id & seqMask)
}
