package relay

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/replication/stream"
	"github.com/cangqiong/cangqiong/sharding/control"
	"github.com/cangqiong/cangqiong/sharding/ring"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

func TestAckBound(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	const window = 10 * time.Minute
	recent, stale := now.Add(-time.Minute), now.Add(-time.Hour)
	region := func(name string, st control.RegionState) control.Region { return control.Region{Name: name, State: st} }
	ack := func(reg, edge string, seq uint64, at time.Time) control.StreamAck {
		return control.StreamAck{Region: reg, Edge: edge, Seq: seq, UpdatedAt: at}
	}
	eu, us := region("eu", control.RegionActive), region("us", control.RegionDraining)
	tests := []struct {
		name       string
		regions    []control.Region
		acks       []control.StreamAck
		want       uint64
		registered bool
	}{
		{"no region registered", nil, []control.StreamAck{ack("eu", "e1", 9, recent)}, 0, false},
		{"only disabled regions", []control.Region{region("eu", control.RegionDisabled)}, []control.StreamAck{ack("eu", "e1", 9, recent)}, 0, false},
		{"a region that never acknowledged", []control.Region{eu, us}, []control.StreamAck{ack("eu", "e1", 9, recent)}, 0, true},
		{"the slowest region", []control.Region{eu, us}, []control.StreamAck{ack("eu", "e1", 9, recent), ack("us", "e2", 4, recent)}, 4, true},
		{"the slowest recent edge of a region", []control.Region{eu}, []control.StreamAck{ack("eu", "e1", 9, recent), ack("eu", "e2", 5, recent)}, 5, true},
		{"an edge gone quiet does not hold its region back", []control.Region{eu}, []control.StreamAck{ack("eu", "e1", 9, recent), ack("eu", "e2", 2, stale)}, 9, true},
		{"a region gone quiet counts with its best edge", []control.Region{eu}, []control.StreamAck{ack("eu", "e1", 7, stale), ack("eu", "e2", 3, stale)}, 7, true},
		{"a disabled region does not hold back", []control.Region{eu, region("ap", control.RegionDisabled)}, []control.StreamAck{ack("eu", "e1", 9, recent)}, 9, true},
		{"acknowledgements of unregistered regions are ignored", []control.Region{eu}, []control.StreamAck{ack("eu", "e1", 9, recent), ack("xx", "e9", 1, recent)}, 9, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, registered := ackBound(tc.regions, tc.acks, now, window)
			if got != tc.want || registered != tc.registered {
				t.Fatalf("ackBound = %d, %v; want %d, %v", got, registered, tc.want, tc.registered)
			}
		})
	}
}

func TestParseSubscribe(t *testing.T) {
	tests := []struct {
		query string
		ok    bool
	}{
		{"region=eu&edge=edge-1", true},
		{"region=eu&edge=edge-1&from=shard-0.41,global.12", true},
		{"region=eu&edge=edge-1&from=", true},
		{"edge=edge-1", false},
		{"region=eu", false},
		{"region=EU&edge=edge-1", false},
		{"region=eu&edge=-edge", false},
		{"region=eu&edge=edge-1&from=shard-0", false},
		{"region=eu&edge=edge-1&from=shard-0.x", false},
		{"region=eu&edge=edge-1&from=a.1&from=b.2", false},
		{"region=eu&region=us&edge=edge-1", false},
		{"region=eu&edge=edge-1&since=3", false},
		{"region=eu&edge=edge-1&from=" + strings.Repeat("a", MaxFromBytes+1), false},
		{"region=eu;edge=edge-1", false},
		{"%zz", false},
	}
	for _, tc := range tests {
		q, err := parseSubscribe(tc.query)
		if tc.ok != (err == nil) {
			t.Errorf("parseSubscribe(%.60q) = %+v, %v; want ok %v", tc.query, q, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrBadQuery) {
			t.Errorf("parseSubscribe(%.60q): %v is not ErrBadQuery", tc.query, err)
		}
	}
	q, err := parseSubscribe("region=eu&edge=edge-1&from=shard-0.41,global.12")
	if err != nil || q.region != "eu" || q.edge != "edge-1" || q.from["shard-0"] != 41 || q.from["global"] != 12 {
		t.Fatalf("%+v, %v", q, err)
	}
}

func FuzzParseSubscribe(f *testing.F) {
	f.Add("region=eu&edge=edge-1&from=shard-0.41,global.12")
	f.Add("region=eu&edge=edge-1")
	f.Add("from=a.1&from=b.2")
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := parseSubscribe(raw)
		if err != nil {
			if !errors.Is(err, ErrBadQuery) {
				t.Fatalf("%v is not ErrBadQuery", err)
			}
			return
		}
		// What is accepted round-trips through the edge's own form.
		again, err := parseSubscribe("region=" + q.region + "&edge=" + q.edge + "&from=" + q.from.String())
		if err != nil || again.from.String() != q.from.String() {
			t.Fatalf("accepted %q, but not its own form: %v", raw, err)
		}
	})
}

