package exec

import (
	"database/sql"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/sharding/router"
)

func TestCompareValues(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		a, b any
		typ  string
		want int
	}{
		{nil, int64(1), "BIGINT", -1},
		{int64(2), nil, "BIGINT", 1},
		{[]byte("9.50"), []byte("10.00"), "DECIMAL", -1}, // by value, not by bytes
		{[]byte("9.50"), []byte("10.00"), "VARCHAR", 1},  // text: byte order
		{[]byte("B"), []byte("a"), "VARCHAR", -1},        // binary collation
		{int64(-3), int64(2), "BIGINT", -1},
		{float64(2.5), int64(2), "DOUBLE", 1},
		{t0, t0.Add(time.Microsecond), "DATETIME", -1},
	} {
		if got := compareValues(c.a, c.b, c.typ); got != c.want {
			t.Errorf("compare(%v, %v, %s) = %d, want %d", c.a, c.b, c.typ, got, c.want)
		}
	}
}

func TestAggregateMerge(t *testing.T) {
	r := &result{
		cols:  []string{"c", "s", "d", "mn", "mx"},
		types: []string{"BIGINT", "DECIMAL", "DECIMAL", "VARCHAR", "DATETIME"},
		rows: [][]any{
			{int64(3), []byte("10.5"), nil, []byte("b"), time.Unix(5, 0)},
			{int64(0), nil, nil, nil, nil},
			{int64(4), []byte("0.25"), nil, []byte("a"), time.Unix(9, 0)},
		},
	}
	got, err := aggregate(r, []router.Aggregate{router.AggCount, router.AggSum, router.AggSum, router.AggMin, router.AggMax})
	if err != nil {
		t.Fatal(err)
	}
	want := []any{int64(7), []byte("10.75"), nil, []byte("a"), time.Unix(9, 0)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("aggregate = %v, want %v (SUM of only NULLs stays NULL)", got, want)
	}
}

func TestWindow(t *testing.T) {
	rows := [][]any{{1}, {2}, {3}, {4}}
	for _, c := range []struct {
		limit, offset int64
		want          string
	}{
		{-1, 0, "[[1] [2] [3] [4]]"}, {2, 0, "[[1] [2]]"}, {2, 3, "[[4]]"}, {5, 4, "[]"}, {0, 0, "[]"},
	} {
		if got := fmt.Sprint(window(rows, c.limit, c.offset)); got != c.want {
			t.Errorf("window(limit %d, offset %d) = %s, want %s", c.limit, c.offset, got, c.want)
		}
	}
}

func TestAssignConverts(t *testing.T) {
	var (
		i    int
		u8   uint8
		s    string
		b    []byte
		f    float64
		ok   bool
		ns   sql.NullString
		anyv any
	)
	for _, c := range []struct {
		dest, src any
	}{
		{&i, []byte("42")}, {&u8, int64(7)}, {&s, int64(5)}, {&b, []byte("x")}, {&f, []byte("1.5")},
		{&ok, int64(1)}, {&ns, nil}, {&anyv, []byte("y")},
	} {
		if err := assign(c.dest, c.src); err != nil {
			t.Errorf("assign(%T, %v): %v", c.dest, c.src, err)
		}
	}
	if i != 42 || u8 != 7 || s != "5" || string(b) != "x" || f != 1.5 || !ok || ns.Valid || string(anyv.([]byte)) != "y" {
		t.Fatalf("converted wrong: %v %v %q %q %v %v %v %v", i, u8, s, b, f, ok, ns, anyv)
	}
	if err := assign(&u8, int64(300)); err == nil {
		t.Error("300 into *uint8 must overflow")
	}
	if err := assign(&s, nil); err == nil {
		t.Error("NULL into *string must fail, as in database/sql")
	}
}
