package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/core/admin"
	"github.com/cangqiong/cangqiong/replication/reshard"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

// fakeReshards records what Start is asked and answers with err, or with a
// new workflow it then knows by id.
type fakeReshards struct {
	mu       sync.Mutex
	err      error // Start, Get and Current fail with it when set
	requests []reshard.Request
	byID     map[uint64]reshard.Status
	last     uint64
}

func (f *fakeReshards) Start(_ context.Context, req reshard.Request) (reshard.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, req)
	if f.err != nil {
		return reshard.Status{}, f.err
	}
	f.last++
	id := 1<<60 + f.last // beyond 2^53: JSON carries it as a string
	st := reshard.Status{
		ID: id, Kind: req.Kind, Shard: req.Shard.ID, Phase: reshard.Preparing, Owner: "core-a",
		FromEpoch: 7, Pairs: []reshard.Pair{}, StartedAt: time.Unix(1700000000, 0).UTC(), UpdatedAt: time.Unix(1700000000, 0).UTC(),
	}
	if f.byID == nil {
		f.byID = map[uint64]reshard.Status{}
	}
	f.byID[id] = st
	return st, nil
}

func (f *fakeReshards) Get(_ context.Context, id uint64) (reshard.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return reshard.Status{}, f.err
	}
	st, ok := f.byID[id]
	if !ok {
		return reshard.Status{}, fmt.Errorf("%w: %d", reshard.ErrNotFound, id)
	}
	return st, nil
}

func (f *fakeReshards) Current(ctx context.Context) (reshard.Status, error) {
	f.mu.Lock()
	last, err := f.last, f.err
	f.mu.Unlock()
	if err == nil && last == 0 {
		return reshard.Status{}, reshard.ErrNotFound
	}
	return f.Get(ctx, 1<<60+last)
}

// Abort marks a known failed workflow aborted; others are refused.
func (f *fakeReshards) Abort(_ context.Context, id uint64) (reshard.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return reshard.Status{}, f.err
	}
	st, ok := f.byID[id]
	switch {
	case !ok:
		return reshard.Status{}, fmt.Errorf("%w: %d", reshard.ErrNotFound, id)
	case st.Phase != reshard.Failed:
		return reshard.Status{}, fmt.Errorf("%w: workflow %d is %s", reshard.ErrCannotAbort, id, st.Phase)
	}
	st.Phase, st.ToEpoch = reshard.Aborted, 8
	f.byID[id] = st
	return st, nil
}

func (f *fakeReshards) calls() []reshard.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]reshard.Request(nil), f.requests...)
}

