package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"

	"github.com/cangqiong/cangqiong/internal/testenv"
	"github.com/cangqiong/cangqiong/sharding/schema"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
	"github.com/cangqiong/cangqiong/sharding/shardserver"
)

const testVersion = "v0.0.0-clitest"

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds the command once per test process.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cangqiong-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "cangqiong")
		out, err := exec.Command("go", "build", "-o", binPath, "-ldflags", "-X main.version="+testVersion, ".").CombinedOutput()
		if err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("go build: %v", buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, extraEnv []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(os.Environ(), extraEnv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running %v: %v", args, err)
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

// checkStderr: errors are single readable lines, never stack traces.
func checkStderr(t *testing.T, r result) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "cangqiong: ") || strings.Contains(r.stderr, "goroutine ") {
		t.Errorf("stderr is not one error line:\n%s", r.stderr)
	}
}

// helpCase is a help request and what its output must mention.
type helpCase struct {
	args []string
	want []string
}

// checkHelp runs each request: exit 0, every want in stdout.
func checkHelp(t *testing.T, cases []helpCase) {
	for _, tt := range cases {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := runCLI(t, nil, tt.args...)
			if r.code != 0 {
				t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("help lacks %q:\n%s", w, r.stdout)
				}
			}
		})
	}
}

func TestHelp(t *testing.T) {
	checkHelp(t, []helpCase{
		{[]string{"--help"}, []string{"Usage: cangqiong", "migrate", "version", "--log-level"}},
		{[]string{"migrate", "--help"}, []string{"Usage: cangqiong migrate", "--shard-map=FILE", "--db-user", "CQ_DB_PASSWORD"}},
		{[]string{"version", "--help"}, []string{"Usage: cangqiong version", "VCS revision"}},
	})
}

func TestUsageErrors(t *testing.T) {
	tests := [][]string{
		{},
		{"nope"},
		{"migrate"},
		{"migrate", "--shard-map", "/does/not/exist.json"},
		{"version", "--bogus"},
	}
	for _, args := range tests {
		r := runCLI(t, nil, args...)
		if r.code != 2 {
			t.Errorf("%v: exit %d, want 2", args, r.code)
		}
		checkStderr(t, r)
	}
}

func TestVersion(t *testing.T) {
	r := runCLI(t, nil, "version")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	want := "cangqiong " + testVersion + " (revision "
	if !strings.HasPrefix(r.stdout, want) || !strings.Contains(r.stdout, runtime.Version()+")") {
		t.Errorf("version printed %q, want %q… %s)", r.stdout, want, runtime.Version())
	}
}

func TestVersionLine(t *testing.T) {
	tests := []struct {
		info *debug.BuildInfo
		ok   bool
		want string
	}{
		{nil, false, "cangqiong dev (revision unknown, unknown)"},
		{&debug.BuildInfo{GoVersion: "go1.26.8"}, true, "cangqiong dev (revision unknown, go1.26.8)"},
		{&debug.BuildInfo{GoVersion: "go1.26.8", Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.modified", Value: "true"},
		}}, true, "cangqiong dev (revision abc123, modified, go1.26.8)"},
	}
	for _, tt := range tests {
		if got := versionLine(tt.info, tt.ok); got != tt.want {
			t.Errorf("versionLine = %q, want %q", got, tt.want)
		}
	}
}

func writeMap(t *testing.T, m *shardmap.Map) string {
	t.Helper()
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "shardmap.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func shard(id string, s *shardserver.Server, database string) shardmap.Shard {
	return shardmap.Shard{ID: id, Address: s.Addr(), Database: database, State: shardmap.Serving, Weight: 1}
}

// lines splits output into lines.
func lines(out string) []string { return strings.Split(strings.TrimSpace(out), "\n") }

func checkLines(t *testing.T, out string, want ...string) {
	t.Helper()
	got := lines(out)
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(got), len(want), out)
	}
	for i, w := range want {
		for _, part := range strings.Split(w, "…") {
			if !strings.Contains(got[i], part) {
				t.Errorf("line %d = %q, want it to contain %q", i+1, got[i], part)
			}
		}
	}
}

