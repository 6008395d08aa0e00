package shardmap_test

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

// The golden file is the canonical encoding: parsing and re-marshalling it
// must give back the same bytes.
func TestGoldenRoundTrip(t *testing.T) {
	data, err := os.ReadFile("testdata/map.json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := shardmap.Parse(data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if m.Epoch != 7 || len(m.Shards) != 3 || m.Shards[1].DatabaseName() != "takeout" ||
		m.Shards[0].DatabaseName() != shardmap.DefaultDatabase {
		t.Fatalf("parsed %+v", m)
	}
	out, err := shardmap.Marshal(m)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	if !bytes.Equal(out, data) {
		t.Errorf("Marshal(Parse(golden)) differs:\n%s", out)
	}
}

const minimal = `{"epoch":1,"shards":[{"id":"s","address":"h:1","state":"serving","weight":1}],"global":{"address":"g:1"}}`

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want error // nil: accepted
	}{
		{"minimal", minimal, nil},
		{"surrounding whitespace", " \n" + minimal + "\n\t ", nil},
		{"fields in any order", `{"global":{"address":"g:1"},"shards":[{"weight":1,"state":"serving","address":"h:1","id":"s"}],"epoch":1}`, nil},
		{"trailing document", minimal + minimal, shardmap.ErrMalformed},
		{"trailing garbage", minimal + " x", shardmap.ErrMalformed},
		{"trailing comma", minimal + ",", shardmap.ErrMalformed},
		{"unknown top-level key", strings.Replace(minimal, `"epoch":1`, `"epoch":1,"owner":"me"`, 1), shardmap.ErrMalformed},
		{"unknown shard key", strings.Replace(minimal, `"weight":1`, `"weight":1,"zone":"a"`, 1), shardmap.ErrMalformed},
		{"known key misplaced", strings.Replace(minimal, `"epoch":1`, `"epoch":1,"weight":1`, 1), shardmap.ErrMalformed},
		{"other case", strings.Replace(minimal, `"epoch"`, `"Epoch"`, 1), shardmap.ErrMalformed},
		{"duplicate key", strings.Replace(minimal, `"epoch":1`, `"epoch":1,"epoch":2`, 1), shardmap.ErrMalformed},
		{"duplicate shard key", strings.Replace(minimal, `"weight":1`, `"weight":1,"weight":2`, 1), shardmap.ErrMalformed},
		{"negative epoch", strings.Replace(minimal, `"epoch":1`, `"epoch":-1`, 1), shardmap.ErrMalformed},
		{"fractional weight", strings.Replace(minimal, `"weight":1`, `"weight":1.5`, 1), shardmap.ErrMalformed},
		{"string epoch", strings.Replace(minimal, `"epoch":1`, `"epoch":"1"`, 1), shardmap.ErrMalformed},
		{"array", `[]`, shardmap.ErrMalformed},
		{"truncated", minimal[:40], shardmap.ErrMalformed},
		{"empty", ``, shardmap.ErrMalformed},
		{"null", `null`, shardmap.ErrNoOwner},
		{"empty object", `{}`, shardmap.ErrNoGlobal},
		{"invalid map", strings.Replace(minimal, `"weight":1`, `"weight":0`, 1), shardmap.ErrInvalidWeight},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := shardmap.Parse([]byte(tt.doc))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Parse error = %v, want %v", err, tt.want)
			}
			if (m == nil) != (err != nil) {
				t.Fatalf("Parse returned map %v with error %v", m, err)
			}
		})
	}
}

func TestMarshalRefusesInvalid(t *testing.T) {
	if _, err := shardmap.Marshal(newMap(1)); !errors.Is(err, shardmap.ErrNoOwner) {
		t.Errorf("Marshal(invalid) error = %v, want ErrNoOwner", err)
	}
}

func FuzzParse(f *testing.F) {
	golden, err := os.ReadFile("testdata/map.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	f.Add([]byte(minimal))
	f.Add([]byte(`{"epoch":18446744073709551615,"shards":[{"id":"a-1","address":"[::1]:65535","database":"d$","state":"joining","weight":64},{"id":"b","address":"h:1","state":"draining","weight":1}],"global":{"address":"g:1","database":"x"}}`))
	f.Add([]byte(`{"epoch":1,"epoch":2}`))
	f.Add([]byte(`{"shards":[[],{}],"global":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := shardmap.Parse(data)
		if err != nil {
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("Parse accepted an invalid map: %v", err)
		}
		out, err := shardmap.Marshal(m)
		if err != nil {
			t.Fatalf("Marshal of a parsed map: %v", err)
		}
		again, err := shardmap.Parse(out)
		if err != nil {
			t.Fatalf("Parse(Marshal(m)): %v\n%s", err, out)
		}
		if !again.Equal(m) {
			t.Fatalf("round trip changed the map:\n%+v\n%+v", m, again)
		}
	})
}
