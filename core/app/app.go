package app

import (
	"log/slog"
	"net/http"

	"github.com/cangqiong/cangqiong/sharding/exec"
	"github.com/cangqiong/cangqiong/sharding/ids"
)

// App is the takeout API. It holds no state of its own beyond its
// configuration: every request reads and writes the shards, so any number
// of Apps (one per core node) serve the same data. Safe for concurrent use.
type App struct {
	exec         *exec.Executor
	ids          *ids.Generator
	maxBody      int64
	catalogCache string // Cache-Control of public catalog reads
	holds        holds
	log          *slog.Logger
	handler      http.Handler
}

// New returns an App; see Config for what it needs.
func New(cfg Config) (*App, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	a := &App{
		exec:         cfg.Exec,
		ids:          cfg.IDs,
		maxBody:      cfg.MaxBodyBytes,
		catalogCache: cfg.Catalog.Header(),
		holds:        holds{timeout: cfg.HoldTimeout},
		log:          cfg.Logger.With("component", "core.app"),
	}
	a.handler = a.routes()
	return a, nil
}

// Handler serves the API under /api/v1. Anything it does not route is
// answered with a JSON 404 (or 405 with Allow).
func (a *App) Handler() http.Handler { return a.handler }
