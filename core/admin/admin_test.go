package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/core/admin"
	"github.com/cangqiong/cangqiong/core/metrics/metricstest"
	"github.com/cangqiong/cangqiong/sharding/control"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

func TestNewChecksConfig(t *testing.T) {
	cluster := newTestCluster(t, nil, nil)
	for _, c := range []struct {
		name string
		cfg  admin.Config
	}{
		{"no token", admin.Config{Cluster: cluster}},
		{"short token", admin.Config{Token: "0123456789abcde", Cluster: cluster}},
		{"token with a space", admin.Config{Token: "0123456789 abcdef", Cluster: cluster}},
		{"token with a newline", admin.Config{Token: "0123456789abcdef\n", Cluster: cluster}},
		{"no cluster", admin.Config{Token: token}},
		{"negative body limit", admin.Config{Token: token, Cluster: cluster, MaxBodyBytes: -1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := admin.New(c.cfg); !errors.Is(err, admin.ErrInvalidConfig) {
				t.Errorf("New = %v, want ErrInvalidConfig", err)
			}
		})
	}
	if _, err := admin.New(admin.Config{Token: token, Cluster: cluster}); err != nil {
		t.Errorf("New with only the required fields: %v", err)
	}
}

func TestAuthentication(t *testing.T) {
	f := newFixture(t, admin.Config{})
	guarded := []struct{ method, path, body string }{
		{"GET", "/admin/v1/members", ""},
		{"GET", "/admin/v1/shardmap", ""},
		{"PUT", "/admin/v1/shardmap", "{}"},
		{"GET", "/admin/v1/regions", ""},
		{"GET", "/admin/v1/regions/eu-central", ""},
		{"PUT", "/admin/v1/regions/eu-central", "{}"},
		{"DELETE", "/admin/v1/regions/eu-central", ""},
		{"GET", "/metrics", ""},
		{"GET", "/no/such/route", ""},
		{"POST", "/admin/v1/members", ""},
	}
	for _, route := range guarded {
		for _, c := range []struct {
			name, auth string
			invalid    bool // a token was presented
		}{
			{"no Authorization", "", false},
			{"wrong token", "Bearer not-the-admin-token-at-all", true},
			{"token prefix", "Bearer " + token[:len(token)-1], true},
			{"token plus a byte", "Bearer " + token + "x", true},
			{"Basic scheme", "Basic " + token, true},
			{"bare token", token, true},
		} {
			what := fmt.Sprintf("%s %s, %s", route.method, route.path, c.name)
			// End users' identity headers, as the edge would set them,
			// stand for nothing here.
			rec := call(f.h, route.method, route.path, route.body, "Authorization", c.auth,
				"X-User-Id", "1", "X-User-Role", "admin", "Cq-User", "1")
			expectError(t, what, rec, http.StatusUnauthorized, admin.CodeUnauthenticated)
			challenge := rec.Header().Get("WWW-Authenticate")
			if !strings.HasPrefix(challenge, "Bearer ") || strings.Contains(challenge, "invalid_token") != c.invalid {
				t.Errorf("%s: WWW-Authenticate %q", what, challenge)
			}
			if strings.Contains(rec.Body.String(), token) {
				t.Errorf("%s: the response echoes the token", what)
			}
		}
	}
	// The scheme is case-insensitive (RFC 9110 §11.1).
	expectStatus(t, "lower-case scheme", call(f.h, "GET", "/admin/v1/members", "", "Authorization", "bearer "+token), http.StatusOK)
	// Probes answer without the token.
	expectStatus(t, "healthz", call(f.h, "GET", "/healthz", "", "Authorization", ""), http.StatusOK)
	expectStatus(t, "readyz", call(f.h, "GET", "/readyz", "", "Authorization", ""), http.StatusOK)
	// With the token, an unknown route is a JSON 404 and a wrong method a 405.
	expectError(t, "unknown route", call(f.h, "GET", "/no/such/route", ""), http.StatusNotFound, admin.CodeNotFound)
	rec := call(f.h, "POST", "/admin/v1/regions/eu-central", "{}")
	expectError(t, "POST region", rec, http.StatusMethodNotAllowed, admin.CodeMethodNotAllowed)
	if got := rec.Header().Get("Allow"); got != "DELETE, GET, HEAD, PUT" {
		t.Errorf("Allow %q", got)
	}
}

