package cache

import (
	"context"
	"fmt"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// DefaultGroupTimeout bounds a Group's call when Group.Timeout is 0.
const DefaultGroupTimeout = 30 * time.Second

// Group collapses concurrent calls for one key into one: while a call for a
// key runs, other callers wait for its result instead of starting their own.
// Unlike bare singleflight, each caller waits only until its own context
// ends; the call itself runs on, detached from the first caller's
// cancellation (it keeps its values) and bounded by Timeout, so the callers
// still waiting, and the cache it fills, get its result. A panic in the call
// is returned to every caller as a *PanicError.
//
// The zero value is ready. A Group is safe for concurrent use.
type Group[V any] struct {
	// Timeout bounds each call, from its start. 0: DefaultGroupTimeout.
	Timeout time.Duration

	sf                              singleflight.Group
	calls, waits, abandoned, panics atomic.Uint64
	waiting                         atomic.Int64
}

// GroupStats are a Group's counters (monotonic) and gauge.
type GroupStats struct {
	Calls     uint64 // calls of fn
	Waits     uint64 // callers that got another caller's result (coalesced waits)
	Abandoned uint64 // callers that left when their context ended
	Panics    uint64 // calls that panicked
	Waiting   int64  // gauge: callers waiting now
}

// PanicError is the error callers get when the call panicked.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("edge/cache: call panicked: %v", e.Value) }

// Do returns the result of fn for key, calling it unless a call for key is
// running already, in which case it waits for that call's result. shared
// reports whether the result went to more than one caller. If ctx ends
// first, Do returns ctx.Err() at once and the call continues for the others.
func (g *Group[V]) Do(ctx context.Context, key uint64, fn func(context.Context) (V, error)) (v V, shared bool, err error) {
	if err := ctx.Err(); err != nil {
		return v, false, err
	}
	var led atomic.Bool
	detached := context.WithoutCancel(ctx)
	ch := g.sf.DoChan(strconv.FormatUint(key, 16), func() (any, error) {
		led.Store(true)
		return g.call(detached, fn)
	})
	g.waiting.Add(1)
	defer g.waiting.Add(-1)
	select {
	case r := <-ch:
		if !led.Load() {
			g.waits.Add(1)
		}
		v, _ = r.Val.(V)
		return v, r.Shared, r.Err
	case <-ctx.Done():
		g.abandoned.Add(1)
		return v, false, ctx.Err()
	}
}

// call runs fn with its own deadline, turning a panic into an error (bare
// singleflight would crash the process, with DoChan, to not hang waiters).
func (g *Group[V]) call(ctx context.Context, fn func(context.Context) (V, error)) (val any, err error) {
	g.calls.Add(1)
	timeout := g.Timeout
	if timeout <= 0 {
		timeout = DefaultGroupTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			g.panics.Add(1)
			val, err = nil, &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	v, err := fn(ctx)
	return v, err
}

// Stats returns the Group's counters.
func (g *Group[V]) Stats() GroupStats {
	return GroupStats{
		Calls: g.calls.Load(), Waits: g.waits.Load(), Abandoned: g.abandoned.Load(),
		Panics: g.panics.Load(), Waiting: g.waiting.Load(),
	}
}
