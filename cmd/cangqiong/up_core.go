package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/cangqiong/cangqiong/core"
	"github.com/cangqiong/cangqiong/core/certs"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

// upRegion is the region the local deployment's core nodes and edge
// certificate name.
const upRegion = "local"

// upPKI is the local deployment's CA, secrets and client certificate,
// made on first start and kept in the state dir.
type upPKI struct {
	dir   string
	ca    *certs.CA
	token string
	key   []byte
}

func loadOrMakePKI(dir string) (*upPKI, error) {
	p := &upPKI{dir: dir}
	ca, err := certs.LoadCA(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if ca, err = certs.NewCA("cangqiong local deployment", 10*365*24*time.Hour); err == nil {
			_, err = ca.Save(dir, false)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("local CA in %s: %w", dir, err)
	}
	p.ca = ca
	if p.token, err = secretFile(filepath.Join(dir, "admin.token"), 24); err != nil {
		return nil, err
	}
	key, err := secretFile(filepath.Join(dir, "gossip.key"), 32)
	if err != nil {
		return nil, err
	}
	if p.key, err = base64.StdEncoding.DecodeString(key); err != nil {
		return nil, fmt.Errorf("gossip key: %w", err)
	}
	edge := certs.Peer{Kind: certs.Edge, Region: upRegion, ID: "edge-0"}
	if _, err := p.leaf(edge); err != nil {
		return nil, err
	}
	return p, nil
}

// secretFile returns the base64 secret in path, making n random bytes of it
// (mode 600) the first time.
func secretFile(path string, n int) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		return string(b), nil
	}
	raw := make([]byte, n)
	rand.Read(raw)
	s := base64.StdEncoding.EncodeToString(raw)
	return s, os.WriteFile(path, []byte(s), 0o600)
}

// leaf loads the certificate of peer, issuing it the first time.
func (p *upPKI) leaf(peer certs.Peer) (*certs.Leaf, error) {
	if l, err := certs.LoadLeaf(p.dir, peer); err == nil {
		return l, nil
	}
	l, err := p.ca.Issue(certs.IssueRequest{Peer: peer})
	if err == nil {
		_, err = l.Save(p.dir)
	}
	return l, err
}

// startCores starts n core nodes in this process over the deployment's
// shard map. On error it returns those already started, for stopping.
func (c *upCmd) startCores(e *env, pki *upPKI, m *shardmap.Map, n int) ([]*core.Node, error) {
	var nodes []*core.Node
	for i := range n {
		name := fmt.Sprintf("core-%d", i)
		leaf, err := pki.leaf(certs.Peer{Kind: certs.Core, Region: upRegion, ID: name})
		if err != nil {
			return nodes, err
		}
		cfg := core.DefaultConfig()
		cfg.NodeName, cfg.Region, cfg.NodeID, cfg.Global = name, upRegion, uint16(i), m.Global
		cfg.TunnelTLS, cfg.AdminToken, cfg.GossipKey = certs.ServerTLS(pki.ca.Pool(), leaf), pki.token, pki.key
		cfg.TunnelListen, cfg.AdminListen, cfg.GossipListen = c.corePort(0, i), c.corePort(10, i), c.corePort(20, i)
		cfg.GossipProfile, cfg.Logger = "local", e.logger
		if i > 0 {
			cfg.Seeds = []string{nodes[0].GossipAddr()}
		}
		node, err := core.New(cfg)
		if err != nil {
			return nodes, err
		}
		if err := node.Start(e.ctx); err != nil {
			return nodes, fmt.Errorf("%s: %w", name, err)
		}
		nodes = append(nodes, node)
		fmt.Fprintf(e.stdout, "up: %-15s tunnel %s, admin %s, gossip %s\n", name, node.TunnelAddr(), node.AdminAddr(), node.GossipAddr())
	}
	return nodes, nil
}

// corePort is core i's listen address: base+1000 for tunnels, +1010 for
// admin, +1020 for gossip (so 4400, 4410 and 4420 with the default base).
func (c *upCmd) corePort(offset, i int) string {
	if c.BasePort == 0 {
		return "127.0.0.1:0"
	}
	return loopback(c.BasePort + 1000 + offset + i)
}

func stopCores(e *env, nodes []*core.Node) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := len(nodes) - 1; i >= 0; i-- {
		if err := nodes[i].Shutdown(ctx); err != nil {
			fmt.Fprintf(e.stderr, "up: stopping core-%d: %v\n", i, err)
		}
	}
}
