package router

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/cangqiong/cangqiong/sharding/vschema"
	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"
)

// planner builds the Plan of one statement. It is used once.
type planner struct {
	vs     *vschema.VSchema
	sql    string
	params map[*driver.ParamMarkerExpr]int // marker → argument index
}

// build parses sql and plans it. Refusals come back as a Plan with err set,
// so they are cached like any other plan. ok is false when the parser
// panicked: its state is then suspect and it must not be reused.
func build(ps *parser.Parser, vs *vschema.VSchema, sql string) (plan *Plan, ok bool) {
	defer func() {
		// TiDB's parser, with the value driver a client library can use
		// (test_driver), panics on some literals (decimals of many digits);
		// outside input must never crash a core node.
		if r := recover(); r != nil {
			plan, ok = &Plan{sql: sql, err: refuse(ErrSyntax, fmt.Sprintf("the parser cannot read this statement (%v)", firstLine(fmt.Sprint(r))))}, false
		}
	}()
	return parse(ps, vs, sql), true
}

func parse(ps *parser.Parser, vs *vschema.VSchema, sql string) *Plan {
	stmts, _, err := ps.ParseSQL(sql)
	if err != nil {
		return &Plan{sql: sql, err: refuse(ErrSyntax, strings.TrimSpace(firstLine(err.Error())))}
	}
	if len(stmts) != 1 {
		return &Plan{sql: sql, err: refuse(ErrSyntax, fmt.Sprintf("%d statements; send one statement per call", len(stmts)))}
	}
	stmt := stmts[0]
	p := &planner{vs: vs, sql: sql, params: paramOrder(stmt)}
	plan, err := p.plan(stmt)
	if err != nil {
		return &Plan{sql: sql, err: err}
	}
	plan.sql = sql
	plan.Params = len(p.params)
	return plan
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// paramOrder numbers the ? markers by their position in the text: TiDB's
// parser records offsets, and the argument order is text order.
func paramOrder(stmt ast.Node) map[*driver.ParamMarkerExpr]int {
	v := &paramVisitor{}
	stmt.Accept(v)
	sort.Slice(v.markers, func(i, j int) bool { return v.markers[i].Offset < v.markers[j].Offset })
	order := make(map[*driver.ParamMarkerExpr]int, len(v.markers))
	for i, m := range v.markers {
		order[m] = i
	}
	return order
}

type paramVisitor struct{ markers []*driver.ParamMarkerExpr }

func (v *paramVisitor) Enter(n ast.Node) (ast.Node, bool) {
	if m, ok := n.(*driver.ParamMarkerExpr); ok {
		v.markers = append(v.markers, m)
	}
	return n, false
}

func (v *paramVisitor) Leave(n ast.Node) (ast.Node, bool) { return n, true }

func (p *planner) plan(stmt ast.StmtNode) (*Plan, error) {
	switch s := stmt.(type) {
	case *ast.SelectStmt:
		return p.selectPlan(s)
	case *ast.InsertStmt:
		return p.insertPlan(s)
	case *ast.UpdateStmt:
		return p.updatePlan(s)
	case *ast.DeleteStmt:
		return p.deletePlan(s)
	case ast.DDLNode:
		return p.ddlPlan(s)
	case *ast.SetOprStmt:
		return nil, refuse(ErrUnsupported, "set operations (UNION, INTERSECT, EXCEPT)")
	default:
		return nil, refuse(ErrUnsupported, fmt.Sprintf("%s statements are not routed; use the executor's API for transactions and session state", stmtName(stmt)))
	}
}

func stmtName(stmt ast.StmtNode) string {
	name := strings.TrimPrefix(fmt.Sprintf("%T", stmt), "*ast.")
	return strings.TrimSuffix(name, "Stmt")
}

// value evaluates e as an integer key (or LIMIT) value: a placeholder, an
// integer literal, a numeric string, or a negated integer literal. ok is
// false for anything else; err is set for a literal that can never be a key.
func (p *planner) value(e ast.ExprNode) (Value, bool, error) {
	switch x := unparen(e).(type) {
	case *driver.ParamMarkerExpr:
		return argValue(p.params[x]), true, nil
	case *driver.ValueExpr:
		v, err := literalKey(x)
		return v, err == nil, err
	case *ast.UnaryOperationExpr:
		if x.Op != opcode.Minus {
			return Value{}, false, nil
		}
		lit, ok := unparen(x.V).(*driver.ValueExpr)
		if !ok || lit.Kind() != driver.KindInt64 && lit.Kind() != driver.KindUint64 {
			return Value{}, false, nil
		}
		v, err := literalKey(lit)
		if err != nil || v.Lit == math.MinInt64 {
			return Value{}, false, err
		}
		return litValue(-v.Lit), true, nil
	}
	return Value{}, false, nil
}

func literalKey(x *driver.ValueExpr) (Value, error) {
	switch x.Kind() {
	case driver.KindInt64:
		return litValue(x.GetInt64()), nil
	case driver.KindUint64:
		if u := x.GetUint64(); u <= math.MaxInt64 {
			return litValue(int64(u)), nil
		}
	case driver.KindString, driver.KindBytes:
		if n, err := strconv.ParseInt(strings.TrimSpace(x.GetString()), 10, 64); err == nil {
			return litValue(n), nil
		}
	case driver.KindNull:
		return Value{}, refuse(ErrBadShardKey, "the shard key is compared with NULL")
	}
	return Value{}, refuse(ErrBadShardKey, fmt.Sprintf("%q is not a 64-bit integer shard key", x.GetDatumString()))
}

// selectPlan plans a SELECT: global, keyed (maybe split), or scatter.
func (p *planner) selectPlan(s *ast.SelectStmt) (*Plan, error) {
	a := &analysis{p: p}
	if err := checkSelectShape(s); err != nil {
		return nil, err
	}
	top, err := a.block(nil, s.From, s.Where, selectParts(s)...)
	if err != nil {
		return nil, err
	}
	plan, c, err := p.keyed(a, "select", true)
	if err != nil || plan.Kind == Global {
		return plan, err
	}
	if plan.Kind == Keyed && !plan.Split {
		return plan, nil
	}
	if len(top.insts) == 0 {
		return nil, refuse(ErrUnsupported, "a scatter query must read a sharded table in its outer FROM clause")
	}
	merge, mergeErr := mergeFor(p, s)
	if plan.Kind == Scatter && mergeErr != nil {
		return nil, mergeErr
	}
	if mergeErr != nil { // a split IN that turns out to span shards is refused at route time
		plan.mergeErr = mergeErr
		return plan, nil
	}
	if plan.Kind == Scatter {
		merge.ShardKey = keyResult(a, top, s)
	}
	plan.Merge = merge
	var in *keyFact
	if plan.Split {
		in = c.inFact()
	}
	plan.Rewrite, err = p.rewrite(s, in, merge)
	return plan, err
}

// keyed turns an analysis into a global, keyed or scatter plan.
// canSplit allows a SELECT's IN list to span shards.
func (p *planner) keyed(a *analysis, stmt string, canSplit bool) (*Plan, *class, error) {
	classes, global, sharded, local := a.shardedClasses()
	tables := append(append(slices.Clone(global), sharded...), local...)
	sort.Strings(tables)
	write := stmt != "select"
	if len(local) > 0 {
		if len(tables) > len(local) {
			return nil, nil, refuse(ErrUnsupported, fmt.Sprintf("per-shard tables (%s) with other tables in one statement", strings.Join(local, ", ")))
		}
		return &Plan{Kind: Local, Stmt: stmt, Tables: tables, Write: write}, nil, nil
	}
	if len(sharded) == 0 {
		return &Plan{Kind: Global, Stmt: stmt, Tables: tables, Write: write}, nil, nil
	}
	if len(global) > 0 {
		return nil, nil, refuse(ErrCrossShard, fmt.Sprintf("sharded tables (%s) and global tables (%s) in one statement; read the catalog separately", strings.Join(sharded, ", "), strings.Join(global, ", ")))
	}
	plan := &Plan{Kind: Keyed, Stmt: stmt, Tables: tables, Write: write}
	first := classes[0]
	if len(classes) == 1 {
		if eq := first.eqFact(); eq != nil {
			plan.Keys = eq.vals
			return plan, first, nil
		}
		if in := first.inFact(); in != nil {
			plan.Keys = in.vals
			plan.Split = canSplit
			return plan, first, nil
		}
		if write {
			return nil, nil, refuse(ErrNoShardKey, fmt.Sprintf("%s on %s must pin %s with = or IN", strings.ToUpper(stmt), strings.Join(sharded, ", "), a.insts[first.root].vt.Column))
		}
		plan.Kind = Scatter
		return plan, first, nil
	}
	// Several classes: each must be pinned by =, and at route time all pins
	// must land on one shard.
	for i, c := range classes {
		eq := c.eqFact()
		if eq == nil {
			if c.inFact() != nil {
				return nil, nil, refuse(ErrUnsupported, fmt.Sprintf("an IN list on the shard key of %s combined with tables not joined to it through the shard key", a.classTables(c)))
			}
			return nil, nil, refuse(ErrCrossShard, fmt.Sprintf("%s and %s are not joined through the shard key and %s is not pinned to a value", a.classTables(first), a.classTables(c), a.classTables(c)))
		}
		if i == 0 {
			plan.Keys = eq.vals
		} else {
			plan.Pins = append(plan.Pins, eq.vals...)
		}
	}
	return plan, first, nil
}

// insertPlan plans INSERT and REPLACE: every row must name its shard key.
func (p *planner) insertPlan(s *ast.InsertStmt) (*Plan, error) {
	stmt := "insert"
	if s.IsReplace {
		stmt = "replace"
	}
	if s.Select != nil {
		return nil, refuse(ErrUnsupported, "INSERT … SELECT: read, then insert the rows")
	}
	a := &analysis{p: p}
	sc := &scope{}
	if _, err := a.from(sc, s.Table.TableRefs, nil); err != nil {
		return nil, err
	}
	if hasSubquery(s) {
		return nil, refuse(ErrUnsupported, "subqueries in INSERT")
	}
	in := a.insts[0]
	switch in.vt.Kind {
	case vschema.Global:
		return &Plan{Kind: Global, Stmt: stmt, Tables: []string{in.table}, Write: true}, nil
	case vschema.Local:
		return &Plan{Kind: Local, Stmt: stmt, Tables: []string{in.table}, Write: true}, nil
	}
	keys, err := p.insertKeys(s, in)
	if err != nil {
		return nil, err
	}
	for _, asg := range s.OnDuplicate {
		if asg.Column.Name.L == in.vt.Column {
			return nil, refuse(ErrShardKeyChange, fmt.Sprintf("ON DUPLICATE KEY UPDATE sets %s", in.vt.Column))
		}
	}
	return &Plan{Kind: Keyed, Stmt: stmt, Tables: []string{in.table}, Keys: keys, Write: true}, nil
}

func (p *planner) insertKeys(s *ast.InsertStmt, in *instance) ([]Value, error) {
	col := -1
	for i, c := range s.Columns {
		if c.Name.L == in.vt.Column {
			col = i
		}
	}
	if col < 0 {
		return nil, refuse(ErrNoShardKey, fmt.Sprintf("INSERT into %s must name the %s column", in.table, in.vt.Column))
	}
	keys := make([]Value, 0, len(s.Lists))
	for i, row := range s.Lists {
		if len(row) != len(s.Columns) {
			return nil, refuse(ErrSyntax, fmt.Sprintf("row %d has %d values for %d columns", i+1, len(row), len(s.Columns)))
		}
		if _, isDefault := row[col].(*ast.DefaultExpr); isDefault {
			return nil, refuse(ErrNoShardKey, fmt.Sprintf("row %d leaves %s to its default", i+1, in.vt.Column))
		}
		v, ok, err := p.value(row[col])
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, refuse(ErrBadShardKey, fmt.Sprintf("row %d: %s is an expression the router cannot evaluate", i+1, in.vt.Column))
		}
		keys = append(keys, v)
	}
	return keys, nil
}

