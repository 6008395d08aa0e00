package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/core/admin"
	"github.com/cangqiong/cangqiong/replication/reshard"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
	"github.com/vbauerster/mpb/v8"
)

const reshardToken = "reshard-test-admin-token-0123456789"

// walkingReshards is a coordinator that refuses as the real one does and
// walks each workflow one phase step per GET of it, so a follower sees
// every phase.
type walkingReshards struct {
	mu       sync.Mutex
	shards   []string // the map's shard ids
	failing  string   // a workflow on this shard fails while copying
	stuck    string   // a workflow on this shard copies forever
	requests []reshard.Request
	flows    map[uint64]*walk
	last     uint64
}

type walk struct {
	steps []reshard.Status
	at    int
	gets  int
}

func (w *walkingReshards) Start(_ context.Context, req reshard.Request) (reshard.Status, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.requests = append(w.requests, req)
	known := slices.Contains(w.shards, req.Shard.ID)
	switch {
	case req.Kind == reshard.Add && known:
		return reshard.Status{}, fmt.Errorf("%w: %s is in the map at epoch 7", reshard.ErrShardExists, req.Shard.ID)
	case req.Kind == reshard.Remove && !known:
		return reshard.Status{}, fmt.Errorf("%w: %s", reshard.ErrUnknownShard, req.Shard.ID)
	case w.last != 0 && !w.flows[w.last].current().Phase.Final():
		return reshard.Status{}, fmt.Errorf("%w: reshard %d", reshard.ErrBusy, w.last)
	}
	if w.flows == nil {
		w.flows = map[uint64]*walk{}
	}
	w.last = 4100 + uint64(len(w.flows))
	f := &walk{steps: steps(w.last, req, req.Shard.ID == w.failing, req.Shard.ID == w.stuck)}
	w.flows[w.last] = f
	return f.current(), nil
}

func (w *walkingReshards) Get(_ context.Context, id uint64) (reshard.Status, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f := w.flows[id]
	if f == nil {
		return reshard.Status{}, fmt.Errorf("%w: %d", reshard.ErrNotFound, id)
	}
	f.gets++
	f.at = min(f.at+1, len(f.steps)-1)
	return f.current(), nil
}

func (w *walkingReshards) Current(context.Context) (reshard.Status, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.last == 0 {
		return reshard.Status{}, reshard.ErrNotFound
	}
	return w.flows[w.last].current(), nil
}

// Abort rolls back a workflow that ended failed.
func (w *walkingReshards) Abort(_ context.Context, id uint64) (reshard.Status, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f := w.flows[id]
	if f == nil {
		return reshard.Status{}, fmt.Errorf("%w: %d", reshard.ErrNotFound, id)
	}
	st := f.current()
	if st.Phase != reshard.Failed {
		return reshard.Status{}, fmt.Errorf("%w: workflow %d is %s; only a failed workflow can be rolled back", reshard.ErrCannotAbort, id, st.Phase)
	}
	st.Phase, st.ToEpoch = reshard.Aborted, 9
	f.steps = append(f.steps, st)
	f.at = len(f.steps) - 1
	return st, nil
}

func (w *walkingReshards) gets(id uint64) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flows[id].gets
}

func (f *walk) current() reshard.Status { return f.steps[f.at] }

