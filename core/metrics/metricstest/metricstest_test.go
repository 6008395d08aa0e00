package metricstest_test

import (
	"strings"
	"testing"

	"github.com/cangqiong/cangqiong/core/metrics/metricstest"
)

func TestSamples(t *testing.T) {
	got := metricstest.Samples(t, strings.NewReader(`# HELP up Whether it is up.
# TYPE up gauge
up 1

cangqiong_http_requests_total{method="GET",route="/a b",status_class="2xx"} 3
go_gc_duration_seconds{quantile="0.5"} 1.5e-05
`))
	want := map[string]float64{
		`up`: 1,
		`cangqiong_http_requests_total{method="GET",route="/a b",status_class="2xx"}`: 3,
		`go_gc_duration_seconds{quantile="0.5"}`:                                      1.5e-05,
	}
	if len(got) != len(want) {
		t.Fatalf("%d samples, want %d: %v", len(got), len(want), got)
	}
	for series, v := range want {
		if got[series] != v {
			t.Errorf("%s = %v, want %v", series, got[series], v)
		}
	}
}
