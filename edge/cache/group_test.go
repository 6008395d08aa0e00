package cache

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestGroupCollapsesConcurrentCalls(t *testing.T) {
	var g Group[string]
	const callers = 1000
	var calls atomic.Int32
	fn := func(ctx context.Context) (string, error) {
		calls.Add(1)
		// Hold the call until every caller waits on it.
		eventually(t, 10*time.Second, "all callers join", func() bool { return g.Stats().Waiting == callers })
		return "menu", nil
	}
	var wg sync.WaitGroup
	var wrong, unshared atomic.Int32
	for range callers {
		wg.Go(func() {
			v, shared, err := g.Do(context.Background(), 42, fn)
			if err != nil || v != "menu" {
				wrong.Add(1)
			}
			if !shared {
				unshared.Add(1)
			}
		})
	}
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Errorf("fn ran %d times, want 1", n)
	}
	if wrong.Load() != 0 || unshared.Load() != 0 {
		t.Errorf("%d callers got a wrong result, %d an unshared one", wrong.Load(), unshared.Load())
	}
	if st := g.Stats(); st != (GroupStats{Calls: 1, Waits: callers - 1}) {
		t.Errorf("stats %+v", st)
	}
}

func TestGroupCallersLeaveOnTheirDeadline(t *testing.T) {
	g := Group[int]{Timeout: 5 * time.Second}
	release := make(chan struct{})
	fnCtxErr := make(chan error, 1)
	var deadline atomic.Value
	fn := func(ctx context.Context) (int, error) {
		d, _ := ctx.Deadline()
		deadline.Store(d)
		<-release
		fnCtxErr <- ctx.Err() // nil unless the call's own context ended
		return 7, nil
	}
	// The first caller (whose context the call inherits) leaves early.
	leaderCtx, cancel := context.WithCancel(context.Background())
	leaderDone := make(chan error, 1)
	go func() { _, _, err := g.Do(leaderCtx, 1, fn); leaderDone <- err }()
	eventually(t, 5*time.Second, "the call starts", func() bool { return g.Stats().Calls == 1 })

	const patient, hasty = 5, 5
	var wg sync.WaitGroup
	results := make(chan error, patient+hasty)
	for range hasty {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			_, _, err := g.Do(ctx, 1, fn)
			results <- err
		})
	}
	for range patient {
		wg.Go(func() {
			v, _, err := g.Do(context.Background(), 1, fn)
			if err == nil && v != 7 {
				err = errors.New("wrong value")
			}
			results <- err
		})
	}
	eventually(t, 5*time.Second, "hasty callers give up", func() bool { return g.Stats().Abandoned == hasty })
	cancel()
	if err := <-leaderDone; !errors.Is(err, context.Canceled) {
		t.Errorf("leader: %v, want context.Canceled", err)
	}
	close(release)
	wg.Wait()
	close(results)
	var ok, timedOut int
	for err := range results {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, context.DeadlineExceeded):
			timedOut++
		default:
			t.Errorf("unexpected error %v", err)
		}
	}
	if ok != patient || timedOut != hasty {
		t.Errorf("%d got the value, %d timed out; want %d, %d", ok, timedOut, patient, hasty)
	}
	if err := <-fnCtxErr; err != nil {
		t.Errorf("the call's context ended with the first caller: %v", err)
	}
	if d := deadline.Load().(time.Time); time.Until(d) > 5*time.Second || d.IsZero() {
		t.Errorf("the call's deadline %v is not bounded by Timeout", d)
	}
}

func TestGroupPanicReachesEveryCaller(t *testing.T) {
	var g Group[int]
	fn := func(context.Context) (int, error) {
		eventually(t, 5*time.Second, "callers join", func() bool { return g.Stats().Waiting == 10 })
		panic("origin exploded")
	}
	var wg sync.WaitGroup
	var panics atomic.Int32
	for range 10 {
		wg.Go(func() {
			_, _, err := g.Do(context.Background(), 9, fn)
			if pe, ok := errors.AsType[*PanicError](err); ok && pe.Value == "origin exploded" && len(pe.Stack) > 0 {
				panics.Add(1)
			}
		})
	}
	wg.Wait()
	if panics.Load() != 10 {
		t.Errorf("%d of 10 callers got the PanicError", panics.Load())
	}
	// The key is usable again.
	if v, _, err := g.Do(context.Background(), 9, func(context.Context) (int, error) { return 3, nil }); err != nil || v != 3 {
		t.Errorf("after a panic: %v, %v", v, err)
	}
}

func TestGroupErrorIsShared(t *testing.T) {
	var g Group[int]
	boom := errors.New("origin down")
	_, _, err := g.Do(context.Background(), 1, func(context.Context) (int, error) { return 0, boom })
	if !errors.Is(err, boom) {
		t.Errorf("err %v, want %v", err, boom)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := g.Do(ctx, 1, func(context.Context) (int, error) { t.Error("fn ran"); return 0, nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("with a dead context: %v", err)
	}
}
