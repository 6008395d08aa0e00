package admin

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/cangqiong/cangqiong/core/httpapi"
	"github.com/cangqiong/cangqiong/replication/reshard"
)

// Reshards is what the admin API needs from the resharding coordinator.
type Reshards interface {
	// Start records a workflow and runs it in the background. It refuses
	// with an error matching one of reshard's sentinels (ErrInvalid,
	// ErrShardExists, …).
	Start(ctx context.Context, req reshard.Request) (reshard.Status, error)
	// Get is workflow id's status; reshard.ErrNotFound if there is none.
	Get(ctx context.Context, id uint64) (reshard.Status, error)
	// Current is the running workflow, else the most recent one;
	// reshard.ErrNotFound if there never was one.
	Current(ctx context.Context) (reshard.Status, error)
	// Abort rolls back workflow id, which failed before its cutover;
	// reshard.ErrCannotAbort if it may not be, reshard.ErrNotFound.
	Abort(ctx context.Context, id uint64) (reshard.Status, error)
}

func reshardPath(id uint64) string { return "/admin/v1/reshards/" + strconv.FormatUint(id, 10) }

// startReshard starts a workflow and answers 202 with its first status.
// The body is a reshard.Request, decoded strictly; the shard's state is
// the workflow's to set, so a request leaves it empty.
func (a *Admin) startReshard(w http.ResponseWriter, r *http.Request) error {
	var req reshard.Request
	if err := httpapi.Decode(w, r, a.maxBody, &req); err != nil {
		return err
	}
	switch {
	case req.Kind != reshard.Add && req.Kind != reshard.Remove:
		return httpapi.Errorf(http.StatusBadRequest, CodeInvalidReshard, `kind must be "add" or "remove", not %.40q`, req.Kind)
	case req.Shard.State != "":
		return httpapi.Errorf(http.StatusBadRequest, CodeInvalidReshard, "the workflow sets the shard's state: leave state out")
	}
	st, err := a.reshards.Start(r.Context(), req)
	if err != nil {
		return reshardError(err)
	}
	a.log.InfoContext(r.Context(), "reshard started", "reshard", st.ID, "kind", st.Kind, "shard", st.Shard,
		"from_epoch", st.FromEpoch, "remote", r.RemoteAddr)
	w.Header().Set("Location", reshardPath(st.ID))
	httpapi.WriteJSON(w, http.StatusAccepted, st)
	return nil
}

func (a *Admin) currentReshard(w http.ResponseWriter, r *http.Request) error {
	st, err := a.reshards.Current(r.Context())
	if err != nil {
		return reshardError(err)
	}
	httpapi.WriteJSON(w, http.StatusOK, st)
	return nil
}

func reshardID(r *http.Request) (uint64, error) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		return 0, httpapi.Errorf(http.StatusBadRequest, CodeInvalidReshardID,
			"a reshard id is a decimal number, not %.40q", r.PathValue("id"))
	}
	return id, nil
}

func (a *Admin) getReshard(w http.ResponseWriter, r *http.Request) error {
	id, err := reshardID(r)
	if err != nil {
		return err
	}
	st, err := a.reshards.Get(r.Context(), id)
	if err != nil {
		return reshardError(err)
	}
	httpapi.WriteJSON(w, http.StatusOK, st)
	return nil
}

// abortReshard rolls back a workflow that failed before its cutover and
// answers its status.
func (a *Admin) abortReshard(w http.ResponseWriter, r *http.Request) error {
	id, err := reshardID(r)
	if err != nil {
		return err
	}
	st, err := a.reshards.Abort(r.Context(), id)
	if err != nil {
		return reshardError(err)
	}
	a.log.InfoContext(r.Context(), "reshard aborted", "reshard", st.ID, "kind", st.Kind, "shard", st.Shard,
		"epoch", st.ToEpoch, "remote", r.RemoteAddr)
	httpapi.WriteJSON(w, http.StatusOK, st)
	return nil
}

// reshardRefusals map the coordinator's sentinels to answers; the message
// is the error's own, which adds the details.
var reshardRefusals = []struct {
	err    error
	status int
	code   string
}{
	{reshard.ErrInvalid, http.StatusBadRequest, CodeInvalidReshard},
	{reshard.ErrShardExists, http.StatusConflict, CodeShardExists},
	{reshard.ErrUnknownShard, http.StatusNotFound, CodeShardNotFound},
	{reshard.ErrLastShard, http.StatusConflict, CodeLastShard},
	{reshard.ErrBusy, http.StatusConflict, CodeReshardRunning},
	{reshard.ErrUnreachable, http.StatusUnprocessableEntity, CodeShardUnreachable},
	{reshard.ErrNotFound, http.StatusNotFound, CodeReshardNotFound},
	{reshard.ErrCannotAbort, http.StatusConflict, CodeReshardNotAbortable},
}

// reshardError classifies the coordinator's refusals; anything else is a
// 500.
func reshardError(err error) error {
	for _, r := range reshardRefusals {
		if errors.Is(err, r.err) {
			return httpapi.Errorf(r.status, r.code, "%s", err.Error())
		}
	}
	return err
}
