package edge

import (
	"os/exec"
	"strings"
	"testing"
)

// TestEdgeStaysOffTheDataLayer: an edge runs in every region, far from the
// shards; it must never link a MySQL driver, the SQL router or TiDB's parser
// (DESIGN.md, layout). It talks to the core through the tunnel only.
func TestEdgeStaysOffTheDataLayer(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/cangqiong/cangqiong/edge/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/go-sql-driver/mysql", "github.com/pingcap/", "github.com/cangqiong/cangqiong/sharding", "database/sql"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("the edge imports %s", dep)
			}
		}
	}
}