func TestMigrate(t *testing.T) {
	servers := testenv.MariaDB(t, 3)
	global, s1, s2 := servers[0], servers[1], servers[2]
	m := &shardmap.Map{
		Epoch:  1,
		Global: shardmap.Keyspace{Address: global.Addr()},
		Shards: []shardmap.Shard{shard("shard-a", s1, ""), shard("shard-b", s2, "")},
	}
	path := writeMap(t, m)

	r := runCLI(t, nil, "migrate", "--shard-map", path)
	if r.code != 0 {
		t.Fatalf("first migrate: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	g, sh := len(schema.Migrations(schema.Global)), len(schema.Migrations(schema.Shard))
	checkLines(t, r.stdout,
		fmt.Sprintf("global keyspace at %s/cangqiong: applied %d migrations…now at version %d; stored shard map epoch 1", global.Addr(), g, g),
		fmt.Sprintf("shard shard-a at %s/cangqiong: applied %d migrations (1 users, 2 carts, 3 orders, 4 idempotency, 5 outbox…), now at version %d", s1.Addr(), sh, sh),
		fmt.Sprintf("shard shard-b at %s/cangqiong: applied %d migrations", s2.Addr(), sh),
	)

	r = runCLI(t, nil, "migrate", "--shard-map", path, "--db-user", "root")
	if r.code != 0 {
		t.Fatalf("second migrate: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	checkLines(t, r.stdout,
		fmt.Sprintf("global keyspace…: up-to-date at version %d; shard map epoch 1 already stored", g),
		fmt.Sprintf("shard shard-a…: up-to-date at version %d", sh),
		fmt.Sprintf("shard shard-b…: up-to-date at version %d", sh),
	)

	t.Run("a dead shard fails alone", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		dead := ln.Addr().String()
		ln.Close()
		m2 := &shardmap.Map{
			Epoch:  2,
			Global: shardmap.Keyspace{Address: global.Addr()},
			Shards: []shardmap.Shard{
				{ID: "shard-dead", Address: dead, State: shardmap.Serving, Weight: 1},
				shard("shard-new", s1, "cq_new"),
			},
		}
		r := runCLI(t, nil, "migrate", "--shard-map", writeMap(t, m2))
		if r.code != 1 {
			t.Fatalf("exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
		}
		checkLines(t, r.stdout,
			"global keyspace…up-to-date…shard map epoch 1 already stored, left as is (the file has epoch 2)",
			"shard shard-dead at "+dead+"/cangqiong: FAILED: …connection refused",
			fmt.Sprintf("shard shard-new at %s/cq_new: applied %d migrations", s1.Addr(), sh),
		)
		checkStderr(t, r)
		if !strings.Contains(r.stderr, "shard-dead") || !strings.Contains(r.stderr, dead) {
			t.Errorf("stderr does not name the dead shard: %s", r.stderr)
		}
	})

	t.Run("wrong password is reported, not printed", func(t *testing.T) {
		const secret = "wrong-password-31337"
		r := runCLI(t, []string{"CQ_DB_PASSWORD=" + secret}, "migrate", "--shard-map", path)
		if r.code != 1 {
			t.Fatalf("exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
		}
		if !strings.Contains(r.stdout, "Access denied") {
			t.Errorf("stdout does not say access was denied:\n%s", r.stdout)
		}
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Errorf("password printed:\n%s%s", r.stdout, r.stderr)
		}
		checkStderr(t, r)
	})

	t.Run("invalid map", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.json")
		if err := os.WriteFile(bad, []byte(`{"epoch": 1, "shards": [], "bogus": true}`), 0o600); err != nil {
			t.Fatal(err)
		}
		r := runCLI(t, nil, "migrate", "--shard-map", bad)
		if r.code != 1 || !strings.Contains(r.stderr, bad) {
			t.Errorf("exit %d, stderr %q; want 1 naming the file", r.code, r.stderr)
		}
		checkStderr(t, r)
	})
}