// steps is a workflow's statuses, phase by phase.
func steps(id uint64, req reshard.Request, fail, stuck bool) []reshard.Status {
	start := time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)
	base := reshard.Status{ID: id, Kind: req.Kind, Shard: req.Shard.ID, Owner: "core-0", FromEpoch: 7, Fraction: 0.2, StartedAt: start, UpdatedAt: start}
	at := func(phase reshard.Phase, progress float64, users int64, lag uint64, eta time.Duration) reshard.Status {
		st := base
		st.Phase, st.Progress, st.Users, st.Rows, st.Lag, st.ETA = phase, progress, users, users*7, lag, eta
		st.Pairs = []reshard.Pair{{From: "shard-0", To: req.Shard.ID, Fraction: 0.2, SourceRows: 42000, Scanned: int64(progress * 42000),
			Users: users, Rows: users * 7, Copied: progress == 1, Lag: lag}}
		return st
	}
	if stuck {
		return []reshard.Status{at(reshard.Preparing, 0, 0, 0, 0), at(reshard.Copying, 0.1, 120, 0, time.Hour)}
	}
	if fail {
		broken := at(reshard.Copying, 0.25, 300, 0, 0)
		broken.Phase, broken.Error = reshard.Failed, "copy shard-0 → "+req.Shard.ID+": connection reset by peer"
		return []reshard.Status{at(reshard.Preparing, 0, 0, 0, 0), at(reshard.Copying, 0.25, 300, 0, 3*time.Second), broken}
	}
	done := at(reshard.Done, 1, 1200, 0, 0)
	end := start.Add(time.Minute)
	done.ToEpoch, done.Hold, done.FinishedAt = 9, 85*time.Millisecond, &end
	return []reshard.Status{
		at(reshard.Preparing, 0, 0, 0, 0),
		at(reshard.Copying, 0.25, 300, 0, 3*time.Second),
		at(reshard.Copying, 0.5, 600, 0, 2*time.Second),
		at(reshard.Copying, 0.75, 900, 0, time.Second),
		at(reshard.CatchingUp, 1, 1200, 12, 0),
		at(reshard.Cutover, 1, 1200, 0, 0),
		at(reshard.Verifying, 1, 1200, 0, 0),
		at(reshard.Cleanup, 1, 1200, 0, 0),
		done,
	}
}

// noCluster is a core node's gossip, for an admin API whose tests touch
// only the reshard routes.
type noCluster struct{}

func (noCluster) Members() []admin.Member      { return nil }
func (noCluster) Topology() *shardmap.Topology { return nil }
func (noCluster) Commit(context.Context, uint64, *shardmap.Map) error {
	return errors.New("no shard map in this test")
}

