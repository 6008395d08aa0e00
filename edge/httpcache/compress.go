package httpcache

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/andybalholm/brotli"
)

// ErrTooLarge is returned by NewEntry for a body, or a decoded body, larger
// than StoreOptions.MaxBody.
var ErrTooLarge = errors.New("httpcache: body too large to store")

// compressible reports whether a Content-Type names text-like content worth
// compressing: text/*, JSON, JavaScript, XML and their +json/+xml kin
// (SVG is image/svg+xml).
func compressible(contentType []byte) bool {
	mt := contentType
	if i := bytes.IndexByte(mt, ';'); i >= 0 {
		mt = mt[:i]
	}
	mt = bytes.ToLower(trimOWS(mt))
	slash := bytes.IndexByte(mt, '/')
	if slash <= 0 {
		return false
	}
	typ, sub := string(mt[:slash]), string(mt[slash+1:])
	switch {
	case typ == "text":
		return true
	case hasSuffix(sub, "+json"), hasSuffix(sub, "+xml"):
		return true
	case typ != "application":
		return false
	}
	switch sub {
	case "json", "javascript", "x-javascript", "ecmascript", "xml", "x-ndjson", "wasm":
		return true
	}
	return false
}

func hasSuffix(s, suffix string) bool {
	return len(s) >= len(suffix) && s[len(s)-len(suffix):] == suffix
}

var gzipPools, brotliPools [12]sync.Pool

func gzipBytes(b []byte, level int) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(b) / 3)
	w, _ := gzipPools[level].Get().(*gzip.Writer)
	if w == nil {
		var err error
		if w, err = gzip.NewWriterLevel(&buf, level); err != nil {
			return nil, err
		}
	} else {
		w.Reset(&buf)
	}
	defer gzipPools[level].Put(w)
	if _, err := w.Write(b); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func brotliBytes(b []byte, level int) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(b) / 3)
	w, _ := brotliPools[level].Get().(*brotli.Writer)
	if w == nil {
		w = brotli.NewWriterLevel(&buf, level)
	} else {
		w.Reset(&buf)
	}
	defer brotliPools[level].Put(w)
	if _, err := w.Write(b); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// decode undoes a gzip or br content coding, reading at most limit bytes
// of output.
func decode(coding int, b []byte, limit int) ([]byte, error) {
	var r io.Reader
	switch coding {
	case codingGzip:
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("httpcache: decoding gzip body: %w", err)
		}
		r = zr
	case codingBr:
		r = brotli.NewReader(bytes.NewReader(b))
	default:
		return b, nil
	}
	out, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("httpcache: decoding %s body: %w", codingNames[coding], err)
	}
	if len(out) > limit {
		return nil, ErrTooLarge
	}
	return out, nil
}
