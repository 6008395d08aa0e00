package exec

import (
	"bytes"
	"database/sql"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/cangqiong/cangqiong/sharding/router"
)

// result is one shard's rows, read into memory, or the merge of several.
type result struct {
	cols  []string
	types []string // database type names, upper case ("DECIMAL", "BIGINT", …)
	rows  [][]any  // driver values: int64, uint64, float64, []byte, time.Time, nil
}

func newResult(rows *sql.Rows) (*result, error) {
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	cts, err := rows.ColumnTypes()
	if err != nil {
		return nil, err
	}
	res := &result{cols: cols, types: make([]string, len(cts))}
	for i, ct := range cts {
		res.types[i] = strings.ToUpper(ct.DatabaseTypeName())
	}
	return res, nil
}

// scan reads the current row. Scanning into *any copies []byte.
func (r *result) scan(rows *sql.Rows) ([]any, error) {
	vals := make([]any, len(r.cols))
	ptrs := make([]any, len(r.cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	return vals, nil
}

// merge combines the shards' results as the route says.
func merge(parts []*result, r *router.Route) (*result, error) {
	out := &result{cols: parts[0].cols, types: parts[0].types}
	for _, p := range parts {
		if len(p.cols) != len(out.cols) {
			return nil, fmt.Errorf("exec: shards returned %d and %d columns for one query (schema drift?)", len(out.cols), len(p.cols))
		}
		out.rows = append(out.rows, p.rows...)
	}
	m := r.Merge
	if m != nil && len(m.Aggregates) > 0 {
		row, err := aggregate(out, m.Aggregates)
		if err != nil {
			return nil, err
		}
		out.rows = [][]any{row}
	} else if m != nil && len(m.OrderBy) > 0 {
		if err := sortRows(out, m.OrderBy); err != nil {
			return nil, err
		}
	}
	out.rows = window(out.rows, r.Limit, r.Offset)
	return out, nil
}

// window applies OFFSET then LIMIT (limit < 0: none).
func window(rows [][]any, limit, offset int64) [][]any {
	if offset >= int64(len(rows)) {
		return nil
	}
	rows = rows[offset:]
	if limit >= 0 && limit < int64(len(rows)) {
		rows = rows[:limit]
	}
	return rows
}

// sortRows orders rows by the ORDER BY terms. The sort is stable, so rows
// equal on every term keep shard order and the result is deterministic.
func sortRows(r *result, items []router.OrderItem) error {
	idx := make([]int, len(items))
	for i, it := range items {
		j, err := r.column(it.Index, it.Column)
		if err != nil {
			return fmt.Errorf("exec: ORDER BY %w", err)
		}
		idx[i] = j
	}
	slices.SortStableFunc(r.rows, func(a, b []any) int {
		for i, it := range items {
			c := compareValues(a[idx[i]], b[idx[i]], r.types[idx[i]])
			if it.Desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
	return nil
}

// column finds a result column the plan names by 0-based index or, with
// index -1, by name (the first of that name).
func (r *result) column(index int, name string) (int, error) {
	if index >= 0 {
		if index >= len(r.cols) {
			return 0, fmt.Errorf("position %d of %d columns", index+1, len(r.cols))
		}
		return index, nil
	}
	for i, c := range r.cols {
		if strings.EqualFold(c, name) {
			return i, nil
		}
	}
	return 0, fmt.Errorf("%s: no such result column", name)
}

// numericType reports whether a column holds numbers the driver may hand
// over as text.
func numericType(t string) bool {
	for _, n := range []string{"INT", "DECIMAL", "NUMERIC", "FLOAT", "DOUBLE", "REAL", "YEAR"} {
		if strings.Contains(t, n) {
			return true
		}
	}
	return false
}

// compareValues orders two driver values of one column as the server
// would: NULL first, numbers by value, times by instant, text by bytes.
func compareValues(a, b any, typ string) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	switch x := a.(type) {
	case int64:
		if y, ok := b.(int64); ok {
			return cmpOrdered(x, y)
		}
	case float64:
		if y, ok := b.(float64); ok {
			return cmpOrdered(x, y)
		}
	case time.Time:
		if y, ok := b.(time.Time); ok {
			return x.Compare(y)
		}
	case []byte:
		if y, ok := b.([]byte); ok && !numericType(typ) {
			return bytes.Compare(x, y)
		}
	}
	if ra, rb := toRat(a), toRat(b); ra != nil && rb != nil {
		return ra.Cmp(rb)
	}
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

func cmpOrdered[T int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// toRat reads a number exactly, or returns nil.
func toRat(v any) *big.Rat {
	switch x := v.(type) {
	case int64:
		return new(big.Rat).SetInt64(x)
	case uint64:
		return new(big.Rat).SetUint64(x)
	case float64:
		r := new(big.Rat)
		if r.SetFloat64(x) == nil {
			return nil
		}
		return r
	case []byte:
		r, ok := new(big.Rat).SetString(string(x))
		if !ok {
			return nil
		}
		return r
	}
	return nil
}

// aggregate folds every row into one, column by column.
func aggregate(r *result, aggs []router.Aggregate) ([]any, error) {
	if len(aggs) != len(r.cols) {
		return nil, fmt.Errorf("exec: %d aggregates for %d columns", len(aggs), len(r.cols))
	}
	out := make([]any, len(aggs))
	for c, agg := range aggs {
		var err error
		if out[c], err = fold(r, c, agg); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func fold(r *result, c int, agg router.Aggregate) (any, error) {
	switch agg {
	case router.AggCount, router.AggSum:
		return sumColumn(r, c, agg == router.AggCount)
	case router.AggMin, router.AggMax:
		var best any
		for _, row := range r.rows {
			v := row[c]
			if v == nil {
				continue
			}
			cmp := 0
			if best != nil {
				cmp = compareValues(v, best, r.types[c])
			}
			if best == nil || agg == router.AggMin && cmp < 0 || agg == router.AggMax && cmp > 0 {
				best = v
			}
		}
		return best, nil
	}
	return nil, fmt.Errorf("exec: unknown aggregate %q", agg)
}

// sumColumn adds the shards' counts or sums exactly. A SUM over no
// non-NULL value is NULL; a COUNT is 0. The result keeps the shards' type:
// integers stay integers, decimals keep their scale.
func sumColumn(r *result, c int, count bool) (any, error) {
	total := new(big.Rat)
	var sample any
	scale := 0
	for _, row := range r.rows {
		v := row[c]
		if v == nil {
			continue
		}
		q := toRat(v)
		if q == nil {
			return nil, fmt.Errorf("exec: cannot add %T %v from column %s", v, v, r.cols[c])
		}
		total.Add(total, q)
		sample = v
		if b, ok := v.([]byte); ok {
			if i := bytes.IndexByte(b, '.'); i >= 0 {
				scale = max(scale, len(b)-i-1)
			}
		}
	}
	switch sample.(type) {
	case nil:
		if count {
			return int64(0), nil
		}
		return nil, nil
	case int64:
		if total.IsInt() && total.Num().IsInt64() {
			return total.Num().Int64(), nil
		}
	case float64:
		f, _ := total.Float64()
		return f, nil
	}
	return []byte(total.FloatString(scale)), nil
}
