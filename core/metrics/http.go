package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Label values for requests that matched no pattern and for methods
// outside the standard set.
const (
	UnmatchedRoute = "unmatched"
	OtherMethod    = "other"
)

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight *prometheus.GaugeVec
}

func newHTTPMetrics(ns string, buckets []float64) *httpMetrics {
	return &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests served, by server, route pattern, method and status class.",
		}, []string{"server", "route", "method", "status_class"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: "http", Name: "request_duration_seconds",
			Help:    "Time to serve an HTTP request, by server and route pattern.",
			Buckets: buckets,
		}, []string{"server", "route"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: "http", Name: "requests_in_flight",
			Help: "HTTP requests being served, by server.",
		}, []string{"server"}),
	}
}

func (h *httpMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{h.requests, h.duration, h.inFlight}
}

// Middleware records every request next serves under the label
// server=name. next must be the http.ServeMux itself, or pass the very
// *http.Request it receives down to the mux: the route is read from
// r.Pattern, which the mux sets on the request it is given, after next
// returns. A request no pattern matched is labelled route="unmatched".
//
// A panicking handler is recorded as a 5xx and the panic continues.
func (m *Metrics) Middleware(name string, next http.Handler) http.Handler {
	h := m.http
	inFlight := h.inFlight.WithLabelValues(name)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		inFlight.Inc()
		sw := &statusWriter{ResponseWriter: w}
		returned := false
		defer func() { // runs while a panic unwinds too, without stopping it
			inFlight.Dec()
			status := sw.final()
			if !returned {
				status = http.StatusInternalServerError
			}
			route := r.Pattern
			if route == "" {
				route = UnmatchedRoute
			}
			h.requests.WithLabelValues(name, route, method(r.Method), statusClass(status)).Inc()
			h.duration.WithLabelValues(name, route).Observe(time.Since(start).Seconds())
		}()
		next.ServeHTTP(sw, r)
		returned = true
	})
}

func method(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return OtherMethod
}

func statusClass(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return strconv.Itoa(code/100) + "xx"
}

// statusWriter remembers the final status a handler sent. Unwrap lets
// http.ResponseController reach the connection's own writer (deadlines,
// hijacking); Flush is passed on for streaming handlers.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 { // 1xx are interim, not the answer
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// final is the status the client saw: 200 when the handler wrote nothing.
func (w *statusWriter) final() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}