// reshardAPI serves a real admin API over w on loopback and returns the
// environment that points the command at it.
func reshardAPI(t *testing.T, w *walkingReshards) []string {
	t.Helper()
	a, err := admin.New(admin.Config{Token: reshardToken, Cluster: noCluster{}, Reshards: w, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	tokenFile := filepath.Join(t.TempDir(), "admin.token")
	if err := os.WriteFile(tokenFile, []byte(reshardToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{"CANGQIONG_ADMIN=" + srv.URL, "CANGQIONG_ADMIN_TOKEN_FILE=" + tokenFile}
}

func newWalker() *walkingReshards {
	return &walkingReshards{shards: []string{"shard-0", "shard-1", "shard-2", "shard-3"}, failing: "shard-8", stuck: "shard-9"}
}

// phasesShown are the phases of the progress lines in out, each once.
func phasesShown(t *testing.T, out string, id uint64) []string {
	t.Helper()
	var phases []string
	prefix := fmt.Sprintf("reshard %d ", id)
	for _, line := range lines(out) {
		if !strings.HasPrefix(line, prefix) {
			t.Errorf("line %q does not start with %q", line, prefix)
			continue
		}
		if f := strings.Fields(line); len(f) > 3 && strings.HasSuffix(f[3], "%") && (len(phases) == 0 || phases[len(phases)-1] != f[2]) {
			phases = append(phases, f[2])
		}
	}
	return phases
}

func TestReshardAddFollowsToDone(t *testing.T) {
	w := newWalker()
	env := reshardAPI(t, w)
	r := runCLI(t, env, "reshard", "add", "--shard", "shard-5", "--address", "127.0.0.1:3405", "--database", "takeout5", "--weight", "2")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %s, stdout:\n%s", r.code, r.stderr, r.stdout)
	}
	want := reshard.Request{Kind: reshard.Add, Shard: shardmap.Shard{ID: "shard-5", Address: "127.0.0.1:3405", Database: "takeout5", Weight: 2}}
	if len(w.requests) != 1 || w.requests[0] != want {
		t.Errorf("Start got %+v, want %+v", w.requests, want)
	}
	id := w.last
	out := lines(r.stdout)
	if want := fmt.Sprintf("reshard %d started: add shard-5 from shard map epoch 7", id); out[0] != want {
		t.Errorf("first line %q, want %q", out[0], want)
	}
	if want := fmt.Sprintf("reshard %d done: added shard-5, shard map epoch 7→9, users=1200 rows=8400 hold=85ms mismatches=0 in 1m0s", id); out[len(out)-1] != want {
		t.Errorf("last line %q, want %q", out[len(out)-1], want)
	}
	phases := phasesShown(t, r.stdout, id)
	if want := []string{"preparing", "copying", "catching_up", "cutover", "verifying", "cleanup"}; !slices.Equal(phases, want) {
		t.Errorf("phases shown %v, want %v in:\n%s", phases, want, r.stdout)
	}
	if !strings.Contains(r.stdout, fmt.Sprintf("reshard %d copying 25%% users=300 rows=2100 lag=0 eta=3s\n", id)) {
		t.Errorf("no line on entering copying:\n%s", r.stdout)
	}
	if n := strings.Count(r.stdout, " copying "); n > 2 {
		t.Errorf("%d copying lines in 1.5 s; at most one per 2 s after the first:\n%s", n, r.stdout)
	}
	if strings.Contains(r.stdout, "\x1b") {
		t.Errorf("terminal escapes in plain output:\n%q", r.stdout)
	}
}

func TestReshardFailedExitsNonZero(t *testing.T) {
	w := newWalker()
	w.shards = append(w.shards, "shard-8")
	env := reshardAPI(t, w)
	r := runCLI(t, env, "reshard", "remove", "--shard", "shard-8")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1; stdout:\n%s", r.code, r.stdout)
	}
	checkStderr(t, r)
	id := w.last
	out := lines(r.stdout)
	if want := fmt.Sprintf("reshard %d failed: remove shard-8: copy shard-0 → shard-8: connection reset by peer", id); out[len(out)-1] != want {
		t.Errorf("last line %q, want %q", out[len(out)-1], want)
	}
	if want := fmt.Sprintf("cangqiong: reshard remove: reshard %d failed: copy shard-0 → shard-8", id); !strings.HasPrefix(r.stderr, want) {
		t.Errorf("stderr %q, want %q…", r.stderr, want)
	}
}

func TestReshardAbortRollsBackAFailedWorkflow(t *testing.T) {
	w := newWalker()
	w.shards = append(w.shards, "shard-8")
	env := reshardAPI(t, w)
	if r := runCLI(t, env, "reshard", "remove", "--shard", "shard-8"); r.code != 1 {
		t.Fatalf("the failing workflow: exit %d", r.code)
	}
	id := w.last
	r := runCLI(t, env, "reshard", "abort")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("abort: exit %d; stderr %s", r.code, r.stderr)
	}
	if want := fmt.Sprintf("reshard %d: rolling back (deleting its copies; this may take a while)\nreshard %d aborted: remove shard-8 rolled back, shard map epoch 9 (it had failed: copy shard-0 → shard-8: connection reset by peer)\n", id, id); r.stdout != want {
		t.Errorf("stdout %q, want %q", r.stdout, want)
	}
	r = runCLI(t, env, "reshard", "abort", fmt.Sprint(id))
	if r.code != 1 || !strings.Contains(r.stderr, "reshard abort refused (reshard_not_abortable)") || !strings.Contains(r.stderr, "aborted") {
		t.Errorf("a second abort: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := runCLI(t, env, "reshard", "status", "--watch", fmt.Sprint(id)); r.code != 1 || !strings.Contains(r.stderr, "was rolled back after it failed") {
		t.Errorf("status --watch of an aborted workflow: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestReshardRefusals(t *testing.T) {
	w := newWalker()
	env := reshardAPI(t, w)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"add", "--shard", "shard-0", "--address", "127.0.0.1:3400"},
			"cangqiong: reshard add: reshard refused (shard_exists): reshard: the shard already exists: shard-0 is in the map at epoch 7"},
		{[]string{"remove", "--shard", "shard-7"},
			"cangqiong: reshard remove: reshard refused (shard_not_found): reshard: no such shard: shard-7"},
		{[]string{"status"},
			"cangqiong: reshard status: the admin API answered 404 (reshard_not_found): reshard: no such workflow"},
		{[]string{"status", "77"},
			"cangqiong: reshard status <id>: the admin API answered 404 (reshard_not_found): reshard: no such workflow: 77"},
	} {
		r := runCLI(t, env, append([]string{"reshard"}, c.args...)...)
		if r.code != 1 || strings.TrimSpace(r.stderr) != c.want || r.stdout != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 1, %q", c.args, r.code, r.stdout, r.stderr, c.want)
		}
	}

	// A running workflow keeps a second one out.
	r := runCLI(t, env, "reshard", "add", "--shard", "shard-9", "--address", "127.0.0.1:3409", "--detach")
	if r.code != 0 {
		t.Fatalf("detached add: exit %d, %s", r.code, r.stderr)
	}
	r = runCLI(t, env, "reshard", "remove", "--shard", "shard-1")
	if want := "reshard refused (reshard_running): reshard: a workflow is already running"; r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Errorf("second workflow: exit %d, stderr %q; want %q", r.code, r.stderr, want)
	}

	// The wrong token is said to be the wrong token.
	wrong := filepath.Join(t.TempDir(), "wrong.token")
	os.WriteFile(wrong, []byte("not-the-admin-token-at-all"), 0o600)
	r = runCLI(t, append(env, "CANGQIONG_ADMIN_TOKEN_FILE="+wrong), "reshard", "status")
	if want := "the admin API refused the token (unauthenticated)"; r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Errorf("wrong token: exit %d, stderr %q; want %q", r.code, r.stderr, want)
	}
	checkStderr(t, r)
}

