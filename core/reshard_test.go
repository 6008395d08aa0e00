package core

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/core/app"
	"github.com/cangqiong/cangqiong/core/identity"
	"github.com/cangqiong/cangqiong/core/tunnel"
	"github.com/cangqiong/cangqiong/internal/testenv"
	"github.com/cangqiong/cangqiong/replication/reshard"
	"github.com/cangqiong/cangqiong/sharding/control"
	"github.com/cangqiong/cangqiong/sharding/dbconn"
	"github.com/cangqiong/cangqiong/sharding/ring"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

// reshardTuning makes workflows quick to resume and clean up in tests.
func reshardTuning(cfg *Config) {
	cfg.Reshard = ReshardConfig{LeaseTTL: 2 * time.Second, PollInterval: 200 * time.Millisecond, Grace: 2 * time.Second, ReadBatch: 100}
}

// TestReshardAddThenRemoveUnderOrders takes a 4-shard cluster to 5 shards
// and back to 4 while customers keep placing orders through every node:
// every acknowledged order is afterwards on its owner's shard exactly
// once, both workflows verify clean, the writes held at each cutover end
// within 500 ms at p99, reads never fail, and once a node serves the new
// map it never answers from the old copies.
func TestReshardAddThenRemoveUnderOrders(t *testing.T) {
	c := startTunedCluster(t, 3, 4, reshardTuning)
	extra := testenv.MariaDB(t, 1)[0]
	w := setUpShop(t, c)
	load := startOrderLoad(t, c, w, 48)

	add := reshard.Request{Kind: reshard.Add, Shard: shardmap.Shard{ID: "shard-4", Address: extra.Addr()}}
	st := c.reshardToEnd(t, 0, add, load)
	t.Logf("add: %d users, %d rows copied in %d pairs; hold %v", st.Users, st.Rows, len(st.Pairs), st.Hold)
	if st.Users == 0 {
		t.Fatal("adding a shard moved no user")
	}
	st = c.reshardToEnd(t, 1, reshard.Request{Kind: reshard.Remove, Shard: shardmap.Shard{ID: "shard-4"}}, load)
	t.Logf("remove: %d users, %d rows copied in %d pairs; hold %v", st.Users, st.Rows, len(st.Pairs), st.Hold)

	ledger := load.stop(t)
	final, err := control.NewStore(c.data.Direct(t, "global")).Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(final.Shards) != 4 || final.Freeze {
		t.Fatalf("final map %+v, want the 4 original shards serving and nothing frozen", final)
	}
	dbs := map[string]*sql.DB{"shard-4": openDirect(t, extra.Addr())}
	for _, s := range final.Shards {
		dbs[s.ID] = c.data.Direct(t, s.ID)
	}
	reconcile(t, final, dbs, ledger)
}

// reshardToEnd starts req on node i through the admin API and follows it
// to Done. At the cutover it checks the held writes, and once every node
// serves the settled map it poisons the old copies of the moved users and
// reads them through every node: no answer may come from them.
func (c *testCluster) reshardToEnd(t *testing.T, i int, req reshard.Request, load *orderLoad) reshard.Status {
	t.Helper()
	body, _ := json.Marshal(req)
	resp, data := c.admin(i, "POST", "/admin/v1/reshards", body, nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("start %s %s: %d %s", req.Kind, req.Shard.ID, resp.StatusCode, data)
	}
	var st reshard.Status
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	path := "/admin/v1/reshards/" + strconv.FormatUint(st.ID, 10)
	poisoned := false
	deadline := time.Now().Add(3 * time.Minute)
	for !st.Phase.Final() {
		if time.Now().After(deadline) {
			t.Fatalf("workflow %d still %s after 3 minutes: %+v", st.ID, st.Phase, st)
		}
		time.Sleep(20 * time.Millisecond) // polling the status, as an operator would
		resp, data := c.admin(i, "GET", path, nil, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status: %d %s", resp.StatusCode, data)
		}
		st = reshard.Status{}
		if err := json.Unmarshal(data, &st); err != nil {
			t.Fatal(err)
		}
		if st.Phase == reshard.Cleanup && !poisoned {
			poisoned = true
			c.checkNoReadFromOldCopies(t, st)
		}
	}
	if st.Phase != reshard.Done {
		t.Fatalf("workflow %d ended %s: %s", st.ID, st.Phase, st.Error)
	}
	if !poisoned {
		t.Fatal("the workflow went through Cleanup unseen")
	}
	var deleted int64
	for _, p := range st.Pairs {
		deleted += p.Deleted
		if p.Mismatches != 0 {
			t.Errorf("pair %s→%s: %d mismatches", p.From, p.To, p.Mismatches)
		}
	}
	if deleted == 0 {
		t.Error("the cleanup deleted no old row")
	}
	held := load.latencies(st.CutoverAt.Add(-st.Hold), *st.CutoverAt)
	p99 := percentile(held, 0.99)
	t.Logf("cutover of workflow %d: hold %v; %d writes during it, p99 %v", st.ID, st.Hold, len(held), p99)
	if p99 >= 500*time.Millisecond {
		t.Errorf("writes during the cutover took %v at p99, want < 500ms", p99)
	}
	return st
}

