package relay_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/core/coretest"
	"github.com/cangqiong/cangqiong/core/identity"
	"github.com/cangqiong/cangqiong/core/tunnel"
	"github.com/cangqiong/cangqiong/replication/outbox"
	"github.com/cangqiong/cangqiong/replication/stream"
)

// leaseOwners reads the cluster's live leases: keyspace → owner.
func leaseOwners(t testing.TB, c *coretest.Cluster) map[string]string { return liveLeases(t, c.Data) }

// streamedBy is, per keyspace, the nodes whose subscriptions sent it a
// frame since since.
func streamedBy(frames []received, since time.Time) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for _, f := range frames {
		if f.at.Before(since) {
			continue
		}
		if out[f.Keyspace] == nil {
			out[f.Keyspace] = map[string]bool{}
		}
		out[f.Keyspace][f.node] = true
	}
	return out
}

// apiCall sends a takeout API request over an edge's tunnel as user who
// and returns the status, the version token and the body.
func apiCall(t testing.TB, cl *http.Client, addr string, who identity.Identity, method, path string, body any) (int, string, []byte) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, "https://"+addr+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(tunnel.HeaderUserID, strconv.FormatInt(who.UserID, 10))
	req.Header.Set(tunnel.HeaderUserRole, string(who.Role))
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	out.ReadFrom(resp.Body)
	return resp.StatusCode, resp.Header.Get(tunnel.HeaderVersion), out.Bytes()
}

