package move

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"math"
	"time"
)

// Checksum hashes a user's rows in every table of tables: for each table,
// in the given order, its name and columns, then its rows in primary-key
// order, every value canonically encoded (type tag, then a fixed-width or
// length-prefixed form; times as UTC seconds and nanoseconds). Two shards
// give the same checksum exactly when they hold the same rows for the
// user. The rows are read in one REPEATABLE READ snapshot.
func Checksum(ctx context.Context, db DB, tables []Table, user int64) ([32]byte, error) {
	sums, err := checksums(ctx, db, tables, []int64{user})
	if err != nil {
		return [32]byte{}, err
	}
	return sums[user].sum, nil
}

// userSum is a user's checksum and how many rows went into it.
type userSum struct {
	sum  [32]byte
	rows int
}

// checksums computes the checksum of each user, reading every table once
// for all of them, in one snapshot.
func checksums(ctx context.Context, db DB, tables []Table, users []int64) (map[int64]userSum, error) {
	tx, err := snapshot(ctx, db)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	hs := make(map[int64]*rowHasher, len(users))
	for _, u := range users {
		hs[u] = &rowHasher{h: sha256.New()}
	}
	for _, t := range tables {
		if err := hashTable(ctx, tx, &t, users, hs); err != nil {
			return nil, err
		}
	}
	out := make(map[int64]userSum, len(users))
	for u, h := range hs {
		out[u] = userSum{sum: [32]byte(h.h.Sum(nil)), rows: h.rows}
	}
	return out, nil
}

// hashTable feeds the users' rows of one table to their hashers.
func hashTable(ctx context.Context, q querier, t *Table, users []int64, hs map[int64]*rowHasher) error {
	for _, h := range hs {
		h.table(t)
	}
	rows, err := q.QueryContext(ctx, t.selectUsersSQL(len(users)), int64Args(users)...)
	if err != nil {
		return wrap("read "+t.Name, err)
	}
	ui := t.userIndex()
	err = eachRow(rows, func(row []any) error {
		u, err := userID(row[ui])
		if err != nil {
			return err
		}
		if h := hs[u]; h != nil {
			return h.row(row)
		}
		return nil
	})
	if err != nil {
		return wrap("checksum "+t.Name, err)
	}
	return nil
}

// rowHasher encodes one user's tables and rows into a hash. Every item
// starts with a tag and every variable-length part carries its length, so
// the encoding of a sequence of tables and rows is unambiguous.
type rowHasher struct {
	h    hash.Hash
	buf  []byte
	rows int
}

const (
	tagTable = 'T'
	tagRow   = 'R'
	tagNull  = 0
	tagInt   = 1
	tagUint  = 2
	tagBytes = 3
	tagTime  = 4
	tagFloat = 5
)

func (r *rowHasher) table(t *Table) {
	b := append(r.buf[:0], tagTable)
	b = appendBytes(b, []byte(t.Name))
	b = binary.AppendUvarint(b, uint64(len(t.Columns)))
	for _, c := range t.Columns {
		b = appendBytes(b, []byte(c))
	}
	r.buf = b
	r.h.Write(b)
}

func (r *rowHasher) row(row []any) error {
	b := append(r.buf[:0], tagRow)
	for _, v := range row {
		var err error
		if b, err = appendValue(b, v); err != nil {
			return err
		}
	}
	r.buf = b
	r.rows++
	r.h.Write(b)
	return nil
}

func appendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// appendValue encodes one value as the driver returns it.
func appendValue(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(b, tagNull), nil
	case int64:
		return binary.BigEndian.AppendUint64(append(b, tagInt), uint64(v)), nil
	case uint64:
		return binary.BigEndian.AppendUint64(append(b, tagUint), v), nil
	case []byte:
		return appendBytes(append(b, tagBytes), v), nil
	case string:
		return appendBytes(append(b, tagBytes), []byte(v)), nil
	case time.Time:
		b = binary.BigEndian.AppendUint64(append(b, tagTime), uint64(v.Unix()))
		return binary.BigEndian.AppendUint32(b, uint32(v.Nanosecond())), nil
	case float64:
		return binary.BigEndian.AppendUint64(append(b, tagFloat), math.Float64bits(v)), nil
	case float32:
		return binary.BigEndian.AppendUint64(append(b, tagFloat), math.Float64bits(float64(v))), nil
	}
	return nil, fmt.Errorf("move: cannot checksum a %T", v)
}