func reshardAdmin(t *testing.T, r admin.Reshards) http.Handler {
	t.Helper()
	a, err := admin.New(admin.Config{Token: token, Cluster: newTestCluster(t, nil, nil), Reshards: r, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	return a.Handler()
}

func decodeStatus(t *testing.T, what string, body []byte) reshard.Status {
	t.Helper()
	var st reshard.Status
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("%s: %v in %s", what, err, body)
	}
	return st
}

func TestReshardStartAndGet(t *testing.T) {
	f := &fakeReshards{}
	h := reshardAdmin(t, f)

	expectError(t, "current before any", call(h, "GET", "/admin/v1/reshards/current", ""), http.StatusNotFound, admin.CodeReshardNotFound)

	rec := call(h, "POST", "/admin/v1/reshards",
		`{"kind":"add","shard":{"id":"shard-5","address":"127.0.0.1:3405","database":"takeout5","weight":2}}`,
		"Content-Type", "application/json")
	expectStatus(t, "add", rec, http.StatusAccepted)
	st := decodeStatus(t, "add", rec.Body.Bytes())
	if want := fmt.Sprintf(`"id":"%d"`, st.ID); !strings.Contains(rec.Body.String(), want) {
		t.Errorf("the id is not a JSON string: %s", rec.Body)
	}
	if loc := rec.Header().Get("Location"); loc != fmt.Sprintf("/admin/v1/reshards/%d", st.ID) {
		t.Errorf("Location %q for id %d", loc, st.ID)
	}
	if st.Kind != reshard.Add || st.Shard != "shard-5" || st.Phase != reshard.Preparing {
		t.Errorf("status %+v", st)
	}
	want := reshard.Request{Kind: reshard.Add, Shard: shardmap.Shard{ID: "shard-5", Address: "127.0.0.1:3405", Database: "takeout5", Weight: 2}}
	if got := f.calls(); len(got) != 1 || got[0] != want {
		t.Errorf("Start got %+v, want %+v", got, want)
	}

	rec = call(h, "GET", rec.Header().Get("Location"), "")
	expectStatus(t, "get", rec, http.StatusOK)
	if got := decodeStatus(t, "get", rec.Body.Bytes()); got.ID != st.ID || got.Shard != "shard-5" {
		t.Errorf("get: %+v", got)
	}
	expectStatus(t, "head", call(h, "HEAD", fmt.Sprintf("/admin/v1/reshards/%d", st.ID), ""), http.StatusOK)

	rec = call(h, "POST", "/admin/v1/reshards", `{"kind":"remove","shard":{"id":"shard-3"}}`)
	expectStatus(t, "remove", rec, http.StatusAccepted)
	removal := decodeStatus(t, "remove", rec.Body.Bytes())
	if got := f.calls(); len(got) != 2 || got[1] != (reshard.Request{Kind: reshard.Remove, Shard: shardmap.Shard{ID: "shard-3"}}) {
		t.Errorf("Start got %+v", got)
	}
	// A reshard.Request as Go marshals it (with an empty state) is welcome.
	marshaled, _ := json.Marshal(reshard.Request{Kind: reshard.Remove, Shard: shardmap.Shard{ID: "shard-2"}})
	rec = call(h, "POST", "/admin/v1/reshards", string(marshaled))
	expectStatus(t, "marshaled request", rec, http.StatusAccepted)
	removal = decodeStatus(t, "marshaled request", rec.Body.Bytes())
	if got := f.calls(); len(got) != 3 || got[2] != (reshard.Request{Kind: reshard.Remove, Shard: shardmap.Shard{ID: "shard-2"}}) {
		t.Errorf("Start got %+v", got)
	}
	rec = call(h, "GET", "/admin/v1/reshards/current", "")
	expectStatus(t, "current", rec, http.StatusOK)
	if got := decodeStatus(t, "current", rec.Body.Bytes()); got.ID != removal.ID || got.Kind != reshard.Remove {
		t.Errorf("current: %+v, want workflow %d", got, removal.ID)
	}

	for _, path := range []string{"/admin/v1/reshards/1", "/admin/v1/reshards/0"} {
		expectError(t, "GET "+path, call(h, "GET", path, ""), http.StatusNotFound, admin.CodeReshardNotFound)
	}
	for _, id := range []string{"abc", "-1", "1.5", "0x10", "18446744073709551616", "%20"} {
		expectError(t, "GET id "+id, call(h, "GET", "/admin/v1/reshards/"+id, ""), http.StatusBadRequest, admin.CodeInvalidReshardID)
	}
}

func TestReshardAbort(t *testing.T) {
	f := &fakeReshards{}
	h := reshardAdmin(t, f)
	rec := call(h, "POST", "/admin/v1/reshards", `{"kind":"remove","shard":{"id":"shard-3"}}`)
	expectStatus(t, "remove", rec, http.StatusAccepted)
	st := decodeStatus(t, "remove", rec.Body.Bytes())
	path := fmt.Sprintf("/admin/v1/reshards/%d/abort", st.ID)

	msg := expectError(t, "abort a running workflow", call(h, "POST", path, ""), http.StatusConflict, admin.CodeReshardNotAbortable)
	if !strings.Contains(msg, "preparing") {
		t.Errorf("the refusal does not say why: %q", msg)
	}
	f.mu.Lock()
	failed := f.byID[st.ID]
	failed.Phase = reshard.Failed
	f.byID[st.ID] = failed
	f.mu.Unlock()
	rec = call(h, "POST", path, "")
	expectStatus(t, "abort", rec, http.StatusOK)
	if got := decodeStatus(t, "abort", rec.Body.Bytes()); got.ID != st.ID || got.Phase != reshard.Aborted || got.ToEpoch != 8 {
		t.Errorf("abort: %+v", got)
	}
	expectError(t, "abort an unknown one", call(h, "POST", "/admin/v1/reshards/5/abort", ""), http.StatusNotFound, admin.CodeReshardNotFound)
	expectError(t, "abort a bad id", call(h, "POST", "/admin/v1/reshards/abc/abort", ""), http.StatusBadRequest, admin.CodeInvalidReshardID)
	rec = call(h, "GET", path, "")
	expectError(t, "GET abort", rec, http.StatusMethodNotAllowed, admin.CodeMethodNotAllowed)
	if got := rec.Header().Get("Allow"); got != "POST" {
		t.Errorf("Allow %q", got)
	}
	expectError(t, "abort without the token", call(h, "POST", path, "", "Authorization", ""), http.StatusUnauthorized, admin.CodeUnauthenticated)
}

func TestReshardRefusals(t *testing.T) {
	body := `{"kind":"add","shard":{"id":"shard-5","address":"127.0.0.1:3405"}}`
	for _, c := range []struct {
		err    error
		status int
		code   string
	}{
		{reshard.ErrInvalid, http.StatusBadRequest, admin.CodeInvalidReshard},
		{reshard.ErrShardExists, http.StatusConflict, admin.CodeShardExists},
		{reshard.ErrUnknownShard, http.StatusNotFound, admin.CodeShardNotFound},
		{reshard.ErrLastShard, http.StatusConflict, admin.CodeLastShard},
		{reshard.ErrBusy, http.StatusConflict, admin.CodeReshardRunning},
		{reshard.ErrUnreachable, http.StatusUnprocessableEntity, admin.CodeShardUnreachable},
	} {
		err := fmt.Errorf("%w: shard-5 (details)", c.err)
		h := reshardAdmin(t, &fakeReshards{err: err})
		rec := call(h, "POST", "/admin/v1/reshards", body)
		msg := expectError(t, c.code, rec, c.status, c.code)
		if msg != err.Error() {
			t.Errorf("%s: message %q, want %q", c.code, msg, err.Error())
		}
		if rec.Header().Get("Location") != "" {
			t.Errorf("%s: a refusal has a Location", c.code)
		}
	}

	// Any other failure is the usual opaque 500, on every route.
	down := &fakeReshards{err: errors.New("dial tcp 10.9.9.9:4000: connection refused")}
	h := reshardAdmin(t, down)
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/admin/v1/reshards", body},
		{"GET", "/admin/v1/reshards/current", ""},
		{"GET", "/admin/v1/reshards/12", ""},
	} {
		rec := call(h, c.method, c.path, c.body)
		expectError(t, c.method+" "+c.path, rec, http.StatusInternalServerError, "internal")
		if strings.Contains(rec.Body.String(), "10.9.9.9") {
			t.Errorf("%s %s leaks the cause: %s", c.method, c.path, rec.Body)
		}
	}
}

