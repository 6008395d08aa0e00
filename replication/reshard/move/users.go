package move

import (
	"context"
	"math"
	"slices"
)

// Users selects the users a step works on: the listed IDs (kept only if
// Filter, when set, accepts them), or, with IDs nil, every user that has
// rows in a moved table and that Filter accepts. Listing the users of a
// shard streams over its primary keys: they are never all in memory.
type Users struct {
	IDs    []int64
	Filter func(userID int64) bool
}

// List selects the given users; none given selects nobody.
func List(ids ...int64) Users { return Users{IDs: append([]int64{}, ids...)} }

// Matching selects the users of the shard that filter accepts.
func Matching(filter func(userID int64) bool) Users { return Users{Filter: filter} }

// userPage is how many user ids one listing query returns per table.
const userPage = 256

// each calls fn with the selected users, at most n at a time, in
// ascending order. Listed users come from the dbs' moved tables.
func (u Users) each(ctx context.Context, dbs []DB, tables []Table, n int, fn func([]int64) error) error {
	if u.IDs == nil && u.Filter == nil {
		return ErrNoUsers
	}
	if u.IDs != nil {
		ids := distinct(u.IDs)
		if u.Filter != nil {
			ids = slices.DeleteFunc(ids, func(id int64) bool { return !u.Filter(id) })
		}
		for chunk := range slices.Chunk(ids, n) {
			if err := fn(chunk); err != nil {
				return err
			}
		}
		return nil
	}
	return u.eachListed(ctx, dbs, tables, n, fn)
}

// eachListed pages through the users present in the dbs, keeping those
// Filter accepts, and hands them on n at a time.
func (u Users) eachListed(ctx context.Context, dbs []DB, tables []Table, n int, fn func([]int64) error) error {
	var pending []int64
	for from, more := int64(math.MinInt64), true; more; {
		page, err := usersFrom(ctx, dbs, tables, from)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			break
		}
		last := page[len(page)-1]
		from, more = last+1, last < math.MaxInt64
		for _, id := range page {
			if u.Filter(id) {
				pending = append(pending, id)
			}
		}
		for len(pending) >= n {
			if err := fn(pending[:n]); err != nil {
				return err
			}
			pending = slices.Delete(pending, 0, n)
		}
	}
	if len(pending) > 0 {
		return fn(pending)
	}
	return nil
}

// usersFrom returns the first userPage user ids ≥ from present in any of the
// tables of any of the dbs, ascending. Each table gives its own first
// userPage, so the first userPage of their union are exact.
func usersFrom(ctx context.Context, dbs []DB, tables []Table, from int64) ([]int64, error) {
	var all []int64
	for _, db := range dbs {
		for _, t := range tables {
			ids, err := distinctUsers(ctx, db, t, from)
			if err != nil {
				return nil, err
			}
			all = append(all, ids...)
		}
	}
	all = distinct(all)
	return all[:min(len(all), userPage)], nil
}

func distinctUsers(ctx context.Context, db DB, t Table, from int64) ([]int64, error) {
	rows, err := db.QueryContext(ctx, t.distinctUsersSQL(), from, userPage)
	if err != nil {
		return nil, wrap("list the users of "+t.Name, err)
	}
	var ids []int64
	err = eachRow(rows, func(row []any) error {
		id, err := userID(row[0])
		ids = append(ids, id)
		return err
	})
	if err != nil {
		return nil, wrap("list the users of "+t.Name, err)
	}
	return ids, nil
}