func TestMembers(t *testing.T) {
	f := newFixture(t, admin.Config{})
	rec := call(f.h, "GET", "/admin/v1/members", "")
	expectStatus(t, "members", rec, http.StatusOK)
	var got struct {
		Epoch   uint64         `json:"epoch"`
		Members []admin.Member `json:"members"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Epoch != 1 || len(got.Members) != 3 {
		t.Fatalf("members = %+v, want 3 members and epoch 1", got)
	}
	for i, name := range []string{"core-a", "core-b", "core-c"} {
		if got.Members[i].Name != name {
			t.Errorf("member %d is %q, want %q (sorted by name)", i, got.Members[i].Name, name)
		}
	}
	want := admin.Member{Name: "core-a", Addr: "127.0.0.1:7946", Region: "cn-east", TunnelAddr: "127.0.0.1:8443",
		AdminAddr: "127.0.0.1:9090", State: "alive", Epoch: 1}
	if got.Members[0] != want {
		t.Errorf("core-a = %+v, want %+v", got.Members[0], want)
	}
	if got.Members[2].State != "dead" || got.Members[2].Epoch != 0 {
		t.Errorf("core-c = %+v, want dead at epoch 0", got.Members[2])
	}
}

// storedEpoch is the epoch in the control tables, read past the API.
func storedEpoch(t *testing.T, f *fixture) uint64 {
	t.Helper()
	m, err := f.store.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return m.Epoch
}

func TestShardMapGetAndReplace(t *testing.T) {
	f := newFixture(t, admin.Config{})
	rec := call(f.h, "GET", "/admin/v1/shardmap", "")
	expectStatus(t, "GET", rec, http.StatusOK)
	expectETag(t, "GET", rec, `"1"`)
	got, err := shardmap.Parse(rec.Body.Bytes())
	if err != nil || !got.Equal(f.deploy.Map) {
		t.Fatalf("GET body = %+v, %v; want the deployment's map %+v", got, err, f.deploy.Map)
	}

	next := successor(got, "shard-9")
	rec = call(f.h, "PUT", "/admin/v1/shardmap", mapJSON(t, next), "If-Match", `"1"`, "Content-Type", "application/json")
	expectStatus(t, "PUT from epoch 1", rec, http.StatusOK)
	expectETag(t, "PUT from epoch 1", rec, `"2"`)
	if put, err := shardmap.Parse(rec.Body.Bytes()); err != nil || !put.Equal(next) {
		t.Errorf("PUT body = %+v, %v; want the new map", put, err)
	}
	if e := storedEpoch(t, f); e != 2 {
		t.Errorf("stored epoch %d after PUT, want 2", e)
	}
	rec = call(f.h, "GET", "/admin/v1/shardmap", "")
	expectETag(t, "GET after PUT", rec, `"2"`)

	// A stale epoch loses, names the current one and leaves the map alone.
	rec = call(f.h, "PUT", "/admin/v1/shardmap", mapJSON(t, successor(got, "shard-8")), "If-Match", `"1"`)
	msg := expectError(t, "PUT from stale epoch 1", rec, http.StatusPreconditionFailed, admin.CodeEpochConflict)
	expectETag(t, "stale PUT", rec, `"2"`)
	if !strings.Contains(msg, "epoch 2") {
		t.Errorf("conflict message %q does not name the current epoch 2", msg)
	}

	// An unquoted epoch is accepted too.
	third := successor(next, "shard-10")
	expectStatus(t, "PUT with a bare epoch", call(f.h, "PUT", "/admin/v1/shardmap", mapJSON(t, third), "If-Match", "2"), http.StatusOK)
	if e := storedEpoch(t, f); e != 3 {
		t.Errorf("stored epoch %d, want 3", e)
	}
	history, err := f.store.History(context.Background())
	if err != nil || len(history) != 3 {
		t.Errorf("history has %d epochs (%v), want 3: refused PUTs must not be recorded", len(history), err)
	}
}

func TestShardMapRefusals(t *testing.T) {
	f := newFixture(t, admin.Config{MaxBodyBytes: 4096})
	current := f.deploy.Map
	valid := mapJSON(t, successor(current, "shard-9"))

	dup := successor(current, "shard-9")
	dup.Shards = append(dup.Shards, dup.Shards[0])
	lower := successor(current, "shard-9")
	lower.Epoch = 0
	same := successor(current, "shard-9")
	same.Epoch = current.Epoch
	noOwner := successor(current, "shard-9")
	for i := range noOwner.Shards {
		noOwner.Shards[i].State = shardmap.Joining
	}
	badAddr := successor(current, "shard-9")
	badAddr.Shards[0].Address = "no-port"

	for _, c := range []struct {
		name     string
		body     string
		headers  []string
		status   int
		code     string
		mentions string
	}{
		{"no If-Match", valid, nil, 428, admin.CodePreconditionRequired, "If-Match"},
		{"If-Match *", valid, []string{"If-Match", "*"}, 400, admin.CodeInvalidPrecondition, ""},
		{"weak If-Match", valid, []string{"If-Match", `W/"1"`}, 400, admin.CodeInvalidPrecondition, ""},
		{"If-Match list", valid, []string{"If-Match", `"1", "2"`}, 400, admin.CodeInvalidPrecondition, ""},
		{"two If-Match", valid, []string{"If-Match", `"1"`, "If-Match", `"1"`}, 400, admin.CodeInvalidPrecondition, ""},
		{"If-Match not a number", valid, []string{"If-Match", `"one"`}, 400, admin.CodeInvalidPrecondition, ""},
		{"negative If-Match", valid, []string{"If-Match", `-1`}, 400, admin.CodeInvalidPrecondition, ""},
		{"duplicate shard ids", mapJSON(t, dup), []string{"If-Match", "1"}, 422, admin.CodeInvalidShardMap, "duplicate shard id"},
		{"lower epoch", mapJSON(t, lower), []string{"If-Match", "1"}, 422, admin.CodeInvalidShardMap, "epoch 0"},
		{"same epoch", mapJSON(t, same), []string{"If-Match", "1"}, 422, admin.CodeInvalidShardMap, "higher"},
		{"no owner", mapJSON(t, noOwner), []string{"If-Match", "1"}, 422, admin.CodeInvalidShardMap, "no shard is serving"},
		{"bad address", mapJSON(t, badAddr), []string{"If-Match", "1"}, 422, admin.CodeInvalidShardMap, "no-port"},
		{"not JSON", "epoch: 2", []string{"If-Match", "1"}, 400, "malformed_json", ""},
		{"empty body", "", []string{"If-Match", "1"}, 400, "malformed_json", ""},
		{"unknown key", strings.Replace(valid, `"epoch"`, `"epoch":2,"extra"`, 1), []string{"If-Match", "1"}, 400, "malformed_json", "extra"},
		{"duplicate key", strings.Replace(valid, `"epoch":2`, `"epoch":2,"epoch":3`, 1), []string{"If-Match", "1"}, 400, "malformed_json", "duplicate key"},
		{"trailing data", valid + "{}", []string{"If-Match", "1"}, 400, "malformed_json", ""},
		{"too large", valid + strings.Repeat(" ", 4096), []string{"If-Match", "1"}, 413, "body_too_large", "4096"},
		{"not JSON content", valid, []string{"If-Match", "1", "Content-Type", "text/plain"}, 415, "unsupported_media_type", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			msg := expectError(t, c.name, call(f.h, "PUT", "/admin/v1/shardmap", c.body, c.headers...), c.status, c.code)
			if !strings.Contains(msg, c.mentions) {
				t.Errorf("message %q does not mention %q", msg, c.mentions)
			}
		})
	}
	if e := storedEpoch(t, f); e != 1 {
		t.Errorf("stored epoch %d after refused PUTs, want 1", e)
	}
}

// Of writers racing from one epoch over HTTP, exactly one wins.
func TestShardMapConcurrentReplace(t *testing.T) {
	f := newFixture(t, admin.Config{})
	const writers = 8
	codes := make([]int, writers)
	var wg sync.WaitGroup
	for i := range writers {
		body := mapJSON(t, successor(f.deploy.Map, fmt.Sprintf("shard-w%d", i)))
		wg.Go(func() { codes[i] = call(f.h, "PUT", "/admin/v1/shardmap", body, "If-Match", "1").Code })
	}
	wg.Wait()
	won := 0
	for i, code := range codes {
		switch code {
		case http.StatusOK:
			won++
		case http.StatusPreconditionFailed:
		default:
			t.Errorf("writer %d: %d, want 200 or 412", i, code)
		}
	}
	if won != 1 {
		t.Errorf("%d writers won, want exactly 1 (codes %v)", won, codes)
	}
}

func regionJSON(weight int, state string, extra ...string) string {
	fields := append([]string{
		`"location":"Frankfurt, DE"`, `"latitude":50.11`, `"longitude":8.68`,
		`"weight":` + strconv.Itoa(weight), `"edges":["10.1.0.1:8443"]`, `"state":"` + state + `"`,
	}, extra...)
	return "{" + strings.Join(fields, ",") + "}"
}

func decodeRegion(t *testing.T, body []byte) control.Region {
	t.Helper()
	var r control.Region
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("region body %s: %v", body, err)
	}
	return r
}

func TestRegions(t *testing.T) {
	f := newFixture(t, admin.Config{})
	const path = "/admin/v1/regions/eu-central"

	rec := call(f.h, "GET", "/admin/v1/regions", "")
	if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"regions":[]}` {
		t.Errorf("empty list: %d %s", rec.Code, rec.Body)
	}
	expectError(t, "GET missing", call(f.h, "GET", path, ""), 404, admin.CodeRegionNotFound)

	rec = call(f.h, "PUT", path, regionJSON(10, "active"))
	expectStatus(t, "create", rec, http.StatusCreated)
	expectETag(t, "create", rec, `"1"`)
	if loc := rec.Header().Get("Location"); loc != path {
		t.Errorf("Location %q, want %q", loc, path)
	}
	created := decodeRegion(t, rec.Body.Bytes())
	if created.Name != "eu-central" || created.Version != 1 || created.Weight != 10 || created.UpdatedAt.IsZero() {
		t.Errorf("created %+v", created)
	}

	rec = call(f.h, "PUT", path, regionJSON(20, "active"))
	msg := expectError(t, "create again", rec, 412, admin.CodeRegionConflict)
	expectETag(t, "create again", rec, `"1"`)
	if !strings.Contains(msg, "version 1") {
		t.Errorf("conflict message %q does not name version 1", msg)
	}

	rec = call(f.h, "PUT", path, regionJSON(20, "draining", `"name":"eu-central"`), "If-Match", `"1"`)
	expectStatus(t, "update", rec, http.StatusOK)
	expectETag(t, "update", rec, `"2"`)
	if r := decodeRegion(t, rec.Body.Bytes()); r.Version != 2 || r.Weight != 20 || r.State != control.RegionDraining {
		t.Errorf("updated %+v", r)
	}

	rec = call(f.h, "PUT", path, regionJSON(30, "active"), "If-Match", `"1"`)
	msg = expectError(t, "stale update", rec, 412, admin.CodeRegionConflict)
	expectETag(t, "stale update", rec, `"2"`)
	if !strings.Contains(msg, "version 2") {
		t.Errorf("conflict message %q does not name version 2", msg)
	}

	for _, c := range []struct {
		name, path, body string
		headers          []string
		status           int
		code             string
	}{
		{"update a missing region", "/admin/v1/regions/ap-east", regionJSON(1, "active"), []string{"If-Match", "3"}, 404, admin.CodeRegionNotFound},
		{"weight 101", "/admin/v1/regions/us-west", regionJSON(101, "active"), nil, 422, admin.CodeInvalidRegion},
		{"unknown state", "/admin/v1/regions/us-west", regionJSON(1, "paused"), nil, 422, admin.CodeInvalidRegion},
		{"invalid name", "/admin/v1/regions/US_WEST", regionJSON(1, "active"), nil, 422, admin.CodeInvalidRegion},
		{"body names another region", path, regionJSON(1, "active", `"name":"us-west"`), []string{"If-Match", "2"}, 422, admin.CodeInvalidRegion},
		{"version in body", path, regionJSON(1, "active", `"version":2`), []string{"If-Match", "2"}, 400, "unknown_field"},
		{"weight as a string", path, `{"weight":"10"}`, []string{"If-Match", "2"}, 400, "wrong_type"},
		{"If-Match 0", path, regionJSON(1, "active"), []string{"If-Match", "0"}, 400, admin.CodeInvalidPrecondition},
		{"weak If-Match", path, regionJSON(1, "active"), []string{"If-Match", `W/"2"`}, 400, admin.CodeInvalidPrecondition},
		{"delete without If-Match", path, "", nil, 428, admin.CodePreconditionRequired},
		{"delete a stale version", path, "", []string{"If-Match", "1"}, 412, admin.CodeRegionConflict},
		{"delete a missing region", "/admin/v1/regions/ap-east", "", []string{"If-Match", "1"}, 404, admin.CodeRegionNotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			method := "PUT"
			if c.body == "" {
				method = "DELETE"
			}
			expectError(t, c.name, call(f.h, method, c.path, c.body, c.headers...), c.status, c.code)
		})
	}

	rec = call(f.h, "GET", path, "")
	expectStatus(t, "GET", rec, http.StatusOK)
	expectETag(t, "GET", rec, `"2"`)
	if r := decodeRegion(t, rec.Body.Bytes()); r.Version != 2 || r.Weight != 20 {
		t.Errorf("after refusals: %+v, want version 2 weight 20", r)
	}
	rec = call(f.h, "GET", "/admin/v1/regions", "")
	var list struct{ Regions []control.Region }
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || len(list.Regions) != 1 || list.Regions[0].Name != "eu-central" {
		t.Errorf("list: %s (%v)", rec.Body, err)
	}

	rec = call(f.h, "DELETE", path, "", "If-Match", `"2"`)
	expectStatus(t, "delete", rec, http.StatusNoContent)
	if rec.Body.Len() != 0 {
		t.Errorf("delete body %q, want none", rec.Body)
	}
	expectError(t, "GET deleted", call(f.h, "GET", path, ""), 404, admin.CodeRegionNotFound)
	expectError(t, "delete again", call(f.h, "DELETE", path, "", "If-Match", "2"), 404, admin.CodeRegionNotFound)
}

