package gossip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/sharding/control"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

var _ MapStore = (*control.Store)(nil)

// testKey is the cluster key of test clusters.
var testKey = []byte("0123456789abcdef0123456789abcdef")

// testMap is a small valid map at epoch.
func testMap(epoch uint64) *shardmap.Map {
	return &shardmap.Map{
		Epoch: epoch,
		Shards: []shardmap.Shard{
			{ID: "shard-0", Address: "127.0.0.1:3306", State: shardmap.Serving, Weight: 1},
		},
		Global: shardmap.Keyspace{Address: "127.0.0.1:3307"},
	}
}

// next is m at the following epoch.
func next(m *shardmap.Map) *shardmap.Map {
	n := m.Clone()
	n.Epoch++
	return n
}

// memStore is an in-memory MapStore with control.Store's semantics. fail,
// when set, makes every call fail.
type memStore struct {
	mu   sync.Mutex
	m    *shardmap.Map
	fail error
}

func (s *memStore) Load(context.Context) (*shardmap.Map, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return nil, s.fail
	}
	if s.m == nil {
		return nil, control.ErrNoShardMap
	}
	return s.m.Clone(), nil
}

func (s *memStore) CompareAndSwap(_ context.Context, expect uint64, next *shardmap.Map) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	if s.m.Epoch != expect {
		return &control.EpochConflictError{Expected: expect, Current: s.m.Epoch}
	}
	if err := shardmap.ValidateSuccessor(s.m, next); err != nil {
		return err
	}
	s.m = next.Clone()
	return nil
}

// syncBuffer collects log output from many goroutines; it outlives the
// test, so late lines from stopping nodes are harmless.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testLogger logs Info and above into a buffer that is printed if the test
// fails.
func testLogger(t testing.TB) *slog.Logger {
	buf := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("node logs:\n%s", buf.String())
		}
	})
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	waitForEvery(t, timeout, 5*time.Millisecond, what, cond)
}

// waitForEvery is waitFor polling every interval.
func waitForEvery(t testing.TB, timeout, interval time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(interval) // polling interval, not synchronisation
	}
}

// percentile is the nearest-rank percentile p (0..100) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[max(rank, 1)-1]
}

// applyLog records when each node started serving each epoch.
type applyLog struct {
	mu sync.Mutex
	at map[string]map[uint64]time.Time
}

func newApplyLog() *applyLog { return &applyLog{at: map[string]map[uint64]time.Time{}} }

func (l *applyLog) record(node string, epoch uint64, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.at[node] == nil {
		l.at[node] = map[uint64]time.Time{}
	}
	l.at[node][epoch] = at
}

// when returns when node applied epoch.
func (l *applyLog) when(node string, epoch uint64) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	at, ok := l.at[node][epoch]
	return at, ok
}

// convergence measures trials: how long after committed each of nodes
// (the committer aside) applied epoch, the time until all had, and the
// time from calling Commit until the committer saw every alive member
// announce the epoch.
type convergence struct {
	perNode  []time.Duration
	all      []time.Duration
	announce []time.Duration
}

func (c *convergence) add(l *applyLog, nodes []string, committer string, epoch uint64, committed time.Time) error {
	var worst time.Duration
	for _, n := range nodes {
		if n == committer {
			continue
		}
		at, ok := l.when(n, epoch)
		if !ok {
			return fmt.Errorf("node %s never applied epoch %d", n, epoch)
		}
		d := max(at.Sub(committed), 0)
		c.perNode = append(c.perNode, d)
		worst = max(worst, d)
	}
	c.all = append(c.all, worst)
	return nil
}

func (c *convergence) report(t testing.TB, name string) (p50, p99 time.Duration) {
	p50, p99 = percentile(c.all, 50), percentile(c.all, 99)
	t.Logf("%s: all nodes serve the new epoch after p50 %v, p99 %v (max %v) over %d trials; per node p50 %v, p99 %v",
		name, p50.Round(time.Microsecond), p99.Round(time.Microsecond), slices.Max(c.all).Round(time.Microsecond),
		len(c.all), percentile(c.perNode, 50).Round(time.Microsecond), percentile(c.perNode, 99).Round(time.Microsecond))
	if len(c.announce) > 0 {
		t.Logf("%s: commit → all members announce: p50 %v, p99 %v (max %v)", name,
			percentile(c.announce, 50).Round(time.Microsecond), percentile(c.announce, 99).Round(time.Microsecond),
			slices.Max(c.announce).Round(time.Microsecond))
	}
	return p50, p99
}

var errStoreDown = errors.New("store down (test)")
