package changes

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/replication/stream"
)

var quiet = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))

// recorder is Apply and Reset, recording what they were asked, in order.
type recorder struct {
	mu      sync.Mutex
	log     []string // "apply ks.seq keys…" or "reset ks"
	failing error    // returned (once) by the next Apply or Reset
}

func (r *recorder) apply(_ context.Context, ks string, seq uint64, keys []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.failing; err != nil {
		r.failing = nil
		return err
	}
	r.log = append(r.log, "apply "+ks+"."+strconv.FormatUint(seq, 10)+" "+strings.Join(keys, " "))
	return nil
}

func (r *recorder) reset(_ context.Context, ks string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.failing; err != nil {
		r.failing = nil
		return err
	}
	r.log = append(r.log, "reset "+ks)
	return nil
}

func (r *recorder) failNext(err error) {
	r.mu.Lock()
	r.failing = err
	r.mu.Unlock()
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.log)
}

// fakeCore is a Core whose subscriptions the test writes to.
type fakeCore struct {
	mu     sync.Mutex
	nodes  []string
	subs   []*fakeSub
	acks   []stream.Ack
	ackErr error
	refuse map[string]error // Subscribe's error per node
	opened chan *fakeSub    // every subscription, as it opens
}

func newFakeCore(nodes ...string) *fakeCore {
	return &fakeCore{nodes: nodes, refuse: map[string]error{}, opened: make(chan *fakeSub, 1024)}
}

// fakeSub is one subscription: the test writes its frames.
type fakeSub struct {
	addr string
	from stream.Cursors
	ctx  context.Context
	w    *io.PipeWriter
}

// send writes frames as NDJSON lines.
func (s *fakeSub) send(t *testing.T, frames ...stream.Frame) {
	t.Helper()
	var b []byte
	for i := range frames {
		var err error
		if b, err = stream.AppendFrame(b, &frames[i]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.w.Write(b); err != nil {
		t.Fatalf("writing to the subscription of %s: %v", s.addr, err)
	}
}

// cut ends the subscription the way a broken connection does.
func (s *fakeSub) cut() { s.w.CloseWithError(errors.New("connection reset")) }

func (c *fakeCore) setNodes(nodes ...string) {
	c.mu.Lock()
	c.nodes = nodes
	c.mu.Unlock()
}

func (c *fakeCore) Nodes() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.nodes)
}

func (c *fakeCore) Subscribe(ctx context.Context, addr string, sub Subscription) (io.ReadCloser, error) {
	c.mu.Lock()
	err := c.refuse[addr]
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	s := &fakeSub{addr: addr, from: sub.From, ctx: ctx, w: pw}
	context.AfterFunc(ctx, func() { pw.CloseWithError(ctx.Err()) })
	c.mu.Lock()
	c.subs = append(c.subs, s)
	c.mu.Unlock()
	c.opened <- s
	return pr, nil
}

func (c *fakeCore) Ack(_ context.Context, a stream.Ack) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ackErr != nil {
		return c.ackErr
	}
	c.acks = append(c.acks, stream.Ack{Region: a.Region, Edge: a.Edge, Cursors: maps.Clone(a.Cursors)})
	return nil
}

func (c *fakeCore) acked() []stream.Ack {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.acks)
}

// next waits for the next subscription to open.
func (c *fakeCore) next(t *testing.T) *fakeSub {
	t.Helper()
	select {
	case s := <-c.opened:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no subscription opened")
		return nil
	}
}

// newSubscriber is a started Subscriber over core with fast test timers,
// closed when the test ends.
func newSubscriber(t *testing.T, core Core, rec *recorder, edit func(*Config)) *Subscriber {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Region, cfg.Edge, cfg.Core, cfg.Logger = "eu", "edge-1", core, quiet
	cfg.Apply, cfg.Reset = rec.apply, rec.reset
	cfg.NodesInterval, cfg.AckInterval = 10*time.Millisecond, 10*time.Millisecond
	cfg.MinBackoff, cfg.MaxBackoff = 5*time.Millisecond, 20*time.Millisecond
	if edit != nil {
		edit(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	return s
}

// bare is an unstarted Subscriber for feeding frames by hand.
func bare(t testing.TB, rec *recorder) *Subscriber {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Region, cfg.Edge, cfg.Core, cfg.Logger = "eu", "edge-1", newFakeCore(), quiet
	cfg.Apply, cfg.Reset = rec.apply, rec.reset
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func change(ks string, seq uint64, keys ...string) stream.Frame {
	if len(keys) == 0 {
		keys = []string{"k:" + strconv.FormatUint(seq, 10)}
	}
	return stream.Frame{Type: stream.TypeChange, Keyspace: ks, Seq: seq, Keys: keys}
}

func head(ks string, seq, oldest uint64) stream.Frame {
	return stream.Frame{Type: stream.TypeHead, Keyspace: ks, Seq: seq, Oldest: oldest}
}

func reset(ks string, oldest uint64) stream.Frame {
	return stream.Frame{Type: stream.TypeReset, Keyspace: ks, Oldest: oldest}
}

// ndjson encodes frames as a stream.
func ndjson(t testing.TB, frames ...stream.Frame) string {
	t.Helper()
	var b []byte
	for i := range frames {
		var err error
		if b, err = stream.AppendFrame(b, &frames[i]); err != nil {
			t.Fatal(err)
		}
	}
	return string(b)
}

// eventually polls cond until it holds, for at most 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
