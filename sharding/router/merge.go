package router

import (
	"fmt"
	"strings"

	"github.com/cangqiong/cangqiong/sharding/vschema"
	"github.com/pingcap/tidb/pkg/parser/ast"
)

// mergeFor works out how rows of several shards combine for a SELECT, or
// refuses what cannot be merged exactly.
func mergeFor(p *planner, s *ast.SelectStmt) (*Merge, error) {
	if err := mergeable(s); err != nil {
		return nil, err
	}
	m := &Merge{}
	names, aggs, wildcard, err := selectColumns(s)
	if err != nil {
		return nil, err
	}
	if len(aggs) > 0 {
		m.Aggregates = aggs
	} else if s.OrderBy != nil {
		if m.OrderBy, err = orderItems(s.OrderBy, names, wildcard); err != nil {
			return nil, err
		}
	}
	if s.Limit != nil {
		if m.Limit, err = limitValue(p, s.Limit.Count, "LIMIT"); err != nil {
			return nil, err
		}
		if s.Limit.Offset != nil {
			if m.Offset, err = limitValue(p, s.Limit.Offset, "OFFSET"); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

func mergeable(s *ast.SelectStmt) error {
	why := ""
	switch {
	case s.GroupBy != nil:
		why = "GROUP BY"
	case s.Having != nil:
		why = "HAVING"
	case s.Distinct:
		why = "DISTINCT"
	case len(s.WindowSpecs) > 0 || contains(s.Fields, isWindowFunc):
		why = "window functions"
	}
	if why != "" {
		return refuse(ErrUnsupported, why+" on a query that spans shards; pin the shard key")
	}
	return nil
}

func isWindowFunc(n ast.Node) bool { _, ok := n.(*ast.WindowFuncExpr); return ok }

func isAggregate(n ast.Node) bool { _, ok := n.(*ast.AggregateFuncExpr); return ok }

// contains reports whether n holds a node matching f outside subqueries.
func contains(n ast.Node, f func(ast.Node) bool) bool {
	if n == nil {
		return false
	}
	v := &findVisitor{match: f, skipSubquery: true}
	n.Accept(v)
	return v.found
}

// selectColumns names the result columns (alias, else column name, else
// ""), and the merge aggregate of each column when the list is aggregates.
func selectColumns(s *ast.SelectStmt) (names []string, aggs []Aggregate, wildcard bool, err error) {
	plain := 0
	for _, f := range s.Fields.Fields {
		if f.WildCard != nil {
			wildcard = true
			names = append(names, "")
			plain++
			continue
		}
		names = append(names, fieldName(f))
		agg, isAgg, err := aggregateOf(f.Expr)
		if err != nil {
			return nil, nil, false, err
		}
		if isAgg {
			aggs = append(aggs, agg)
		} else {
			plain++
		}
	}
	if len(aggs) > 0 && plain > 0 {
		return nil, nil, false, refuse(ErrUnsupported, "aggregates mixed with plain columns on a query that spans shards")
	}
	return names, aggs, wildcard, nil
}

func fieldName(f *ast.SelectField) string {
	if f.AsName.L != "" {
		return f.AsName.L
	}
	if c, ok := unparen(f.Expr).(*ast.ColumnNameExpr); ok {
		return c.Name.Name.L
	}
	return ""
}

// aggregateOf classifies one select expression.
func aggregateOf(e ast.ExprNode) (Aggregate, bool, error) {
	fn, ok := unparen(e).(*ast.AggregateFuncExpr)
	if !ok {
		if contains(e, isAggregate) {
			return "", false, refuse(ErrUnsupported, "an aggregate inside an expression on a query that spans shards")
		}
		return "", false, nil
	}
	name := strings.ToLower(fn.F)
	if fn.Distinct {
		return "", false, refuse(ErrUnsupported, strings.ToUpper(name)+"(DISTINCT …) on a query that spans shards")
	}
	switch Aggregate(name) {
	case AggCount, AggSum, AggMin, AggMax:
		return Aggregate(name), true, nil
	}
	return "", false, refuse(ErrUnsupported, strings.ToUpper(name)+"() on a query that spans shards; COUNT, SUM, MIN and MAX merge")
}

// orderItems resolves ORDER BY terms to result columns.
func orderItems(ob *ast.OrderByClause, names []string, wildcard bool) ([]OrderItem, error) {
	items := make([]OrderItem, 0, len(ob.Items))
	for _, by := range ob.Items {
		item, err := orderItem(by, names, wildcard)
		if err != nil {
			return nil, err
		}
		items = append(items, item)
	}
	return items, nil
}

func orderItem(by *ast.ByItem, names []string, wildcard bool) (OrderItem, error) {
	switch e := unparen(by.Expr).(type) {
	case *ast.PositionExpr:
		if e.P != nil || e.N < 1 {
			return OrderItem{}, refuse(ErrUnsupported, "ORDER BY a placeholder position")
		}
		return OrderItem{Index: e.N - 1, Desc: by.Desc}, nil
	case *ast.ColumnNameExpr:
		name := e.Name.Name.L
		if wildcard { // a * shifts positions: find the column by name at run time
			return OrderItem{Index: -1, Column: name, Desc: by.Desc}, nil
		}
		for i, n := range names {
			if n == name {
				return OrderItem{Index: i, Column: name, Desc: by.Desc}, nil
			}
		}
		return OrderItem{}, refuse(ErrUnsupported, fmt.Sprintf("ORDER BY %s: a query that spans shards must select the columns it orders by", e.Name.Name.O))
	}
	return OrderItem{}, refuse(ErrUnsupported, "ORDER BY an expression on a query that spans shards; select it with an alias and order by the alias")
}

func limitValue(p *planner, e ast.ExprNode, what string) (*Value, error) {
	v, ok, err := p.value(e)
	if err != nil || !ok || !v.IsArg() && v.Lit < 0 {
		return nil, refuse(ErrUnsupported, what+" must be a non-negative integer or ?")
	}
	return &v, nil
}

// keyResult finds the result column of a scatter that holds each row's
// shard key, so the executor can drop rows the shard does not own. It
// returns nil when it cannot be sure: the key is not selected, or a
// wildcard hides positions and another result column could share the
// key's name.
func keyResult(a *analysis, sc *scope, s *ast.SelectStmt) *KeyColumn {
	wildcard := false
	for i, f := range s.Fields.Fields {
		switch {
		case f.WildCard != nil:
			wildcard = true
		case !wildcard && isKeyColumn(a, sc, f.Expr):
			return &KeyColumn{Index: i, Column: fieldName(f)}
		}
	}
	if !wildcard {
		return nil
	}
	// A wildcard brings every column of its tables, the key among them,
	// but the plan does not know how many: find the key by name at run
	// time. That is sound when all the tables share the key's name (one
	// table has one column of a name) and no other result column takes it.
	name := ""
	for _, in := range sc.insts {
		if in.vt.Kind != vschema.Sharded || name != "" && in.vt.Column != name {
			return nil
		}
		name = in.vt.Column
	}
	for _, f := range s.Fields.Fields {
		if f.WildCard == nil && fieldName(f) == name && !isKeyColumn(a, sc, f.Expr) {
			return nil
		}
	}
	if name == "" {
		return nil
	}
	return &KeyColumn{Index: -1, Column: name}
}

// isKeyColumn reports whether e is the shard-key column of a table of sc.
// An unqualified name several tables share (JOIN … USING) counts when it
// is the key of every table.
func isKeyColumn(a *analysis, sc *scope, e ast.ExprNode) bool {
	if a.keyColumn(sc, e) != nil {
		return true
	}
	c, ok := unparen(e).(*ast.ColumnNameExpr)
	if !ok || c.Name.Table.L != "" || c.Name.Schema.L != "" || len(sc.insts) < 2 {
		return false
	}
	for _, in := range sc.insts {
		if in.vt.Kind != vschema.Sharded || in.vt.Column != c.Name.Name.L {
			return false
		}
	}
	return true
}
