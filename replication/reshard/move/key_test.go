package move

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"
)

func TestKeySurvivesJSON(t *testing.T) {
	cases := []struct {
		name string
		key  Key
		json string
	}{
		{"a BIGINT past 2^53", Key{int64(math.MaxInt64), int64(-1)}, `["i:9223372036854775807","i:-1"]`},
		{"unsigned", Key{uint64(math.MaxUint64)}, `["u:18446744073709551615"]`},
		{"text", Key{int64(7), []byte("订单:12")}, `["i:7","s:订单:12"]`},
		{"binary", Key{[]byte{0xff, 0x00}}, `["x:ff00"]`},
		{"empty bytes", Key{[]byte{}}, `["s:"]`},
		{"time", Key{time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)}, `["t:2026-01-02T03:04:05.123456Z"]`},
		{"none", nil, `null`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.key)
			if err != nil || string(b) != tc.json {
				t.Fatalf("Marshal: %s, %v; want %s", b, err, tc.json)
			}
			var back Key
			if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, tc.key) {
				t.Fatalf("Unmarshal: %#v, %v; want %#v", back, err, tc.key)
			}
		})
	}
}

func TestKeyRefusesWhatItCannotKeep(t *testing.T) {
	if _, err := json.Marshal(Key{3.5}); !errors.Is(err, ErrBadKey) {
		t.Errorf("a float key: %v, want ErrBadKey", err)
	}
	for _, bad := range []string{`["7"]`, `["i:x"]`, `["q:1"]`, `["x:zz"]`, `["t:yesterday"]`, `[7]`, `{}`} {
		var k Key
		if err := json.Unmarshal([]byte(bad), &k); !errors.Is(err, ErrBadKey) {
			t.Errorf("Unmarshal(%s): %v, want ErrBadKey", bad, err)
		}
	}
}

func TestProgressSurvivesJSON(t *testing.T) {
	p := Progress{Done: []string{"users"}, Table: "idempotency_keys", After: Key{int64(1) << 60, []byte("k-9")}, Scanned: 10, Rows: 3, Users: 1}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back Progress
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, p) {
		t.Fatalf("round trip of %s: %#v, %v", b, back, err)
	}
}

// FuzzKeyJSON: a persisted key is input from outside. Whatever reads back
// must marshal to something that reads back the same.
func FuzzKeyJSON(f *testing.F) {
	for _, s := range []string{`["i:1","s:a"]`, `["x:00ff"]`, `["t:2026-01-02T03:04:05.5+08:00"]`, `["u:0"]`, `null`, `[]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var k Key
		if json.Unmarshal([]byte(s), &k) != nil {
			return
		}
		b, err := json.Marshal(k)
		if err != nil {
			t.Fatalf("%s read back as %#v, which does not marshal: %v", s, k, err)
		}
		var again Key
		if err := json.Unmarshal(b, &again); err != nil {
			t.Fatalf("%s does not read back: %v", b, err)
		}
		b2, _ := json.Marshal(again)
		if string(b2) != string(b) {
			t.Fatalf("%s → %s → %s", s, b, b2)
		}
	})
}
