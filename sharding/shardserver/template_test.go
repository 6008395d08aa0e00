package shardserver_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/internal/testenv"
	"github.com/cangqiong/cangqiong/sharding/shardserver"
)

// helperEnv makes TestTemplateHelperProcess act instead of returning.
const helperEnv = "CANGQIONG_SHARDSERVER_TEMPLATE_HELPER"

// TestTemplateSharedAcrossProcesses starts several test processes at once
// against an empty template directory: exactly one must make the template,
// and all must start a server from it.
func TestTemplateSharedAcrossProcesses(t *testing.T) {
	testenv.Require(t, "mariadbd", shardserver.Available())
	root := t.TempDir()
	const procs = 3
	results := make([]helperResult, procs)
	var wg sync.WaitGroup
	for i := range procs {
		wg.Go(func() { results[i] = runHelper(t, root) })
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	builders := 0
	for i, r := range results {
		if r.built {
			builders++
			t.Logf("first start: made the template in %v, then started in %v", r.template, r.start)
		} else {
			t.Logf("process %d: found the template after %v, started in %v", i, r.template, r.start)
		}
		if r.dir != results[0].dir {
			t.Errorf("processes used different templates: %s and %s", r.dir, results[0].dir)
		}
	}
	if builders != 1 {
		t.Fatalf("%d processes made the template, want exactly 1", builders)
	}

	t.Setenv(shardserver.TemplateDirEnv, root)
	for i := range 2 {
		began := time.Now()
		s, err := shardserver.Start(t.Context(), shardserver.Options{Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("start %d from the existing template: %v", i+1, time.Since(began))
		if err := s.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

type helperResult struct {
	built           bool
	dir             string
	template, start time.Duration
}

func runHelper(t *testing.T, root string) helperResult {
	cmd := exec.Command(os.Args[0], "-test.run=^TestTemplateHelperProcess$", "-test.count=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Env = append(os.Environ(), helperEnv+"=1", shardserver.TemplateDirEnv+"="+root)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("helper process: %v\n%s", err, out)
		return helperResult{}
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if r, ok := parseResult(sc.Text()); ok {
			return r
		}
	}
	t.Errorf("helper process printed no RESULT line:\n%s", out)
	return helperResult{}
}

// parseResult reads "RESULT built=B dir=D template=T start=S".
func parseResult(line string) (r helperResult, ok bool) {
	fields := strings.Fields(line)
	if len(fields) != 5 || fields[0] != "RESULT" {
		return r, false
	}
	kv := map[string]string{}
	for _, f := range fields[1:] {
		k, v, _ := strings.Cut(f, "=")
		kv[k] = v
	}
	var errs [3]error
	r.built, errs[0] = strconv.ParseBool(kv["built"])
	r.dir = kv["dir"]
	r.template, errs[1] = time.ParseDuration(kv["template"])
	r.start, errs[2] = time.ParseDuration(kv["start"])
	return r, errors.Join(errs[:]...) == nil && r.dir != ""
}

// TestTemplateHelperProcess is run as a child by
// TestTemplateSharedAcrossProcesses.
func TestTemplateHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		return
	}
	began := time.Now()
	dir, built, err := shardserver.EnsureTemplate(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	tookTemplate := time.Since(began)
	began = time.Now()
	s, err := shardserver.Start(t.Context(), shardserver.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	tookStart := time.Since(began)
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(dir, " \n") {
		t.Fatalf("template path %q has spaces", dir)
	}
	fmt.Printf("RESULT built=%t dir=%s template=%v start=%v\n", built, dir, tookTemplate, tookStart)
}
