package router

import (
	"fmt"
	"strings"

	"github.com/cangqiong/cangqiong/sharding/vschema"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"
)

// instance is one occurrence of a table in a statement (a table joined to
// itself is two instances).
type instance struct {
	id    int
	table string // lower case
	alias string // lower case; the table name when there is no alias
	vt    vschema.Table
}

// scope is the FROM clause of one query block; subqueries see their own
// scope first, then the enclosing ones.
type scope struct {
	parent *scope
	insts  []*instance
}

// keyFact is what a conjunct says about an instance's shard key.
type keyFact struct {
	inst int
	vals []Value
	in   *ast.PatternInExpr // nil for = and <=>
}

// analysis collects the table instances of a statement, which of them are
// joined through the shard key (a union-find over instances), and the
// values their keys are pinned to.
type analysis struct {
	p      *planner
	insts  []*instance
	parent []int // union-find
	facts  []keyFact
}

func (a *analysis) find(i int) int {
	for a.parent[i] != i {
		a.parent[i] = a.parent[a.parent[i]]
		i = a.parent[i]
	}
	return i
}

func (a *analysis) union(i, j int) {
	ri, rj := a.find(i), a.find(j)
	if ri == rj {
		return
	}
	if ri > rj {
		ri, rj = rj, ri
	}
	a.parent[rj] = ri // the lower id stays the root: deterministic classes
}

// addTable registers a table occurrence in sc.
func (a *analysis) addTable(sc *scope, tn *ast.TableName, as ast.CIStr) error {
	if tn.Schema.O != "" {
		return refuse(ErrUnsupported, fmt.Sprintf("schema-qualified table %s.%s: the router owns the choice of database", tn.Schema.O, tn.Name.O))
	}
	vt, err := a.p.vs.Table(tn.Name.L)
	if err != nil {
		return refuse(ErrUnknownTable, fmt.Sprintf("%q", tn.Name.O))
	}
	alias := tn.Name.L
	if as.L != "" {
		alias = as.L
	}
	in := &instance{id: len(a.insts), table: tn.Name.L, alias: alias, vt: vt}
	a.insts = append(a.insts, in)
	a.parent = append(a.parent, in.id)
	sc.insts = append(sc.insts, in)
	return nil
}

// from registers the tables of a FROM clause and returns the ON conditions.
func (a *analysis) from(sc *scope, n ast.ResultSetNode, ons []ast.ExprNode) ([]ast.ExprNode, error) {
	switch x := n.(type) {
	case nil:
		return ons, nil
	case *ast.Join:
		if x.NaturalJoin {
			return nil, refuse(ErrUnsupported, "NATURAL JOIN: name the join columns")
		}
		var err error
		if ons, err = a.from(sc, x.Left, ons); err != nil {
			return nil, err
		}
		if ons, err = a.from(sc, x.Right, ons); err != nil {
			return nil, err
		}
		if x.On != nil {
			ons = append(ons, x.On.Expr)
		}
		a.using(sc, x.Using)
		return ons, nil
	case *ast.TableSource:
		tn, ok := x.Source.(*ast.TableName)
		if !ok {
			return nil, refuse(ErrUnsupported, "derived tables (subqueries in FROM)")
		}
		return ons, a.addTable(sc, tn, x.AsName)
	default:
		return nil, refuse(ErrUnsupported, fmt.Sprintf("FROM clause of type %T", n))
	}
}

// using joins, through JOIN … USING (col), every sharded instance in scope
// whose shard key is one of the columns. A simplification: MySQL joins only
// the two sides, but any instance keyed by that column in this scope is
// either on one side or joined on it already.
func (a *analysis) using(sc *scope, cols []*ast.ColumnName) {
	for _, c := range cols {
		first := -1
		for _, in := range sc.insts {
			if in.vt.Kind != vschema.Sharded || in.vt.Column != c.Name.L {
				continue
			}
			if first < 0 {
				first = in.id
			} else {
				a.union(first, in.id)
			}
		}
	}
}

