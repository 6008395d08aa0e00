package tunnel

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cangqiong/cangqiong/core/certs"
	"github.com/cangqiong/cangqiong/core/httpapi"
)

// The tunnel's own routes, for edges keeping their tunnels (edge/tunnel).
// The server answers them itself, before the handler: any authenticated
// peer may call them, they carry no user identity, and they work even
// when the application cannot.
//
//	GET /tunnel/v1/nodes   200 NodesResponse: where to open tunnels (Config.Nodes)
//	GET /tunnel/v1/health  200 HealthResponse, or 503 not_ready (Config.Ready)
const (
	PathNodes  = "/tunnel/v1/nodes"
	PathHealth = "/tunnel/v1/health"

	edgeRoutePrefix = "/tunnel/v1/"
)

// CodeNotReady is the 503 of PathHealth from a node that does not serve.
const CodeNotReady = "not_ready"

// NodeInfo is a core node as an edge needs it: where its tunnel listens.
type NodeInfo struct {
	Name       string `json:"name"`
	Region     string `json:"region"`
	TunnelAddr string `json:"tunnel_addr"`
}

// NodesResponse is the body of PathNodes.
type NodesResponse struct {
	Nodes []NodeInfo `json:"nodes"`
}

// HealthResponse is the body of PathHealth's 200.
type HealthResponse struct {
	Status string `json:"status"` // "ok"
}

// readyCacheTTL is how long one Ready answer serves every edge's probe: a
// node probed by many edges each second checks its shards a few times a
// second, not once per edge.
const readyCacheTTL = 250 * time.Millisecond

func isEdgeRoute(path string) bool { return strings.HasPrefix(path, edgeRoutePrefix) }

// serveEdgeRoute answers the tunnel's own routes.
func (s *Server) serveEdgeRoute(w http.ResponseWriter, r *http.Request, peer certs.Peer) {
	if r.URL.Path != PathNodes && r.URL.Path != PathHealth {
		httpapi.WriteError(w, httpapi.Errorf(http.StatusNotFound, "not_found", "no tunnel route %s", r.URL.Path))
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		httpapi.WriteError(w, httpapi.Errorf(http.StatusMethodNotAllowed, "method_not_allowed", "%s takes GET", r.URL.Path))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	if r.URL.Path == PathNodes {
		httpapi.WriteJSON(w, http.StatusOK, NodesResponse{Nodes: s.nodes(r)})
		return
	}
	if err := s.cfg.Ready(r.Context()); err != nil {
		s.log.Debug("not ready for an edge's probe", "peer", peer.String(), "err", err)
		httpapi.WriteError(w, httpapi.Errorf(http.StatusServiceUnavailable, CodeNotReady, "not ready: %v", err))
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, HealthResponse{Status: "ok"})
}

// nodes is Config.Nodes, or this node alone at the address the edge
// dialled (which the edge can reach, unlike a wildcard listen address).
func (s *Server) nodes(r *http.Request) []NodeInfo {
	if s.cfg.Nodes != nil {
		if n := s.cfg.Nodes(); n != nil {
			return n
		}
		return []NodeInfo{}
	}
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		return []NodeInfo{{TunnelAddr: a.String()}}
	}
	return []NodeInfo{}
}

// readyCache runs a Ready hook at most once per readyCacheTTL; callers
// arriving while it runs wait for its answer. The hook gets its own
// deadline, not a caller's context, since its answer serves other callers.
type readyCache struct {
	ready   func(context.Context) error
	timeout time.Duration

	mu  sync.Mutex
	at  time.Time
	err error
}

// cachedReady wraps ready (nil: always ready) for the health route.
func cachedReady(ready func(context.Context) error, timeout time.Duration) func(context.Context) error {
	if ready == nil {
		return func(context.Context) error { return nil }
	}
	c := &readyCache{ready: ready, timeout: timeout}
	return c.check
}

func (c *readyCache) check(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() && time.Since(c.at) < readyCacheTTL {
		return c.err
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
	defer cancel()
	c.err = c.ready(rctx)
	c.at = time.Now()
	return c.err
}
