package relay_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pingcap/tidb/pkg/parser"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cangqiong/cangqiong/core/certs"
	"github.com/cangqiong/cangqiong/core/tunnel"
	"github.com/cangqiong/cangqiong/replication/relay"
	"github.com/cangqiong/cangqiong/replication/stream"
	"github.com/cangqiong/cangqiong/sharding/control"
	"github.com/cangqiong/cangqiong/sharding/exec"
	"github.com/cangqiong/cangqiong/sharding/shardtest"
)

func TestStatementsParseWithTiDB(t *testing.T) {
	for _, q := range relay.Statements() {
		if _, err := parser.New().ParseOneStmt(q, "", ""); err != nil {
			t.Errorf("TiDB's parser rejects %q: %v", q, err)
		}
	}
}

func TestStatementsRunOnMariaDB(t *testing.T) {
	data := shardtest.Start(t, shardtest.Options{Shards: 1})
	ctx := context.Background()
	for i, q := range relay.Statements() {
		db := data.Direct(t, "shard-0")
		if strings.Contains(q, "cq_global_") {
			db = data.Direct(t, exec.GlobalTarget)
		}
		args := []any{uint64(0), 10}[:strings.Count(q, "?")]
		if strings.HasPrefix(q, "SELECT seq, created_at") {
			args = []any{10}
		}
		rows, err := db.QueryContext(ctx, q, args...)
		if err != nil {
			t.Errorf("statement %d %q: %v", i, q, err)
			continue
		}
		rows.Close()
	}
}

var edgeEU = certs.Peer{Kind: certs.Edge, Region: "eu", ID: "edge-1"}

// TestStreamDeliversEveryKeyspaceInOrder: changes written on two shards and
// the global keyspace, concurrently, reach a subscriber in order per
// keyspace with their keys; a subscriber with cursors gets only what
// follows them, then heads when idle.
func TestStreamDeliversEveryKeyspaceInOrder(t *testing.T) {
	p := newPKI(t)
	data := shardtest.Start(t, shardtest.Options{Shards: 2})
	n := startNode(t, p, data, "core-0", nil, nil, nil)
	eventually(t, 10*time.Second, "the node to relay every keyspace", func() bool {
		return slices.Equal(n.relay.Owned(), []string{"global", "shard-0", "shard-1"})
	})
	e := newEdge(t, p.client(edgeEU), "eu", "edge-1")
	e.follow(n.addr)

	const perKeyspace = 40
	users := map[string]int64{"shard-0": data.UserOn("shard-0", 1), "shard-1": data.UserOn("shard-1", 1), "global": 0}
	var wg sync.WaitGroup
	for ks, u := range users {
		wg.Go(func() {
			for i := range perKeyspace {
				if v := write(t, data.Exec, u, fmt.Sprintf("k:%s:%d", ks, i)); v.Shard != ks || v.Seq != uint64(i+1) {
					t.Errorf("wrote %v, want %s.%d", v, ks, i+1)
				}
			}
		})
	}
	wg.Wait()
	for ks := range users {
		e.waitFor(ks, perKeyspace, 10*time.Second)
	}
	frames := e.received()
	for ks := range users {
		checkOrderAndCoverage(t, frames, ks, 1, perKeyspace)
		for _, f := range frames {
			if f.Type == stream.TypeChange && f.Keyspace == ks && (len(f.Keys) != 1 || f.Keys[0] != fmt.Sprintf("k:%s:%d", ks, f.Seq-1)) {
				t.Fatalf("%s.%d has keys %v", ks, f.Seq, f.Keys)
			}
		}
	}

	// A subscriber with cursors gets only the changes after them.
	late := newEdge(t, p.client(edgeEU), "eu", "edge-1")
	late.cursors = stream.Cursors{"shard-0": 30, "shard-1": perKeyspace, "global": 0}
	late.follow(n.addr)
	late.waitFor("shard-0", perKeyspace, 10*time.Second)
	late.waitFor("global", perKeyspace, 10*time.Second)
	eventually(t, 10*time.Second, "heads for every keyspace", func() bool {
		heads := map[string]bool{}
		for _, f := range late.received() {
			if f.Type == stream.TypeHead && f.Seq == perKeyspace {
				heads[f.Keyspace] = true
			}
		}
		return len(heads) == 3
	})
	counts := map[string]int{}
	for _, f := range late.received() {
		if f.Type == stream.TypeChange {
			counts[f.Keyspace]++
			if f.Keyspace == "shard-0" && f.Seq <= 30 {
				t.Fatalf("got shard-0.%d after cursor 30", f.Seq)
			}
		}
		if f.Type == stream.TypeReset {
			t.Fatalf("unexpected %+v", f.Frame)
		}
	}
	if counts["shard-0"] != perKeyspace-30 || counts["shard-1"] != 0 || counts["global"] != perKeyspace {
		t.Fatalf("changes per keyspace %v", counts)
	}
}