// block analyses one query block: its FROM clause, the shard-key facts of
// its WHERE and ON conjuncts, and the subqueries anywhere in it.
func (a *analysis) block(parent *scope, from *ast.TableRefsClause, where ast.ExprNode, others ...ast.Node) (*scope, error) {
	sc := &scope{parent: parent}
	var ons []ast.ExprNode
	if from != nil {
		var err error
		if ons, err = a.from(sc, from.TableRefs, nil); err != nil {
			return nil, err
		}
	}
	for _, cond := range append(ons, where) {
		for _, c := range conjuncts(cond, nil) {
			if err := a.conjunct(sc, c); err != nil {
				return nil, err
			}
		}
	}
	for _, n := range append(others, where) {
		if err := a.subqueries(sc, n); err != nil {
			return nil, err
		}
	}
	for _, on := range ons {
		if err := a.subqueries(sc, on); err != nil {
			return nil, err
		}
	}
	return sc, nil
}

// conjuncts flattens a AND b AND … (through parentheses).
func conjuncts(e ast.ExprNode, out []ast.ExprNode) []ast.ExprNode {
	switch x := e.(type) {
	case nil:
		return out
	case *ast.ParenthesesExpr:
		return conjuncts(x.Expr, out)
	case *ast.BinaryOperationExpr:
		if x.Op == opcode.LogicAnd {
			return conjuncts(x.R, conjuncts(x.L, out))
		}
	}
	return append(out, e)
}

func unparen(e ast.ExprNode) ast.ExprNode {
	for {
		p, ok := e.(*ast.ParenthesesExpr)
		if !ok {
			return e
		}
		e = p.Expr
	}
}

// conjunct records what one top-level condition says about shard keys.
func (a *analysis) conjunct(sc *scope, e ast.ExprNode) error {
	switch x := e.(type) {
	case *ast.BinaryOperationExpr:
		if x.Op != opcode.EQ && x.Op != opcode.NullEQ {
			return nil
		}
		l, r := a.keyColumn(sc, x.L), a.keyColumn(sc, x.R)
		switch {
		case l != nil && r != nil:
			a.union(l.id, r.id)
			return nil
		case l != nil:
			return a.keyEquals(l, x.R)
		case r != nil:
			return a.keyEquals(r, x.L)
		}
	case *ast.PatternInExpr:
		k := a.keyColumn(sc, x.Expr)
		if k == nil || x.Not || x.Sel != nil {
			return nil
		}
		vals := make([]Value, 0, len(x.List))
		for _, item := range x.List {
			v, ok, err := a.p.value(item)
			if err != nil {
				return err
			}
			if !ok {
				return refuse(ErrBadShardKey, fmt.Sprintf("%s IN (…) lists an expression the router cannot evaluate", k.vt.Column))
			}
			vals = append(vals, v)
		}
		a.facts = append(a.facts, keyFact{inst: k.id, vals: vals, in: x})
	}
	return nil
}

// keyEquals records key = e, refusing an e the router cannot evaluate
// (other than a plain column, which only fails to join the tables).
func (a *analysis) keyEquals(k *instance, e ast.ExprNode) error {
	v, ok, err := a.p.value(e)
	if err != nil {
		return err
	}
	if ok {
		a.facts = append(a.facts, keyFact{inst: k.id, vals: []Value{v}})
		return nil
	}
	if _, col := unparen(e).(*ast.ColumnNameExpr); col {
		return nil
	}
	return refuse(ErrBadShardKey, fmt.Sprintf("%s is compared with an expression the router cannot evaluate; pass the key as a literal or ? argument", k.vt.Column))
}

// keyColumn returns the instance whose shard-key column e names, or nil.
func (a *analysis) keyColumn(sc *scope, e ast.ExprNode) *instance {
	c, ok := unparen(e).(*ast.ColumnNameExpr)
	if !ok || c.Name.Schema.O != "" {
		return nil
	}
	in := resolve(sc, c.Name)
	if in == nil || in.vt.Kind != vschema.Sharded || in.vt.Column != c.Name.Name.L {
		return nil
	}
	return in
}

