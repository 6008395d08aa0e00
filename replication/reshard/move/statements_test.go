package move

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/pingcap/tidb/pkg/parser"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver"
)

// fixedStatements are the statements that do not depend on a table.
var fixedStatements = []string{columnsSQL, primaryKeySQL, headSQL, changesSQL, fenceSQL}

// driverStatements are what go-sql-driver/mysql sends for the package's
// transactions (snapshotOptions and plain BeginTx).
var driverStatements = []string{
	"SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", "START TRANSACTION READ ONLY",
	"START TRANSACTION", "COMMIT", "ROLLBACK",
}

func parseTiDB(t *testing.T, q string) {
	t.Helper()
	if _, err := parser.New().ParseOneStmt(q, "", ""); err != nil {
		t.Errorf("TiDB's parser rejects %q: %v", q, err)
	}
}

func TestEveryStatementOfEveryTableParsesWithTiDB(t *testing.T) {
	f := newFixture(t)
	for _, q := range slices.Concat(fixedStatements, driverStatements) {
		parseTiDB(t, q)
	}
	for _, tb := range f.tables {
		for _, n := range []int{1, 2, 250} {
			for _, q := range tb.statements(n) {
				parseTiDB(t, q)
			}
		}
	}
}

// stmt is a statement with arguments, and whether it reads.
type stmt struct {
	q     string
	args  []any
	query bool
}

func TestEveryStatementOfEveryTableRunsOnMariaDB(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	all, _, _ := f.users(3)
	f.seed(t, all)
	user := all[0]
	for _, q := range slices.Concat(fixedStatements, driverStatements) {
		args := map[string][]any{changesSQL: {0, 10}, fenceSQL: {0, 0}}[q]
		if _, err := f.src.ExecContext(ctx, q, args...); err != nil {
			t.Errorf("MariaDB rejects %q: %v", q, err)
		}
	}
	for _, tb := range f.tables {
		rows := readRows(t, f.src, tb.selectUsersSQL(1), user)
		ran := map[string]bool{}
		for _, n := range []int{1, 2} {
			for _, s := range tableStatements(tb, rows, user, n) {
				ran[s.q] = true
				if err := run(ctx, f.src, s); err != nil {
					t.Errorf("%s: MariaDB rejects %q %v: %v", tb.Name, s.q, s.args, err)
				}
			}
			for _, q := range tb.statements(n) {
				if !ran[q] {
					t.Errorf("%s: %q was not run", tb.Name, q)
				}
			}
		}
	}
}

// tableStatements gives every statement of tb with arguments for n rows or
// users: reads first, then the upserts (restoring rows), the deletes last.
func tableStatements(tb Table, rows [][]any, user int64, n int) []stmt {
	key := tb.keyOf(rows[0], tb.keyIndex())
	users := []any{user, user + 1}[:n]
	var values []any
	for i := range n {
		values = append(values, rows[min(i, len(rows)-1)]...)
	}
	return []stmt{
		{tb.scanFirstSQL(), []any{n}, true},
		{tb.scanAfterSQL(), append(afterArgs(key), n), true},
		{tb.selectUsersSQL(n), users, true},
		{tb.distinctUsersSQL(), []any{int64(math.MinInt64), n}, true},
		{tb.upsertSQL(n), values, false},
		{tb.deleteKeySQL(), []any(key), false},
		{tb.deleteUsersBatchSQL(n), append(slices.Clone(users), 1), false},
		{tb.deleteUsersSQL(n), users, false},
	}
}

func run(ctx context.Context, db *sql.DB, s stmt) error {
	if !s.query {
		_, err := db.ExecContext(ctx, s.q, s.args...)
		return err
	}
	rows, err := db.QueryContext(ctx, s.q, s.args...)
	if err != nil {
		return err
	}
	return eachRow(rows, func([]any) error { return nil })
}

