package router

import (
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/format"
)

// Holes are marked in the restored text by string literals no statement of
// the product contains; rewrite refuses a statement that does contain them.
const (
	holeIn    = "cq_hole_in_7b1d"
	holeLimit = "cq_hole_limit_7b1d"
)

// rewrite builds the per-shard statement of a merge that needs one: the IN
// list of a split becomes a hole filled with each shard's keys, and LIMIT n
// OFFSET m becomes LIMIT hole (each shard returns its first n+m rows; the
// merge applies the offset). A scatter that checks ownership gets the
// LIMIT hole even without OFFSET, to re-read a shard with a larger LIMIT.
// The AST is discarded after planning, so it is edited in place.
func (p *planner) rewrite(s *ast.SelectStmt, in *keyFact, m *Merge) (*Rewrite, error) {
	needed := in != nil || m.Offset != nil
	rereads := m.ShardKey != nil && m.Limit != nil // see Rewrite
	if !needed && !rereads {
		return nil, nil
	}
	rw, err := p.withHoles(s, in, m, m.Offset != nil || rereads)
	if err != nil && !needed {
		// Only re-reads want it: the statement runs without them rather
		// than being refused.
		return nil, nil
	}
	return rw, err
}

// withHoles restores s with the IN list of in (if any) and, if limit, the
// LIMIT as holes.
func (p *planner) withHoles(s *ast.SelectStmt, in *keyFact, m *Merge, limit bool) (*Rewrite, error) {
	if strings.Contains(p.sql, "cq_hole_") {
		return nil, refuse(ErrUnsupported, "the text cq_hole_ is reserved by the router")
	}
	rw := &Rewrite{}
	if in != nil {
		in.in.List = []ast.ExprNode{ast.NewValueExpr(holeIn, "", "")}
		for _, v := range in.vals {
			if v.IsArg() {
				rw.InArgs = append(rw.InArgs, v.Arg)
			}
		}
	}
	if limit {
		s.Limit = &ast.Limit{Count: ast.NewValueExpr(holeLimit, "", "")}
		for _, v := range []*Value{m.Limit, m.Offset} {
			if v != nil && v.IsArg() {
				rw.LimitArgs = append(rw.LimitArgs, v.Arg)
			}
		}
		sort.Ints(rw.LimitArgs)
	}
	var sb strings.Builder
	flags := format.DefaultRestoreFlags | format.RestoreStringWithoutCharset
	if err := s.Restore(format.NewRestoreCtx(flags, &sb)); err != nil {
		return nil, refuse(ErrUnsupported, "cannot rewrite the statement per shard: "+err.Error())
	}
	rw.split(sb.String())
	return rw, nil
}

// split cuts the restored text at the quoted hole markers.
func (rw *Rewrite) split(text string) {
	for {
		i, hole := nextHole(text)
		if i < 0 {
			rw.Segments = append(rw.Segments, text)
			return
		}
		rw.Segments = append(rw.Segments, text[:i])
		rw.Holes = append(rw.Holes, holeName(hole))
		text = text[i+len(hole)+2:]
	}
}

func nextHole(text string) (int, string) {
	best, name := -1, ""
	for _, h := range []string{holeIn, holeLimit} {
		if i := strings.Index(text, "'"+h+"'"); i >= 0 && (best < 0 || i < best) {
			best, name = i, h
		}
	}
	return best, name
}

// holeName is the hole as Rewrite.Holes names it.
func holeName(h string) string {
	if h == holeIn {
		return "in"
	}
	return "limit"
}

// render fills the holes: in is the shard's part of the IN list, rows the
// LIMIT each shard applies.
func (rw *Rewrite) render(in []Value, rows int64) string {
	var sb strings.Builder
	for i, seg := range rw.Segments {
		sb.WriteString(seg)
		if i == len(rw.Holes) {
			break
		}
		if rw.Holes[i] == "in" {
			for j, v := range in {
				if j > 0 {
					sb.WriteString(", ")
				}
				sb.WriteString(v.text())
			}
		} else {
			sb.WriteString(strconv.FormatInt(rows, 10))
		}
	}
	return sb.String()
}

// args are the arguments of one shard's statement: the IN list's
// placeholders replaced by the shard's, the LIMIT's dropped.
func (rw *Rewrite) args(args []any, in []Value) []any {
	out := make([]any, 0, len(args))
	inserted := false
	for i, a := range args {
		switch {
		case slices.Contains(rw.InArgs, i):
			if !inserted {
				for _, v := range in {
					if v.IsArg() {
						out = append(out, args[v.Arg])
					}
				}
				inserted = true
			}
		case slices.Contains(rw.LimitArgs, i):
		default:
			out = append(out, a)
		}
	}
	return out
}
