package limit_test

import (
	"fmt"
	"net/netip"
	"time"

	"golang.org/x/time/rate"

	"github.com/cangqiong/cangqiong/edge/limit"
)

func Example() {
	// 2 requests a second per client, bursts of 3.
	l, err := limit.New(limit.Config{Rate: 2, Burst: 3})
	if err != nil {
		panic(err)
	}
	defer l.Close()
	key := limit.IPKey(netip.MustParseAddr("2001:db8:1:2::1"))
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 4 {
		ok, retry := l.AllowAt(key, now)
		fmt.Println(i, ok, retry)
	}
	// Another address of the same /64 shares the bucket.
	ok, retry := l.AllowAt(limit.IPKey(netip.MustParseAddr("2001:db8:1:2::beef")), now)
	fmt.Println("Retry-After:", limit.RetryAfterSeconds(retry), ok)
	// Output:
	// 0 true 0s
	// 1 true 0s
	// 2 true 0s
	// 3 false 500ms
	// Retry-After: 1 false
}

func ExampleRules() {
	rules, err := limit.NewRules(
		limit.Config{Rate: 50, Burst: 100},                                // per client IP, before auth
		limit.Config{Rate: rate.Every(100 * time.Millisecond), Burst: 20}, // per user, after auth
	)
	if err != nil {
		panic(err)
	}
	defer rules.Close()

	if ok, retry := rules.AllowIP(netip.MustParseAddr("192.0.2.7")); !ok {
		fmt.Println("429, Retry-After:", limit.RetryAfterSeconds(retry))
		return
	}
	// ... verify the token (edge/auth), then:
	if ok, retry := rules.AllowUser(42); !ok {
		fmt.Println("429, Retry-After:", limit.RetryAfterSeconds(retry))
		return
	}
	fmt.Println("forward")
	// Output: forward
}
