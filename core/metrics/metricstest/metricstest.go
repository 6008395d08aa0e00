// Package metricstest reads scrapes of core/metrics for the tests of the
// packages that serve it. Its one job: the samples of a scrape by series,
// so that a test asserts on values, not on text.
package metricstest

import (
	"bufio"
	"io"
	"strconv"
	"strings"
	"testing"
)

// Samples returns every sample of a scrape in the Prometheus text format
// by its series, written as in that format: name{label="value",…}, labels
// sorted by name. A line that is not a comment or a sample fails t.
func Samples(t testing.TB, scrape io.Reader) map[string]float64 {
	t.Helper()
	samples := map[string]float64{}
	sc := bufio.NewScanner(scrape)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("scrape: bad sample %q", line)
		}
		samples[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("scrape: %v", err)
	}
	return samples
}
