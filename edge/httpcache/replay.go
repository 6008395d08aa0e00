package httpcache

import "strings"

// notReplayed are the fields an entry never replays, lower case:
//   - hop-by-hop fields (RFC 9110 §7.6.1; RFC 9111 §3.1), and those meant
//     for a proxy (Proxy-Authenticate, Proxy-Authentication-Info);
//   - Set-Cookie: a cookie is one client's state; replaying it from a cache
//     would hand it to others, or bring back one its owner has since
//     changed, so not even per-user entries keep it;
//   - fields the serving side writes per response: Date (regenerated, the
//     Age tells the entry's age), Age (RFC 9111 §4: generated from
//     current_age), Content-Length, Content-Encoding (Pick), X-Cache;
//   - ETag and Vary, which the entry rewrites (see replayExtras);
//   - the edge's own Surrogate-Key and Surrogate-Control;
//   - Warning, obsolete (RFC 9111 §5.5);
//   - Cq-Request-Id, the core's id of the one request that fetched it.
var notReplayed = map[string]bool{
	"connection": true, "proxy-connection": true, "keep-alive": true, "te": true,
	"transfer-encoding": true, "upgrade": true, "trailer": true,
	"proxy-authenticate": true, "proxy-authentication-info": true,
	"set-cookie": true, "date": true, "age": true, "content-length": true,
	"content-encoding": true, "x-cache": true, "etag": true, "vary": true,
	"surrogate-key": true, "surrogate-control": true, "warning": true,
	"cq-request-id": true,
}

// replayHeader copies the response fields an entry replays, then extras,
// into one allocation.
func replayHeader(resp Fields, extras []Field) []Field {
	dropped := connectionListed(resp)
	keep := func(name []byte) bool {
		n := strings.ToLower(string(name))
		return !notReplayed[n] && !dropped[n]
	}
	size, count := 0, len(extras)
	for k, v := range resp.All() {
		if keep(k) {
			size, count = size+len(k)+len(v), count+1
		}
	}
	for _, f := range extras {
		size += len(f.Name) + len(f.Value)
	}
	arena := make([]byte, 0, size)
	out := make([]Field, 0, count)
	put := func(k, v []byte) {
		arena = append(arena, k...)
		name := arena[len(arena)-len(k):]
		arena = append(arena, v...)
		out = append(out, Field{Name: name, Value: arena[len(arena)-len(v):]})
	}
	for k, v := range resp.All() {
		if keep(k) {
			put(k, v)
		}
	}
	for _, f := range extras {
		put(f.Name, f.Value)
	}
	return out
}

// connectionListed are the field names the Connection field lists; they
// are hop-by-hop too (RFC 9110 §7.6.1).
func connectionListed(h Header) map[string]bool {
	var one [1][]byte
	var m map[string]bool
	for _, line := range fieldLines(h, "Connection", &one) {
		for e, rest := nextElement(line); ; e, rest = nextElement(rest) {
			if len(e) > 0 {
				if m == nil {
					m = make(map[string]bool)
				}
				m[strings.ToLower(string(e))] = true
			}
			if rest == nil {
				break
			}
		}
	}
	return m
}
