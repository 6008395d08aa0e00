package core

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/core/certs"
	"github.com/cangqiong/cangqiong/core/gossip"
	"github.com/cangqiong/cangqiong/core/identity"
	"github.com/cangqiong/cangqiong/core/tunnel"
	"github.com/cangqiong/cangqiong/sharding/shardtest"
)

const testToken = "test-admin-token-0123456789"

// testCluster is N core nodes on loopback over a migrated deployment,
// with a CA and an edge certificate to talk to them as an edge would.
type testCluster struct {
	t     testing.TB
	data  *shardtest.Cluster
	ca    *certs.CA
	key   []byte
	nodes []*Node
	edge  *http.Client  // mTLS with an edge certificate
	tune  func(*Config) // nil: the defaults
	// loadUsers are the customers an orderLoad places orders for.
	loadUsers []int64
}

var quiet = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

func startCluster(t testing.TB, nodes, shards int) *testCluster {
	t.Helper()
	return startTunedCluster(t, nodes, shards, nil)
}

// startTunedCluster is startCluster with tune applied to every node's
// config.
func startTunedCluster(t testing.TB, nodes, shards int, tune func(*Config)) *testCluster {
	t.Helper()
	c := &testCluster{t: t, data: shardtest.Start(t, shardtest.Options{Shards: shards}), key: make([]byte, 32), tune: tune}
	rand.Read(c.key)
	var err error
	if c.ca, err = certs.NewCA("cangqiong test CA", 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	c.edge = c.client(certs.Peer{Kind: certs.Edge, Region: "eu", ID: "edge-1"})
	for i := range nodes {
		c.startNode(i)
	}
	return c
}

// client is an HTTP/2 mTLS client holding a certificate for peer.
func (c *testCluster) client(peer certs.Peer) *http.Client {
	leaf, err := c.ca.Issue(certs.IssueRequest{Peer: peer})
	if err != nil {
		c.t.Fatal(err)
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: certs.ClientTLS(c.ca.Pool(), leaf), ForceAttemptHTTP2: true}}
}

func (c *testCluster) config(i int) Config {
	name := fmt.Sprintf("core-%d", i)
	leaf, err := c.ca.Issue(certs.IssueRequest{Peer: certs.Peer{Kind: certs.Core, Region: "eu", ID: name}})
	if err != nil {
		c.t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.NodeName, cfg.Region, cfg.NodeID, cfg.Global = name, "eu", uint16(i), c.data.Map.Global
	cfg.TunnelListen, cfg.AdminListen, cfg.GossipListen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.TunnelTLS, cfg.AdminToken, cfg.GossipKey = certs.ServerTLS(c.ca.Pool(), leaf), testToken, c.key
	cfg.GossipProfile, cfg.Logger = gossip.ProfileLocal, quiet
	if len(c.nodes) > 0 {
		cfg.Seeds = []string{c.nodes[0].GossipAddr()}
	}
	if c.tune != nil {
		c.tune(&cfg)
	}
	return cfg
}

func (c *testCluster) startNode(i int) *Node {
	n, err := New(c.config(i))
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

// call sends a request to node i as user who (nil: anonymous) and decodes
// a JSON answer into out when given.
func (c *testCluster) call(i int, who *identity.Identity, method, path string, body any, hdr map[string]string, out any) *http.Response {
	c.t.Helper()
	return c.callWith(c.edge, i, who, method, path, body, hdr, out)
}

func (c *testCluster) callWith(cl *http.Client, i int, who *identity.Identity, method, path string, body any, hdr map[string]string, out any) *http.Response {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, _ := json.Marshal(b)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, "https://"+c.nodes[i].TunnelAddr()+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if who != nil {
		req.Header.Set(tunnel.HeaderUserID, strconv.FormatInt(who.UserID, 10))
		req.Header.Set(tunnel.HeaderUserRole, string(who.Role))
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := cl.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s on core-%d: %v", method, path, i, err)
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(data))
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			c.t.Fatalf("%s %s: decoding %s: %v", method, path, data, err)
		}
	}
	return resp
}

// must fails the test unless resp has status want.
func must(t testing.TB, resp *http.Response, want int) {
	t.Helper()
	if resp.StatusCode != want {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s %s: %d %s, want %d", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, body, want)
	}
}

// errorCode is the code of a JSON error answer.
func errorCode(resp *http.Response) string {
	var e struct{ Error struct{ Code string } }
	body, _ := io.ReadAll(resp.Body)
	json.Unmarshal(body, &e)
	return e.Error.Code
}

// admin calls node i's admin API.
func (c *testCluster) admin(i int, method, path string, body []byte, hdr map[string]string) (*http.Response, []byte) {
	c.t.Helper()
	req, _ := http.NewRequest(method, "http://"+c.nodes[i].AdminAddr()+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testToken)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