func TestRelayable(t *testing.T) {
	for ks, want := range map[string]bool{"global": true, "shard-0": true, "-shard": false, "Shard": false, "": false, strings.Repeat("s", 65): false} {
		if relayable(ks) != want {
			t.Errorf("relayable(%q) = %v", ks, !want)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	if _, err := New(Config{}); !errors.Is(err, ErrConfig) {
		t.Fatalf("New without Node and Exec: %v", err)
	}
	c, err := Config{Node: "core-0", Exec: fakeExec{}}.check()
	d := DefaultConfig()
	if err != nil || c.LeaseTTL != d.LeaseTTL || c.PollInterval != d.PollInterval || c.RebalanceHold != 10*d.LeaseTTL ||
		c.Retention != d.Retention || c.Members == nil || c.Regions == nil || c.Logger == nil {
		t.Fatalf("%+v, %v", c, err)
	}
	if got := c.Members(); len(got) != 1 || got[0] != "core-0" {
		t.Fatalf("Members = %v, want this node alone", got)
	}
	if _, err := (Config{Node: "core-0", Exec: fakeExec{}, PollInterval: -1}).check(); !errors.Is(err, ErrConfig) {
		t.Fatalf("negative interval: %v", err)
	}
}

// fakeExec is an Executor for config checks only.
type fakeExec struct{ Executor }

// topoExec is an Executor that only knows a topology.
type topoExec struct {
	Executor
	topo *shardmap.Topology
}

func (e topoExec) Topology() *shardmap.Topology { return e.topo }

func FuzzAckCursors(f *testing.F) {
	m := &shardmap.Map{Epoch: 1, Global: shardmap.Keyspace{Address: "10.0.0.1:4000"}}
	for _, id := range []string{"shard-0", "shard-1"} {
		m.Shards = append(m.Shards, shardmap.Shard{ID: id, Address: "10.0.0.2:4000", State: shardmap.Serving, Weight: 1})
	}
	topo, err := shardmap.Compile(m, ring.Options{})
	if err != nil {
		f.Fatal(err)
	}
	r := &Relay{cfg: Config{Exec: topoExec{topo: topo}}}
	f.Add([]byte(`{"region":"eu","edge":"edge-1","cursors":{"shard-0":4,"global":2,"shard-9":1}}`))
	f.Add([]byte(`{"region":"eu","edge":"edge-1","cursors":{"Shard 0":4}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var a stream.Ack
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if dec.Decode(&a) != nil {
			return
		}
		got, err := r.knownCursors(a.Cursors)
		if err != nil {
			return
		}
		for ks, seq := range got {
			if !slices.Contains([]string{"global", "shard-0", "shard-1"}, ks) || a.Cursors[ks] != seq {
				t.Fatalf("kept %s.%d from %v", ks, seq, a.Cursors)
			}
		}
	})
}
