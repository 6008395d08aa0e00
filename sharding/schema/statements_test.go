package schema

import (
	"slices"
	"strings"
	"testing"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/mysql"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver"
)

var kinds = []Kind{Global, Shard}

func TestStatementsParseWithTiDB(t *testing.T) {
	for _, kind := range kinds {
		stmts := Statements(kind)
		if len(stmts) == 0 {
			t.Fatalf("Statements(%s) is empty", kind)
		}
		for _, stmt := range stmts {
			nodes, _, err := parser.New().Parse(stmt, "", "")
			if err != nil {
				t.Errorf("%s: TiDB parser rejects:\n%s\n%v", kind, stmt, err)
				continue
			}
			if len(nodes) != 1 {
				t.Errorf("%s: %d statements in one string:\n%s", kind, len(nodes), stmt)
			}
		}
	}
	if Statements("nope") != nil || Migrations("nope") != nil || Tables("nope") != nil {
		t.Error("unknown kind has statements")
	}
}

func TestMigrationsAreOrdered(t *testing.T) {
	for _, kind := range kinds {
		names := map[string]bool{}
		for i, m := range Migrations(kind) {
			if m.Version != i+1 {
				t.Errorf("%s migration %d has version %d", kind, i, m.Version)
			}
			if m.Name == "" || names[m.Name] || len(m.Statements) == 0 {
				t.Errorf("%s migration %d: name %q (dup %v), %d statements", kind, m.Version, m.Name, names[m.Name], len(m.Statements))
			}
			names[m.Name] = true
		}
	}
}

func TestTables(t *testing.T) {
	want := map[Kind][]string{
		Global: {"cq_schema_migrations", "shops", "categories", "dishes", "cq_shard_map", "cq_shard_map_history", "cq_global_changes", "cq_global_seq", "cq_regions", "cq_relay_leases", "cq_stream_acks", "cq_reshards"},
		Shard:  {"cq_schema_migrations", "users", "addresses", "cart_items", "orders", "order_items", "payments", "idempotency_keys", "cq_changes", "cq_change_seq"},
	}
	for kind, w := range want {
		if got := Tables(kind); !slices.Equal(got, w) {
			t.Errorf("Tables(%s) = %v, want %v", kind, got, w)
		}
	}
}

// TestTableConventions checks the schema rules on the parsed statements:
// idempotent DDL, InnoDB + utf8mb4_bin, no AUTO_INCREMENT, BIGINT ids and
// cents, DATETIME(6) timestamps, and user_id leading on shard tables.
func TestTableConventions(t *testing.T) {
	for _, kind := range kinds {
		for _, stmt := range Statements(kind) {
			node, err := parser.New().ParseOneStmt(stmt, "", "")
			if err != nil {
				t.Fatal(err)
			}
			switch n := node.(type) {
			case *ast.CreateTableStmt:
				checkTable(t, kind, n)
			case *ast.AlterTableStmt:
				checkAlter(t, kind, n)
			case *ast.SelectStmt, *ast.InsertStmt:
			default:
				t.Errorf("%s: unexpected %T: %s", kind, node, stmt)
			}
		}
	}
}

// checkAlter allows only idempotent column additions: ADD COLUMN IF NOT
// EXISTS. (Such a column needs a DEFAULT, for the rows already there.)
func checkAlter(t *testing.T, kind Kind, n *ast.AlterTableStmt) {
	t.Helper()
	for _, spec := range n.Specs {
		if spec.Tp != ast.AlterTableAddColumns || !spec.IfNotExists {
			t.Errorf("%s: %s: only ADD COLUMN IF NOT EXISTS may alter a table", kind, n.Table.Name.O)
		}
	}
}

func checkTable(t *testing.T, kind Kind, n *ast.CreateTableStmt) {
	t.Helper()
	name := n.Table.Name.L
	if !n.IfNotExists {
		t.Errorf("%s: CREATE TABLE without IF NOT EXISTS", name)
	}
	opts := map[ast.TableOptionType]string{}
	for _, o := range n.Options {
		opts[o.Tp] = strings.ToLower(o.StrValue)
	}
	if opts[ast.TableOptionEngine] != "innodb" || opts[ast.TableOptionCharset] != "utf8mb4" || opts[ast.TableOptionCollate] != "utf8mb4_bin" {
		t.Errorf("%s: table options %v", name, opts)
	}
	hasUserID := false
	for _, col := range n.Cols {
		c := col.Name.Name.L
		tp := col.Tp.GetType()
		hasUserID = hasUserID || c == "user_id"
		for _, o := range col.Options {
			if o.Tp == ast.ColumnOptionAutoIncrement {
				t.Errorf("%s.%s: AUTO_INCREMENT", name, c)
			}
			if o.Tp == ast.ColumnOptionDefaultValue {
				t.Errorf("%s.%s: has a default", name, c)
			}
		}
		switch {
		case c == "id" || strings.HasSuffix(c, "_id") || strings.HasSuffix(c, "_cents"):
			if tp != mysql.TypeLonglong || mysql.HasUnsignedFlag(col.Tp.GetFlag()) {
				t.Errorf("%s.%s: want signed BIGINT, got %s", name, c, col.Tp)
			}
		case strings.HasSuffix(c, "_at"):
			if tp != mysql.TypeDatetime || col.Tp.GetDecimal() != 6 {
				t.Errorf("%s.%s: want DATETIME(6), got %s", name, c, col.Tp)
			}
		}
		isText := (tp == mysql.TypeVarchar || tp == mysql.TypeString) && !mysql.HasBinaryFlag(col.Tp.GetFlag())
		if isText && (col.Tp.GetCollate() != "" || col.Tp.GetCharset() != "") {
			t.Errorf("%s.%s: own charset/collation; the table's utf8mb4_bin applies", name, c)
		}
	}
	if kind != Shard || name == "cq_schema_migrations" || LocalTables[name] {
		return
	}
	if !hasUserID {
		t.Errorf("shard table %s has no user_id", name)
	}
	for _, con := range n.Constraints {
		if con.Tp == ast.ConstraintPrimaryKey && name != "cq_changes" && con.Keys[0].Column.Name.L != "user_id" {
			t.Errorf("shard table %s: primary key does not lead with user_id", name)
		}
	}
}