// ageRows makes the changes of ks up to seq look written two hours ago.
func ageRows(t testing.TB, data *shardtest.Cluster, ks string, upto uint64) {
	t.Helper()
	table := "cq_changes"
	if ks == exec.GlobalTarget {
		table = "cq_global_changes"
	}
	if _, err := data.Direct(t, ks).Exec("UPDATE "+table+" SET created_at = ? WHERE seq <= ?", time.Now().UTC().Add(-2*time.Hour), upto); err != nil {
		t.Fatal(err)
	}
}

func countRows(t testing.TB, data *shardtest.Cluster, ks string) (n int, minSeq uint64) {
	t.Helper()
	table := "cq_changes"
	if ks == exec.GlobalTarget {
		table = "cq_global_changes"
	}
	if err := data.Direct(t, ks).QueryRow("SELECT COUNT(*), COALESCE(MIN(seq), 0) FROM "+table).Scan(&n, &minSeq); err != nil {
		t.Fatal(err)
	}
	return n, minSeq
}

// subscribeFrames subscribes once with from and returns the frames that
// arrive until one satisfies done.
func subscribeFrames(t *testing.T, c *http.Client, addr, from string, done func(stream.Frame) bool) []stream.Frame {
	t.Helper()
	e := newEdge(t, c, "eu", "edge-1")
	var err error
	if e.cursors, err = stream.ParseCursors(from); err != nil {
		t.Fatal(err)
	}
	e.follow(addr)
	var out []stream.Frame
	eventually(t, 10*time.Second, "the frames", func() bool {
		out = out[:0]
		for _, f := range e.received() {
			out = append(out, f.Frame)
			if done(f.Frame) {
				return true
			}
		}
		return false
	})
	e.stop()
	return out
}

func frameList(fs []stream.Frame) string {
	var parts []string
	for _, f := range fs {
		switch f.Type {
		case stream.TypeChange:
			parts = append(parts, fmt.Sprintf("change %d", f.Seq))
		case stream.TypeReset:
			parts = append(parts, fmt.Sprintf("reset %d", f.Oldest))
		case stream.TypeHead:
			parts = append(parts, fmt.Sprintf("head %d/%d", f.Seq, f.Oldest))
		}
	}
	return strings.Join(parts, ", ")
}

