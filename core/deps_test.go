package core

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCoreStaysOffFasthttp: fasthttp is the edge's server; the core speaks
// net/http over HTTP/2 (DESIGN.md, layout).
func TestCoreStaysOffFasthttp(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/cangqiong/cangqiong/core/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/valyala/fasthttp") {
			t.Errorf("the core imports %s", dep)
		}
	}
}