func TestReshardDetachAndStatus(t *testing.T) {
	w := newWalker()
	env := reshardAPI(t, w)
	r := runCLI(t, env, "reshard", "add", "--shard", "shard-5", "--address", "127.0.0.1:3405", "--detach")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
	}
	id := w.last
	checkLines(t, r.stdout,
		fmt.Sprintf("reshard %d started: add shard-5 from shard map epoch 7", id),
		fmt.Sprintf("follow it with: cangqiong reshard status --watch %d", id))
	if n := w.gets(id); n != 0 {
		t.Errorf("--detach polled the workflow %d times", n)
	}

	// Without an id: the current workflow, described once.
	r = runCLI(t, env, "reshard", "status")
	if r.code != 0 {
		t.Fatalf("status: exit %d, %s", r.code, r.stderr)
	}
	checkLines(t, r.stdout,
		fmt.Sprintf("reshard %d preparing 0%% users=0 rows=0 lag=0", id),
		"  add shard-5, owner core-0, shard map epoch 7, 20.0% of the keyspace moves, started "+
			time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC).Local().Format(time.DateTime),
		"  shard-0 → shard-5  20.0%  scanned=0/42000 users=0 rows=0 lag=0 mismatches=0 deleted=0")

	r = runCLI(t, env, "reshard", "status", "--json", fmt.Sprint(id))
	var st reshard.Status
	if err := json.Unmarshal([]byte(r.stdout), &st); r.code != 0 || err != nil || st.ID != id || st.Phase != reshard.Copying {
		t.Errorf("status --json: exit %d, %v, %+v", r.code, err, st)
	}

	r = runCLI(t, env, "reshard", "status", "--watch", fmt.Sprint(id))
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("status --watch: exit %d, stderr %s", r.code, r.stderr)
	}
	out := lines(r.stdout)
	if want := fmt.Sprintf("reshard %d done: added shard-5", id); !strings.HasPrefix(out[len(out)-1], want) {
		t.Errorf("status --watch ends %q, want %q…", out[len(out)-1], want)
	}
	if phases := phasesShown(t, r.stdout, id); len(phases) == 0 || phases[0] != "copying" || phases[len(phases)-1] != "cleanup" {
		t.Errorf("status --watch showed %v", phases)
	}
	// A finished workflow: its final line, and nothing to wait for.
	r = runCLI(t, env, "reshard", "status", "--watch")
	if r.code != 0 || len(lines(r.stdout)) != 1 || !strings.Contains(r.stdout, " done: ") {
		t.Errorf("status --watch of a finished workflow: exit %d, %q", r.code, r.stdout)
	}
}

