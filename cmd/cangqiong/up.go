package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/cangqiong/cangqiong/core"
	"github.com/cangqiong/cangqiong/core/certs"
	"github.com/cangqiong/cangqiong/sharding/dbconn"
	"github.com/cangqiong/cangqiong/sharding/schema"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
	"github.com/cangqiong/cangqiong/sharding/shardserver"
)

func init() {
	register("up", "Start the local deployment: MariaDB for the global keyspace and each shard (migrated), a core cluster, and an edge with its Redis per region, until interrupted.", &upCmd{})
}

// upCmd runs the parts of the deployment that exist so far; the change
// stream, resharding and the front door join it as their issues land, and
// until then up says so.
type upCmd struct {
	StateDir string `name:"state-dir" default:".local/up" help:"Where the servers keep their data, the shard map and the certificates (kept across runs)."`
	Shards   int    `default:"4" help:"Number of shards on first start (the stored shard map decides afterwards)."`
	Cores    int    `default:"3" help:"Number of core nodes."`
	BasePort int    `name:"base-port" default:"3400" help:"Port of the global keyspace; shards take the next ones, core nodes base+1000 (tunnel), +1010 (admin), +1020 (gossip), edges base+2000 (+2010 admin, +2020 Redis). 0 picks free ports."`
}

// upServer is one started MariaDB and what it stands for.
type upServer struct {
	name string // "global" or the shard id
	srv  *shardserver.Server
}

func (c *upCmd) Run(e *env) error {
	if err := shardserver.Available(); err != nil {
		return fmt.Errorf("%w (scripts/up.sh installs it)", err)
	}
	mapPath := filepath.Join(c.StateDir, "shardmap.json")
	m, fresh, err := c.shardMap(mapPath)
	if err != nil {
		return err
	}
	started, err := startServers(e, c.StateDir, m)
	defer stopServers(e, started)
	if err != nil {
		return err
	}
	if fresh {
		if err := writeMapFile(mapPath, m); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(e.ctx, 5*time.Minute)
	defer cancel()
	if _, err := schema.Migrate(ctx, m, dbconn.Credentials{}, e.logger); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if c.Cores < 1 || c.Cores > 16 {
		return fmt.Errorf("--cores %d: want 1 to 16", c.Cores)
	}
	pkiDir := filepath.Join(c.StateDir, "pki")
	if err := os.MkdirAll(pkiDir, 0o700); err != nil {
		return err
	}
	pki, err := loadOrMakePKI(pkiDir)
	if err != nil {
		return err
	}
	nodes, err := c.startCores(e, pki, m, c.Cores)
	defer stopCores(e, nodes)
	if err != nil {
		return err
	}
	edges, err := c.startEdges(e, pki, nodes)
	defer stopEdges(e, edges)
	if err != nil {
		return err
	}
	c.report(e, m, mapPath)
	c.howTo(e, pkiDir, nodes, edges)
	fmt.Fprintln(e.stdout, "up: ready; press Ctrl-C to stop")
	<-e.ctx.Done()
	fmt.Fprintln(e.stdout, "up: stopping")
	return nil
}

// shardMap loads the stored map, or makes the first one.
func (c *upCmd) shardMap(path string) (*shardmap.Map, bool, error) {
	if data, err := os.ReadFile(path); err == nil {
		m, err := shardmap.Parse(data)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", path, err)
		}
		return m, false, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, false, err
	}
	if c.Shards < 1 || c.Shards > 64 {
		return nil, false, fmt.Errorf("--shards %d: want 1 to 64", c.Shards)
	}
	ports, err := c.ports(c.Shards + 1)
	if err != nil {
		return nil, false, err
	}
	m := &shardmap.Map{Epoch: 1, Global: shardmap.Keyspace{Address: loopback(ports[0])}}
	for i := range c.Shards {
		m.Shards = append(m.Shards, shardmap.Shard{
			ID: fmt.Sprintf("shard-%d", i), Address: loopback(ports[i+1]), State: shardmap.Serving, Weight: 1,
		})
	}
	return m, true, m.Validate()
}

