package httpcache_test

import (
	"github.com/cangqiong/cangqiong/edge/cache"
	"github.com/cangqiong/cangqiong/edge/httpcache"
	"github.com/cangqiong/cangqiong/edge/route"
)

// The edge's other packages use the types here through small interfaces of
// their own; these lines fail to compile when the two sides drift apart.
// (An external test package, so that those packages may import this one.)
var (
	_ cache.Item                    = (*httpcache.Entry)(nil)
	_ cache.Codec[*httpcache.Entry] = httpcache.UnmarshalEntry
	_ httpcache.Params              = (*route.Params)(nil)
)