func TestReshardInterruptLeavesTheWorkflow(t *testing.T) {
	w := newWalker()
	env := reshardAPI(t, w)
	cmd := exec.Command(binary(t), "reshard", "add", "--shard", "shard-9", "--address", "127.0.0.1:3409")
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	sc := bufio.NewScanner(out)
	for sc.Scan() && !strings.Contains(sc.Text(), " copying ") {
	}
	cmd.Process.Signal(os.Interrupt)
	for sc.Scan() {
	}
	err = cmd.Wait()
	id := w.last
	want := fmt.Sprintf("cangqiong: reshard add: interrupted; reshard %d goes on (cangqiong reshard status --watch %d)\n", id, id)
	if cmd.ProcessState.ExitCode() != 1 || stderr.String() != want {
		t.Errorf("interrupted: %v, stderr %q; want exit 1, %q", err, stderr.String(), want)
	}
}

func TestReshardUsage(t *testing.T) {
	env := reshardAPI(t, newWalker())
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"reshard"}, 2, `expected one of "add", "remove", "status"`},
		{[]string{"reshard", "split"}, 2, "unexpected argument split"},
		{[]string{"reshard", "add", "--shard", "shard-5"}, 2, "missing flags: --address=HOST:PORT"},
		{[]string{"reshard", "add", "--shard", "shard-5", "--address", "h:1", "--weight", "abc"}, 2, "--weight"},
		{[]string{"reshard", "add", "--shard", "shard-5", "--address", "h:1", "--weight", "0"}, 1, "--weight 0: want 1 or more"},
		{[]string{"reshard", "remove"}, 2, "missing flags: --shard=ID"},
		{[]string{"reshard", "remove", "--shard", "shard-1", "--watch"}, 2, "unknown flag --watch"},
		{[]string{"reshard", "status", "abc"}, 2, `expected a valid 64 bit uint but got "abc"`},
		{[]string{"reshard", "status", "--watch", "--json"}, 1, "--watch and --json do not go together"},
		{[]string{"reshard", "status", "--admin", "ftp://h"}, 1, `--admin "ftp://h": want a URL like http://127.0.0.1:4410`},
		{[]string{"reshard", "status", "--token-file", "/does/not/exist"}, 1, "admin token: open /does/not/exist: no such file or directory"},
	} {
		r := runCLI(t, env, c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d, %q", c.args, r.code, r.stderr, c.code, c.want)
		}
		checkStderr(t, r)
	}
	// An admin API that is not there.
	r := runCLI(t, append(env, "CANGQIONG_ADMIN=http://"+freeAddr(t)), "reshard", "status")
	if want := "cannot reach the admin API at http://"; r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Errorf("no API: exit %d, stderr %q; want %q", r.code, r.stderr, want)
	}
}

