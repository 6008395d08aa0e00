package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/core"
	"github.com/cangqiong/cangqiong/core/certs"
	"github.com/cangqiong/cangqiong/core/tunnel"
	"github.com/cangqiong/cangqiong/sharding/shardtest"
)

// coreProc is one `cangqiong core` process.
type coreProc struct {
	cmd    *exec.Cmd
	tunnel string
	admin  string // host:port of the admin API
	client *http.Client
}

// coreDeployment writes certificates, secrets and config files for n core
// nodes over the deployment d and starts them as processes.
func coreDeployment(t *testing.T, d *shardtest.Cluster, n int) []*coreProc {
	return coreDeploymentWith(t, d, n, nil)
}

// coreDeploymentWith is coreDeployment with tune applied to every node's
// config file.
func coreDeploymentWith(t *testing.T, d *shardtest.Cluster, n int, tune func(*core.File)) []*coreProc {
	dir := t.TempDir()
	ca, err := certs.NewCA("cangqiong test", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ca.Save(dir, false); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	os.WriteFile(filepath.Join(dir, "gossip.key"), []byte(base64.StdEncoding.EncodeToString(key)), 0o600)
	os.WriteFile(filepath.Join(dir, "admin.token"), []byte("test-admin-token-0123456789"), 0o600)
	edge, err := ca.Issue(certs.IssueRequest{Peer: certs.Peer{Kind: certs.Edge, Region: "eu", ID: "edge-1"}})
	if err != nil {
		t.Fatal(err)
	}
	client := mtlsClient(ca.Pool(), edge)
	gossipAddrs := make([]string, n)
	for i := range gossipAddrs {
		gossipAddrs[i] = freeAddr(t)
	}
	procs := make([]*coreProc, n)
	for i := range n {
		name := fmt.Sprintf("core-%d", i)
		leaf, err := ca.Issue(certs.IssueRequest{Peer: certs.Peer{Kind: certs.Core, Region: "eu", ID: name}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := leaf.Save(dir); err != nil {
			t.Fatal(err)
		}
		id := uint16(i)
		f := core.File{
			NodeName: name, NodeID: &id, Region: "eu", Global: d.Map.Global, CertsDir: ".",
			TunnelListen: freeAddr(t), AdminListen: freeAddr(t), GossipListen: gossipAddrs[i],
			AdminTokenFile: "admin.token", GossipKeyFile: "gossip.key", GossipProfile: "local",
		}
		if i > 0 {
			f.Seeds = gossipAddrs[:1]
		}
		if tune != nil {
			tune(&f)
		}
		data, _ := json.Marshal(f)
		path := filepath.Join(dir, name+".json")
		os.WriteFile(path, data, 0o644)
		procs[i] = startCore(t, path, client)
		procs[i].admin = f.AdminListen
	}
	return procs
}

// startCore runs `cangqiong core` and waits for its serving line.
func startCore(t *testing.T, config string, client *http.Client) *coreProc {
	var tun string
	cmd := startCLI(t, time.Minute, func(line string) bool {
		_, after, ok := strings.Cut(line, ": tunnel ")
		if ok {
			tun = strings.TrimSuffix(strings.Fields(after)[0], ",")
		}
		return ok
	}, "core", "--config", config, "--log-level", "warn")
	return &coreProc{cmd: cmd, tunnel: tun, client: client}
}

// do sends one request as user u (role r) to a node; err is a transport
// failure (connection refused or reset), not an HTTP status.
func (p *coreProc) do(method, path string, user int64, role string, body any, hdr map[string]string) (int, []byte, error) {
	data, _ := json.Marshal(body)
	if body == nil {
		data = nil
	}
	req, _ := http.NewRequest(method, "https://"+p.tunnel+path, bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(tunnel.HeaderUserID, strconv.FormatInt(user, 10))
	req.Header.Set(tunnel.HeaderUserRole, role)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// retrying sends a request to node start, and on a transport failure or a
// 5xx to the next nodes, as an edge does with requests that are safe to
// repeat (the same Idempotency-Key each time).
func retrying(procs []*coreProc, start int, method, path string, user int64, body any, hdr map[string]string) (int, []byte) {
	for attempt := range 3 * len(procs) {
		status, b, err := procs[(start+attempt)%len(procs)].do(method, path, user, "customer", body, hdr)
		if err == nil && status < 500 {
			return status, b
		}
	}
	return 0, nil
}

func TestCoreNodeKilledMidLoadLosesNoOrder(t *testing.T) {
	d := shardtest.Start(t, shardtest.Options{Shards: 2})
	procs := coreDeployment(t, d, 3)
	shop, dish := seedShop(t, procs[0])

	var (
		mu     sync.Mutex
		ledger = map[string]int64{} // acknowledged order ref → user
		failed atomic.Int64
		stop   atomic.Bool
		wg     sync.WaitGroup
	)
	for w := range 6 {
		user := int64(20000 + w)
		wg.Go(func() {
			_, b := retrying(procs, w, "POST", "/api/v1/me/addresses", user, map[string]any{"label": "home", "recipient": "R", "phone": "+1 555 0100", "line1": "1 St", "city": "C", "country": "US"}, nil)
			var ad struct{ ID int64 }
			json.Unmarshal(b, &ad)
			for i := 0; !stop.Load(); i++ {
				if s, _ := retrying(procs, w+i, "PUT", fmt.Sprintf("/api/v1/me/cart/items/%d", dish), user, map[string]any{"shop_id": shop, "quantity": 1}, nil); s != 200 {
					failed.Add(1)
					continue
				}
				key := fmt.Sprintf("u%d-o%d", user, i)
				s, b := retrying(procs, w+i, "POST", "/api/v1/me/orders", user, map[string]any{"address_id": ad.ID}, map[string]string{"Idempotency-Key": key})
				var o struct{ Ref string }
				if s == 201 && json.Unmarshal(b, &o) == nil && o.Ref != "" {
					mu.Lock()
					ledger[o.Ref] = user
					mu.Unlock()
				} else {
					failed.Add(1)
				}
			}
		})
	}
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(ledger) >= 30 })
	procs[1].cmd.Process.Kill() // SIGKILL mid-load, no drain
	mu.Lock()
	atKill := len(ledger)
	mu.Unlock()
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(ledger) >= atKill+60 })
	stop.Store(true)
	wg.Wait()

	// Reconcile the ledger against the shards: every acknowledged order
	// exists, exactly once, on its user's shard.
	for ref, user := range ledger {
		id, _ := strconv.ParseInt(strings.SplitN(ref, "-", 2)[1], 10, 64)
		copies := 0
		for _, shard := range d.Topology.RingShards() {
			var n int
			if err := d.Direct(t, shard).QueryRow("SELECT COUNT(*) FROM orders WHERE user_id = ? AND id = ?", user, id).Scan(&n); err != nil {
				t.Fatal(err)
			}
			copies += n
		}
		if copies != 1 {
			t.Fatalf("acknowledged order %s has %d copies on the shards, want 1", ref, copies)
		}
	}
	t.Logf("%d orders acknowledged (%d before the kill), %d requests not acknowledged; all present exactly once", len(ledger), atKill, failed.Load())
	if failed.Load() > int64(len(ledger))/10 {
		t.Errorf("%d of %d orders failed: the survivors did not take the load over", failed.Load(), len(ledger))
	}
}

// seedShop creates an open shop with one dish through node p.
func seedShop(t *testing.T, p *coreProc) (shop, dish int64) {
	var s, c, d struct{ ID int64 }
	post := func(path string, user int64, role string, body any, out any) {
		status, b, err := p.do("POST", path, user, role, body, nil)
		if err != nil || status != 201 && status != 200 {
			t.Fatalf("POST %s: %d %s %v", path, status, b, err)
		}
		if out != nil {
			json.Unmarshal(b, out)
		}
	}
	post("/api/v1/shops", 1, "admin", map[string]any{"owner_user_id": 77, "name": "Noodles", "region": "eu"}, &s)
	post(fmt.Sprintf("/api/v1/shops/%d/categories", s.ID), 77, "merchant", map[string]any{"name": "Mains", "position": 1}, &c)
	post(fmt.Sprintf("/api/v1/shops/%d/dishes", s.ID), 77, "merchant", map[string]any{"category_id": c.ID, "name": "Ramen", "price_cents": 1200, "on_sale": true}, &d)
	post(fmt.Sprintf("/api/v1/shops/%d/open", s.ID), 77, "merchant", nil, nil)
	return s.ID, d.ID
}