// updatePlan plans UPDATE: keyed only, never a change of the shard key.
func (p *planner) updatePlan(s *ast.UpdateStmt) (*Plan, error) {
	if s.With != nil {
		return nil, refuse(ErrUnsupported, "WITH (common table expressions)")
	}
	a := &analysis{p: p}
	var others []ast.Node
	for _, asg := range s.List {
		others = append(others, asg)
	}
	if s.Order != nil {
		others = append(others, s.Order)
	}
	sc, err := a.block(nil, s.TableRefs, s.Where, others...)
	if err != nil {
		return nil, err
	}
	for _, asg := range s.List {
		if changesKey(sc, asg.Column) {
			return nil, refuse(ErrShardKeyChange, fmt.Sprintf("UPDATE sets %s; delete and re-insert the row under its new key instead", asg.Column.Name.O))
		}
	}
	plan, _, err := p.keyed(a, "update", false)
	return plan, err
}

// changesKey reports whether assigning col may change a shard key. An
// unqualified column in a multi-table UPDATE counts if any table is keyed
// by that name.
func changesKey(sc *scope, col *ast.ColumnName) bool {
	if in := resolve(sc, col); in != nil {
		return in.vt.Kind == vschema.Sharded && in.vt.Column == col.Name.L
	}
	for _, in := range sc.insts {
		if in.vt.Kind == vschema.Sharded && in.vt.Column == col.Name.L {
			return true
		}
	}
	return false
}

