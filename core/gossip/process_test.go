package gossip

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/sharding/control"
	"github.com/cangqiong/cangqiong/sharding/dbconn"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

// The multi-process test re-executes the test binary as gossip nodes. A
// child is configured by these variables and speaks a line protocol:
//
//	stdout: ready <gossip addr>        once started
//	        applied <epoch> <unix-ns>  whenever it starts serving an epoch
//	        committed <epoch> <unix-ns> after a commit returned
//	        members <json []Member>
//	        error <text>
//	stdin:  commit   commit the next epoch (same shards, epoch+1)
//	        members  list members
//	        EOF      shut down gracefully and exit
//
// Commits are made by the children (a random one per trial), so the
// cluster under test is exactly the five processes; the parent only
// observes.
const (
	envChild  = "CANGQIONG_GOSSIP_CHILD"
	envName   = "CANGQIONG_GOSSIP_NAME"
	envPort   = "CANGQIONG_GOSSIP_PORT"
	envSeeds  = "CANGQIONG_GOSSIP_SEEDS"
	envKey    = "CANGQIONG_GOSSIP_KEY"
	envGlobal = "CANGQIONG_GOSSIP_GLOBAL" // host:port/database of the global keyspace
)

func TestMain(m *testing.M) {
	if os.Getenv(envChild) == "1" {
		os.Exit(runChild())
	}
	os.Exit(m.Run())
}

// lineOut writes whole lines to stdout from several goroutines.
type lineOut struct {
	mu sync.Mutex
	w  io.Writer
}

func (o *lineOut) printf(format string, args ...any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	fmt.Fprintf(o.w, format+"\n", args...)
}

func runChild() int {
	out := &lineOut{w: os.Stdout}
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	key, err := hex.DecodeString(os.Getenv(envKey))
	if err != nil {
		return fail(err)
	}
	port, err := strconv.Atoi(os.Getenv(envPort))
	if err != nil {
		return fail(err)
	}
	addr, database, _ := strings.Cut(os.Getenv(envGlobal), "/")
	db, err := dbconn.Open(addr, database, dbconn.Credentials{}, dbconn.Pool{MaxOpen: 4})
	if err != nil {
		return fail(err)
	}
	defer db.Close()
	var seeds []string
	if s := os.Getenv(envSeeds); s != "" {
		seeds = strings.Split(s, ",")
	}
	name := os.Getenv(envName)
	ctx := context.Background()
	g, err := Start(ctx, Config{
		NodeName:       name,
		BindPort:       port,
		SecretKey:      key,
		Seeds:          seeds,
		Region:         "test-1",
		TunnelAddr:     "127.0.0.1:8443",
		AdminAddr:      "127.0.0.1:9000",
		Store:          control.NewStore(db),
		ReloadInterval: time.Minute, // measure gossip, not polling
		Profile:        ProfileLocal,
		OnChange: func(t *shardmap.Topology) {
			out.printf("applied %d %d", t.Epoch(), time.Now().UnixNano())
		},
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return fail(err)
	}
	out.printf("ready %s", g.LocalAddr())
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		switch in.Text() {
		case "commit":
			cur := g.Topology()
			if err := g.Commit(ctx, cur.Epoch(), next(cur.Map)); err != nil {
				out.printf("error %v", err)
				continue
			}
			out.printf("committed %d %d", cur.Epoch()+1, time.Now().UnixNano())
		case "members":
			b, _ := json.Marshal(g.Members())
			out.printf("members %s", b)
		default:
			out.printf("error unknown command %q", in.Text())
		}
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := g.Shutdown(sctx); err != nil {
		fmt.Fprintln(os.Stderr, "child: shutdown:", err) // not fatal: peers may be gone
	}
	return 0
}

// proc is a child node seen from the parent.
type proc struct {
	name    string
	addr    string
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	replies chan string // every stdout line but "applied"
	exited  chan error
	stderr  *syncBuffer
	killed  bool
}

// procCluster runs child nodes against one global keyspace.
type procCluster struct {
	t       *testing.T
	global  string
	key     []byte
	applied *applyLog
	procs   []*proc
}

func (pc *procCluster) start(name string, port int, seeds []string) *proc {
	t := pc.t
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		envChild+"=1", envName+"="+name, envPort+"="+strconv.Itoa(port),
		envSeeds+"="+strings.Join(seeds, ","), envKey+"="+hex.EncodeToString(pc.key), envGlobal+"="+pc.global)
	p := &proc{name: name, cmd: cmd, replies: make(chan string, 64), exited: make(chan error, 1), stderr: &syncBuffer{}}
	cmd.Stderr = p.stderr
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pc.procs = append(pc.procs, p)
	go pc.read(p, stdout)
	return p
}