func readRows(t *testing.T, db *sql.DB, q string, args ...any) [][]any {
	t.Helper()
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]any
	if err := eachRow(rows, func(row []any) error { out = append(out, slices.Clone(row)); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEverythingSentParsesWithTiDB records, in the servers' general logs,
// every statement a whole move sends (the driver's included, with their
// arguments interpolated as TiDB would receive them) and parses each.
func TestEverythingSentParsesWithTiDB(t *testing.T) {
	f := newFixture(t)
	all, moving, _ := f.users(12)
	f.seed(t, all)
	for _, db := range []*sql.DB{f.src, f.dst} {
		generalLog(t, db, true)
	}
	runWholeMove(t, f, moving[0])
	for _, db := range []*sql.DB{f.src, f.dst} {
		generalLog(t, db, false)
	}
	sent := slices.Concat(loggedQueries(t, f.src), loggedQueries(t, f.dst))
	for _, q := range sent {
		parseTiDB(t, q)
	}
	for _, want := range []string{"ON DUPLICATE KEY UPDATE", "START TRANSACTION READ ONLY", "ISOLATION LEVEL REPEATABLE READ", "DELETE FROM", "_binary'", "FROM cq_changes"} {
		if !slices.ContainsFunc(sent, func(q string) bool { return strings.Contains(q, want) }) {
			t.Errorf("no statement sent contains %q: the log missed part of the move", want)
		}
	}
	t.Logf("%d statements sent, all parsed by TiDB", len(sent))
}

// runWholeMove runs every step once.
func runWholeMove(t *testing.T, f *fixture, changed int64) {
	ctx := context.Background()
	tables, err := Tables(ctx, f.src)
	if err != nil {
		t.Fatal(err)
	}
	head, err := SourceHead(ctx, f.src)
	if err != nil {
		t.Fatal(err)
	}
	f.copyAll(t, Config{ReadBatch: 7, WriteBatch: 3})
	if err := f.write(ctx, changed, rename(changed, "during")); err != nil {
		t.Fatal(err)
	}
	users, _, err := ChangedUsers(ctx, f.src, head, f.moves, 0)
	if err != nil || len(users) != 1 {
		t.Fatalf("changed users %v, %v", users, err)
	}
	if err := Recopy(ctx, f.src, f.dst, tables, users); err != nil {
		t.Fatal(err)
	}
	if _, err := Checksum(ctx, f.src, tables, changed); err != nil {
		t.Fatal(err)
	}
	if ms, err := Verify(ctx, f.src, f.dst, tables, Matching(f.moves)); err != nil || len(ms) != 0 {
		t.Fatalf("verify: %v, %v", ms, err)
	}
	if _, err := DeleteUsers(ctx, f.src, tables, Matching(f.moves), 4); err != nil {
		t.Fatal(err)
	}
}

func generalLog(t *testing.T, db *sql.DB, on bool) {
	t.Helper()
	stmts := []string{"SET GLOBAL general_log = 0"}
	if on {
		stmts = []string{"SET GLOBAL log_output = 'TABLE'", "TRUNCATE TABLE mysql.general_log", "SET GLOBAL general_log = 1"}
	}
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
}

// loggedQueries returns the statements a server logged, but those that
// switch the log.
func loggedQueries(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query("SELECT argument FROM mysql.general_log WHERE command_type = 'Query' ORDER BY event_time")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	err = eachRow(rows, func(row []any) error {
		if q := asString(row[0]); !strings.Contains(q, "general_log") {
			out = append(out, q)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestScanAfterAKeyIsAnIndexRange pins why the scan is written as a
// disjunction: MariaDB must start each batch at the key, not walk the
// primary key from its start.
func TestScanAfterAKeyIsAnIndexRange(t *testing.T) {
	f := newFixture(t)
	all, _, _ := f.users(40)
	f.seed(t, all)
	for _, tb := range f.tables {
		rows := readRows(t, f.src, tb.scanFirstSQL(), 1)
		key := tb.keyOf(rows[0], tb.keyIndex())
		plan := readRows(t, f.src, "EXPLAIN "+tb.scanAfterSQL(), append(afterArgs(key), 10)...)
		typ, index := asString(plan[0][3]), asString(plan[0][5])
		if typ != "range" || index != "PRIMARY" {
			t.Errorf("%s: the scan after a key is type=%s key=%s, want a range of PRIMARY", tb.Name, typ, index)
		}
		rowCmp := fmt.Sprintf("EXPLAIN %s WHERE (%s) > (%s)%s LIMIT 10", tb.selectFrom(), quoteAll(tb.Key), placeholders(len(key)), tb.orderByKey())
		t.Logf("%s: the row comparison would be type=%s", tb.Name, asString(readRows(t, f.src, rowCmp, key...)[0][3]))
	}
}