// checkNoReadFromOldCopies waits until every node serves the settled map,
// marks the moved users' old copies, and reads every moved user through
// every node.
func (c *testCluster) checkNoReadFromOldCopies(t *testing.T, st reshard.Status) {
	t.Helper()
	store := control.NewStore(c.data.Direct(t, "global"))
	cur, err := store.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "every node serves the settled map", func() bool {
		for _, n := range c.nodes {
			if n.gossip.Epoch() < cur.Epoch {
				return false
			}
		}
		return true
	})
	history, err := store.History(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var before *shardmap.Map
	for _, e := range history {
		if e.Map.Epoch == st.FromEpoch {
			before = e.Map
		}
	}
	if before == nil {
		t.Fatalf("no epoch %d in the map history", st.FromEpoch)
	}
	delta, err := shardmap.Diff(before, cur, ring.Options{})
	if err != nil {
		t.Fatal(err)
	}
	shards := map[string]shardmap.Shard{}
	for _, s := range append(slices.Clone(before.Shards), cur.Shards...) {
		shards[s.ID] = s
	}
	moved := 0
	for _, u := range c.loadUsers {
		from, _, ok := delta.Moves(u)
		if !ok {
			continue
		}
		moved++
		old := openDirect(t, shards[from].Address)
		if _, err := old.Exec("UPDATE users SET name = 'STALE COPY' WHERE user_id = ?", u); err != nil {
			t.Fatal(err)
		}
		for i := range c.nodes {
			var p app.Profile
			must(t, c.call(i, customer(u), "GET", "/api/v1/me", nil, nil, &p), 200)
			if p.Name == "STALE COPY" {
				t.Fatalf("core-%d serves epoch %d but read user %d from its old shard %s", i, c.nodes[i].gossip.Epoch(), u, from)
			}
		}
	}
	if moved == 0 {
		t.Fatal("no test user moved")
	}
}