func TestReshardHelp(t *testing.T) {
	checkHelp(t, []helpCase{
		{[]string{"--help"}, []string{"reshard"}},
		{[]string{"reshard", "--help"}, []string{"Usage: cangqiong reshard <command>", "reshard add", "reshard remove", "reshard status"}},
		{[]string{"reshard", "add", "--help"}, []string{"--shard=ID", "--address=HOST:PORT", "--database=DB", "--weight=N", "--detach",
			"--admin=URL", "CANGQIONG_ADMIN", "--token-file=FILE", "CANGQIONG_ADMIN_TOKEN_FILE", "http://127.0.0.1:4410", ".local/up/pki/admin.token"}},
		{[]string{"reshard", "remove", "--help"}, []string{"--shard=ID", "--detach", "--admin=URL"}},
		{[]string{"reshard", "status", "--help"}, []string{"[<id>]", "--watch", "--json", "--admin=URL"}},
	})
}

func TestLineDisplayPacing(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(0, 0)
	d := &lineDisplay{w: &buf, now: func() time.Time { return now }, every: 2 * time.Second}
	st := reshard.Status{ID: 3, Kind: reshard.Remove, Shard: "shard-2", Phase: reshard.Copying}
	for _, step := range []struct {
		after    time.Duration
		phase    reshard.Phase
		progress float64
	}{
		{0, reshard.Copying, 0.10},          // shown: a new phase
		{time.Second, reshard.Copying, 0.2}, // too soon
		{time.Second, reshard.Copying, 0.3}, // shown: 2 s since the last
		{3 * time.Second, reshard.Copying, 0.3},
		{100 * time.Millisecond, reshard.CatchingUp, 1}, // shown: a new phase
		{100 * time.Millisecond, reshard.CatchingUp, 1},
	} {
		now = now.Add(step.after)
		st.Phase, st.Progress = step.phase, step.progress
		d.show(st)
	}
	d.note("reshard 3: connection refused; retrying")
	st.Phase, st.Error = reshard.Failed, "lost"
	d.finish(st)
	checkLines(t, buf.String(),
		"reshard 3 copying 10% users=0 rows=0 lag=0",
		"reshard 3 copying 30% users=0 rows=0 lag=0",
		"reshard 3 catching_up 100% users=0 rows=0 lag=0",
		"reshard 3: connection refused; retrying",
		"reshard 3 failed: remove shard-2: lost")
}

// TestBarDisplay draws the terminal display into a buffer: it must finish
// (complete or abort) and leave the final line after the bar.
func TestBarDisplay(t *testing.T) {
	for _, final := range []reshard.Phase{reshard.Done, reshard.Failed} {
		var buf bytes.Buffer
		// Frames are drawn on demand: a second send returns once the
		// frame the first one asked for is drawn.
		refresh := make(chan any)
		d := newBarDisplay(&buf, mpb.ForceTTY(), mpb.WithManualRefresh(refresh))
		st := reshard.Status{ID: 9, Kind: reshard.Add, Shard: "shard-5", Phase: reshard.Copying}
		for _, p := range []float64{0, 0.3, 0.7, 1} {
			st.Progress, st.Users, st.ETA = p, int64(p*1000), time.Duration(1-p)*10*time.Second
			d.show(st)
			refresh <- time.Now()
			refresh <- time.Now()
		}
		d.note("a note")
		st.Phase = final
		d.finish(st)
		out := buf.String()
		for _, want := range []string{"reshard 9 copying ", "users=", "a note\n", finalLine(st) + "\n"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: output lacks %q:\n%q", final, want, out)
			}
		}
		if !strings.HasSuffix(out, finalLine(st)+"\n") {
			t.Errorf("%s: the final line is not last:\n%q", final, out)
		}
	}
	d := newBarDisplay(&bytes.Buffer{}, mpb.ForceTTY(), mpb.WithAutoRefresh())
	d.show(reshard.Status{ID: 1, Phase: reshard.Preparing})
	d.stop() // returns: an interrupt leaves no goroutine drawing
}
