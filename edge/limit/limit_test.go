package limit

import (
	"errors"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func newTestLimiter(t testing.TB, cfg Config) *Limiter {
	t.Helper()
	l, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// TestBurstThenRefill walks one key through time without sleeping.
func TestBurstThenRefill(t *testing.T) {
	l := newTestLimiter(t, Config{Rate: 2, Burst: 3}) // a token every 500ms
	const key = 7
	type step struct {
		at    time.Duration // since t0
		ok    bool
		retry time.Duration
	}
	steps := []step{
		{0, true, 0}, {0, true, 0}, {0, true, 0}, // the burst
		{0, false, 500 * time.Millisecond},
		{100 * time.Millisecond, false, 400 * time.Millisecond},
		{499 * time.Millisecond, false, time.Millisecond},
		{500 * time.Millisecond, true, 0},
		{500 * time.Millisecond, false, 500 * time.Millisecond},
		{2 * time.Second, true, 0}, // 1.5s refilled 3 tokens
		{2 * time.Second, true, 0},
		{2 * time.Second, true, 0},
		{2 * time.Second, false, 500 * time.Millisecond},
		{time.Hour, true, 0}, // refill stops at the burst
		{time.Hour, true, 0},
		{time.Hour, true, 0},
		{time.Hour, false, 500 * time.Millisecond},
	}
	for i, s := range steps {
		ok, retry := l.AllowAt(key, t0.Add(s.at))
		// The bucket's arithmetic is in float64 seconds: allow a microsecond.
		if ok != s.ok || (retry-s.retry).Abs() > time.Microsecond {
			t.Fatalf("step %d at +%v: Allow = %v, %v; want %v, %v", i, s.at, ok, retry, s.ok, s.retry)
		}
	}
	// Other keys are untouched.
	if ok, _ := l.AllowAt(key+1, t0.Add(time.Hour)); !ok {
		t.Fatal("another key was limited")
	}
}

func TestSlowRateRetryAfter(t *testing.T) {
	l := newTestLimiter(t, Config{Rate: rate.Every(time.Minute), Burst: 1})
	l.AllowAt(1, t0)
	ok, retry := l.AllowAt(1, t0.Add(10*time.Second))
	if ok || retry != 50*time.Second || RetryAfterSeconds(retry) != 50 {
		t.Fatalf("Allow = %v, %v (%ds)", ok, retry, RetryAfterSeconds(retry))
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	tests := map[time.Duration]int64{
		-time.Second: 0, 0: 0, time.Nanosecond: 1, time.Millisecond: 1,
		time.Second: 1, time.Second + 1: 2, 1500 * time.Millisecond: 2, time.Minute: 60,
	}
	for d, want := range tests {
		if got := RetryAfterSeconds(d); got != want {
			t.Errorf("RetryAfterSeconds(%v) = %d, want %d", d, got, want)
		}
		if got := string(AppendRetryAfter([]byte("Retry-After: "), d)); got != "Retry-After: "+itoa(want) {
			t.Errorf("AppendRetryAfter(%v) = %q", d, got)
		}
	}
}

func itoa(n int64) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

func TestInfiniteRate(t *testing.T) {
	l := newTestLimiter(t, Config{Rate: rate.Inf, Burst: 1})
	for i := range 1000 {
		if ok, _ := l.AllowAt(1, t0); !ok {
			t.Fatalf("request %d refused at rate.Inf", i)
		}
	}
	if l.Len() != 0 {
		t.Fatalf("rate.Inf keeps %d buckets", l.Len())
	}
}

func TestConfig(t *testing.T) {
	bad := map[string]Config{
		"zero rate":        {Burst: 1},
		"negative rate":    {Rate: -1, Burst: 1},
		"NaN rate":         {Rate: rate.Limit(math.NaN()), Burst: 1},
		"zero burst":       {Rate: 1},
		"negative MaxKeys": {Rate: 1, Burst: 1, MaxKeys: -1},
		"negative Idle":    {Rate: 1, Burst: 1, Idle: -time.Second},
	}
	for name, cfg := range bad {
		if _, err := New(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: New = %v, want ErrConfig", name, err)
		}
	}
	cfg := Config{Rate: 1, Burst: 1}
	if err := cfg.withDefaults(); err != nil || cfg.MaxKeys != DefaultMaxKeys || cfg.Idle != DefaultIdle {
		t.Fatalf("defaults: %+v, %v", cfg, err)
	}
	// Idle is never shorter than a refill.
	slow := Config{Rate: rate.Every(time.Hour), Burst: 2, Idle: time.Minute}
	if got := slow.idle(); got != 2*time.Hour+time.Second {
		t.Fatalf("idle = %v, want 2h1s", got)
	}
}

// TestMemoryBound inserts three times as many keys as the bound. Evictions
// run a little behind the inserts: up to otter's write buffer (128 entries
// per rounded-up CPU) waits to be applied while a batch as large is being
// evicted. The excess is that constant, not a share of MaxKeys; the slack
// below doubles it again for a slow scheduler (-race, noisy CPUs).
func TestMemoryBound(t *testing.T) {
	const maxKeys = 10_000
	slack := 4 * 128 * nextPow2(min(runtime.GOMAXPROCS(0), runtime.NumCPU()))
	l := newTestLimiter(t, Config{Rate: 1, Burst: 1, MaxKeys: maxKeys})
	for k := range uint64(3 * maxKeys) {
		l.AllowAt(k, t0)
		if n := l.Len(); n > maxKeys+slack {
			t.Fatalf("after %d keys: %d buckets, bound %d + %d", k+1, n, maxKeys, slack)
		}
	}
	l.buckets.CleanUp()
	if n := l.Len(); n > maxKeys {
		t.Fatalf("%d buckets, bound %d", n, maxKeys)
	}
}

// TestIdleBucketsDropped moves the cache's clock past Idle.
func TestIdleBucketsDropped(t *testing.T) {
	clk := &fakeClock{}
	l, err := newLimiter(Config{Rate: 1, Burst: 2, Idle: time.Minute}, clk)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for k := range uint64(100) {
		l.AllowAt(k, t0)
	}
	clk.advance(30 * time.Second)
	l.AllowAt(0, t0.Add(30*time.Second)) // key 0 stays busy
	clk.advance(31 * time.Second)
	l.buckets.CleanUp()
	if n := l.Len(); n != 1 {
		t.Fatalf("%d buckets after idle, want 1", n)
	}
	if _, ok := l.buckets.GetIfPresent(0); !ok {
		t.Fatal("the busy key's bucket was dropped")
	}
}

type fakeClock struct{ nanos atomic.Int64 }

func (c *fakeClock) NowNano() int64                      { return c.nanos.Load() }
func (c *fakeClock) Tick(time.Duration) <-chan time.Time { return nil }
func (c *fakeClock) advance(d time.Duration)             { c.nanos.Add(int64(d)) }

// TestConcurrent: many goroutines on a few keys at one instant get exactly
// Burst tokens per key between them. Run with -race.
func TestConcurrent(t *testing.T) {
	const burst, keys, goroutines, calls = 50, 4, 8, 200
	l := newTestLimiter(t, Config{Rate: 1, Burst: burst})
	var allowed [keys]atomic.Int64
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range calls {
				k := uint64((g + i) % keys)
				if ok, retry := l.AllowAt(k, t0); ok {
					allowed[k].Add(1)
				} else if retry <= 0 || retry > time.Second {
					t.Errorf("retry %v", retry)
				}
			}
		})
	}
	wg.Wait()
	for k := range allowed {
		if n := allowed[k].Load(); n != burst {
			t.Errorf("key %d: %d allowed, want %d", k, n, burst)
		}
	}
}

func TestAllowDoesNotAllocate(t *testing.T) {
	l := newTestLimiter(t, Config{Rate: 1000, Burst: 10})
	key := UserKey(42)
	l.Allow(key)
	if a := testing.AllocsPerRun(1000, func() { l.Allow(key) }); a != 0 {
		t.Fatalf("Allow allocates %v times", a)
	}
	if a := testing.AllocsPerRun(1000, func() { l.AllowAt(key, t0) }); a != 0 { // refusals too
		t.Fatalf("refusing Allow allocates %v times", a)
	}
	buf := make([]byte, 0, 8)
	if a := testing.AllocsPerRun(100, func() { buf = AppendRetryAfter(buf[:0], time.Second) }); a != 0 {
		t.Fatalf("AppendRetryAfter allocates %v times", a)
	}
}

func nextPow2(n int) int {
	p := 1
	for p < n {
		p *= 2
	}
	return p
}
