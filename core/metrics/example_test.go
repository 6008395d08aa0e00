package metrics_test

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/cangqiong/cangqiong/core/metrics"
)

func ExampleMetrics_Middleware() {
	m, err := metrics.New(metrics.Config{}) // add PoolStats: executor.PoolStats, Gossip: …
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /shops/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "shop %s", r.PathValue("id"))
	})
	api := m.Middleware("api", mux) // wrap the mux itself: the route is read from it

	for _, path := range []string{"/shops/12", "/shops/13"} {
		api.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
	}

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "cangqiong_http_requests_total") {
			fmt.Println(sc.Text())
		}
	}
	// Output:
	// cangqiong_http_requests_total{method="GET",route="GET /shops/{id}",server="api",status_class="2xx"} 2
}