// TestRetentionAndReset: rows past Retention are deleted (a prefix) even
// though nobody acknowledged them; a subscriber whose cursor predates the
// oldest retained change gets a reset, one without a cursor does not.
func TestRetentionAndReset(t *testing.T) {
	p := newPKI(t)
	data := shardtest.Start(t, shardtest.Options{Shards: 2})
	u0, u1 := data.UserOn("shard-0", 1), data.UserOn("shard-1", 1)
	for range 6 {
		write(t, data.Exec, u0)
		write(t, data.Exec, u1)
	}
	ageRows(t, data, "shard-0", 3)
	ageRows(t, data, "shard-1", 6)
	// Started after the writes, the relay holds none of them in memory:
	// subscribers read them from the outbox.
	n := startNode(t, p, data, "core-0", nil, func(c *relay.Config) {
		c.Retention, c.PruneInterval = time.Hour, time.Hour
	}, nil)
	eventually(t, 10*time.Second, "the node to relay", func() bool { return len(n.relay.Owned()) == 3 })
	n.relay.PruneNow(context.Background())
	if c, first := countRows(t, data, "shard-0"); c != 3 || first != 4 {
		t.Fatalf("shard-0 keeps %d rows from %d, want 3 from 4", c, first)
	}
	if c, _ := countRows(t, data, "shard-1"); c != 0 {
		t.Fatalf("shard-1 keeps %d rows", c)
	}
	cl := p.client(edgeEU)
	tests := []struct {
		ks, from string
		want     string
	}{
		{"shard-0", "shard-0.1", "reset 4, change 4, change 5, change 6, head 6/4"},
		{"shard-0", "shard-0.3", "change 4, change 5, change 6, head 6/4"},
		{"shard-0", "shard-0.5", "change 6, head 6/4"},
		{"shard-0", "", "change 4, change 5, change 6, head 6/4"},
		{"shard-1", "shard-1.2", "reset 7, head 6/7"},
		{"shard-1", "shard-1.6", "head 6/7"},
		{"shard-1", "", "head 6/7"},
		{"shard-1", "shard-1.9", "reset 7, head 6/7"}, // an edge ahead of the outbox starts over
	}
	for _, tc := range tests {
		t.Run(tc.ks+" from "+tc.from, func(t *testing.T) {
			frames := subscribeFrames(t, cl, n.addr, tc.from, func(f stream.Frame) bool { return f.Type == stream.TypeHead && f.Keyspace == tc.ks })
			var mine []stream.Frame
			for _, f := range frames {
				if f.Keyspace == tc.ks {
					mine = append(mine, f)
				}
			}
			if got := frameList(mine); got != tc.want {
				t.Fatalf("got %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestAcksGatePruning: with two regions registered, rows go only once
// both acknowledged them; a disabled region does not hold pruning back.
func TestAcksGatePruning(t *testing.T) {
	p := newPKI(t)
	data := shardtest.Start(t, shardtest.Options{Shards: 1})
	regions := control.NewRegionStore(data.Direct(t, exec.GlobalTarget))
	ctx := context.Background()
	for _, r := range []control.Region{
		{Name: "eu", Location: "Frankfurt", State: control.RegionActive},
		{Name: "us", Location: "Virginia", State: control.RegionDraining},
		{Name: "ap", Location: "Tokyo", State: control.RegionDisabled},
	} {
		if _, err := regions.Put(ctx, r, 0); err != nil {
			t.Fatal(err)
		}
	}
	var keepFrom atomic.Uint64 // what a resharding catch-up still reads; 0: nothing
	n := startNode(t, p, data, "core-0", nil, func(c *relay.Config) {
		c.PruneInterval, c.Retention = time.Hour, time.Hour
		c.Keep = func(_ context.Context, ks string) (uint64, bool, error) {
			return keepFrom.Load(), ks == "shard-0" && keepFrom.Load() > 0, nil
		}
	}, nil)
	eventually(t, 10*time.Second, "the node to relay", func() bool { return len(n.relay.Owned()) == 2 })
	u := data.UserOn("shard-0", 1)
	for range 10 {
		write(t, data.Exec, u)
	}
	watcher := newEdge(t, p.client(edgeEU), "eu", "edge-1")
	watcher.follow(n.addr)
	watcher.waitFor("shard-0", 10, 10*time.Second) // the relay has read them all

	ack := func(region, edge string, seq uint64) {
		t.Helper()
		c := p.client(certs.Peer{Kind: certs.Edge, Region: region, ID: edge})
		status, body := post(t, c, "https://"+n.addr+stream.PathAck, stream.Ack{Region: region, Edge: edge, Cursors: stream.Cursors{"shard-0": seq, "shard-9": 3}})
		if status != http.StatusNoContent {
			t.Fatalf("ack: %d %s", status, body)
		}
	}
	rowsLeft := func() int {
		n.relay.PruneNow(ctx)
		c, _ := countRows(t, data, "shard-0")
		return c
	}
	ack("eu", "edge-1", 6)
	if c := rowsLeft(); c != 10 {
		t.Fatalf("%d rows left after one region acknowledged; want all 10", c)
	}
	ack("us", "edge-9", 4)
	if c := rowsLeft(); c != 6 {
		t.Fatalf("%d rows left after both acknowledged 4+; want 6", c)
	}
	ack("us", "edge-9", 10)
	if c := rowsLeft(); c != 4 {
		t.Fatalf("%d rows left after both acknowledged 6+; want 4", c)
	}
	// A second edge of eu, behind the first, holds its region back.
	ack("eu", "edge-2", 7)
	ack("eu", "edge-1", 10)
	if c := rowsLeft(); c != 3 {
		t.Fatalf("%d rows left; want 3 (eu's slower edge acknowledged 7)", c)
	}
	// Another reader of the outbox keeps what it still needs.
	keepFrom.Store(9)
	ack("eu", "edge-2", 10)
	if c := rowsLeft(); c != 2 {
		t.Fatalf("%d rows left; want 2 (9 and 10 are still read)", c)
	}
	// Retention deletes what nobody acknowledged, or still reads.
	ageRows(t, data, "shard-0", 10)
	if c := rowsLeft(); c != 0 {
		t.Fatalf("%d rows left past retention", c)
	}
}

// TestRefusals: only edges, speaking for themselves, with well-formed
// requests.
func TestRefusals(t *testing.T) {
	p := newPKI(t)
	data := shardtest.Start(t, shardtest.Options{Shards: 1})
	n := startNode(t, p, data, "core-0", nil, nil, nil)
	base := "https://" + n.addr
	edge := p.client(edgeEU)
	core := p.client(certs.Peer{Kind: certs.Core, Region: "eu", ID: "core-7"})
	admin := p.client(certs.Peer{Kind: certs.Admin, Region: "eu", ID: "ops"})
	sub := stream.PathSubscribe + "?region=eu&edge=edge-1"
	ackBody := `{"region":"eu","edge":"edge-1","cursors":{"shard-0":1}}`
	tests := []struct {
		name     string
		client   *http.Client
		method   string
		path     string
		body     string
		status   int
		wantCode string
	}{
		{"a core node may not subscribe", core, "GET", sub, "", 403, relay.CodeEdgeOnly},
		{"an admin may not subscribe", admin, "GET", sub, "", 403, relay.CodeEdgeOnly},
		{"a core node may not acknowledge", core, "POST", stream.PathAck, ackBody, 403, relay.CodeEdgeOnly},
		{"another edge's name", edge, "GET", stream.PathSubscribe + "?region=eu&edge=edge-2", "", 403, relay.CodeNotThisEdge},
		{"another region's name", edge, "GET", stream.PathSubscribe + "?region=us&edge=edge-1", "", 403, relay.CodeNotThisEdge},
		{"no region", edge, "GET", stream.PathSubscribe + "?edge=edge-1", "", 400, relay.CodeBadQuery},
		{"bad cursor", edge, "GET", sub + "&from=shard-0.x", "", 400, relay.CodeBadQuery},
		{"bad keyspace in a cursor", edge, "GET", sub + "&from=Shard.1", "", 400, relay.CodeBadQuery},
		{"unknown parameter", edge, "GET", sub + "&since=4", "", 400, relay.CodeBadQuery},
		{"POST to subscribe", edge, "POST", sub, "", 405, "method_not_allowed"},
		{"GET to acknowledge", edge, "GET", stream.PathAck, "", 405, "method_not_allowed"},
		{"acknowledging for another edge", edge, "POST", stream.PathAck, `{"region":"eu","edge":"edge-2","cursors":{}}`, 403, relay.CodeNotThisEdge},
		{"malformed acknowledgement", edge, "POST", stream.PathAck, `{"region":"eu",`, 400, "malformed_json"},
		{"unknown field", edge, "POST", stream.PathAck, `{"region":"eu","edge":"edge-1","cursors":{},"x":1}`, 400, "unknown_field"},
		{"bad keyspace acknowledged", edge, "POST", stream.PathAck, `{"region":"eu","edge":"edge-1","cursors":{"Shard 0":1}}`, 400, relay.CodeBadAck},
		{"negative sequence", edge, "POST", stream.PathAck, `{"region":"eu","edge":"edge-1","cursors":{"shard-0":-1}}`, 400, "wrong_type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, base+tc.path, strings.NewReader(tc.body))
			resp, err := tc.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || !strings.Contains(string(body), `"code":"`+tc.wantCode+`"`) {
				t.Fatalf("%d %s, want %d %s", resp.StatusCode, body, tc.status, tc.wantCode)
			}
		})
	}
}

// TestStreamOutlivesTheRequestTimeout: heads keep coming for many request
// timeouts of the tunnel.
func TestStreamOutlivesTheRequestTimeout(t *testing.T) {
	const timeout = 150 * time.Millisecond
	p := newPKI(t)
	data := shardtest.Start(t, shardtest.Options{Shards: 1})
	n := startNode(t, p, data, "core-0", nil, func(c *relay.Config) { c.Heartbeat = 50 * time.Millisecond },
		func(c *tunnel.Config) { c.RequestTimeout = timeout })
	eventually(t, 10*time.Second, "the node to relay", func() bool { return len(n.relay.Owned()) == 2 })
	e := newEdge(t, p.client(edgeEU), "eu", "edge-1")
	e.follow(n.addr)
	began := time.Now()
	eventually(t, 10*time.Second, "heads after ten request timeouts", func() bool {
		for _, f := range e.received() {
			if f.at.Sub(began) > 10*timeout && f.conn == 1 {
				return true
			}
		}
		return false
	})
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.conns != 1 || e.disconnections != 0 {
		t.Fatalf("%d connections, %d ended: the stream was cut", e.conns, e.disconnections)
	}
}

// TestCrashedOwnerIsTakenOver: two relays share the keyspaces; one dies
// without releasing its leases while changes keep coming; the other takes
// its keyspaces over within LeaseTTL + LeaseGrace + a round, and an edge
// that follows both gets every change.
func TestCrashedOwnerIsTakenOver(t *testing.T) {
	p := newPKI(t)
	data := shardtest.Start(t, shardtest.Options{Shards: 3})
	members := func() []string { return []string{"core-a", "core-b"} } // gossip still lists the dead node: the grace path
	fast := func(c *relay.Config) { c.LeaseTTL, c.LeaseGrace = 900*time.Millisecond, 300*time.Millisecond }
	a := startNode(t, p, data, "core-a", members, fast, nil)
	b := startNode(t, p, data, "core-b", members, fast, nil)
	all := []string{"global", "shard-0", "shard-1", "shard-2"}
	eventually(t, 20*time.Second, "the keyspaces to spread", func() bool {
		oa, ob := a.relay.Owned(), b.relay.Owned()
		return len(oa) == 2 && len(ob) == 2 && slices.Equal(slices.Sorted(slices.Values(append(oa, ob...))), all)
	})
	e := newEdge(t, p.client(edgeEU), "eu", "edge-1")
	e.follow(a.addr)
	e.follow(b.addr)

	users := map[string]int64{"global": 0}
	for _, ks := range all[1:] {
		users[ks] = data.UserOn(ks, 1)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	last := map[string]uint64{}
	for ks, u := range users {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				v := write(t, data.Exec, u)
				mu.Lock()
				last[ks] = v.Seq
				mu.Unlock()
			}
		})
	}
	// Never two owners of one keyspace at once.
	overlap := make(chan string, 1)
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		tick := time.NewTicker(2 * time.Millisecond) // sampling, not waiting for anything
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			for _, ks := range a.relay.Owned() {
				if slices.Contains(b.relay.Owned(), ks) {
					select {
					case overlap <- ks:
					default:
					}
				}
			}
		}
	}()
	for _, ks := range all {
		e.waitFor(ks, 20, 10*time.Second)
	}
	victim := a.relay.Owned()
	crashed := time.Now()
	a.relay.Crash()
	eventually(t, 10*time.Second, "the survivor to relay everything", func() bool { return len(b.relay.Owned()) == 4 })
	took := time.Since(crashed)
	t.Logf("keyspaces %v taken over %v after the crash", victim, took)
	if limit := 5 * time.Second; took > limit { // TTL 0.9 s + grace 0.3 s + a round or two of 0.3 s, on a busy machine
		t.Errorf("takeover took %v, want under %v", took, limit)
	}
	for _, ks := range all {
		mu.Lock()
		target := last[ks] + 20
		mu.Unlock()
		e.waitFor(ks, target, 20*time.Second)
	}
	close(stop)
	wg.Wait()
	<-watchDone
	select {
	case ks := <-overlap:
		t.Fatalf("both nodes relayed %s at once", ks)
	default:
	}
	// Every change written reaches the edge; frames and cursors are read
	// together (more frames may still be in flight).
	for _, ks := range all {
		e.waitFor(ks, last[ks], 20*time.Second)
	}
	frames, cursors := e.snapshot()
	for _, ks := range all {
		checkOrderAndCoverage(t, frames, ks, 1, cursors[ks])
	}
}

// TestSubscriptionLimitShutdownAndMetrics: past MaxSubscriptions a
// subscription is refused with 503; Shutdown ends the running ones
// cleanly and refuses new ones; the collector reports the relay.
func TestSubscriptionLimitShutdownAndMetrics(t *testing.T) {
	p := newPKI(t)
	data := shardtest.Start(t, shardtest.Options{Shards: 1})
	n := startNode(t, p, data, "core-0", nil, func(c *relay.Config) { c.MaxSubscriptions = 1 }, nil)
	eventually(t, 10*time.Second, "the node to relay", func() bool { return len(n.relay.Owned()) == 2 })
	write(t, data.Exec, data.UserOn("shard-0", 1))
	cl := p.client(edgeEU)
	e := newEdge(t, cl, "eu", "edge-1")
	e.follow(n.addr)
	e.waitFor("shard-0", 1, 10*time.Second)

	get := func() (int, string) {
		resp, err := cl.Get("https://" + n.addr + stream.PathSubscribe + "?region=eu&edge=edge-1")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := get(); status != 503 || !strings.Contains(body, relay.CodeUnavailable) {
		t.Fatalf("a subscription past the limit: %d %s", status, body)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(n.relay.Collector())
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, mf := range families {
		seen[mf.GetName()] = true
		if mf.GetName() == "cangqiong_relay_subscriptions" && mf.GetMetric()[0].GetGauge().GetValue() != 1 {
			t.Errorf("subscriptions %v", mf.GetMetric())
		}
	}
	for _, name := range []string{"cangqiong_relay_head_sequence", "cangqiong_relay_lag_seconds", "cangqiong_relay_subscriptions", "cangqiong_relay_frames_sent_total", "cangqiong_relay_lease_changes_total"} {
		if !seen[name] {
			t.Errorf("no %s in %v", name, seen)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.relay.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	eventually(t, 10*time.Second, "the stream to end", func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.disconnections >= 1
	})
	if status, body := get(); status != 503 || !strings.Contains(body, "shutting down") {
		t.Fatalf("a subscription after Shutdown: %d %s", status, body)
	}
	if len(n.relay.Owned()) != 0 {
		t.Fatalf("still relaying %v", n.relay.Owned())
	}
	if owners := liveLeases(t, data); len(owners) != 0 {
		t.Fatalf("leases still held after Shutdown: %v", owners)
	}
	if err := n.relay.Shutdown(ctx); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
}

// liveLeases reads the live leases of the deployment: keyspace → owner.
func liveLeases(t testing.TB, data *shardtest.Cluster) map[string]string {
	t.Helper()
	rows, err := data.Direct(t, exec.GlobalTarget).Query("SELECT keyspace, owner FROM cq_relay_leases WHERE owner <> '' AND lease_until > UTC_TIMESTAMP(6)")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var ks, owner string
		if err := rows.Scan(&ks, &owner); err != nil {
			t.Fatal(err)
		}
		out[ks] = owner
	}
	return out
}
