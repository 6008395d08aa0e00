package changes

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/replication/stream"
)

func TestResumesFromItsCursorAfterADisconnect(t *testing.T) {
	core := newFakeCore("core-a:7000")
	rec := &recorder{}
	s := newSubscriber(t, core, rec, nil)
	sub := core.next(t)
	if len(sub.from) != 0 {
		t.Fatalf("the first subscription resumes from %v, want nothing (the oldest retained)", sub.from)
	}
	sub.send(t, change("shard-0", 1), change("shard-0", 2), change("shard-0", 3))
	eventually(t, "shard-0.3 to be applied", func() bool { return s.Applied("shard-0") == 3 })

	sub.cut() // the connection breaks; changes 4 and 5 commit meanwhile
	again := core.next(t)
	if want := (stream.Cursors{"shard-0": 3}); !equalCursors(again.from, want) {
		t.Fatalf("the new subscription resumes from %v, want %v", again.from, want)
	}
	again.send(t, change("shard-0", 3), change("shard-0", 4), change("shard-0", 5)) // at least once: 3 again
	eventually(t, "shard-0.5 to be applied", func() bool { return s.Applied("shard-0") == 5 })
	want := []string{"apply shard-0.1 k:1", "apply shard-0.2 k:2", "apply shard-0.3 k:3", "apply shard-0.4 k:4", "apply shard-0.5 k:5"}
	if got := rec.got(); !slices.Equal(got, want) {
		t.Fatalf("applied %q, want %q: no gap, no repeat", got, want)
	}
	if st := s.Stats(); st.Reconnects != 1 || st.Duplicates != 1 || st.Subscriptions != 1 {
		t.Fatalf("stats %+v, want 1 reconnect, 1 duplicate, 1 subscription", st)
	}
}

// A node that gains a keyspace ends its subscriptions cleanly; the edge
// subscribes again at once, with its cursors, whatever the backoff.
func TestSubscribesAgainAtOnceWhenTheNodeAsks(t *testing.T) {
	core := newFakeCore("core-a:7000")
	s := newSubscriber(t, core, &recorder{}, func(c *Config) { c.MinBackoff, c.MaxBackoff = time.Hour, time.Hour })
	sub := core.next(t)
	sub.send(t, change("global", 3))
	eventually(t, "global.3", func() bool { return s.Applied("global") == 3 })
	sub.w.Close() // a clean end
	if again := core.next(t); again.from["global"] != 3 {
		t.Fatalf("resubscribed from %v", again.from)
	}
}

func TestOneSubscriptionPerAliveNode(t *testing.T) {
	core := newFakeCore("core-a:7000", "core-b:7000")
	rec := &recorder{}
	s := newSubscriber(t, core, rec, nil)
	subs := map[string]*fakeSub{}
	for range 2 {
		sub := core.next(t)
		subs[sub.addr] = sub
	}
	a, b := subs["core-a:7000"], subs["core-b:7000"]
	if a == nil || b == nil {
		t.Fatalf("subscriptions %v, want one per node", subs)
	}
	a.send(t, head("global", 0, 1), change("global", 1))
	b.send(t, change("shard-0", 1), change("shard-0", 2))
	eventually(t, "both nodes' changes", func() bool { return s.Applied("global") == 1 && s.Applied("shard-0") == 2 })

	// Node B dies; its lease of shard-0 moves to A, which streams it from
	// the cursor A was given when the subscription opened (none).
	core.setNodes("core-a:7000")
	eventually(t, "B's subscription to end", func() bool { return b.ctx.Err() != nil && s.Stats().Subscriptions == 1 })
	a.send(t, head("shard-0", 3, 1), change("shard-0", 1), change("shard-0", 2), change("shard-0", 3))
	eventually(t, "shard-0.3 through A", func() bool { return s.Applied("shard-0") == 3 })
	if st := s.Stats(); st.Duplicates != 2 || st.Applied != 4 {
		t.Fatalf("stats %+v: the hand-over's repeats must be skipped", st)
	}

	// A new node gets a subscription with the current cursors.
	core.setNodes("core-a:7000", "core-c:7000")
	c := core.next(t)
	if st := s.Stats(); st.Reconnects != 0 {
		t.Fatalf("a new node's first subscription counted as a reconnect: %+v", st)
	}
	if want := (stream.Cursors{"global": 1, "shard-0": 3}); c.addr != "core-c:7000" || !equalCursors(c.from, want) {
		t.Fatalf("subscription to %s from %v, want core-c from %v", c.addr, c.from, want)
	}
	if a.ctx.Err() != nil {
		t.Fatal("the subscription to A ended though A is alive")
	}
	// B comes back: subscribing to it again is a reconnect.
	core.setNodes("core-a:7000", "core-b:7000", "core-c:7000")
	if b2 := core.next(t); b2.addr != "core-b:7000" || s.Stats().Reconnects != 1 {
		t.Fatalf("subscription to %s, stats %+v", b2.addr, s.Stats())
	}
}