// deletePlan plans single-table DELETE: keyed only.
func (p *planner) deletePlan(s *ast.DeleteStmt) (*Plan, error) {
	switch {
	case s.With != nil:
		return nil, refuse(ErrUnsupported, "WITH (common table expressions)")
	case s.IsMultiTable:
		return nil, refuse(ErrUnsupported, "multi-table DELETE: delete from one table at a time")
	}
	a := &analysis{p: p}
	var others []ast.Node
	if s.Order != nil {
		others = append(others, s.Order)
	}
	if _, err := a.block(nil, s.TableRefs, s.Where, others...); err != nil {
		return nil, err
	}
	plan, _, err := p.keyed(a, "delete", false)
	return plan, err
}

// ddlPlan sends DDL on sharded tables to every shard and DDL on global
// tables to the global keyspace.
func (p *planner) ddlPlan(s ast.DDLNode) (*Plan, error) {
	names, err := ddlTables(s)
	if err != nil {
		return nil, err
	}
	kinds := map[vschema.Kind]bool{}
	var tables []string
	for _, tn := range names {
		if tn.Schema.O != "" {
			return nil, refuse(ErrUnsupported, fmt.Sprintf("schema-qualified table %s.%s", tn.Schema.O, tn.Name.O))
		}
		vt, err := p.vs.Table(tn.Name.L)
		if err != nil {
			return nil, refuse(ErrUnknownTable, fmt.Sprintf("%q: add it to the vschema before creating it", tn.Name.O))
		}
		if vt.Kind == vschema.Local { // on every shard, like sharded tables
			vt.Kind = vschema.Sharded
		}
		kinds[vt.Kind] = true
		tables = appendUnique(tables, tn.Name.L)
	}
	sort.Strings(tables)
	if len(kinds) > 1 {
		return nil, refuse(ErrCrossShard, "DDL on sharded and global tables in one statement")
	}
	kind := Broadcast
	if kinds[vschema.Global] {
		kind = Global
	}
	return &Plan{Kind: kind, Stmt: "ddl", Tables: tables, Write: true}, nil
}

