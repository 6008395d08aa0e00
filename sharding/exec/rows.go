package exec

import (
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"time"
)

// Rows is the result of Query: streamed from one shard, or merged from
// several. Use it like *sql.Rows: Next, Scan, Err, Close.
type Rows struct {
	rows *sql.Rows // streaming from pool
	pool *pool

	merged *result
	pos    int
	cur    []any
	closed bool
}

// Next prepares the next row for Scan.
func (r *Rows) Next() bool {
	if r.rows != nil {
		return r.rows.Next()
	}
	if r.closed || r.pos >= len(r.merged.rows) {
		r.cur = nil
		return false
	}
	r.cur = r.merged.rows[r.pos]
	r.pos++
	return true
}

// Scan copies the current row into dest, converting like database/sql for
// the common destination types (and any sql.Scanner).
func (r *Rows) Scan(dest ...any) error {
	if r.rows != nil {
		return r.pool.wrap(r.rows.Scan(dest...))
	}
	if r.cur == nil {
		return errors.New("exec: Scan called without a successful Next")
	}
	if len(dest) != len(r.cur) {
		return fmt.Errorf("exec: expected %d destination arguments in Scan, not %d", len(r.cur), len(dest))
	}
	for i, d := range dest {
		if err := assign(d, r.cur[i]); err != nil {
			return fmt.Errorf("exec: column %d (%s): %w", i, r.merged.cols[i], err)
		}
	}
	return nil
}

// Columns are the result's column names.
func (r *Rows) Columns() ([]string, error) {
	if r.rows != nil {
		return r.rows.Columns()
	}
	return r.merged.cols, nil
}

// Err is the error, if any, that ended iteration.
func (r *Rows) Err() error {
	if r.rows != nil {
		return r.pool.wrap(r.rows.Err())
	}
	return nil
}

// Close releases the rows. It is idempotent.
func (r *Rows) Close() error {
	if r.rows != nil {
		return r.rows.Close()
	}
	r.closed = true
	return nil
}

// Row is the result of QueryRow.
type Row struct {
	rows *Rows
	err  error
}

// Scan copies the first row into dest and closes the rows; with no row it
// returns sql.ErrNoRows.
func (r *Row) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	return r.rows.Close()
}

// Err is the error of the query, if it failed before any row.
func (r *Row) Err() error { return r.err }

// assign stores a driver value (int64, uint64, float64, []byte, time.Time
// or nil) into a Scan destination.
func assign(dest, src any) error {
	if s, ok := dest.(sql.Scanner); ok {
		return s.Scan(src)
	}
	switch d := dest.(type) {
	case *any:
		if b, ok := src.([]byte); ok {
			src = append([]byte(nil), b...)
		}
		*d = src
		return nil
	case *[]byte:
		return assignBytes(d, src)
	case *sql.RawBytes:
		var b []byte
		err := assignBytes(&b, src)
		*d = b
		return err
	case *string:
		return assignString(d, src)
	case *time.Time:
		t, ok := src.(time.Time)
		if !ok {
			return fmt.Errorf("cannot scan %T into *time.Time", src)
		}
		*d = t
		return nil
	case *bool:
		n, err := asInt(src)
		*d = n != 0
		return err
	}
	return assignNumber(dest, src)
}

func assignBytes(d *[]byte, src any) error {
	switch s := src.(type) {
	case nil:
		*d = nil
	case []byte:
		*d = append([]byte(nil), s...)
	default:
		var str string
		if err := assignString(&str, src); err != nil {
			return err
		}
		*d = []byte(str)
	}
	return nil
}

func assignString(d *string, src any) error {
	switch s := src.(type) {
	case []byte:
		*d = string(s)
	case string:
		*d = s
	case int64:
		*d = strconv.FormatInt(s, 10)
	case uint64:
		*d = strconv.FormatUint(s, 10)
	case float64:
		*d = strconv.FormatFloat(s, 'g', -1, 64)
	case time.Time:
		*d = s.Format(time.RFC3339Nano)
	case nil:
		return errors.New("cannot scan NULL into *string; use sql.NullString")
	default:
		return fmt.Errorf("cannot scan %T into *string", src)
	}
	return nil
}

// assignNumber handles pointers to Go's integer and float kinds.
func assignNumber(dest, src any) error {
	rv := reflect.ValueOf(dest)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("destination %T is not a non-nil pointer", dest)
	}
	v := rv.Elem()
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := asInt(src)
		if err == nil && v.OverflowInt(n) {
			err = fmt.Errorf("value %d overflows %s", n, v.Type())
		}
		v.SetInt(n)
		return err
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := asUint(src)
		if err == nil && v.OverflowUint(n) {
			err = fmt.Errorf("value %d overflows %s", n, v.Type())
		}
		v.SetUint(n)
		return err
	case reflect.Float32, reflect.Float64:
		f, err := asFloat(src)
		v.SetFloat(f)
		return err
	}
	return fmt.Errorf("unsupported Scan destination %T", dest)
}

func asInt(src any) (int64, error) {
	switch s := src.(type) {
	case int64:
		return s, nil
	case uint64:
		return int64(s), nil
	case float64:
		return int64(s), nil
	case []byte:
		return strconv.ParseInt(string(s), 10, 64)
	case bool:
		if s {
			return 1, nil
		}
		return 0, nil
	case nil:
		return 0, errors.New("cannot scan NULL into an integer; use sql.NullInt64")
	}
	return 0, fmt.Errorf("cannot scan %T into an integer", src)
}

func asUint(src any) (uint64, error) {
	switch s := src.(type) {
	case uint64:
		return s, nil
	case []byte:
		return strconv.ParseUint(string(s), 10, 64)
	}
	n, err := asInt(src)
	if err == nil && n < 0 {
		err = fmt.Errorf("cannot scan negative %d into an unsigned integer", n)
	}
	return uint64(n), err
}

func asFloat(src any) (float64, error) {
	switch s := src.(type) {
	case float64:
		return s, nil
	case []byte:
		return strconv.ParseFloat(string(s), 64)
	}
	n, err := asInt(src)
	return float64(n), err
}
