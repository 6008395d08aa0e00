package router

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"
)

func TestCacheHitDoesNotParse(t *testing.T) {
	r := testRouter(t)
	const q = "SELECT id FROM orders WHERE user_id = ?"
	p1, err := r.Plan(q)
	if err != nil {
		t.Fatal(err)
	}
	before := r.Parses()
	for i := range 100 {
		route, err := r.Route(modTopology{}, q, []any{int64(i)})
		if err != nil {
			t.Fatal(err)
		}
		if want := (modTopology{}).Owner(int64(i)); route.Shard != want {
			t.Fatalf("user %d routed to %s, want %s", i, route.Shard, want)
		}
	}
	if got := r.Parses() - before; got != 0 {
		t.Fatalf("100 cache hits parsed %d times", got)
	}
	if p2, _ := r.Plan(q); p2 != p1 {
		t.Fatal("cache hit returned a different plan")
	}
}

func TestRefusalsAreCached(t *testing.T) {
	r := testRouter(t)
	const q = "DELETE FROM orders WHERE status = 'x'"
	for range 3 {
		if _, err := r.Route(modTopology{}, q, nil); !errors.Is(err, ErrNoShardKey) {
			t.Fatalf("got %v, want ErrNoShardKey", err)
		}
	}
	if r.Parses() != 1 {
		t.Fatalf("a refused statement was parsed %d times, want once", r.Parses())
	}
}

func TestCacheIsBounded(t *testing.T) {
	r, err := New(testVSchema(t), Options{CacheSize: 50, MaxCachedSQL: 80})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		if _, err := r.Plan(fmt.Sprintf("SELECT id FROM orders WHERE user_id = %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := r.CachedPlans(); n != 50 {
		t.Fatalf("cache holds %d plans, want its bound 50", n)
	}
	long := "SELECT id FROM orders WHERE user_id = 1 AND status IN ('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h')"
	before := r.Parses()
	r.Plan(long)
	r.Plan(long)
	if r.Parses()-before != 2 {
		t.Fatal("a statement longer than MaxCachedSQL was cached")
	}
}

func TestRouteAllocations(t *testing.T) {
	r := testRouter(t)
	const q = "SELECT id, name FROM users WHERE user_id = ?"
	args := []any{int64(42)}
	if _, err := r.Route(modTopology{}, q, args); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := r.Route(modTopology{}, q, args); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Fatalf("a planned point route allocates %.1f times, want 0", allocs)
	}
}

func TestMultiArgsKeepOrder(t *testing.T) {
	// Placeholders before, inside and after the IN list keep their places
	// in every shard's statement.
	r := testRouter(t)
	q := "SELECT id FROM orders WHERE shop_id = ? AND user_id IN (?, 8, ?, ?) AND status <> ? ORDER BY id LIMIT ? OFFSET ?"
	route, err := r.Route(modTopology{}, q, []any{12, 1, 2, 5, "x", 10, 20})
	if err != nil {
		t.Fatal(err)
	}
	if route.Kind != Multi || len(route.Parts) != 3 {
		t.Fatalf("route = %+v, want multi over 3 shards", route)
	}
	want := map[string]string{
		"shard-0": "[12 x]", // only the literal 8
		"shard-1": "[12 1 5 x]",
		"shard-2": "[12 2 x]",
	}
	for _, part := range route.Parts {
		if got := fmt.Sprint(part.Args); got != want[part.Shard] {
			t.Errorf("%s args = %s, want %s", part.Shard, got, want[part.Shard])
		}
		if n := strings.Count(part.SQL, "?"); n != len(part.Args) {
			t.Errorf("%s: %d placeholders for %d args in %s", part.Shard, n, len(part.Args), part.SQL)
		}
		if !strings.HasSuffix(part.SQL, "LIMIT 30") {
			t.Errorf("%s: want each shard to return LIMIT+OFFSET rows: %s", part.Shard, part.SQL)
		}
	}
	if route.Limit != 10 || route.Offset != 20 {
		t.Fatalf("merge window = %d/%d, want 10/20", route.Limit, route.Offset)
	}
}

