package router

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/cangqiong/cangqiong/sharding/vschema"
)

var update = flag.Bool("update", false, "rewrite testdata/*.json with the current plans (review the diff!)")

// modTopology owns key k on shard k mod 4: a stand-in for the ring that
// makes golden files checkable by hand (user 5 is on shard-1).
type modTopology struct{}

var modShards = [4]string{"shard-0", "shard-1", "shard-2", "shard-3"}

func (modTopology) Owner(k int64) string { return modShards[((k%4)+4)%4] }

func testVSchema(t testing.TB) *vschema.VSchema {
	t.Helper()
	tables := map[string]vschema.Table{}
	for _, n := range []string{"users", "addresses", "cart_items", "orders", "order_items", "payments", "idempotency_keys", "cq_changes"} {
		tables[n] = vschema.Table{Kind: vschema.Sharded, Column: "user_id"}
	}
	for _, n := range []string{"shops", "categories", "dishes", "cq_shard_map"} {
		tables[n] = vschema.Table{Kind: vschema.Global}
	}
	tables["cq_change_seq"] = vschema.Table{Kind: vschema.Local}
	vs, err := vschema.New(tables)
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

func testRouter(t testing.TB) *Router {
	t.Helper()
	r, err := New(testVSchema(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// goldenCase is one statement with its expected plan and route, or its
// expected refusal.
type goldenCase struct {
	Name    string          `json:"name"`
	SQL     string          `json:"sql"`
	Args    []any           `json:"args,omitempty"`
	Plan    json.RawMessage `json:"plan,omitempty"`
	Route   json.RawMessage `json:"route,omitempty"`
	Refusal string          `json:"refusal,omitempty"`
	Error   string          `json:"error,omitempty"`
}

var sentinels = []struct {
	name string
	err  error
}{
	{"ErrSyntax", ErrSyntax}, {"ErrUnknownTable", ErrUnknownTable}, {"ErrNoShardKey", ErrNoShardKey},
	{"ErrCrossShard", ErrCrossShard}, {"ErrBadShardKey", ErrBadShardKey}, {"ErrShardKeyChange", ErrShardKeyChange},
	{"ErrUnsupported", ErrUnsupported}, {"ErrArgs", ErrArgs},
}

func sentinelName(err error) string {
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			return s.name
		}
	}
	return "untyped"
}

// decodeArgs turns JSON numbers into int64 (or float64 when fractional).
func decodeArgs(t *testing.T, args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		if n, ok := a.(json.Number); ok {
			if v, err := strconv.ParseInt(string(n), 10, 64); err == nil {
				out[i] = v
				continue
			}
			f, err := n.Float64()
			if err != nil {
				t.Fatalf("arg %q: %v", n, err)
			}
			out[i] = f
			continue
		}
		out[i] = a
	}
	return out
}

func compact(t *testing.T, v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGoldenPlans checks every statement in testdata/*.json against its
// recorded plan, route or refusal. Regenerate with -update and review.
func TestGoldenPlans(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) { runGoldenFile(t, file) })
	}
}

func runGoldenFile(t *testing.T, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var cases []goldenCase
	if err := dec.Decode(&cases); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	r := testRouter(t)
	for i := range cases {
		c := &cases[i]
		got := evaluate(t, r, c)
		if *update {
			*c = got
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			if !jsonEqual(got.Plan, c.Plan) {
				t.Errorf("%s\nplan:\n got %s\nwant %s", c.SQL, got.Plan, c.Plan)
			}
			if !jsonEqual(got.Route, c.Route) {
				t.Errorf("%s\nroute:\n got %s\nwant %s", c.SQL, got.Route, c.Route)
			}
			if got.Refusal != c.Refusal || got.Error != c.Error {
				t.Errorf("%s\nrefusal:\n got %s: %s\nwant %s: %s", c.SQL, got.Refusal, got.Error, c.Refusal, c.Error)
			}
		})
	}
	if *update {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(cases); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func evaluate(t *testing.T, r *Router, c *goldenCase) goldenCase {
	out := goldenCase{Name: c.Name, SQL: c.SQL, Args: c.Args}
	p, err := r.Plan(c.SQL)
	if err == nil {
		out.Plan = compact(t, p)
		var route Route
		route, err = p.Route(modTopology{}, decodeArgs(t, c.Args))
		if err == nil {
			out.Route = compact(t, route)
		}
	}
	if err != nil {
		out.Refusal, out.Error = sentinelName(err), err.Error()
	}
	return out
}

func jsonEqual(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return string(compactAny(x)) == string(compactAny(y))
}

func compactAny(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
