package ryw

import (
	"time"

	"github.com/maypok86/otter/v2"
)

// Memory remembers, per user, the newest tokens of their writes through
// this edge, so a client that drops the cookie still reads its writes here.
// It is bounded and forgets a user's tokens after TTL (by then the caches
// have long caught up). Safe for concurrent use.
type Memory struct {
	c   *otter.Cache[int64, Set]
	ttl time.Duration
}

// DefaultTTL is how long tokens are remembered (and the cookie's Max-Age).
const DefaultTTL = 10 * time.Minute

// NewMemory remembers up to maxUsers users for ttl (0: DefaultTTL).
func NewMemory(maxUsers int, ttl time.Duration) (*Memory, error) {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	c, err := otter.New(&otter.Options[int64, Set]{
		MaximumSize:      maxUsers,
		ExpiryCalculator: otter.ExpiryWriting[int64, Set](ttl),
	})
	if err != nil {
		return nil, err
	}
	return &Memory{c: c, ttl: ttl}, nil
}

// TTL is how long tokens are remembered.
func (m *Memory) TTL() time.Duration { return m.ttl }

// Get returns the user's remembered tokens.
func (m *Memory) Get(user int64) Set {
	s, _ := m.c.GetIfPresent(user)
	return s
}

// Add merges tokens into the user's set and returns the result.
func (m *Memory) Add(user int64, s Set) Set {
	merged, _ := m.c.Compute(user, func(old Set, found bool) (Set, otter.ComputeOp) {
		old.Merge(s)
		return old, otter.WriteOp
	})
	return merged
}
