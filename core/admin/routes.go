package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/cangqiong/cangqiong/core/httpapi"
)

// Error codes of the admin API, beyond httpapi's body codes.
const (
	CodeUnauthenticated      = "unauthenticated"
	CodeNotFound             = "not_found"
	CodeMethodNotAllowed     = "method_not_allowed"
	CodePreconditionRequired = "precondition_required"
	CodeInvalidPrecondition  = "invalid_precondition"
	CodeEpochConflict        = "epoch_conflict"
	CodeInvalidShardMap      = "invalid_shard_map"
	CodeNoShardMap           = "no_shard_map"
	CodeRegionNotFound       = "region_not_found"
	CodeRegionConflict       = "region_conflict"
	CodeInvalidRegion        = "invalid_region"
	CodeNotReady             = "not_ready"
	CodeInvalidReshard       = "invalid_reshard"
	CodeInvalidReshardID     = "invalid_reshard_id"
	CodeShardExists          = "shard_exists"
	CodeShardNotFound        = "shard_not_found"
	CodeLastShard            = "last_shard"
	CodeReshardRunning       = "reshard_running"
	CodeShardUnreachable     = "shard_unreachable"
	CodeReshardNotFound      = "reshard_not_found"
	CodeReshardNotAbortable  = "reshard_not_abortable"
)

// methods are the handlers of one path by method. Registering paths
// without a method in the pattern and dispatching here lets a wrong method
// get a JSON 405 with Allow, where the mux would answer in plain text.
type methods map[string]httpapi.Handler

func (a *Admin) routes(metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	open := func(pattern string, m methods) { mux.Handle(pattern, a.dispatch(m)) }
	guarded := func(pattern string, m methods) { mux.Handle(pattern, a.authenticated(a.dispatch(m))) }

	open("/healthz", methods{http.MethodGet: a.healthz})
	open("/readyz", methods{http.MethodGet: a.readyz})
	if metrics != nil {
		guarded("/metrics", methods{http.MethodGet: func(w http.ResponseWriter, r *http.Request) error {
			metrics.ServeHTTP(w, r)
			return nil
		}})
	}
	guarded("/admin/v1/members", methods{http.MethodGet: a.members})
	guarded("/admin/v1/shardmap", methods{http.MethodGet: a.getShardMap, http.MethodPut: a.putShardMap})
	if a.regions != nil {
		guarded("/admin/v1/regions", methods{http.MethodGet: a.listRegions})
		guarded("/admin/v1/regions/{name}", methods{
			http.MethodGet: a.getRegion, http.MethodPut: a.putRegion, http.MethodDelete: a.deleteRegion,
		})
	}
	if a.reshards != nil {
		guarded("/admin/v1/reshards", methods{http.MethodPost: a.startReshard})
		guarded("/admin/v1/reshards/current", methods{http.MethodGet: a.currentReshard})
		guarded("/admin/v1/reshards/{id}", methods{http.MethodGet: a.getReshard})
		guarded("/admin/v1/reshards/{id}/abort", methods{http.MethodPost: a.abortReshard})
	}
	// Unknown paths: authenticate first, so a caller without the token
	// learns nothing about which paths exist.
	mux.Handle("/", a.authenticated(a.wrap(func(_ http.ResponseWriter, r *http.Request) error {
		return httpapi.Errorf(http.StatusNotFound, CodeNotFound, "no route for %s %s", r.Method, r.URL.Path)
	})))
	return mux
}

// dispatch serves m's handler for the request's method (HEAD as GET).
func (a *Admin) dispatch(m methods) http.Handler {
	allowed := slices.Collect(maps.Keys(m))
	if m[http.MethodGet] != nil && m[http.MethodHead] == nil {
		allowed = append(allowed, http.MethodHead)
	}
	slices.Sort(allowed)
	allow := strings.Join(allowed, ", ")
	return a.wrap(func(w http.ResponseWriter, r *http.Request) error {
		h := m[r.Method]
		if h == nil && r.Method == http.MethodHead {
			h = m[http.MethodGet]
		}
		if h == nil {
			w.Header().Set("Allow", allow)
			return httpapi.Errorf(http.StatusMethodNotAllowed, CodeMethodNotAllowed,
				"method %s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, allow)
		}
		return h(w, r)
	})
}

// wrap turns a handler's error, or panic, into the API's JSON error; what
// is not an *httpapi.Error is logged and reaches the client as a 500
// without details. Admin answers are about live cluster state: no cache
// keeps them.
func (a *Admin) wrap(h httpapi.Handler) http.Handler {
	wrapped := httpapi.Wrap(h, httpapi.Fail(a.log))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		wrapped.ServeHTTP(w, r)
	})
}

// authenticated lets through requests that carry the admin token.
func (a *Admin) authenticated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		presented, ok := a.authorized(r)
		if ok {
			next.ServeHTTP(w, r)
			return
		}
		challenge := `Bearer realm="cangqiong-admin"`
		msg := "send the admin token: Authorization: Bearer <token>"
		if presented {
			challenge += `, error="invalid_token"`
			msg = "the bearer token is not the admin token"
			a.log.WarnContext(r.Context(), "wrong admin token", "remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path)
		}
		w.Header().Set("WWW-Authenticate", challenge)
		w.Header().Set("Cache-Control", "no-store")
		httpapi.WriteError(w, httpapi.Errorf(http.StatusUnauthorized, CodeUnauthenticated, "%s", msg))
	})
}

// authorized reports whether r carries a bearer token and whether it is
// the admin token. Both sides are hashed first, so the constant-time
// comparison does not leak the token's length either.
func (a *Admin) authorized(r *http.Request) (presented, ok bool) {
	scheme, token, found := strings.Cut(r.Header.Get("Authorization"), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return r.Header.Get("Authorization") != "", false
	}
	got := sha256.Sum256([]byte(strings.TrimLeft(token, " ")))
	return true, subtle.ConstantTimeCompare(got[:], a.tokenHash[:]) == 1
}