// read dispatches p's stdout until it exits.
func (pc *procCluster) read(p *proc, stdout io.Reader) {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		var epoch uint64
		var ns int64
		if _, err := fmt.Sscanf(line, "applied %d %d", &epoch, &ns); err == nil {
			pc.applied.record(p.name, epoch, time.Unix(0, ns))
			continue
		}
		p.replies <- line
	}
	close(p.replies)
	p.exited <- p.cmd.Wait()
}

// reply waits for p's next reply line, which must start with prefix.
func (pc *procCluster) reply(p *proc, prefix string, timeout time.Duration) string {
	pc.t.Helper()
	select {
	case line, ok := <-p.replies:
		if !ok {
			pc.t.Fatalf("%s exited; stderr:\n%s", p.name, p.stderr.String())
		}
		rest, found := strings.CutPrefix(line, prefix)
		if !found {
			pc.t.Fatalf("%s answered %q, want %q…", p.name, line, prefix)
		}
		return rest
	case <-time.After(timeout):
		pc.t.Fatalf("%s did not answer %q within %v; stderr:\n%s", p.name, prefix, timeout, p.stderr.String())
	}
	return ""
}

func (pc *procCluster) ask(p *proc, cmd, prefix string) string {
	pc.t.Helper()
	if _, err := io.WriteString(p.stdin, cmd+"\n"); err != nil {
		pc.t.Fatalf("%s: %v", p.name, err)
	}
	return pc.reply(p, prefix, 20*time.Second)
}

func (pc *procCluster) members(p *proc) map[string]Member {
	pc.t.Helper()
	var ms []Member
	if err := json.Unmarshal([]byte(pc.ask(p, "members", "members ")), &ms); err != nil {
		pc.t.Fatal(err)
	}
	byName := map[string]Member{}
	for _, m := range ms {
		byName[m.Name] = m
	}
	return byName
}

// commit makes p commit the next epoch; it returns the epoch and when
// Commit returned.
func (pc *procCluster) commit(p *proc) (uint64, time.Time) {
	pc.t.Helper()
	var epoch uint64
	var ns int64
	if _, err := fmt.Sscanf(pc.ask(p, "commit", "committed "), "%d %d", &epoch, &ns); err != nil {
		pc.t.Fatal(err)
	}
	return epoch, time.Unix(0, ns)
}

// waitApplied waits until every proc in ps serves epoch.
func (pc *procCluster) waitApplied(ps []*proc, epoch uint64, timeout time.Duration) {
	pc.t.Helper()
	waitFor(pc.t, timeout, fmt.Sprintf("epoch %d everywhere", epoch), func() bool {
		for _, p := range ps {
			if _, ok := pc.applied.when(p.name, epoch); !ok {
				return false
			}
		}
		return true
	})
}

// waitMembers waits until every proc in ps sees member name in state st
// (and, if epoch > 0, announcing epoch); it returns how long that took.
func (pc *procCluster) waitMembers(ps []*proc, name string, st State, epoch uint64, timeout time.Duration) time.Duration {
	pc.t.Helper()
	start := time.Now()
	waitFor(pc.t, timeout, fmt.Sprintf("%s %s everywhere", name, st), func() bool {
		for _, p := range ps {
			m, ok := pc.members(p)[name]
			if !ok || m.State != st || (epoch > 0 && m.Epoch != epoch) {
				return false
			}
		}
		return true
	})
	return time.Since(start)
}

