package edge

import (
	"bytes"
	"io"
	"strings"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// splitURL reads "host/path?q" or "http(s)://host/path?q".
func splitURL(u string) (host, path string, ok bool) {
	for _, scheme := range []string{"https://", "http://"} {
		u = strings.TrimPrefix(u, scheme)
	}
	i := strings.IndexByte(u, '/')
	if i <= 0 {
		return "", "", false
	}
	return u[:i], u[i:], true
}