// resolve finds the instance a column belongs to: by qualifier, or the
// only table of the innermost scope that has tables. Ambiguous → nil.
func resolve(sc *scope, c *ast.ColumnName) *instance {
	for ; sc != nil; sc = sc.parent {
		if c.Table.L != "" {
			for _, in := range sc.insts {
				if in.alias == c.Table.L {
					return in
				}
			}
			continue
		}
		switch len(sc.insts) {
		case 0:
			continue
		case 1:
			return sc.insts[0]
		default:
			return nil
		}
	}
	return nil
}

// subqueries analyses every subquery inside n as a block nested in sc.
func (a *analysis) subqueries(sc *scope, n ast.Node) error {
	if n == nil {
		return nil
	}
	v := &subqueryVisitor{a: a, sc: sc}
	n.Accept(v)
	return v.err
}

type subqueryVisitor struct {
	a   *analysis
	sc  *scope
	err error
}

func (v *subqueryVisitor) Enter(n ast.Node) (ast.Node, bool) {
	if v.err != nil {
		return n, true
	}
	sq, ok := n.(*ast.SubqueryExpr)
	if !ok {
		return n, false
	}
	sel, ok := sq.Query.(*ast.SelectStmt)
	if !ok {
		v.err = refuse(ErrUnsupported, "set operations (UNION, …) in subqueries")
		return n, true
	}
	v.err = v.a.selectBlock(v.sc, sel)
	return n, true
}

func (v *subqueryVisitor) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// selectBlock analyses a SELECT used as a subquery or as the statement.
func (a *analysis) selectBlock(parent *scope, s *ast.SelectStmt) error {
	if err := checkSelectShape(s); err != nil {
		return err
	}
	_, err := a.block(parent, s.From, s.Where, selectParts(s)...)
	return err
}

func checkSelectShape(s *ast.SelectStmt) error {
	switch {
	case s.With != nil:
		return refuse(ErrUnsupported, "WITH (common table expressions)")
	case s.Kind != ast.SelectStmtKindSelect:
		return refuse(ErrUnsupported, "VALUES and TABLE statements")
	case s.SelectIntoOpt != nil:
		return refuse(ErrUnsupported, "SELECT … INTO")
	}
	return nil
}

// selectParts are the nodes of a SELECT besides FROM and WHERE that may
// hold subqueries.
func selectParts(s *ast.SelectStmt) []ast.Node {
	var parts []ast.Node
	if s.Fields != nil {
		parts = append(parts, s.Fields)
	}
	if s.GroupBy != nil {
		parts = append(parts, s.GroupBy)
	}
	if s.Having != nil {
		parts = append(parts, s.Having)
	}
	if s.OrderBy != nil {
		parts = append(parts, s.OrderBy)
	}
	return parts
}

// class is a set of sharded instances joined through their shard keys.
type class struct {
	root  int
	facts []keyFact
}

// shardedClasses groups sharded instances by join class, in order of first
// appearance; it also lists the global and local tables that take part.
func (a *analysis) shardedClasses() (classes []*class, global, sharded, local []string) {
	byRoot := map[int]*class{}
	for _, in := range a.insts {
		switch in.vt.Kind {
		case vschema.Global:
			global = appendUnique(global, in.table)
			continue
		case vschema.Local:
			local = appendUnique(local, in.table)
			continue
		}
		sharded = appendUnique(sharded, in.table)
		r := a.find(in.id)
		if byRoot[r] == nil {
			byRoot[r] = &class{root: r}
			classes = append(classes, byRoot[r])
		}
	}
	for _, f := range a.facts {
		c := byRoot[a.find(f.inst)]
		c.facts = append(c.facts, f)
	}
	return classes, global, sharded, local
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// eqFact is the class's first = fact, if any.
func (c *class) eqFact() *keyFact {
	for i := range c.facts {
		if c.facts[i].in == nil {
			return &c.facts[i]
		}
	}
	return nil
}

func (c *class) inFact() *keyFact {
	for i := range c.facts {
		if c.facts[i].in != nil {
			return &c.facts[i]
		}
	}
	return nil
}

func (a *analysis) classTables(c *class) string {
	var names []string
	for _, in := range a.insts {
		if in.vt.Kind == vschema.Sharded && a.find(in.id) == c.root {
			names = appendUnique(names, in.alias)
		}
	}
	return strings.Join(names, ", ")
}