func openDirect(t *testing.T, addr string) *sql.DB {
	t.Helper()
	db, err := dbconn.Open(addr, shardmap.DefaultDatabase, dbconn.Credentials{}, dbconn.Pool{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// orderLoad is customers placing orders through every node, each order
// retried with its idempotency key until it is acknowledged.
type orderLoad struct {
	c  *testCluster
	w  *world
	wg sync.WaitGroup
	// stopping ends the load between requests: a request in flight is
	// answered, so every order that exists was acknowledged.
	stopping atomic.Bool

	mu     sync.Mutex
	ledger map[int64]int64 // acknowledged order id → user
	writes []timedWrite
	failed []string // reads or writes answered with an error
	held   atomic.Int64
}

type timedWrite struct {
	start time.Time
	took  time.Duration
}

// startOrderLoad readies n users and starts placing orders for them.
func startOrderLoad(t *testing.T, c *testCluster, w *world, n int) *orderLoad {
	t.Helper()
	ctx := context.Background()
	l := &orderLoad{c: c, w: w, ledger: map[int64]int64{}}
	addrs := map[int64]int64{}
	for k := range n {
		u := int64(30_000 + k*104_729)
		addrs[u] = readyUser(t, c, w, u)
		c.loadUsers = append(c.loadUsers, u)
	}
	for g := range 4 {
		l.wg.Go(func() {
			for k := 0; !l.stopping.Load(); k++ {
				u := c.loadUsers[(g+4*k)%n]
				l.order(ctx, (g+k)%len(c.nodes), u, addrs[u], fmt.Sprintf("g%d-%d", g, k))
			}
		})
	}
	l.wg.Go(func() { l.read(ctx) })
	t.Cleanup(func() { l.stopping.Store(true); l.wg.Wait() })
	return l
}

// order puts a dish in u's cart and places an order, each retried until
// acknowledged (a hold that outlasts its bound answers 503 resharding).
func (l *orderLoad) order(ctx context.Context, node int, u, addr int64, key string) {
	who := customer(u)
	steps := []struct {
		method, path string
		body         any
		hdr          map[string]string
		want         int
	}{
		{"PUT", fmt.Sprintf("/api/v1/me/cart/items/%d", l.w.dish.ID), map[string]any{"shop_id": l.w.shop.ID, "quantity": 1}, nil, 200},
		{"POST", "/api/v1/me/orders", map[string]any{"address_id": addr}, map[string]string{"Idempotency-Key": key}, 201},
	}
	for _, s := range steps {
		for attempt := 0; ; attempt++ {
			start := time.Now()
			status, body, err := l.c.do(ctx, node, who, s.method, s.path, s.body, s.hdr)
			l.mu.Lock()
			l.writes = append(l.writes, timedWrite{start, time.Since(start)})
			l.mu.Unlock()
			if err == nil && status == s.want {
				if s.want == 201 {
					var o app.Order
					if err := json.Unmarshal(body, &o); err != nil {
						l.fail("order answer %s: %v", body, err)
						return
					}
					l.mu.Lock()
					l.ledger[o.ID] = u
					l.mu.Unlock()
				}
				break
			}
			if status == http.StatusServiceUnavailable {
				l.held.Add(1)
			}
			if s.want != 201 && l.stopping.Load() {
				return // no order asked for yet: nothing to acknowledge
			}
			if attempt == 20 {
				l.fail("%s %s for user %d: %d %s %v", s.method, s.path, u, status, body, err)
				return
			}
		}
	}
}

// read keeps reading acknowledged orders and profiles through every node.
func (l *orderLoad) read(ctx context.Context) {
	for k := 0; !l.stopping.Load(); k++ {
		l.mu.Lock()
		var id, u int64
		for id, u = range l.ledger {
			break
		}
		l.mu.Unlock()
		if id == 0 {
			time.Sleep(time.Millisecond) // nothing to read yet
			continue
		}
		node := k % len(l.c.nodes)
		status, body, err := l.c.do(ctx, node, customer(u), "GET", "/api/v1/me", nil, nil)
		if err != nil || status != 200 {
			l.fail("read of user %d on core-%d: %d %s %v", u, node, status, body, err)
		}
	}
}

func (l *orderLoad) fail(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failed = append(l.failed, fmt.Sprintf(format, args...))
}

// latencies of the writes that started in [from, to].
func (l *orderLoad) latencies(from, to time.Time) []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []time.Duration
	for _, w := range l.writes {
		if !w.start.Before(from) && !w.start.After(to) {
			out = append(out, w.took)
		}
	}
	return out
}

// stop ends the load and returns the ledger.
func (l *orderLoad) stop(t *testing.T) map[int64]int64 {
	t.Helper()
	l.stopping.Store(true)
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	t.Logf("load: %d orders acknowledged, %d writes, %d answered 503 while held", len(l.ledger), len(l.writes), l.held.Load())
	for i, f := range l.failed {
		if i == 10 {
			t.Errorf("… and %d more failures", len(l.failed)-10)
			break
		}
		t.Error(f)
	}
	if len(l.ledger) == 0 {
		t.Fatal("no order was acknowledged")
	}
	return l.ledger
}

// reconcile checks every acknowledged order is on its owner's shard in m,
// exactly once in all dbs, and that no other order exists.
func reconcile(t *testing.T, m *shardmap.Map, dbs map[string]*sql.DB, ledger map[int64]int64) {
	t.Helper()
	topo, err := shardmap.Compile(m, ring.Options{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]string{}
	for id, db := range dbs {
		rows, err := db.Query("SELECT id, user_id FROM orders")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var o, u int64
			if err := rows.Scan(&o, &u); err != nil {
				t.Fatal(err)
			}
			if prev, dup := seen[o]; dup {
				t.Errorf("order %d of user %d is on %s and on %s", o, u, prev, id)
			}
			seen[o] = id
			if owner := topo.Owner(u); owner != id {
				t.Errorf("order %d of user %d is on %s, its owner is %s", o, u, id, owner)
			}
			if lu, ok := ledger[o]; ok && lu != u {
				t.Errorf("order %d belongs to user %d, the ledger says %d", o, u, lu)
			}
		}
		rows.Close()
	}
	for o, u := range ledger {
		if _, ok := seen[o]; !ok {
			t.Errorf("acknowledged order %d of user %d is on no shard", o, u)
		}
	}
	if len(seen) != len(ledger) {
		t.Errorf("%d orders on the shards, %d acknowledged", len(seen), len(ledger))
	}
	t.Logf("reconciled %d acknowledged orders against %d shards", len(ledger), len(dbs))
}

// do is call for background goroutines: errors are returned, not fatal.
func (c *testCluster) do(ctx context.Context, i int, who *identity.Identity, method, path string, body any, hdr map[string]string) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, "https://"+c.nodes[i].TunnelAddr()+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(tunnel.HeaderUserID, strconv.FormatInt(who.UserID, 10))
	req.Header.Set(tunnel.HeaderUserRole, string(who.Role))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.edge.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}