func ddlTables(s ast.DDLNode) ([]*ast.TableName, error) {
	switch x := s.(type) {
	case *ast.CreateTableStmt:
		if x.Select != nil {
			return nil, refuse(ErrUnsupported, "CREATE TABLE … SELECT")
		}
		if x.ReferTable != nil {
			return []*ast.TableName{x.Table, x.ReferTable}, nil
		}
		return []*ast.TableName{x.Table}, nil
	case *ast.AlterTableStmt:
		return []*ast.TableName{x.Table}, nil
	case *ast.DropTableStmt:
		if x.IsView {
			return nil, refuse(ErrUnsupported, "views")
		}
		return x.Tables, nil
	case *ast.CreateIndexStmt:
		return []*ast.TableName{x.Table}, nil
	case *ast.DropIndexStmt:
		return []*ast.TableName{x.Table}, nil
	case *ast.TruncateTableStmt:
		return []*ast.TableName{x.Table}, nil
	}
	return nil, refuse(ErrUnsupported, fmt.Sprintf("%s is not routed; only table DDL (CREATE/ALTER/DROP/TRUNCATE TABLE, CREATE/DROP INDEX) is", stmtName(s)))
}

// hasSubquery reports whether n contains a subquery anywhere.
func hasSubquery(n ast.Node) bool {
	v := &findVisitor{match: func(n ast.Node) bool { _, ok := n.(*ast.SubqueryExpr); return ok }}
	n.Accept(v)
	return v.found
}

// findVisitor looks for a node; it does not descend into subqueries unless
// the match itself is about them.
type findVisitor struct {
	match        func(ast.Node) bool
	skipSubquery bool
	found        bool
}

func (v *findVisitor) Enter(n ast.Node) (ast.Node, bool) {
	if v.found {
		return n, true
	}
	if v.match(n) {
		v.found = true
		return n, true
	}
	if _, sq := n.(*ast.SubqueryExpr); sq && v.skipSubquery {
		return n, true
	}
	return n, false
}

func (v *findVisitor) Leave(n ast.Node) (ast.Node, bool) { return n, true }