// failingRegions is a registry whose database is down.
type failingRegions struct{}

var errDown = errors.New("dial tcp 10.9.9.9:4000: connection refused")

func (failingRegions) List(context.Context) ([]control.Region, error) { return nil, errDown }
func (failingRegions) Get(context.Context, string) (control.Region, error) {
	return control.Region{}, errDown
}
func (failingRegions) Put(context.Context, control.Region, uint64) (control.Region, error) {
	return control.Region{}, errDown
}
func (failingRegions) Delete(context.Context, string, uint64) error { return errDown }

func TestStoreFailureIsAnOpaque500(t *testing.T) {
	a, err := admin.New(admin.Config{Token: token, Cluster: newTestCluster(t, nil, nil), Regions: failingRegions{}, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/admin/v1/regions", ""},
		{"GET", "/admin/v1/regions/eu-central", ""},
		{"PUT", "/admin/v1/regions/eu-central", regionJSON(1, "active")},
		{"DELETE", "/admin/v1/regions/eu-central", ""},
	} {
		rec := call(a.Handler(), c.method, c.path, c.body, "If-Match", "1")
		expectError(t, c.method+" "+c.path, rec, 500, "internal")
		if strings.Contains(rec.Body.String(), "10.9.9.9") {
			t.Errorf("%s %s leaks the cause: %s", c.method, c.path, rec.Body)
		}
	}
}

func TestHealthAndReadiness(t *testing.T) {
	var mu sync.Mutex
	var readiness error
	cluster := newTestCluster(t, nil, nil)
	a, err := admin.New(admin.Config{Token: token, Cluster: cluster, Logger: quietLogger(), Ready: func(ctx context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		return readiness
	}})
	if err != nil {
		t.Fatal(err)
	}
	h := a.Handler()
	rec := call(h, "GET", "/healthz", "", "Authorization", "")
	if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"status":"ok"}` {
		t.Errorf("healthz: %d %s", rec.Code, rec.Body)
	}
	rec = call(h, "GET", "/readyz", "", "Authorization", "")
	if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"status":"ready"}` {
		t.Errorf("readyz: %d %s", rec.Code, rec.Body)
	}

	mu.Lock()
	readiness = errors.New("shard-1 at 10.0.0.7:4000: connection refused")
	mu.Unlock()
	msg := expectError(t, "not ready, anonymous", call(h, "GET", "/readyz", "", "Authorization", ""), 503, admin.CodeNotReady)
	if strings.Contains(msg, "10.0.0.7") {
		t.Errorf("an anonymous caller learns the reason: %q", msg)
	}
	msg = expectError(t, "not ready, with token", call(h, "GET", "/readyz", ""), 503, admin.CodeNotReady)
	if !strings.Contains(msg, "shard-1 at 10.0.0.7:4000") {
		t.Errorf("the operator does not learn the reason: %q", msg)
	}
	expectStatus(t, "healthz while not ready", call(h, "GET", "/healthz", "", "Authorization", ""), 200)
	expectError(t, "POST readyz", call(h, "POST", "/readyz", "", "Authorization", ""), 405, admin.CodeMethodNotAllowed)
}