func (pc *procCluster) stopAll() {
	for _, p := range pc.procs {
		if !p.killed {
			p.stdin.Close()
		}
	}
	for _, p := range pc.procs {
		select {
		case err := <-p.exited:
			if err != nil && !p.killed {
				pc.t.Errorf("%s exited with %v; stderr:\n%s", p.name, err, p.stderr.String())
			}
		case <-time.After(30 * time.Second):
			p.cmd.Process.Kill()
			pc.t.Errorf("%s did not exit after stdin closed; stderr:\n%s", p.name, p.stderr.String())
		}
	}
}

func (pc *procCluster) kill(p *proc) {
	pc.t.Helper()
	p.killed = true
	if err := p.cmd.Process.Kill(); err != nil {
		pc.t.Fatal(err)
	}
}

func names(ps []*proc) []string {
	var ns []string
	for _, p := range ps {
		ns = append(ns, p.name)
	}
	return ns
}

func addrs(ps []*proc) []string {
	var as []string
	for _, p := range ps {
		as = append(as, p.addr)
	}
	return as
}

// TestFiveProcesses runs five gossip nodes as separate processes on
// loopback: convergence of 20 commits, each from a random node; then one
// node is killed (SIGKILL), declared dead by the others, which keep
// applying epochs; then it restarts under its name and address, rejoins
// and catches up.
func TestFiveProcesses(t *testing.T) {
	_, d := globalStore(t)
	pc := &procCluster{t: t, key: testKey, applied: newApplyLog(),
		global: d.Map.Global.Address + "/" + d.Map.Global.DatabaseName()}
	defer pc.stopAll()

	first := pc.start("proc-0", 0, nil)
	first.addr = pc.reply(first, "ready ", 60*time.Second)
	nodes := []*proc{first}
	for i := 1; i < 5; i++ {
		nodes = append(nodes, pc.start(fmt.Sprintf("proc-%d", i), 0, []string{first.addr}))
	}
	for _, p := range nodes[1:] {
		p.addr = pc.reply(p, "ready ", 60*time.Second)
	}
	for _, p := range nodes {
		pc.waitMembers(nodes, p.name, StateAlive, 0, 30*time.Second)
	}

	rng := rand.New(rand.NewPCG(5, 5))
	var conv convergence
	for range 20 {
		committer := nodes[rng.IntN(len(nodes))]
		epoch, at := pc.commit(committer)
		pc.waitApplied(nodes, epoch, 10*time.Second)
		if err := conv.add(pc.applied, names(nodes), committer.name, epoch, at); err != nil {
			t.Fatal(err)
		}
	}
	if _, p99 := conv.report(t, "5 processes"); p99 > time.Second {
		t.Errorf("p99 convergence %v, want ≤ 1s", p99)
	}

	// Kill one: the others declare it dead and keep applying epochs.
	victim := nodes[2]
	survivors := []*proc{nodes[0], nodes[1], nodes[3], nodes[4]}
	_, port, _ := net.SplitHostPort(victim.addr)
	pc.kill(victim)
	detect := pc.waitMembers(survivors, victim.name, StateDead, 0, 30*time.Second)
	t.Logf("failure detection: all 4 survivors mark the killed node dead %v after SIGKILL", detect.Round(time.Millisecond))
	epoch, _ := pc.commit(survivors[rng.IntN(len(survivors))])
	pc.waitApplied(survivors, epoch, 10*time.Second)

	// Restart it under the same name and address: it rejoins and serves
	// the current epoch, and takes part in the next commit.
	p, _ := strconv.Atoi(port)
	back := pc.start(victim.name, p, addrs(survivors))
	back.addr = pc.reply(back, "ready ", 60*time.Second)
	if _, ok := pc.applied.when(back.name, epoch); !ok {
		t.Errorf("restarted node does not serve epoch %d", epoch)
	}
	rejoin := pc.waitMembers(survivors, back.name, StateAlive, epoch, 30*time.Second)
	t.Logf("rejoin: the survivors see the restarted node alive at epoch %d %v after it was ready", epoch, rejoin.Round(time.Millisecond))
	all := append(survivors, back)
	epoch, _ = pc.commit(all[rng.IntN(len(all))])
	pc.waitApplied(all, epoch, 10*time.Second)
}
