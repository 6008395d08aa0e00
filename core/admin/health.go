package admin

import (
	"context"
	"net/http"

	"github.com/cangqiong/cangqiong/core/httpapi"
)

// statusResponse is the body of a passing probe.
type statusResponse struct {
	Status string `json:"status"`
}

// healthz says the process answers HTTP: a failing liveness probe gets the
// process restarted, so it checks nothing that a restart would not fix.
func (a *Admin) healthz(w http.ResponseWriter, _ *http.Request) error {
	httpapi.WriteJSON(w, http.StatusOK, statusResponse{Status: "ok"})
	return nil
}

// readyz runs the readiness check. Its reason goes only to a caller with
// the admin token, since it names shards and their addresses.
func (a *Admin) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), a.readyTimeout)
	defer cancel()
	err := a.ready(ctx)
	if err == nil {
		httpapi.WriteJSON(w, http.StatusOK, statusResponse{Status: "ready"})
		return nil
	}
	a.log.InfoContext(r.Context(), "not ready", "err", err)
	if _, ok := a.authorized(r); ok {
		return httpapi.Errorf(http.StatusServiceUnavailable, CodeNotReady, "not ready: %v", err)
	}
	return httpapi.Errorf(http.StatusServiceUnavailable, CodeNotReady, "not ready (send the admin token to see why)")
}
