package admin

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/cangqiong/cangqiong/core/httpapi"
	"github.com/cangqiong/cangqiong/sharding/control"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

// membersResponse is GET /admin/v1/members.
type membersResponse struct {
	// Epoch is the shard map epoch this node serves (0: none yet).
	Epoch   uint64   `json:"epoch"`
	Members []Member `json:"members"`
}

func (a *Admin) members(w http.ResponseWriter, r *http.Request) error {
	resp := membersResponse{Members: slices.Clone(a.cluster.Members())}
	if t := a.cluster.Topology(); t != nil {
		resp.Epoch = t.Epoch()
	}
	if resp.Members == nil {
		resp.Members = []Member{}
	}
	slices.SortFunc(resp.Members, func(x, y Member) int { return strings.Compare(x.Name, y.Name) })
	httpapi.WriteJSON(w, http.StatusOK, resp)
	return nil
}

func (a *Admin) getShardMap(w http.ResponseWriter, r *http.Request) error {
	t := a.cluster.Topology()
	if t == nil {
		return httpapi.Errorf(http.StatusServiceUnavailable, CodeNoShardMap, "this node serves no shard map yet")
	}
	return writeMap(w, t.Map)
}

// writeMap answers with m in the form the control tables store it, and its
// epoch as ETag.
func writeMap(w http.ResponseWriter, m *shardmap.Map) error {
	body, err := shardmap.Marshal(m)
	if err != nil {
		return err // a served map is valid; this is a bug, and a 500
	}
	setETag(w, m.Epoch)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	return nil
}

// putShardMap replaces the shard map by compare-and-set on the epoch named
// in If-Match. The body is parsed as strictly as maps from gossip or the
// control tables are (shardmap.Parse).
func (a *Admin) putShardMap(w http.ResponseWriter, r *http.Request) error {
	expect, err := requireIfMatch(r, "shard map")
	if err != nil {
		return err
	}
	body, err := a.readBody(w, r)
	if err != nil {
		return err
	}
	next, err := shardmap.Parse(body)
	if err != nil {
		return mapError(err)
	}
	if next.Epoch <= expect {
		return httpapi.Errorf(http.StatusUnprocessableEntity, CodeInvalidShardMap,
			"the new map's epoch %d must be higher than the epoch %d it replaces", next.Epoch, expect)
	}
	if err := a.cluster.Commit(r.Context(), expect, next); err != nil {
		return a.commitError(w, err, expect)
	}
	a.log.InfoContext(r.Context(), "shard map replaced", "from_epoch", expect, "to_epoch", next.Epoch,
		"shards", len(next.Shards), "remote", r.RemoteAddr)
	return writeMap(w, next)
}

// mapError classifies a body shardmap.Parse refused.
func mapError(err error) error {
	msg := strings.ReplaceAll(err.Error(), "\n", "; ") // Validate joins every problem
	if errors.Is(err, shardmap.ErrMalformed) {
		return httpapi.Errorf(http.StatusBadRequest, httpapi.CodeMalformedJSON, "%s", msg)
	}
	return httpapi.Errorf(http.StatusUnprocessableEntity, CodeInvalidShardMap, "%s", msg)
}

// commitError classifies Commit's refusal. A lost race names the stored
// epoch, in the message and as ETag.
func (a *Admin) commitError(w http.ResponseWriter, err error, expect uint64) error {
	var conflict *control.EpochConflictError
	switch {
	case errors.As(err, &conflict):
		setETag(w, conflict.Current)
		return httpapi.Errorf(http.StatusPreconditionFailed, CodeEpochConflict,
			"the stored shard map has epoch %d, not %d: GET it and decide again", conflict.Current, expect)
	case errors.Is(err, control.ErrEpochConflict):
		return httpapi.Errorf(http.StatusPreconditionFailed, CodeEpochConflict,
			"the stored shard map's epoch is no longer %d: GET it and decide again", expect)
	case errors.Is(err, control.ErrNoShardMap):
		return httpapi.Errorf(http.StatusPreconditionFailed, CodeEpochConflict,
			"no shard map is stored, so epoch %d cannot match; migrate the global keyspace first", expect)
	case isMapProblem(err):
		return httpapi.Errorf(http.StatusUnprocessableEntity, CodeInvalidShardMap, "%s",
			strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return err
}

// isMapProblem reports a refusal of the map itself (from ValidateSuccessor
// or Validate in the committing path) rather than of the store.
func isMapProblem(err error) bool {
	var shardErr *shardmap.ShardError
	if errors.As(err, &shardErr) {
		return true
	}
	for _, target := range []error{
		shardmap.ErrStaleEpoch, shardmap.ErrNoOwner, shardmap.ErrNoGlobal, shardmap.ErrMalformed,
		shardmap.ErrInvalidAddress, shardmap.ErrInvalidDatabase,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// readBody reads a JSON body of at most MaxBodyBytes.
func (a *Admin) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if err := checkJSON(r); err != nil {
		return nil, err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.maxBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, httpapi.Errorf(http.StatusRequestEntityTooLarge, httpapi.CodeBodyTooLarge, "the body exceeds %d bytes", a.maxBody)
	case err != nil:
		return nil, httpapi.Errorf(http.StatusBadRequest, httpapi.CodeMalformedJSON, "reading the body: %v", err)
	}
	return body, nil
}

// checkJSON refuses a body declared as anything but JSON; no Content-Type
// is taken as JSON.
func checkJSON(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		return httpapi.Errorf(http.StatusUnsupportedMediaType, "unsupported_media_type", "send application/json, not %.60q", ct)
	}
	return nil
}
