package edge

import (
	_ "github.com/andybalholm/brotli"
	_ "github.com/cloudflare/tableflip"
	_ "github.com/golang-jwt/jwt/v5"
	_ "github.com/klauspost/compress/gzip"
	_ "github.com/maypok86/otter/v2"
	_ "github.com/redis/go-redis/v9"
	_ "github.com/sony/gobreaker/v2"
	_ "github.com/valyala/fasthttp"
	_ "golang.org/x/net/http2"
	_ "golang.org/x/time/rate"
)
