package httpcache

import (
	"bytes"
	"compress/gzip"
)

// StoreOptions control how NewEntry keeps a body. The zero value is ready:
// every zero field means its documented default.
type StoreOptions struct {
	// CompressMin is the smallest text-like body compressed at store time.
	// 0: 256 bytes; negative: never compress.
	CompressMin int
	// MaxBody bounds the identity body, after decoding the origin's gzip or
	// br. 0: 8 MiB.
	MaxBody int
	// GzipLevel is the gzip level, 1–9. 0: 6.
	GzipLevel int
	// BrotliLevel is the brotli quality, 1–11. 0: 5.
	BrotliLevel int
}

func (o *StoreOptions) withDefaults() StoreOptions {
	var v StoreOptions
	if o != nil {
		v = *o
	}
	if v.CompressMin == 0 {
		v.CompressMin = 256
	}
	if v.MaxBody <= 0 {
		v.MaxBody = 8 << 20
	}
	if v.GzipLevel < gzip.BestSpeed || v.GzipLevel > gzip.BestCompression {
		v.GzipLevel = 6
	}
	if v.BrotliLevel < 1 || v.BrotliLevel > 11 {
		v.BrotliLevel = 5
	}
	return v
}

// setBodies stores the body in the codings the entry will serve.
func (e *Entry) setBodies(resp Header, body []byte, o *StoreOptions, noTransform bool) error {
	if len(body) > o.MaxBody {
		return ErrTooLarge
	}
	ce := trimOWS(resp.Peek("Content-Encoding"))
	coding, known := codingOf(ce)
	if noTransform || !known {
		// RFC 9110 §7.7: no-transform forbids changing the content coding.
		e.bodies[identity] = bytes.Clone(body)
		if coding != identity || !known {
			e.opaque = bytes.Clone(ce)
		}
		return nil
	}
	plain, err := decode(coding, body, o.MaxBody)
	if err != nil {
		return err
	}
	if coding != identity {
		e.bodies[coding] = bytes.Clone(body)
		e.weakETag = true
	} else {
		plain = bytes.Clone(plain)
	}
	e.bodies[identity] = plain
	if o.CompressMin < 0 || len(plain) < o.CompressMin || !compressible(resp.Peek("Content-Type")) {
		return nil
	}
	return e.compress(o)
}

// compress adds the gzip and br variants the entry lacks, each only when it
// is smaller than identity.
func (e *Entry) compress(o *StoreOptions) error {
	plain := e.bodies[identity]
	for _, v := range [...]struct {
		coding, level int
		zip           func([]byte, int) ([]byte, error)
	}{{codingGzip, o.GzipLevel, gzipBytes}, {codingBr, o.BrotliLevel, brotliBytes}} {
		if e.bodies[v.coding] != nil {
			continue
		}
		z, err := v.zip(plain, v.level)
		if err != nil {
			return err
		}
		if len(z) < len(plain) {
			e.bodies[v.coding] = z
			e.weakETag = true
		}
	}
	return nil
}

// codingOf maps a Content-Encoding value to a coding the edge can decode.
func codingOf(ce []byte) (int, bool) {
	switch {
	case len(ce) == 0, equalFold(ce, "identity"):
		return identity, true
	case equalFold(ce, "gzip"), equalFold(ce, "x-gzip"):
		return codingGzip, true
	case equalFold(ce, "br"):
		return codingBr, true
	}
	return identity, false
}