// FuzzRoute feeds arbitrary text to the router. It must never panic, and a
// statement whose WHERE clause starts with a shard-key equality ANDed with
// anything must never be planned as a scatter.
func FuzzRoute(f *testing.F) {
	for _, seed := range []string{
		"SELECT * FROM orders WHERE user_id = ?",
		"id = 3", "status = 'paid' OR user_id = 5", "1) OR (1 = 1",
		"EXISTS (SELECT 1 FROM payments p WHERE p.user_id = orders.user_id)",
		"user_id IN (1, 2, 3)", "id IN (SELECT order_id FROM order_items)",
		"SELECT COUNT(*) FROM orders ORDER BY 1 LIMIT ?, ?",
		"INSERT INTO users (user_id, name) VALUES (1, 'a'), (?, 'b')",
		"UPDATE orders SET user_id = 1 WHERE user_id = 2",
		"SELECT o.id FROM orders o JOIN payments p USING (user_id) WHERE p.user_id IN (?, 9)",
	} {
		f.Add(seed)
	}
	r, err := New(testVSchema(f), Options{CacheSize: 256})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ps := parser.New()
		routeAny(r, s)
		for _, q := range []string{
			"SELECT id FROM orders WHERE user_id = 7 AND (" + s + ")",
			"UPDATE orders SET status = 'x' WHERE user_id = 7 AND (" + s + ")",
			"SELECT COUNT(*) FROM orders o WHERE o.user_id = 7 AND " + s,
		} {
			if !leadsWithKeyEquality(ps, q) {
				continue
			}
			p, err := r.Plan(q)
			if err != nil {
				continue // a refusal is fine; a guess is not
			}
			if p.Kind == Scatter {
				t.Fatalf("%q has a shard-key equality but was planned as a scatter", q)
			}
			args := make([]any, p.Params)
			for i := range args {
				args[i] = int64(7)
			}
			route, err := p.Route(modTopology{}, args)
			if err == nil && (route.Kind != Single || route.Shard != (modTopology{}).Owner(7)) {
				t.Fatalf("%q routed to %+v, want the shard of user 7", q, route)
			}
		}
	})
}

// routeAny plans and routes s with a few kinds of arguments.
func routeAny(r *Router, s string) {
	p, err := r.Plan(s)
	if err != nil {
		return
	}
	for _, arg := range []any{int64(5), "7", nil, 3.5, []byte("x")} {
		args := make([]any, p.Params)
		for i := range args {
			args[i] = arg
		}
		p.Route(modTopology{}, args)
	}
}

// leadsWithKeyEquality reports whether q parses as a single statement whose
// WHERE clause is a chain of ANDs whose leftmost term is user_id = 7.
func leadsWithKeyEquality(ps *parser.Parser, q string) (ok bool) {
	defer func() {
		if recover() != nil { // the parser's own panics are the router's to survive
			ok = false
		}
	}()
	stmts, _, err := ps.ParseSQL(q)
	if err != nil || len(stmts) != 1 {
		return false
	}
	var where ast.ExprNode
	switch s := stmts[0].(type) {
	case *ast.SelectStmt:
		where = s.Where
	case *ast.UpdateStmt:
		where = s.Where
	}
	for {
		b, ok := where.(*ast.BinaryOperationExpr)
		if !ok || b.Op != opcode.LogicAnd {
			break
		}
		where = b.L
	}
	eq, ok := where.(*ast.BinaryOperationExpr)
	if !ok || eq.Op != opcode.EQ {
		return false
	}
	col, ok := eq.L.(*ast.ColumnNameExpr)
	val, isVal := eq.R.(*driver.ValueExpr)
	return ok && isVal && col.Name.Name.L == "user_id" && val.Kind() == driver.KindInt64 && val.GetInt64() == 7
}

func BenchmarkRoutePlanned(b *testing.B) {
	r := testRouter(b)
	const q = "SELECT id, name, phone FROM users WHERE user_id = ?"
	args := []any{int64(184467440737)}
	topo := benchTopology(b)
	if _, err := r.Route(topo, q, args); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Route(topo, q, args); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRouteParse is the cache-miss path: parse, plan and route.
func BenchmarkRouteParse(b *testing.B) {
	vs := testVSchema(b)
	ps := parser.New()
	const q = "SELECT id, name, phone FROM users WHERE user_id = ?"
	args := []any{int64(184467440737)}
	topo := benchTopology(b)
	b.ReportAllocs()
	for b.Loop() {
		p, _ := build(ps, vs, q)
		if _, err := p.Route(topo, args); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseOnly is TiDB's parser alone on the same statement.
func BenchmarkParseOnly(b *testing.B) {
	ps := parser.New()
	const q = "SELECT id, name, phone FROM users WHERE user_id = ?"
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ps.ParseSQL(q); err != nil {
			b.Fatal(err)
		}
	}
}

func TestParserPanicIsASyntaxError(t *testing.T) {
	r := testRouter(t)
	q := "SELECT id FROM orders WHERE user_id = 7 AND total_cents = 1" + strings.Repeat("0", 100) + ".5"
	for range 2 { // and the router keeps working after it
		if _, err := r.Plan(q); !errors.Is(err, ErrSyntax) {
			t.Fatalf("got %v, want ErrSyntax", err)
		}
	}
	if _, err := r.Route(modTopology{}, "SELECT id FROM orders WHERE user_id = ?", []any{1}); err != nil {
		t.Fatal(err)
	}
}
