package httpcache_test

import (
	"fmt"
	"iter"
	"time"

	"github.com/cangqiong/cangqiong/edge/httpcache"
)

// header is a map-backed httpcache.Fields for the examples; the edge passes
// fasthttp's headers instead.
type header [][2]string

func (h header) Peek(key string) []byte {
	for _, f := range h {
		if equalFold(f[0], key) {
			return []byte(f[1])
		}
	}
	return nil
}

func (h header) All() iter.Seq2[[]byte, []byte] {
	return func(yield func([]byte, []byte) bool) {
		for _, f := range h {
			if !yield([]byte(f[0]), []byte(f[1])) {
				return
			}
		}
	}
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		x, y := a[i]|0x20, b[i]|0x20
		if x != y {
			return false
		}
	}
	return true
}

// A miss is stored, then answers the next request: fresh for a minute,
// then served while revalidating for 30 seconds more.
func Example() {
	now := time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)
	x := &httpcache.Exchange{
		Method: []byte("GET"), Host: []byte("shop.example"), Path: []byte("/api/v1/shops/12/menu"),
		Request: header{{"Accept-Encoding", "gzip"}},
		Status:  200,
		Response: header{
			{"Cache-Control", "public, s-maxage=60, stale-while-revalidate=30"},
			{"Content-Type", "application/json"},
			{"Surrogate-Key", "menu:12"},
			{"ETag", `"m12-7"`},
		},
		RequestTime: now, ResponseTime: now,
	}
	policy := httpcache.Policy{SurrogateKeys: []string{"shop:{shop}"}}
	x.Params = routeParams{"shop": "12"}
	d := httpcache.Decide(x, &policy)
	fmt.Println("store:", d.Store, d.Lifetime, d.StaleWhileRevalidate)

	body := []byte(`{"dishes":["dumplings","noodles","buns","tea"]}`)
	e, err := httpcache.NewEntry(x, &d, body, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println("key:", string(e.Key()))
	fmt.Println("surrogate keys:", e.SurrogateKeys())

	req := header{{"Accept-Encoding", "br, gzip"}, {"If-None-Match", `"m12-7"`}}
	later := now.Add(75 * time.Second)
	fmt.Println(e.Matches(req), e.State(later), e.Age(later), e.NotModified(req))
	// Output:
	// store: true 1m0s 30s
	// key: GET 0 12:shop.example/api/v1/shops/12/menu
	// surrogate keys: [menu:12 shop:12 url:shop.example/api/v1/shops/12/menu]
	// true stale-while-revalidate 75 true
}

type routeParams map[string]string

func (p routeParams) Get(name string) []byte { return []byte(p[name]) }

func ExampleParseCacheControl() {
	d := httpcache.ParseCacheControl([]byte(`Max-Age=60, max-age=5, no-cache="Set-Cookie", s-maxage=oops`))
	fmt.Println(d.MaxAge, d.NoCache, d.SMaxAge)
	fmt.Println(d)
	// Output:
	// {60 true} true {0 true}
	// max-age=60, s-maxage=0, no-cache
}

func ExampleEntry_Pick() {
	now := time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)
	x := &httpcache.Exchange{
		Method: []byte("GET"), Host: []byte("shop.example"), Path: []byte("/menu.json"), Status: 200,
		Response:    header{{"Cache-Control", "max-age=60"}, {"Content-Type", "application/json"}},
		RequestTime: now, ResponseTime: now,
	}
	d := httpcache.Decide(x, nil)
	body := make([]byte, 1000) // compressible: stored as identity, gzip and br
	e, _ := httpcache.NewEntry(x, &d, body, nil)
	for _, ae := range []string{"gzip, br", "br;q=0.5, gzip", "identity", "br;q=0, gzip;q=0"} {
		_, coding := e.Pick([]byte(ae))
		fmt.Printf("%-18q → %q\n", ae, coding)
	}
	// Output:
	// "gzip, br"         → "br"
	// "br;q=0.5, gzip"   → "gzip"
	// "identity"         → ""
	// "br;q=0, gzip;q=0" → ""
}

func ExampleInvalidationTargets() {
	resp := header{{"Location", "/api/v1/orders/17"}}
	fmt.Println(httpcache.InvalidationTargets([]byte("POST"), 201, []byte("shop.example"), []byte("/api/v1/orders"), resp))
	// Output:
	// [url:shop.example/api/v1/orders url:shop.example/api/v1/orders/17]
}

func ExampleAppendKey() {
	key := make([]byte, 0, 64)
	key = httpcache.AppendKey(key, []byte("HEAD"), []byte("Shop.Example"), []byte("/api/v1/me/orders"), 42)
	fmt.Printf("%s\n%x\n", key, httpcache.Hash(key))
	// Output:
	// GET 42 12:shop.example/api/v1/me/orders
	// 9dc05a340c8d3db3

}