func TestDefaultReadinessAndTimeout(t *testing.T) {
	cluster := newTestCluster(t, nil, nil) // serves no map yet
	a, err := admin.New(admin.Config{Token: token, Cluster: cluster, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	expectError(t, "no map", call(a.Handler(), "GET", "/readyz", ""), 503, admin.CodeNotReady)
	expectError(t, "GET shardmap without a map", call(a.Handler(), "GET", "/admin/v1/shardmap", ""), 503, admin.CodeNoShardMap)
	served := newTestCluster(t, nil, &shardmap.Map{Epoch: 3, Global: shardmap.Keyspace{Address: "127.0.0.1:4000"},
		Shards: []shardmap.Shard{{ID: "shard-0", Address: "127.0.0.1:4001", State: shardmap.Serving, Weight: 1}}})
	cluster.mu.Lock()
	cluster.topo = served.topo
	cluster.mu.Unlock()
	expectStatus(t, "map served", call(a.Handler(), "GET", "/readyz", ""), 200)

	// A check that hangs is cut off by ReadyTimeout, not left to the prober.
	hung, err := admin.New(admin.Config{Token: token, Cluster: cluster, Logger: quietLogger(), ReadyTimeout: 20 * time.Millisecond,
		Ready: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }})
	if err != nil {
		t.Fatal(err)
	}
	msg := expectError(t, "hung check", call(hung.Handler(), "GET", "/readyz", ""), 503, admin.CodeNotReady)
	if !strings.Contains(msg, "deadline") {
		t.Errorf("message %q, want the deadline named", msg)
	}
}

// scrape returns the samples of /metrics by series.
func scrape(t *testing.T, f *fixture) map[string]float64 {
	t.Helper()
	rec := call(f.h, "GET", "/metrics", "")
	expectStatus(t, "scrape", rec, http.StatusOK)
	return metricstest.Samples(t, rec.Body)
}

func TestMetricsEndpoint(t *testing.T) {
	f := newFixture(t, admin.Config{})
	call(f.h, "GET", "/admin/v1/members", "")
	call(f.h, "GET", "/admin/v1/members", "")
	call(f.h, "GET", "/admin/v1/members", "", "Authorization", "")
	call(f.h, "GET", "/admin/v1/regions/eu-central", "")
	call(f.h, "GET", "/no/such/route", "")
	if _, err := f.deploy.Exec.Global().ExecContext(context.Background(), "SELECT 1"); err != nil {
		t.Fatal(err)
	}

	got := scrape(t, f)
	for series, want := range map[string]float64{
		`cangqiong_http_requests_total{method="GET",route="/admin/v1/members",server="admin",status_class="2xx"}`:        2,
		`cangqiong_http_requests_total{method="GET",route="/admin/v1/members",server="admin",status_class="4xx"}`:        1,
		`cangqiong_http_requests_total{method="GET",route="/admin/v1/regions/{name}",server="admin",status_class="4xx"}`: 1,
		`cangqiong_http_requests_total{method="GET",route="/",server="admin",status_class="4xx"}`:                        1,
		`cangqiong_http_request_duration_seconds_count{route="/admin/v1/members",server="admin"}`:                        3,
		`cangqiong_gossip_epoch`:                  1,
		`cangqiong_gossip_members{state="alive"}`: 2,
		`cangqiong_gossip_members{state="dead"}`:  1,
		`cangqiong_gossip_members{state="left"}`:  0,
	} {
		if v, ok := got[series]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", series, v, ok, want)
		}
	}
	for _, series := range []string{
		`cangqiong_db_pool_open_connections{shard="global"}`,
		`cangqiong_db_pool_in_use_connections{shard="shard-0"}`,
		`cangqiong_db_pool_idle_connections{shard="shard-1"}`,
		`cangqiong_db_pool_wait_count_total{shard="shard-1"}`,
		`go_goroutines`,
		`process_resident_memory_bytes`,
	} {
		if _, ok := got[series]; !ok {
			t.Errorf("%s missing", series)
		}
	}
	if got[`cangqiong_db_pool_open_connections{shard="global"}`] < 1 {
		t.Error("the global keyspace pool shows no open connection after a query")
	}

	// A committed epoch shows on the next scrape.
	expectStatus(t, "PUT", call(f.h, "PUT", "/admin/v1/shardmap", mapJSON(t, successor(f.deploy.Map, "shard-9")), "If-Match", "1"), 200)
	if v := scrape(t, f)[`cangqiong_gossip_epoch`]; v != 2 {
		t.Errorf("gossip epoch %v after a commit, want 2", v)
	}
}

func TestServeAndShutdown(t *testing.T) {
	a, err := admin.New(admin.Config{Token: token, Cluster: newTestCluster(t, nil, nil), Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- a.Serve(ln) }()

	resp, err := http.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("healthz over TCP: %d", resp.StatusCode)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve after Shutdown = %v, want nil", err)
	}
	if err := a.Shutdown(ctx); err != nil {
		t.Errorf("second Shutdown = %v, want nil", err)
	}
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Serve(ln2); err != nil {
		t.Errorf("Serve after Shutdown = %v, want nil", err)
	}
	if _, err := net.Dial("tcp", ln2.Addr().String()); err == nil {
		t.Error("Serve after Shutdown left its listener open")
	}
}
