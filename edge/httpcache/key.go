package httpcache

import (
	"strconv"

	"github.com/cespare/xxhash/v2"
)

// AppendKey appends the cache key of a request to dst:
//
//	<method> <owner> <len(host)>:<host><path-and-query>
//
// HEAD shares GET's key (a HEAD is answered from the GET entry). The host is
// lowered and loses a trailing dot; its length prefix keeps the key
// unambiguous whatever bytes the Host holds. The path and query are kept
// exactly as sent: reordering query parameters or decoding percent-escapes
// could merge URLs the origin tells apart. The scheme is not part of the
// key: the edge serves one scheme per host. owner is Policy.Owner of the
// verified user, 0 for shared entries. Into a buffer with room, AppendKey
// does not allocate.
func AppendKey(dst, method, host, pathAndQuery []byte, owner int64) []byte {
	if string(method) == "HEAD" {
		dst = append(dst, "GET"...)
	} else {
		dst = append(dst, method...)
	}
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, owner, 10)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, int64(len(trimHostDot(host))), 10)
	dst = append(dst, ':')
	dst = appendHost(dst, host)
	return append(dst, pathAndQuery...)
}

// Hash is the 64-bit hash the stores index keys by (xxhash). Entries keep
// the full key, and a store compares it on every hit, so a collision costs
// a miss, never a wrong answer.
func Hash(key []byte) uint64 { return xxhash.Sum64(key) }

func trimHostDot(host []byte) []byte {
	if n := len(host); n > 0 && host[n-1] == '.' {
		return host[:n-1]
	}
	return host
}

func appendHost(dst, host []byte) []byte {
	for _, c := range trimHostDot(host) {
		dst = append(dst, lower(c))
	}
	return dst
}