func (c *upCmd) ports(n int) ([]int, error) {
	ports := make([]int, n)
	for i := range ports {
		if c.BasePort != 0 {
			ports[i] = c.BasePort + i
			continue
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ports[i] = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
	}
	return ports, nil
}

func loopback(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// startServers starts the global keyspace's server and each shard's, in
// the state dir. On error it returns those already started, for stopping.
func startServers(e *env, dir string, m *shardmap.Map) ([]upServer, error) {
	targets := []upServer{{name: "global"}}
	addrs := []string{m.Global.Address}
	for _, s := range m.Shards {
		targets = append(targets, upServer{name: s.ID})
		addrs = append(addrs, s.Address)
	}
	var started []upServer
	for i, t := range targets {
		port, err := portOf(addrs[i])
		if err != nil {
			return started, fmt.Errorf("%s: %w", t.name, err)
		}
		fmt.Fprintf(e.stdout, "up: starting MariaDB for %s on %s\n", t.name, addrs[i])
		srv, err := shardserver.Start(e.ctx, shardserver.Options{Dir: filepath.Join(dir, "mariadb", t.name), Port: port, Logger: e.logger})
		if err != nil {
			return started, fmt.Errorf("%s: %w", t.name, err)
		}
		t.srv = srv
		started = append(started, t)
	}
	return started, nil
}

func portOf(addr string) (int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil || (host != "127.0.0.1" && host != "localhost") {
		return 0, fmt.Errorf("up runs its servers on 127.0.0.1; the stored map names %q", addr)
	}
	return strconv.Atoi(p)
}

func stopServers(e *env, started []upServer) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, s := range started {
		if err := s.srv.Stop(ctx); err != nil {
			fmt.Fprintf(e.stderr, "up: stopping %s: %v\n", s.name, err)
		}
	}
}

func writeMapFile(path string, m *shardmap.Map) error {
	data, err := shardmap.Marshal(m)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// report says what runs, and what does not yet.
func (c *upCmd) report(e *env, m *shardmap.Map, mapPath string) {
	w := e.stdout
	fmt.Fprintf(w, "up: global keyspace  %s/%s\n", m.Global.Address, m.Global.DatabaseName())
	for _, s := range m.Shards {
		fmt.Fprintf(w, "up: %-15s %s/%s (%s, weight %d)\n", s.ID, s.Address, s.DatabaseName(), s.State, s.Weight)
	}
	fmt.Fprintf(w, "up: shard map epoch %d in %s; schema migrated\n", m.Epoch, mapPath)
	fmt.Fprintln(w, "up: edges follow the change stream: a write at the core purges their caches")
	fmt.Fprintln(w, "up: not yet part of the deployment: the front door, regional failover drills, the Terraform provider (later issues)")
}

// howTo shows how to talk to the deployment by hand.
func (c *upCmd) howTo(e *env, pkiDir string, nodes []*core.Node, edges []*upEdge) {
	fmt.Fprintf(e.stdout, "up: try  curl -i http://%s/api/v1/shops\n", edges[0].addr)
	fmt.Fprintf(e.stdout, "up: as a user  curl -H \"Authorization: Bearer $(bin/cangqiong token --key-file %s --user 42)\" http://%s/api/v1/me/cart\n", filepath.Join(pkiDir, "jwt.key"), edges[0].addr)
	crt, key := certs.LeafFiles(pkiDir, certs.Peer{Kind: certs.Edge, Region: upRegion, ID: "edge-0"})
	tls := fmt.Sprintf("--cacert %s --cert %s --key %s", filepath.Join(pkiDir, certs.CACertFile), crt, key)
	fmt.Fprintf(e.stdout, "up: a core directly (as an edge)  curl %s https://%s/api/v1/shops\n", tls, nodes[0].TunnelAddr())
	fmt.Fprintf(e.stdout, "up: admin  curl -H \"Authorization: Bearer $(cat %s)\" http://%s/admin/v1/members\n", filepath.Join(pkiDir, "admin.token"), nodes[0].AdminAddr())
	fmt.Fprintf(e.stdout, "up: reshard  bin/cangqiong reshard status --admin http://%s --token-file %s\n", nodes[0].AdminAddr(), filepath.Join(pkiDir, "admin.token"))
}
