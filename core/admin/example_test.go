package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/cangqiong/cangqiong/core/admin"
	"github.com/cangqiong/cangqiong/sharding/control"
	"github.com/cangqiong/cangqiong/sharding/ring"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

// staticCluster serves one map and refuses to change it; the node's gossip
// takes its place in production.
type staticCluster struct{ topo *shardmap.Topology }

func (c staticCluster) Members() []admin.Member {
	return []admin.Member{{Name: "core-a", State: "alive", Epoch: c.topo.Epoch()}}
}

func (c staticCluster) Topology() *shardmap.Topology { return c.topo }

func (c staticCluster) Commit(_ context.Context, expect uint64, _ *shardmap.Map) error {
	if expect != c.topo.Epoch() {
		return &control.EpochConflictError{Expected: expect, Current: c.topo.Epoch()}
	}
	return errors.New("read-only cluster")
}

// A client reads the shard map, then tries to replace it naming an epoch
// that is no longer current: the API refuses with 412 and the epoch to
// start again from.
func ExampleAdmin_Handler() {
	m := &shardmap.Map{Epoch: 7, Global: shardmap.Keyspace{Address: "10.0.0.1:4000"}, Shards: []shardmap.Shard{
		{ID: "shard-0", Address: "10.0.1.1:4000", State: shardmap.Serving, Weight: 1},
	}}
	topo, err := shardmap.Compile(m, ring.Options{})
	if err != nil {
		panic(err)
	}
	const token = "example-admin-token-0123456789"
	a, err := admin.New(admin.Config{Token: token, Cluster: staticCluster{topo}})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()

	do := func(method, path, auth, ifMatch, body string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		if ifMatch != "" {
			req.Header.Set("If-Match", ifMatch)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var e struct {
			Error struct{ Code, Message string }
		}
		if json.Unmarshal(b, &e) == nil && e.Error.Code != "" {
			fmt.Println(resp.StatusCode, e.Error.Code+":", e.Error.Message)
			return
		}
		fmt.Println(resp.StatusCode, "ETag", resp.Header.Get("ETag"))
	}

	do("GET", "/admin/v1/shardmap", "", "", "")
	do("GET", "/admin/v1/shardmap", token, "", "")
	next := m.Clone()
	next.Epoch = 8
	body, _ := json.Marshal(next)
	do("PUT", "/admin/v1/shardmap", token, "", string(body))
	do("PUT", "/admin/v1/shardmap", token, `"6"`, string(body))
	// Output:
	// 401 unauthenticated: send the admin token: Authorization: Bearer <token>
	// 200 ETag "7"
	// 428 precondition_required: send If-Match with the ETag of the shard map you read (GET it first)
	// 412 epoch_conflict: the stored shard map has epoch 7, not 6: GET it and decide again
}
