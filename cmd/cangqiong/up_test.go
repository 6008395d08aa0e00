package main

import (
	"context"
	"database/sql"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/core/certs"
	"github.com/cangqiong/cangqiong/internal/testenv"
	"github.com/cangqiong/cangqiong/sharding/dbconn"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
	"github.com/cangqiong/cangqiong/sharding/shardserver"
)

// startUp runs `cangqiong up` and waits for its ready line; it returns
// the process, the tunnel address of core-0 and the eu edge's address.
func startUp(t *testing.T, stateDir string) (*exec.Cmd, string, string) {
	t.Helper()
	var tunnelAddr, edgeAddr string
	cmd := startCLI(t, 2*time.Minute, func(line string) bool {
		if f := strings.Fields(line); len(f) > 3 && f[1] == "core-0" && f[2] == "tunnel" {
			tunnelAddr = strings.TrimSuffix(f[3], ",")
		}
		if f := strings.Fields(line); len(f) > 3 && f[1] == "edge" && f[2] == "eu" {
			edgeAddr = f[3]
		}
		return strings.HasPrefix(line, "up: ready")
	}, "up", "--state-dir", stateDir, "--shards", "2", "--base-port", "0")
	return cmd, tunnelAddr, edgeAddr
}

func stopUp(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("up did not exit cleanly on SIGTERM: %v", err)
	}
}

func TestUpStartsMigratedShardsAndKeepsData(t *testing.T) {
	testenv.Require(t, "mariadbd", shardserver.Available())
	state := t.TempDir()
	cmd, tunnelAddr, edgeAddr := startUp(t, state)
	checkCoreAnswers(t, state, tunnelAddr)
	checkEdgeAnswers(t, edgeAddr)
	data, err := os.ReadFile(filepath.Join(state, "shardmap.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := shardmap.Parse(data)
	if err != nil || len(m.Shards) != 2 {
		t.Fatalf("stored map: %v, %v", m, err)
	}
	ctx := context.Background()
	db := openShard(t, m.Shards[0])
	if _, err := db.ExecContext(ctx, "INSERT INTO users (user_id, name, phone, email, role, created_at, updated_at) VALUES (1, 'kept', '', '', 'customer', NOW(6), NOW(6))"); err != nil {
		t.Fatalf("shard-0 is not migrated: %v", err)
	}
	global := openKeyspace(t, m.Global.Address, m.Global.DatabaseName())
	var epoch uint64
	if err := global.QueryRowContext(ctx, "SELECT epoch FROM cq_shard_map").Scan(&epoch); err != nil || epoch != 1 {
		t.Fatalf("control table holds epoch %d (%v), want the bootstrapped 1", epoch, err)
	}
	db.Close()
	global.Close()
	stopUp(t, cmd)
	if c, err := net.DialTimeout("tcp", m.Shards[0].Address, time.Second); err == nil {
		c.Close()
		t.Fatalf("%s still listens after up stopped", m.Shards[0].Address)
	}

	cmd, tunnelAddr, edgeAddr = startUp(t, state) // same data, same certificates
	checkCoreAnswers(t, state, tunnelAddr)
	checkEdgeAnswers(t, edgeAddr)
	db = openShard(t, m.Shards[0])
	var name string
	if err := db.QueryRowContext(ctx, "SELECT name FROM users WHERE user_id = 1").Scan(&name); err != nil || name != "kept" {
		t.Fatalf("after restart: %q, %v", name, err)
	}
	db.Close()
	stopUp(t, cmd)
}

func openShard(t *testing.T, s shardmap.Shard) *sql.DB {
	return openKeyspace(t, s.Address, s.DatabaseName())
}

func openKeyspace(t *testing.T, addr, database string) *sql.DB {
	t.Helper()
	db, err := dbconn.Open(addr, database, dbconn.Credentials{}, dbconn.Pool{})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// checkCoreAnswers reads the catalog from a core node over mTLS with the
// edge certificate up made.
func checkCoreAnswers(t *testing.T, state, addr string) {
	t.Helper()
	pki := filepath.Join(state, "pki")
	ca, err := certs.LoadCACert(pki)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := certs.LoadLeaf(pki, certs.Peer{Kind: certs.Edge, Region: "local", ID: "edge-0"})
	if err != nil {
		t.Fatal(err)
	}
	client := mtlsClient(certs.Pool(ca), leaf)
	resp, err := client.Get("https://" + addr + "/api/v1/shops")
	if err != nil {
		t.Fatalf("core-0 at %q: %v", addr, err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
		t.Fatalf("GET /api/v1/shops: %d over HTTP/%d", resp.StatusCode, resp.ProtoMajor)
	}
}

// checkEdgeAnswers reads the catalog through the eu edge, twice: the second
// answer comes from its cache.
func checkEdgeAnswers(t *testing.T, addr string) {
	t.Helper()
	for i, want := range []string{"MISS", "HIT-L1"} {
		resp, err := http.Get("http://" + addr + "/api/v1/shops")
		if err != nil {
			t.Fatalf("edge at %q: %v", addr, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || (i == 1 && resp.Header.Get("X-Cache") != want) {
			t.Fatalf("GET /api/v1/shops through the edge, %d: %d X-Cache %q", i, resp.StatusCode, resp.Header.Get("X-Cache"))
		}
	}
}
