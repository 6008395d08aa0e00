package tunnel

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/core"
	"github.com/cangqiong/cangqiong/core/certs"
	"github.com/cangqiong/cangqiong/core/gossip"
	"github.com/cangqiong/cangqiong/core/identity"
	coretunnel "github.com/cangqiong/cangqiong/core/tunnel"
	"github.com/cangqiong/cangqiong/sharding/shardtest"
)

// testCluster is core nodes on loopback over a migrated deployment (the
// pattern of core/cluster_test.go), with certificates from the test PKI.
type testCluster struct {
	t       *testing.T
	data    *shardtest.Cluster
	key     []byte
	nodes   []*core.Node
	stopped map[int]bool
}

func startCluster(t *testing.T, nodes, shards int) *testCluster {
	t.Helper()
	c := &testCluster{t: t, data: shardtest.Start(t, shardtest.Options{Shards: shards}), key: make([]byte, 32), stopped: map[int]bool{}}
	rand.Read(c.key)
	for range nodes {
		c.startNode("127.0.0.1:0")
	}
	return c
}

// startNode starts core-<i> (i: the next index) with its tunnel on
// tunnelListen, joined to the first node.
func (c *testCluster) startNode(tunnelListen string) *core.Node {
	c.t.Helper()
	p := getPKI(c.t)
	i := len(c.nodes)
	name := fmt.Sprintf("core-%d", i)
	leaf, err := p.ca.Issue(certs.IssueRequest{Peer: certs.Peer{Kind: certs.Core, Region: "eu", ID: name}})
	if err != nil {
		c.t.Fatal(err)
	}
	cfg := core.DefaultConfig()
	cfg.NodeName, cfg.Region, cfg.NodeID, cfg.Global = name, "eu", uint16(i), c.data.Map.Global
	cfg.TunnelListen, cfg.AdminListen, cfg.GossipListen = tunnelListen, "127.0.0.1:0", "127.0.0.1:0"
	cfg.TunnelTLS, cfg.AdminToken, cfg.GossipKey = certs.ServerTLS(p.ca.Pool(), leaf), "test-admin-token-0123456789", c.key
	cfg.GossipProfile, cfg.Logger = gossip.ProfileLocal, quiet
	for j, n := range c.nodes {
		if !c.stopped[j] {
			cfg.Seeds = []string{n.GossipAddr()}
			break
		}
	}
	n, err := core.New(cfg)
	if err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := n.Start(ctx); err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { n.Shutdown(context.Background()) })
	c.nodes = append(c.nodes, n)
	return n
}

// stop shuts node i down gracefully.
func (c *testCluster) stop(i int) {
	c.t.Helper()
	c.stopped[i] = true
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.nodes[i].Shutdown(ctx); err != nil {
		c.t.Logf("core-%d: shutdown: %v", i, err) // (gossip's leave can time out; the node stops anyway)
	}
}

func (c *testCluster) tunnelAddrs() []string {
	var out []string
	for _, n := range c.nodes {
		out = append(out, n.TunnelAddr())
	}
	return out
}

var adminID = &identity.Identity{UserID: 1, Role: identity.Admin}

func customer(id int64) *identity.Identity {
	return &identity.Identity{UserID: id, Role: identity.Customer}
}

// request builds an API request as the edge would forward it: the user it
// verified in the identity headers, a JSON body with GetBody.
func request(who *identity.Identity, method, path string, body any, hdr map[string]string) *http.Request {
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, path, rd)
	req.Header.Set("Content-Type", "application/json")
	if who != nil {
		req.Header.Set(coretunnel.HeaderUserID, strconv.FormatInt(who.UserID, 10))
		req.Header.Set(coretunnel.HeaderUserRole, string(who.Role))
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return req
}

// call sends a request through the client and wants status; it decodes
// the answer into out when given.
func call(t testing.TB, c *Client, req *http.Request, want int, out any) {
	t.Helper()
	resp, err := c.Do(context.Background(), req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading: %v", req.Method, req.URL.Path, err)
	}
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", req.Method, req.URL.Path, resp.StatusCode, data, want)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("decoding %s: %v", data, err)
		}
	}
}

type idRef struct {
	ID  int64  `json:"id"`
	Ref string `json:"ref"`
}

// setUpShop has an admin create an open shop with one dish, through the
// client; it returns the shop and the dish.
func setUpShop(t *testing.T, c *Client) (shop, dish int64) {
	t.Helper()
	const owner = 900
	m := &identity.Identity{UserID: owner, Role: identity.Merchant}
	var s, cat, d idRef
	call(t, c, request(adminID, "POST", "/api/v1/shops", map[string]any{"owner_user_id": owner, "name": "Shop", "region": "eu"}, nil), 201, &s)
	call(t, c, request(m, "POST", fmt.Sprintf("/api/v1/shops/%d/categories", s.ID), map[string]any{"name": "Mains", "position": 1}, nil), 201, &cat)
	call(t, c, request(m, "POST", fmt.Sprintf("/api/v1/shops/%d/dishes", s.ID), map[string]any{"category_id": cat.ID, "name": "Dish", "price_cents": 1250, "on_sale": true}, nil), 201, &d)
	call(t, c, request(m, "POST", fmt.Sprintf("/api/v1/shops/%d/open", s.ID), nil, nil), 200, nil)
	return s.ID, d.ID
}

// readyUser gives user u a profile and, with a dish, an address and the
// dish in the cart; it returns the address.
func readyUser(t *testing.T, c *Client, u, shop, dish int64) int64 {
	t.Helper()
	who := customer(u)
	call(t, c, request(who, "PUT", "/api/v1/me", map[string]any{"name": "Ada", "email": "ada@example.com", "phone": "+44 20 1234"}, nil), 200, nil)
	if dish == 0 {
		return 0
	}
	var ad idRef
	call(t, c, request(who, "POST", "/api/v1/me/addresses", addressBody, nil), 201, &ad)
	call(t, c, request(who, "PUT", fmt.Sprintf("/api/v1/me/cart/items/%d", dish), map[string]any{"shop_id": shop, "quantity": 2}, nil), 200, nil)
	return ad.ID
}

var addressBody = map[string]any{"label": "home", "recipient": "Ada", "phone": "+44 20 1234", "line1": "1 Main St", "city": "London", "country": "GB"}

// rows counts u's rows of table on the user's shard, straight from
// MariaDB.
func (c *testCluster) rows(table string, u int64) int {
	c.t.Helper()
	var n int
	db := c.data.Direct(c.t, c.data.Topology.Owner(u))
	if err := db.QueryRow("SELECT COUNT(*) FROM "+table+" WHERE user_id = ?", u).Scan(&n); err != nil {
		c.t.Fatal(err)
	}
	return n
}
