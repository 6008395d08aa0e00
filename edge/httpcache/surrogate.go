package httpcache

import (
	"strings"

	"github.com/cangqiong/cangqiong/replication/stream"
)

// Surrogate key limits. A response that would exceed them is not stored:
// an entry must never miss the purge meant for it.
const (
	MaxSurrogateKeys   = 256
	MaxSurrogateKeyLen = 512
)

// URLKey is the surrogate key every entry of a URL carries, so that a purge
// by URL is a purge by this key. host is lowered like in AppendKey; the path
// and query are kept as sent. Per-user entries of the URL carry it too: a
// purge by URL reaches every user's copy.
func URLKey(host, pathAndQuery string) string {
	b := make([]byte, 0, 4+len(host)+len(pathAndQuery))
	b = append(b, "url:"...)
	b = appendHost(b, []byte(host))
	b = append(b, pathAndQuery...)
	return string(b)
}

// surrogateKeys collects the entry's keys in order: the origin's
// Surrogate-Key (space-separated, several lines allowed), the policy's
// filled templates, the URL key, then the keyspace key of the entry's
// version (if it has one); duplicates dropped.
func (d *Decision) surrogateKeys(x *Exchange, p *Policy) bool {
	var keys []string
	seen := make(map[string]bool)
	add := func(k string) bool {
		if len(k) > MaxSurrogateKeyLen || len(keys) >= MaxSurrogateKeys {
			return false
		}
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
		return true
	}
	var one [1][]byte
	for _, line := range fieldLines(x.Response, "Surrogate-Key", &one) {
		for _, k := range strings.Fields(string(line)) {
			if !add(k) {
				return false
			}
		}
	}
	for _, t := range p.SurrogateKeys {
		k, ok := fillTemplate(t, x.Params)
		if !ok || !add(k) {
			return false
		}
	}
	if !add(URLKey(string(x.Host), string(x.Path))) {
		return false
	}
	if ks, ok := versionKeyspace(d.Version); ok && !add(stream.KeyspaceKey(ks)) {
		return false
	}
	d.SurrogateKeys = keys
	return true
}

// versionKeyspace is the keyspace a Cq-Version token ("shard-3.1234",
// "global.56") names. An entry of a keyspace carries its
// stream.KeyspaceKey, so that an edge that missed some of the keyspace's
// changes (a reset of the change stream) can flush all of its entries.
func versionKeyspace(v string) (string, bool) {
	i := strings.LastIndexByte(v, '.')
	if i <= 0 || i == len(v)-1 {
		return "", false
	}
	for _, c := range []byte(v[i+1:]) {
		if c < '0' || c > '9' {
			return "", false
		}
	}
	for _, c := range []byte(v[:i]) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return "", false
		}
	}
	return v[:i], true
}

// fillTemplate replaces each {name} of t with the route's capture.
func fillTemplate(t string, params Params) (string, bool) {
	if !strings.Contains(t, "{") {
		return t, true
	}
	var b strings.Builder
	for {
		open := strings.IndexByte(t, '{')
		if open < 0 {
			b.WriteString(t)
			return b.String(), true
		}
		end := strings.IndexByte(t[open:], '}')
		if end < 0 || params == nil {
			return "", false
		}
		v := params.Get(t[open+1 : open+end])
		if len(v) == 0 {
			return "", false
		}
		b.WriteString(t[:open])
		b.Write(v)
		t = t[open+end+1:]
	}
}
