package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/core"
	"github.com/cangqiong/cangqiong/internal/testenv"
	"github.com/cangqiong/cangqiong/replication/reshard"
	"github.com/cangqiong/cangqiong/sharding/control"
	"github.com/cangqiong/cangqiong/sharding/dbconn"
	"github.com/cangqiong/cangqiong/sharding/ring"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
	"github.com/cangqiong/cangqiong/sharding/shardtest"
)

// adminCall calls a node's admin API.
func (p *coreProc) adminCall(method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, "http://"+p.admin+path, rd)
	req.Header.Set("Authorization", "Bearer test-admin-token-0123456789")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// TestReshardResumesAfterCoordinatorKilled SIGKILLs the core node running
// a reshard in the middle of its copy, while orders keep flowing through
// the others: another node takes the workflow over from its checkpoint
// and completes it, and every acknowledged order is afterwards on its
// owner's shard exactly once.
func TestReshardResumesAfterCoordinatorKilled(t *testing.T) {
	d := shardtest.Start(t, shardtest.Options{Shards: 2})
	extra := testenv.MariaDB(t, 1)[0]
	procs := coreDeploymentWith(t, d, 3, func(f *core.File) {
		// A slow copy, so that the kill lands in it; quick take-over.
		f.Reshard = &core.ReshardFile{LeaseTTL: "2s", PollInterval: "200ms", Grace: "5s", ReadBatch: 50, RowsPerSecond: 600}
	})
	seedUsers(t, d, 3000)
	shop, dish := seedShop(t, procs[0])

	var (
		mu     sync.Mutex
		ledger = map[int64]int64{} // acknowledged order id → user
		writes []timedWrite
		failed atomic.Int64
		stop   atomic.Bool
		wg     sync.WaitGroup
	)
	live := procs[1:] // core-0 runs the workflow and is killed
	for w := range 4 {
		user := int64(40_000 + w*7_919)
		wg.Go(func() {
			_, b := retrying(live, w, "POST", "/api/v1/me/addresses", user, map[string]any{"label": "home", "recipient": "R", "phone": "+1 555 0100", "line1": "1 St", "city": "C", "country": "US"}, nil)
			var ad struct{ ID int64 }
			json.Unmarshal(b, &ad)
			timed := func(method, path string, i int, body any, hdr map[string]string) (int, []byte) {
				start := time.Now()
				s, b := retrying(live, w+i, method, path, user, body, hdr)
				mu.Lock()
				writes = append(writes, timedWrite{start, time.Since(start)})
				mu.Unlock()
				return s, b
			}
			for i := 0; !stop.Load(); i++ {
				if s, _ := timed("PUT", fmt.Sprintf("/api/v1/me/cart/items/%d", dish), i, map[string]any{"shop_id": shop, "quantity": 1}, nil); s != 200 {
					failed.Add(1)
					continue
				}
				s, b := timed("POST", "/api/v1/me/orders", i, map[string]any{"address_id": ad.ID}, map[string]string{"Idempotency-Key": fmt.Sprintf("u%d-o%d", user, i)})
				var o struct{ ID int64 }
				if s == 201 && json.Unmarshal(b, &o) == nil && o.ID != 0 {
					mu.Lock()
					ledger[o.ID] = user
					mu.Unlock()
				} else {
					failed.Add(1)
				}
			}
		})
	}

	status, body, err := procs[0].adminCall("POST", "/admin/v1/reshards", reshard.Request{Kind: reshard.Add, Shard: shardmap.Shard{ID: "shard-2", Address: extra.Addr()}})
	if err != nil || status != http.StatusAccepted {
		t.Fatalf("start: %d %s %v", status, body, err)
	}
	var st reshard.Status
	json.Unmarshal(body, &st)
	path := "/admin/v1/reshards/" + strconv.FormatUint(st.ID, 10)
	poll := func(p *coreProc) reshard.Status {
		status, body, err := p.adminCall("GET", path, nil)
		if err != nil || status != http.StatusOK {
			t.Fatalf("status: %d %s %v", status, body, err)
		}
		var st reshard.Status
		if err := json.Unmarshal(body, &st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	waitFor(t, func() bool {
		st = poll(procs[1])
		return st.Phase == reshard.Copying && st.Rows > 0 || st.Phase.Final()
	})
	if st.Phase != reshard.Copying || st.Owner != "core-0" {
		t.Fatalf("the copy was not under way on core-0 when it was to be killed: %+v", st)
	}
	procs[0].cmd.Process.Kill()
	t.Logf("killed core-0 during the copy: %.0f%% copied, %d rows", 100*st.Progress, st.Rows)

	owners := map[string]bool{}
	poisoned := false
	deadline := time.Now().Add(3 * time.Minute)
	for !st.Phase.Final() {
		if time.Now().After(deadline) {
			t.Fatalf("the workflow did not finish after the kill: %+v", st)
		}
		time.Sleep(50 * time.Millisecond) // polling the status, as an operator would
		st = poll(procs[1])
		if st.Owner != "" {
			owners[st.Owner] = true
		}
		if st.Phase == reshard.Cleanup && !poisoned {
			poisoned = true
			checkNoReadFromOldCopies(t, d, live)
		}
	}
	if !poisoned {
		t.Fatal("the workflow went through Cleanup unseen")
	}
	if st.Phase != reshard.Done {
		t.Fatalf("the workflow ended %s: %s", st.Phase, st.Error)
	}
	delete(owners, "core-0") // until its lease ran out
	if len(owners) == 0 {
		t.Errorf("after the kill the workflow was run by %v, want another node", owners)
	}
	for _, p := range st.Pairs {
		if p.Mismatches != 0 {
			t.Errorf("pair %s→%s: %d mismatches", p.From, p.To, p.Mismatches)
		}
	}
	stop.Store(true)
	wg.Wait()
	var held []time.Duration
	for _, w := range writes {
		if !w.start.Before(st.CutoverAt.Add(-st.Hold)) && !w.start.After(*st.CutoverAt) {
			held = append(held, w.took)
		}
	}
	slices.Sort(held)
	if len(held) > 0 {
		p99 := held[min(len(held)-1, len(held)*99/100)]
		t.Logf("cutover by the node that resumed: hold %v; %d writes during it, p99 %v", st.Hold, len(held), p99)
		if p99 >= 500*time.Millisecond {
			t.Errorf("writes during the cutover took %v at p99, want < 500ms", p99)
		}
	}

	// The operator's view, through the real command.
	token := filepath.Join(t.TempDir(), "admin.token")
	os.WriteFile(token, []byte("test-admin-token-0123456789"), 0o600)
	admin := []string{"--admin", "http://" + procs[2].admin, "--token-file", token}
	r := runCLI(t, nil, append([]string{"reshard", "status", strconv.FormatUint(st.ID, 10)}, admin...)...)
	if want := fmt.Sprintf("reshard %d done: added shard-2", st.ID); r.code != 0 || !strings.Contains(r.stdout, want) {
		t.Errorf("reshard status: exit %d, stdout %q, want a line with %q", r.code, r.stdout, want)
	}
	r = runCLI(t, nil, append([]string{"reshard", "add", "--shard", "shard-2", "--address", extra.Addr()}, admin...)...)
	if r.code != 1 || !strings.Contains(r.stderr, "shard_exists") {
		t.Errorf("adding shard-2 again: exit %d, stderr %q, want a shard_exists refusal", r.code, r.stderr)
	}

	final, err := control.NewStore(d.Direct(t, "global")).Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	topo, err := shardmap.Compile(final, ring.Options{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]string{}
	for _, s := range final.Shards {
		db, err := dbconn.Open(s.Address, s.DatabaseName(), dbconn.Credentials{}, dbconn.Pool{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var users int
		db.QueryRow("SELECT COUNT(*) FROM users").Scan(&users)
		t.Logf("%s holds %d users", s.ID, users)
		rows, err := db.Query("SELECT id, user_id FROM orders")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var o, u int64
			rows.Scan(&o, &u)
			if prev, dup := seen[o]; dup {
				t.Errorf("order %d is on %s and %s", o, prev, s.ID)
			}
			seen[o] = s.ID
			if owner := topo.Owner(u); owner != s.ID {
				t.Errorf("order %d of user %d is on %s, its owner is %s", o, u, s.ID, owner)
			}
		}
		rows.Close()
	}
	for o, u := range ledger {
		if _, ok := seen[o]; !ok {
			t.Errorf("acknowledged order %d of user %d is on no shard", o, u)
		}
	}
	t.Logf("%d orders acknowledged, %d requests not acknowledged, %d orders on the shards; %d users, %d rows moved; hold %v",
		len(ledger), failed.Load(), len(seen), st.Users, st.Rows, st.Hold)
	if len(ledger) == 0 || failed.Load() > int64(len(ledger))/10 {
		t.Errorf("%d orders acknowledged, %d failed", len(ledger), failed.Load())
	}
}

// checkNoReadFromOldCopies waits until the live nodes serve the settled
// map, overwrites the old copies of moved users with a marker, and reads
// those users through every live node: none may answer from them.
func checkNoReadFromOldCopies(t *testing.T, d *shardtest.Cluster, live []*coreProc) {
	t.Helper()
	settled, err := control.NewStore(d.Direct(t, "global")).Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		for _, p := range live {
			status, body, err := p.adminCall("GET", "/admin/v1/members", nil)
			var m struct{ Epoch uint64 }
			if err != nil || status != http.StatusOK || json.Unmarshal(body, &m) != nil || m.Epoch < settled.Epoch {
				return false
			}
		}
		return true
	})
	topo, err := shardmap.Compile(settled, ring.Options{})
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for u := int64(1_000_000); checked < 20; u++ {
		old := d.Topology.Owner(u)
		if topo.Owner(u) == old {
			continue
		}
		if _, err := d.Direct(t, old).Exec("UPDATE users SET name = 'STALE COPY' WHERE user_id = ?", u); err != nil {
			t.Fatal(err)
		}
		for _, p := range live {
			status, body, err := p.do("GET", "/api/v1/me", u, "customer", nil, nil)
			if err != nil || status != http.StatusOK {
				t.Fatalf("reading moved user %d: %d %s %v", u, status, body, err)
			}
			if strings.Contains(string(body), "STALE COPY") {
				t.Fatalf("a node serving epoch %d read user %d from its old shard %s", settled.Epoch, u, old)
			}
		}
		checked++
	}
}

type timedWrite struct {
	start time.Time
	took  time.Duration
}

// seedUsers writes n user accounts straight to their shards, so that a
// reshard has rows to copy.
func seedUsers(t *testing.T, d *shardtest.Cluster, n int) {
	t.Helper()
	byShard := map[string][]string{}
	for k := range n {
		u := int64(1_000_000 + k)
		byShard[d.Topology.Owner(u)] = append(byShard[d.Topology.Owner(u)],
			fmt.Sprintf("(%d, 'seed', 'seed@example.com', '+1 555 0100', 'customer', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))", u))
	}
	for shard, values := range byShard {
		q := "INSERT INTO users (user_id, name, email, phone, role, created_at, updated_at) VALUES " + strings.Join(values, ", ")
		if _, err := d.Direct(t, shard).Exec(q); err != nil {
			t.Fatal(err)
		}
	}
}
