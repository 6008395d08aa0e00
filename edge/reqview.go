package edge

import "github.com/valyala/fasthttp"

// reqView reads the request header fields the hit path needs in one pass
// over the header, instead of a lookup (and a key normalisation) per
// field. It serves Peek for those fields and falls back to the header for
// any other; when one of them came on several lines it falls back too, so
// that list fields are read whole.
type reqView struct {
	h *fasthttp.RequestHeader

	authorization, cacheControl, pragma        []byte
	ifNoneMatch, ifModifiedSince, acceptEncode []byte
	version                                    []byte
	cookie, identity, repeated                 bool
}

func (v *reqView) load(h *fasthttp.RequestHeader) {
	*v = reqView{h: h}
	h.VisitAll(v.visit)
}

func (v *reqView) visit(k, val []byte) {
	switch string(k) {
	case "Authorization":
		v.set(&v.authorization, val)
	case "Cache-Control":
		v.set(&v.cacheControl, val)
	case "Pragma":
		v.set(&v.pragma, val)
	case "If-None-Match":
		v.set(&v.ifNoneMatch, val)
	case "If-Modified-Since":
		v.set(&v.ifModifiedSince, val)
	case "Accept-Encoding":
		v.set(&v.acceptEncode, val)
	case "Cq-Version":
		v.set(&v.version, val)
	case "Cookie":
		v.cookie = true
	case "Cq-User-Id", "Cq-User-Role":
		v.identity = true
	}
}

func (v *reqView) set(dst *[]byte, val []byte) {
	if *dst != nil {
		v.repeated = true
	}
	*dst = val
}

// Peek implements httpcache.Header.
func (v *reqView) Peek(key string) []byte {
	if v.repeated {
		return v.h.Peek(key)
	}
	switch key {
	case "Authorization":
		return v.authorization
	case "Cache-Control":
		return v.cacheControl
	case "Pragma":
		return v.pragma
	case "If-None-Match":
		return v.ifNoneMatch
	case "If-Modified-Since":
		return v.ifModifiedSince
	case "Accept-Encoding":
		return v.acceptEncode
	case "Cq-Version":
		return v.version
	}
	return v.h.Peek(key)
}

// header is what to hand to httpcache: the view, or the real header (with
// its PeekAll) when a field was repeated.
func (v *reqView) header() interface{ Peek(string) []byte } {
	if v.repeated {
		return v.h
	}
	return v
}