func TestBacksOffWhileANodeRefuses(t *testing.T) {
	core := newFakeCore("core-a:7000")
	core.refuse["core-a:7000"] = errors.New("connection refused")
	s := newSubscriber(t, core, &recorder{}, nil)
	eventually(t, "a few attempts", func() bool { return s.Stats().Reconnects >= 3 })
	core.mu.Lock()
	delete(core.refuse, "core-a:7000")
	core.mu.Unlock()
	sub := core.next(t)
	sub.send(t, change("global", 7))
	eventually(t, "the change", func() bool { return s.Applied("global") == 7 })
}

func TestJitter(t *testing.T) {
	for _, d := range []time.Duration{0, 1, 100 * time.Millisecond, 5 * time.Second} {
		for range 100 {
			if j := jitter(d); j < d/2 || j > d {
				t.Fatalf("jitter(%v) = %v, want within [%v, %v]", d, j, d/2, d)
			}
		}
	}
}

func TestAcknowledgements(t *testing.T) {
	core := newFakeCore()
	s := bare(t, &recorder{})
	s.cfg.Core = core
	ctx := context.Background()
	s.ack(ctx)
	if len(core.acked()) != 0 {
		t.Fatal("acknowledged without a cursor")
	}
	s.consume(ctx, strings.NewReader(ndjson(t, change("shard-0", 4), change("global", 9))))
	s.ack(ctx)
	s.ack(ctx) // nothing moved
	want := stream.Ack{Region: "eu", Edge: "edge-1", Cursors: stream.Cursors{"shard-0": 4, "global": 9}}
	if got := core.acked(); len(got) != 1 || got[0].Region != want.Region || got[0].Edge != want.Edge || !equalCursors(got[0].Cursors, want.Cursors) {
		t.Fatalf("acks %+v, want one: %+v", got, want)
	}
	core.mu.Lock()
	core.ackErr = errors.New("no usable core node")
	core.mu.Unlock()
	s.consume(ctx, strings.NewReader(ndjson(t, change("shard-0", 5))))
	s.ack(ctx)
	core.mu.Lock()
	core.ackErr = nil
	core.mu.Unlock()
	s.ack(ctx) // the failed one again
	if got := core.acked(); len(got) != 2 || got[1].Cursors["shard-0"] != 5 || s.Stats().AckErrors != 1 || s.Stats().Acks != 2 {
		t.Fatalf("acks %+v, stats %+v", got, s.Stats())
	}
}

func TestAcknowledgesPeriodicallyAndOnClose(t *testing.T) {
	core := newFakeCore("core-a:7000")
	s := newSubscriber(t, core, &recorder{}, nil)
	sub := core.next(t)
	sub.send(t, change("shard-1", 1))
	eventually(t, "an acknowledgement", func() bool {
		acks := core.acked()
		return len(acks) > 0 && acks[len(acks)-1].Cursors["shard-1"] == 1
	})

	slow := newFakeCore("core-a:7000")
	s = newSubscriber(t, slow, &recorder{}, func(c *Config) { c.AckInterval = time.Hour })
	sub = slow.next(t)
	sub.send(t, change("shard-1", 2))
	eventually(t, "the change", func() bool { return s.Applied("shard-1") == 2 })
	s.Close()
	if acks := slow.acked(); len(acks) != 1 || acks[0].Cursors["shard-1"] != 2 {
		t.Fatalf("acks after Close: %+v, want the last cursors", acks)
	}
	if sub.ctx.Err() == nil {
		t.Fatal("Close left the subscription open")
	}
}

func TestLifecycle(t *testing.T) {
	rec := &recorder{}
	s := bare(t, rec)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err == nil {
		t.Fatal("started twice")
	}
	if s.Close() != nil || s.Close() != nil {
		t.Fatal("Close is not idempotent")
	}
	if err := s.Start(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Start after Close: %v", err)
	}
	if bare(t, rec).Close() != nil {
		t.Fatal("closing an unstarted subscriber")
	}
}

func TestConfig(t *testing.T) {
	ok := func(c *Config) {}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		ok   bool
	}{
		{"complete", ok, true},
		{"no region", func(c *Config) { c.Region = "" }, false},
		{"no edge", func(c *Config) { c.Edge = "" }, false},
		{"no core", func(c *Config) { c.Core = nil }, false},
		{"no apply", func(c *Config) { c.Apply = nil }, false},
		{"no reset", func(c *Config) { c.Reset = nil }, false},
		{"negative", func(c *Config) { c.AckInterval = -1 }, false},
		{"max below min", func(c *Config) { c.MinBackoff, c.MaxBackoff = time.Second, time.Millisecond }, false},
		{"zero values default", func(c *Config) {
			*c = Config{Region: c.Region, Edge: c.Edge, Core: c.Core, Apply: c.Apply, Reset: c.Reset}
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			cfg := Config{Region: "eu", Edge: "edge-1", Core: newFakeCore(), Apply: rec.apply, Reset: rec.reset}
			tc.edit(&cfg)
			s, err := New(cfg)
			if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrConfig)) {
				t.Fatalf("New: %v, want ok %v", err, tc.ok)
			}
			if s != nil && (s.cfg.AckInterval != DefaultAckInterval || s.cfg.MaxBackoff != DefaultMaxBackoff || s.cfg.Logger == nil) {
				t.Fatalf("defaults not filled: %+v", s.cfg)
			}
		})
	}
}
