package reshard

import (
	"testing"

	"github.com/pingcap/tidb/pkg/parser"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver"
)

// TestStoreStatementsParseWithTiDB: every statement on cq_reshards is one
// statement to TiDB's parser (they run on MariaDB in every workflow test).
func TestStoreStatementsParseWithTiDB(t *testing.T) {
	for _, stmt := range []string{insertReshardSQL, selectReshardSQL, selectRunningSQL, selectLatestSQL, claimReshardSQL,
		renewReshardSQL, saveReshardSQL, finishReshardSQL, releaseReshardSQL, abortReshardSQL} {
		if nodes, _, err := parser.New().Parse(stmt, "", ""); err != nil || len(nodes) != 1 {
			t.Errorf("TiDB's parser: %d statements, %v\n%s", len(nodes), err, stmt)
		}
	}
}
