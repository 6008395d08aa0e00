package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/edge"
)

func TestEdgeUpgradesUnderLoadWithoutFailedRequests(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/fresh") {
			w.Header().Set("Cache-Control", "no-store") // every one goes upstream
		} else {
			w.Header().Set("Cache-Control", "public, max-age=60")
		}
		fmt.Fprintf(w, `{"path":%q}`, r.URL.Path)
	}))
	defer origin.Close()
	dir := t.TempDir()
	listen, admin := freeAddr(t), freeAddr(t)
	pidFile := filepath.Join(dir, "edge.pid")
	data, _ := json.Marshal(edge.File{Region: "eu", ID: "edge-1", Listen: listen, AdminListen: admin, PIDFile: pidFile, Origin: edge.OriginFile{HTTP: origin.URL}})
	config := filepath.Join(dir, "edge.json")
	os.WriteFile(config, data, 0o644)

	cmd := exec.Command(binary(t), "edge", "--config", config, "--drain-timeout", "10s", "--log-level", "warn")
	// Output goes to a pipe that closes when the first process exits (as
	// exec.Cmd.Wait does): later processes must survive writing to it.
	cmd.Stderr = os.Stderr
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, out)
	t.Cleanup(func() {
		cmd.Process.Kill()
		if pid := readPID(pidFile); pid > 0 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	waitFor(t, func() bool { return readPID(pidFile) == cmd.Process.Pid })
	go cmd.Wait() // reap the first process when it hands over

	var ok, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	for w := range 12 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				path := fmt.Sprintf("/menu/%d", (w+i)%20)
				if i%4 == 0 {
					path = fmt.Sprintf("/fresh/%d", i)
				}
				resp, err := client.Get("http://" + listen + path)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if err != nil || resp.StatusCode != 200 {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%s: %v %v", path, err, resp))
				} else {
					ok.Add(1)
				}
			}
		})
	}
	pids := []int{cmd.Process.Pid}
	for upgrade := range 3 {
		at := ok.Load()
		waitLoad(t, &ok, at+300, &failed, &firstErr)
		old := pids[len(pids)-1]
		if err := syscall.Kill(old, syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool { p := readPID(pidFile); return p != 0 && p != old })
		next := readPID(pidFile)
		waitFor(t, func() bool { return !alive(old) || isZombie(old) })
		t.Logf("upgrade %d: pid %d handed over to %d after %d requests", upgrade+1, old, next, ok.Load())
		pids = append(pids, next)
	}
	at := ok.Load()
	waitLoad(t, &ok, at+300, &failed, &firstErr)
	close(stop)
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d of %d requests failed across 3 upgrades; first: %v", failed.Load(), ok.Load()+failed.Load(), firstErr.Load())
	}
	last := pids[len(pids)-1]
	syscall.Kill(last, syscall.SIGTERM)
	waitFor(t, func() bool { return !alive(last) || isZombie(last) })
	t.Logf("%d requests over 3 upgrades, none failed", ok.Load())
}

// waitLoad waits for ok to pass n, reporting the failures if it does not.
func waitLoad(t *testing.T, ok *atomic.Int64, n int64, failed *atomic.Int64, first *atomic.Value) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for ok.Load() <= n {
		if time.Now().After(deadline) {
			out, _ := exec.Command("sh", "-c", "ss -tanp | grep cangqiong | awk '{print $1, $6}' | sort | uniq -c | sort -rn | head; ps -eo pid,stat,cmd | grep 'cangqiong edge' | grep -v grep").CombinedOutput()
			t.Logf("sockets and processes:\n%s", out)
			t.Fatalf("load stalled at %d requests (%d failed; first: %v)", ok.Load(), failed.Load(), first.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