func TestReshardBodyIsStrict(t *testing.T) {
	f := &fakeReshards{}
	h := reshardAdmin(t, f)
	for _, c := range []struct {
		name, body string
		status     int
		code       string
	}{
		{"unknown field", `{"kind":"add","shard":{"id":"s"},"force":true}`, 400, "unknown_field"},
		{"unknown shard field", `{"kind":"add","shard":{"id":"s","address":"h:1","region":"eu"}}`, 400, "unknown_field"},
		{"a state", `{"kind":"add","shard":{"id":"s","address":"h:1","state":"serving"}}`, 400, admin.CodeInvalidReshard},
		{"wrong type", `{"kind":"add","shard":{"id":"s","weight":"1"}}`, 400, "wrong_type"},
		{"not JSON", `kind=add`, 400, "malformed_json"},
		{"truncated", `{"kind":"add"`, 400, "malformed_json"},
		{"two values", `{"kind":"remove","shard":{"id":"s"}} {}`, 400, "malformed_json"},
		{"empty", ``, 400, "malformed_json"},
		{"no kind", `{"shard":{"id":"s"}}`, 400, admin.CodeInvalidReshard},
		{"unknown kind", `{"kind":"split","shard":{"id":"s"}}`, 400, admin.CodeInvalidReshard},
		{"upper-case kind", `{"kind":"ADD","shard":{"id":"s"}}`, 400, admin.CodeInvalidReshard},
		{"too large", `{"kind":"add","shard":{"id":"` + strings.Repeat("s", 2<<20) + `"}}`, 413, "body_too_large"},
	} {
		expectError(t, c.name, call(h, "POST", "/admin/v1/reshards", c.body), c.status, c.code)
	}
	expectError(t, "form body", call(h, "POST", "/admin/v1/reshards", `{"kind":"add"}`, "Content-Type", "application/x-www-form-urlencoded"),
		http.StatusUnsupportedMediaType, "unsupported_media_type")
	if got := f.calls(); len(got) != 0 {
		t.Errorf("refused bodies reached Start: %+v", got)
	}
}

