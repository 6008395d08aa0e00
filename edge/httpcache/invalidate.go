package httpcache

import (
	"net/url"
	"strings"
)

// InvalidationTargets are the URL keys (see URLKey) to purge after a
// response to an unsafe request (RFC 9111 §4.4). A non-error status (2xx or
// 3xx) to a method that is not known to be safe (RFC 9110 §9.2.1: GET,
// HEAD, OPTIONS, TRACE) invalidates the target URI, and the URIs in
// Location and Content-Location when they are on the same host: §4.4 allows
// those only for the same origin, to keep one site from purging another's
// entries. The scheme is not compared (entry keys do not carry one either).
// Everything else returns nil.
func InvalidationTargets(method []byte, status int, host, pathAndQuery []byte, resp Header) []string {
	if safe(method) || status < 200 || status > 399 {
		return nil
	}
	targets := []string{URLKey(string(host), string(pathAndQuery))}
	if resp == nil {
		return targets
	}
	base := &url.URL{Scheme: "http", Host: string(host)}
	if u, err := url.ParseRequestURI(string(pathAndQuery)); err == nil {
		base.Path, base.RawPath, base.RawQuery = u.Path, u.RawPath, u.RawQuery
	}
	for _, field := range [...]string{"Location", "Content-Location"} {
		if k, ok := sameHostKey(base, resp.Peek(field)); ok && !contains(targets, k) {
			targets = append(targets, k)
		}
	}
	return targets
}

func safe(method []byte) bool {
	switch string(method) {
	case "GET", "HEAD", "OPTIONS", "TRACE":
		return true
	}
	return false
}

// sameHostKey resolves a Location-style reference against the target URI
// and returns its URL key when it stays on the target's host.
func sameHostKey(base *url.URL, ref []byte) (string, bool) {
	ref = trimOWS(ref)
	if len(ref) == 0 {
		return "", false
	}
	u, err := base.Parse(string(ref))
	if err != nil || !strings.EqualFold(strings.TrimSuffix(u.Host, "."), strings.TrimSuffix(base.Host, ".")) {
		return "", false
	}
	return URLKey(u.Host, u.RequestURI()), true
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
