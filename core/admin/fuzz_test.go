package admin_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/cangqiong/cangqiong/core/admin"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

// FuzzPutShardMap feeds PUT /admin/v1/shardmap arbitrary bodies and
// If-Match values. Whatever arrives, the answer is a client error in the
// API's JSON form or a committed map: never a 500, never a panic (the
// handler's recovery would turn one into a 500), and the served map
// changes exactly when the answer is 200.
func FuzzPutShardMap(f *testing.F) {
	base := &shardmap.Map{Epoch: 1, Global: shardmap.Keyspace{Address: "127.0.0.1:4000"}, Shards: []shardmap.Shard{
		{ID: "shard-0", Address: "127.0.0.1:4001", State: shardmap.Serving, Weight: 1},
		{ID: "shard-1", Address: "127.0.0.1:4002", State: shardmap.Serving, Weight: 2},
	}}
	valid := mapJSON(f, successor(base, "shard-2"))
	for _, seed := range []struct{ body, ifMatch string }{
		{valid, `"1"`},
		{valid, "1"},
		{valid, ""},
		{valid, `"2"`},
		{valid, `W/"1"`},
		{valid, "*"},
		{valid, `"18446744073709551615"`},
		{valid, `"18446744073709551616"`},
		{strings.Replace(valid, `"shard-2"`, `"shard-0"`, 1), "1"},
		{strings.Replace(valid, `"epoch":2`, `"epoch":1`, 1), "1"},
		{strings.Replace(valid, `"epoch":2`, `"epoch":18446744073709551615`, 1), "1"},
		{strings.Replace(valid, `"epoch":2`, `"epoch":-2`, 1), "1"},
		{strings.Replace(valid, `"epoch":2`, `"epoch":2.5`, 1), "1"},
		{strings.Replace(valid, `"weight":2`, `"weight":1e9`, 1), "1"},
		{strings.Replace(valid, `"epoch":2`, `"EPOCH":2`, 1), "1"},
		{`{"epoch":2,"shards":[],"global":{"address":"x:1"}}`, "1"},
		{`{"epoch":2,"shards":null,"global":null}`, "1"},
		{`{"epoch":2,"shards":[{}],"global":{}}`, "1"},
		{`[]`, "1"},
		{`null`, "1"},
		{``, "1"},
		{`{`, "1"},
		{"\xff\xfe", "1"},
		{strings.Repeat("[", 10000), "1"},
		{valid + valid, "1"},
	} {
		f.Add([]byte(seed.body), seed.ifMatch)
	}

	f.Fuzz(func(t *testing.T, body []byte, ifMatch string) {
		cluster := newTestCluster(t, nil, base)
		a, err := admin.New(admin.Config{Token: token, Cluster: cluster, Logger: quietLogger(), MaxBodyBytes: 64 << 10})
		if err != nil {
			t.Fatal(err)
		}
		var headers []string
		if ifMatch != "" {
			headers = []string{"If-Match", ifMatch}
		}
		rec := call(a.Handler(), http.MethodPut, "/admin/v1/shardmap", string(body), headers...)
		served := cluster.Topology().Map

		switch rec.Code {
		case http.StatusOK:
			got, err := shardmap.Parse(rec.Body.Bytes())
			if err != nil {
				t.Fatalf("200 with a body that is not a map: %v\n%s", err, rec.Body)
			}
			if !got.Equal(served) || got.Epoch <= base.Epoch {
				t.Fatalf("200 with epoch %d, but the node serves epoch %d", got.Epoch, served.Epoch)
			}
			if etag := rec.Header().Get("ETag"); etag != strconv.Quote(strconv.FormatUint(got.Epoch, 10)) {
				t.Fatalf("ETag %s for epoch %d", etag, got.Epoch)
			}
		case http.StatusBadRequest, http.StatusPreconditionFailed, http.StatusRequestEntityTooLarge,
			http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity, http.StatusPreconditionRequired:
			var e apiError
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Fatalf("%d with a body that is not the JSON error: %s", rec.Code, rec.Body)
			}
			if !served.Equal(base) {
				t.Fatalf("%d %s, yet the served map changed to epoch %d", rec.Code, e.Error.Code, served.Epoch)
			}
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	})
}