func TestReshardRoutesNeedTheToken(t *testing.T) {
	f := &fakeReshards{}
	h := reshardAdmin(t, f)
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/admin/v1/reshards", `{"kind":"remove","shard":{"id":"shard-3"}}`},
		{"GET", "/admin/v1/reshards/current", ""},
		{"GET", "/admin/v1/reshards/1", ""},
		{"GET", "/admin/v1/reshards/abc", ""},
	} {
		for _, auth := range []string{"", "Bearer not-the-admin-token-at-all"} {
			rec := call(h, c.method, c.path, c.body, "Authorization", auth)
			expectError(t, c.method+" "+c.path+" "+auth, rec, http.StatusUnauthorized, admin.CodeUnauthenticated)
		}
	}
	if got := f.calls(); len(got) != 0 {
		t.Errorf("unauthenticated requests reached Start: %+v", got)
	}

	rec := call(h, "GET", "/admin/v1/reshards", "")
	expectError(t, "GET the collection", rec, http.StatusMethodNotAllowed, admin.CodeMethodNotAllowed)
	if got := rec.Header().Get("Allow"); got != "POST" {
		t.Errorf("Allow %q", got)
	}
	rec = call(h, "DELETE", "/admin/v1/reshards/1", "")
	expectError(t, "DELETE a workflow", rec, http.StatusMethodNotAllowed, admin.CodeMethodNotAllowed)
	if got := rec.Header().Get("Allow"); got != "GET, HEAD" {
		t.Errorf("Allow %q", got)
	}
	expectError(t, "POST current", call(h, "POST", "/admin/v1/reshards/current", "{}"), http.StatusMethodNotAllowed, admin.CodeMethodNotAllowed)
}

func TestReshardRoutesNeedACoordinator(t *testing.T) {
	h := reshardAdmin(t, nil)
	for _, c := range []struct{ method, path string }{
		{"POST", "/admin/v1/reshards"},
		{"GET", "/admin/v1/reshards/current"},
		{"GET", "/admin/v1/reshards/1"},
	} {
		expectError(t, c.method+" "+c.path, call(h, c.method, c.path, `{"kind":"remove","shard":{"id":"s"}}`), http.StatusNotFound, admin.CodeNotFound)
	}
}