// TestClusterRelay runs the relay in a real three-node core cluster:
// leases spread, one node streams each keyspace, catalog and user writes
// through the API reach an edge with their keys, the commit-to-frame
// latency, and a node stopped mid-stream while changes keep coming.
func TestClusterRelay(t *testing.T) {
	c := coretest.Start(t, coretest.Options{Nodes: 3, Shards: 2})
	all := []string{"global", "shard-0", "shard-1"}
	names := map[string]string{} // tunnel address → node name
	for i := range 3 {
		names[c.Node(i).TunnelAddr()] = fmt.Sprintf("core-%d", i)
	}

	// Leases spread: one keyspace per node, each owned exactly once.
	eventually(t, 30*time.Second, "a lease per node", func() bool {
		owners := leaseOwners(t, c)
		distinct := map[string]bool{}
		for _, o := range owners {
			distinct[o] = true
		}
		return len(owners) == 3 && len(distinct) == 3
	})
	cl := httpClient(t, c.EdgeTLS("edge-1"))
	e := newEdge(t, cl, coretest.Region, "edge-1")
	for _, addr := range c.TunnelAddrs() {
		e.follow(addr)
	}
	t.Run("each keyspace streams from its owner only", func(t *testing.T) {
		// Wait out any subscription ended by a lease that moved, then
		// watch two heartbeats.
		eventually(t, 30*time.Second, "heads of every keyspace from its owner alone", func() bool {
			since := time.Now().Add(-2500 * time.Millisecond)
			by := streamedBy(e.received(), since)
			owners := leaseOwners(t, c)
			for _, ks := range all {
				nodes := by[ks]
				if len(nodes) != 1 {
					return false
				}
				for addr := range nodes {
					if names[addr] != owners[ks] {
						return false
					}
				}
			}
			return true
		})
	})

	t.Run("API writes reach the edge with their keys", func(t *testing.T) {
		addr := c.TunnelAddrs()[0]
		admin := identity.Identity{UserID: 1, Role: identity.Admin}
		merchant := identity.Identity{UserID: 700, Role: identity.Merchant}
		var shop struct{ ID int64 }
		status, _, body := apiCall(t, cl, addr, admin, "POST", "/api/v1/shops", map[string]any{"owner_user_id": merchant.UserID, "name": "Noodles", "region": "eu"})
		if status != 201 || json.Unmarshal(body, &shop) != nil {
			t.Fatalf("create shop: %d %s", status, body)
		}
		var cat, dish struct{ ID int64 }
		status, _, body = apiCall(t, cl, addr, merchant, "POST", fmt.Sprintf("/api/v1/shops/%d/categories", shop.ID), map[string]any{"name": "Mains", "position": 1})
		if status != 201 || json.Unmarshal(body, &cat) != nil {
			t.Fatalf("create category: %d %s", status, body)
		}
		status, _, body = apiCall(t, cl, addr, merchant, "POST", fmt.Sprintf("/api/v1/shops/%d/dishes", shop.ID), map[string]any{"category_id": cat.ID, "name": "Ramen", "price_cents": 1200, "on_sale": true})
		if status != 201 || json.Unmarshal(body, &dish) != nil {
			t.Fatalf("create dish: %d %s", status, body)
		}
		// A price change purges the shop's menu everywhere.
		status, token, body := apiCall(t, cl, addr, merchant, "PUT", fmt.Sprintf("/api/v1/shops/%d/dishes/%d", shop.ID, dish.ID), map[string]any{"category_id": cat.ID, "name": "Ramen", "price_cents": 1350, "on_sale": true})
		if status != 200 {
			t.Fatalf("price change: %d %s", status, body)
		}
		expectKey(t, e, token, fmt.Sprintf("menu:%d", shop.ID))
		// A user's write purges the user's keys, from the user's shard.
		customer := identity.Identity{UserID: 4242, Role: identity.Customer}
		status, token, body = apiCall(t, cl, addr, customer, "PUT", "/api/v1/me", map[string]any{"name": "Ada", "email": "ada@example.com", "phone": "+44 20 1234"})
		if status != 200 {
			t.Fatalf("profile: %d %s", status, body)
		}
		if v, _ := outbox.ParseVersion(token); v.Shard != c.Data.Topology.Owner(customer.UserID) {
			t.Fatalf("version %q is not on the user's shard", token)
		}
		expectKey(t, e, token, "user:4242:profile")
	})

	t.Run("latency from commit to frame", func(t *testing.T) {
		const n = 300
		users := map[string]int64{"global": 0, "shard-0": c.Data.UserOn("shard-0", 1), "shard-1": c.Data.UserOn("shard-1", 1)}
		committed := map[outbox.Version]time.Time{}
		tick := time.NewTicker(3 * time.Millisecond) // writes paced like sporadic traffic
		defer tick.Stop()
		for i := range n {
			<-tick.C
			ks := all[i%len(all)]
			v := write(t, c.Data.Exec, users[ks], fmt.Sprintf("lat:%d", i))
			committed[v] = time.Now()
		}
		for v := range committed {
			e.waitFor(v.Shard, v.Seq, 10*time.Second)
		}
		arrived := map[outbox.Version]time.Time{}
		for _, f := range e.received() {
			v := outbox.Version{Shard: f.Keyspace, Seq: f.Seq}
			if _, ok := committed[v]; ok && f.Type == stream.TypeChange {
				if at, seen := arrived[v]; !seen || f.at.Before(at) {
					arrived[v] = f.at
				}
			}
		}
		var lat []time.Duration
		for v, at := range committed {
			lat = append(lat, arrived[v].Sub(at))
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
		t.Logf("commit → frame at the edge over %d changes: p50 %v, p99 %v, max %v", len(lat), p50, p99, lat[len(lat)-1])
		limit := 100 * time.Millisecond
		if raceEnabled {
			limit = 300 * time.Millisecond
		}
		if p99 > limit {
			t.Errorf("p99 %v, want under %v", p99, limit)
		}
	})

	t.Run("a node stopped mid-stream hands over without a gap", func(t *testing.T) {
		owners := leaseOwners(t, c)
		victim := -1
		for i := range 3 {
			if owners["shard-0"] == fmt.Sprintf("core-%d", i) {
				victim = i
			}
		}
		if victim < 0 {
			t.Fatalf("no owner of shard-0 in %v", owners)
		}
		users := map[string]int64{"global": 0, "shard-0": c.Data.UserOn("shard-0", 1), "shard-1": c.Data.UserOn("shard-1", 1)}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var mu sync.Mutex
		last := map[string]uint64{}
		for ks, u := range users {
			wg.Go(func() {
				tick := time.NewTicker(2 * time.Millisecond) // a steady stream of writes
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
					}
					v := write(t, c.Data.Exec, u)
					mu.Lock()
					last[ks] = v.Seq
					mu.Unlock()
				}
			})
		}
		start := map[string]uint64{}
		for _, ks := range all {
			start[ks] = e.cursor(ks)
		}
		for _, ks := range all {
			e.waitFor(ks, start[ks]+20, 10*time.Second)
		}
		stopped := time.Now()
		c.Stop(victim)
		eventually(t, 15*time.Second, "the survivors to own every keyspace", func() bool {
			owners := leaseOwners(t, c)
			if len(owners) != 3 {
				return false
			}
			for _, o := range owners {
				if o == fmt.Sprintf("core-%d", victim) {
					return false
				}
			}
			return true
		})
		t.Logf("core-%d's keyspaces taken over %v after its shutdown began", victim, time.Since(stopped))
		for _, ks := range all {
			mu.Lock()
			target := last[ks] + 20
			mu.Unlock()
			e.waitFor(ks, target, 20*time.Second)
		}
		close(stop)
		wg.Wait()
		// Every change written reaches the edge; frames and cursors are
		// read together (more frames may still be in flight).
		for _, ks := range all {
			e.waitFor(ks, last[ks], 20*time.Second)
		}
		frames, cursors := e.snapshot()
		for _, ks := range all {
			checkOrderAndCoverage(t, frames, ks, start[ks]+1, cursors[ks])
		}
	})
}

// expectKey waits for the change of a version token and checks its keys.
func expectKey(t *testing.T, e *edge, token, key string) {
	t.Helper()
	v, err := outbox.ParseVersion(token)
	if err != nil {
		t.Fatalf("version %q: %v", token, err)
	}
	e.waitFor(v.Shard, v.Seq, 10*time.Second)
	for _, f := range e.received() {
		if f.Type == stream.TypeChange && f.Keyspace == v.Shard && f.Seq == v.Seq {
			if !slices.Contains(f.Keys, key) {
				t.Fatalf("%s has keys %v, want %s", token, f.Keys, key)
			}
			return
		}
	}
	t.Fatalf("no change frame for %s", token)
}
