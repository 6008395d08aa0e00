package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/core/tunnel"
)

// freePorts are n distinct TCP ports, free on every address for UDP too
// at the time of the call (gossip binds both): each is held until all are
// chosen.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var held []io.Closer
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for tries := 0; len(ports) < n; tries++ {
		if tries > 20*n {
			t.Fatal("no free ports")
		}
		ln, err := net.Listen("tcp", "0.0.0.0:0")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, ln)
		port := ln.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", fmt.Sprintf("0.0.0.0:%d", port))
		if err != nil {
			continue
		}
		held = append(held, pc)
		ports = append(ports, port)
	}
	return ports
}

func TestANodeListeningEverywhereTellsOthersItsAdvertisedAddresses(t *testing.T) {
	c := startCluster(t, 1, 1)

	// Listening on every address with nothing to advertise: refused,
	// naming the setting, and nothing is left bound.
	cfg := c.config(1)
	cfg.TunnelListen = fmt.Sprintf("0.0.0.0:%d", freePorts(t, 1)[0])
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = n.Start(context.Background())
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "tunnel_advertise") {
		t.Fatalf("start listening on 0.0.0.0 without tunnel_advertise: %v, want ErrConfig naming tunnel_advertise", err)
	}
	if ln, err := net.Listen("tcp", cfg.TunnelListen); err != nil {
		t.Fatalf("the refused node left its tunnel port bound: %v", err)
	} else {
		ln.Close()
	}

	ports := freePorts(t, 3)
	tunnelPort, adminPort, gossipPort := ports[0], ports[1], ports[2]
	cfg = c.config(1)
	cfg.TunnelListen, cfg.AdminListen, cfg.GossipListen = fmt.Sprintf("0.0.0.0:%d", tunnelPort), fmt.Sprintf("0.0.0.0:%d", adminPort), fmt.Sprintf("0.0.0.0:%d", gossipPort)
	cfg.TunnelAdvertise = fmt.Sprintf("localhost:%d", tunnelPort)
	cfg.AdminAdvertise = fmt.Sprintf("127.0.0.1:%d", adminPort)
	cfg.GossipAdvertise = fmt.Sprintf("127.0.0.1:%d", gossipPort)
	c.tune = func(cf *Config) { *cf = cfg }
	c.startNode(1)

	// The first node learns the second's advertised addresses through
	// gossip, and gives edges the advertised tunnel address.
	var nodes tunnel.NodesResponse
	eventually(t, 10*time.Second, "node 0 lists node 1 at its advertised addresses", func() bool {
		_, body := c.admin(0, "GET", "/admin/v1/members", nil, nil)
		if !strings.Contains(string(body), cfg.AdminAdvertise) || !strings.Contains(string(body), cfg.GossipAdvertise) {
			return false
		}
		resp, err := c.edge.Get("https://" + c.nodes[0].TunnelAddr() + tunnel.PathNodes)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		nodes = tunnel.NodesResponse{}
		return json.NewDecoder(resp.Body).Decode(&nodes) == nil && len(nodes.Nodes) == 2
	})
	var got string
	for _, ni := range nodes.Nodes {
		if ni.Name == "core-1" {
			got = ni.TunnelAddr
		}
	}
	if got != cfg.TunnelAdvertise {
		t.Fatalf("edges are told core-1 is at %q, want %q (%+v)", got, cfg.TunnelAdvertise, nodes.Nodes)
	}
	// An edge can reach node 1 there.
	resp, err := c.edge.Get("https://" + got + tunnel.PathHealth)
	if err != nil {
		t.Fatalf("dialing the advertised tunnel address: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("health through the advertised address: %d", resp.StatusCode)
	}
}

func TestAdvertiseAddressesThatCannotBeDialedAreRefused(t *testing.T) {
	c := startCluster(t, 1, 1)
	for _, tc := range []struct {
		name string
		set  func(*Config)
	}{
		{"tunnel on every address", func(cf *Config) { cf.TunnelAdvertise = "0.0.0.0:7443" }},
		{"tunnel without a port", func(cf *Config) { cf.TunnelAdvertise = "core-1.internal" }},
		{"tunnel without a host", func(cf *Config) { cf.TunnelAdvertise = ":7443" }},
		{"admin on port 0", func(cf *Config) { cf.AdminAdvertise = "10.0.0.5:0" }},
		{"admin on ::", func(cf *Config) { cf.AdminAdvertise = "[::]:7444" }},
		{"gossip as a name", func(cf *Config) { cf.GossipAdvertise = "core-1.internal:7946" }},
		{"gossip on every address", func(cf *Config) { cf.GossipAdvertise = "0.0.0.0:7946" }},
	} {
		cfg := c.config(1)
		tc.set(&cfg)
		if _, err := New(cfg); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "advertise") {
			t.Errorf("%s: %v, want ErrConfig about the advertise address", tc.name, err)
		}
	}
}
