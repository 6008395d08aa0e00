package httpcache

import (
	"testing"
	"time"
)

func TestEntryAge(t *testing.T) {
	x := exchange(200, nil, hdr("Cache-Control", "max-age=600", "Date", httpDate(t0), "Age", "20"))
	x.RequestTime = t0.Add(-time.Second)
	e := store(t, x, nil, "body")
	for _, tc := range []struct {
		name string
		now  time.Time
		want int64
	}{
		{"4.2.3 at arrival: Age + delay", t0, 21},
		{"4.2.3 resident time adds up", t0.Add(90 * time.Second), 111},
		{"4.2.3 fractions round down", t0.Add(1500 * time.Millisecond), 22},
		{"4.2.3 clock went back: no resident time", t0.Add(-time.Hour), 21},
		{"1.2.2 saturates at 2^31", t0.Add(200 * 365 * 24 * time.Hour), MaxDelta},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := e.Age(tc.now); got != tc.want {
				t.Errorf("Age = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestEntryState(t *testing.T) {
	for _, tc := range []struct {
		name string
		cc   string
		p    Policy
		at   time.Duration // after t0
		want State
	}{
		{"4.2 fresh while age < lifetime", "max-age=60", Policy{}, 59 * time.Second, Fresh},
		{"4.2 stale at age == lifetime", "max-age=60, stale-if-error=1", Policy{}, 60 * time.Second, StaleIfError},
		{"RFC5861 3 within stale-while-revalidate", "max-age=60, stale-while-revalidate=30", Policy{}, 80 * time.Second, StaleRevalidate},
		{"RFC5861 3 past stale-while-revalidate", "max-age=60, stale-while-revalidate=30, stale-if-error=10", Policy{KeepForRevalidation: time.Hour}, 90 * time.Second, Stale},
		{"RFC5861 4 within stale-if-error", "max-age=60, stale-while-revalidate=30, stale-if-error=300", Policy{}, 100 * time.Second, StaleIfError},
		{"RFC5861 both windows: revalidate in background first", "max-age=60, stale-while-revalidate=30, stale-if-error=300", Policy{}, 70 * time.Second, StaleRevalidate},
		{"5.2.2.2 must-revalidate: stale at once", "max-age=60, must-revalidate, stale-if-error=300", Policy{KeepForRevalidation: time.Hour}, 61 * time.Second, Stale},
		{"5.2.2.4 no-cache: never fresh", "no-cache", Policy{KeepForRevalidation: time.Hour}, 0, Stale},
		{"5.2.2.1 max-age=0 with validator", "max-age=0", Policy{KeepForRevalidation: time.Hour}, 0, Stale},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := exchange(200, nil, hdr("Cache-Control", tc.cc, "Date", httpDate(t0), "ETag", `"v"`))
			x.RequestTime = t0
			e := store(t, x, &tc.p, "body")
			if got := e.State(t0.Add(tc.at)); got != tc.want {
				t.Errorf("State = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestEntryStateFor(t *testing.T) {
	x := exchange(200, nil, hdr("Cache-Control", "max-age=60, stale-while-revalidate=30, stale-if-error=60", "Date", httpDate(t0)))
	x.RequestTime = t0
	e := store(t, x, nil, "body")
	for _, tc := range []struct {
		name string
		req  string
		at   time.Duration
		want State
	}{
		{"5.2.1 no directives: as State", "", 10 * time.Second, Fresh},
		{"5.2.1.4 no-cache on a fresh entry", "no-cache", 10 * time.Second, StaleIfError},
		{"5.2.1.1 max-age exceeded", "max-age=5", 10 * time.Second, StaleIfError},
		{"5.2.1.1 max-age met", "max-age=50", 10 * time.Second, Fresh},
		{"5.2.1.3 min-fresh not met", "min-fresh=55", 10 * time.Second, StaleIfError},
		{"5.2.1.3 min-fresh met", "min-fresh=40", 10 * time.Second, Fresh},
		{"5.2.1.4 no-cache within swr and sie", "no-cache", 70 * time.Second, StaleIfError},
		{"5.2.1.4 no-cache within swr past sie", "no-cache", 125 * time.Second, Stale},
		{"5.2.1.2 max-stale does not extend", "max-stale", 200 * time.Second, Stale},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := ParseCacheControl([]byte(tc.req))
			if got := e.StateFor(t0.Add(tc.at), &req); got != tc.want {
				t.Errorf("StateFor = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestEntryTTL(t *testing.T) {
	x := exchange(200, nil, hdr("Cache-Control", "max-age=60, stale-while-revalidate=30, stale-if-error=120", "Date", httpDate(t0), "ETag", `"v"`))
	x.RequestTime = t0
	e := store(t, x, &Policy{KeepForRevalidation: time.Minute}, "body")
	if got, want := e.TTL(t0.Add(10*time.Second)), 60*time.Second+120*time.Second+time.Minute-10*time.Second; got != want {
		t.Errorf("TTL = %v, want %v", got, want)
	}
	y := exchange(200, nil, hdr("Cache-Control", "max-age=60", "Date", httpDate(t0)))
	y.RequestTime = t0
	if got := store(t, y, &Policy{KeepForRevalidation: time.Minute}, "body").TTL(t0); got != time.Minute {
		t.Errorf("TTL without validator = %v, want 1m", got)
	}
}

func TestStateString(t *testing.T) {
	for s, want := range map[State]string{Fresh: "fresh", StaleRevalidate: "stale-while-revalidate", StaleIfError: "stale-if-error", Stale: "stale"} {
		if s.String() != want {
			t.Errorf("%d: %q", s, s.String())
		}
	}
	if Stored.String() != "stored" || ReasonSurrogateKeys.String() != "surrogate-keys" || Reason(200).String() != "unknown" {
		t.Error("Reason.String")
	}
}

// TestEntryConcurrentReaders: an entry is read by many goroutines at once,
// and refreshing it does not disturb them (run with -race).
func TestEntryConcurrentReaders(t *testing.T) {
	e := hitEntry(t)
	revalidation := exchange(304, hitRequest, hdr("ETag", `"v1"`, "Cache-Control", "max-age=120"))
	done := make(chan *Entry)
	for range 8 {
		go func() {
			var last *Entry
			for i := range 200 {
				now := t0.Add(time.Duration(i) * time.Second)
				_, _, _ = e.State(now), e.Age(now), e.Matches(hitRequest)
				_, _ = e.Pick([]byte("br"))
				_ = e.NotModified(hitRequest)
				if i%50 == 0 {
					last, _ = e.Refreshed(revalidation, nil)
				}
			}
			done <- last
		}()
	}
	for range 8 {
		if n := <-done; n == nil || n.State(t0.Add(100*time.Second)) != Fresh {
			t.Error("refresh under concurrency failed")
		}
	}
}
