// Command fasthttpref is bench/edge-vs-nginx.sh's floor: a bare fasthttp
// server that answers every request with one fixed response read from
// files — the header fields the edge sent for a cache hit and the same
// body — and does nothing else. What it serves on the pinned core is what
// fasthttp and the kernel allow on this machine, so the script can tell
// the edge's own cost (edge/ref) from the machine's (ref/nginx).
//
//	fasthttpref -listen 127.0.0.1:8080 -header hit.txt -body menu.json
//
// The header file holds "Name: value" lines (a status line, Date,
// Content-Length and Connection lines are skipped: fasthttp writes those).
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/valyala/fasthttp"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "address to serve on")
	headerFile := flag.String("header", "", "file of response header lines to send")
	bodyFile := flag.String("body", "", "file holding the response body")
	flag.Parse()
	if err := run(*listen, *headerFile, *bodyFile); err != nil {
		fmt.Fprintln(os.Stderr, "fasthttpref:", err)
		os.Exit(1)
	}
}

func run(listen, headerFile, bodyFile string) error {
	body, err := os.ReadFile(bodyFile)
	if err != nil {
		return err
	}
	fields, err := readFields(headerFile)
	if err != nil {
		return err
	}
	// One template, copied into each response: the cheapest way fasthttp
	// has to send a fixed set of fields.
	var tmpl fasthttp.ResponseHeader
	tmpl.DisableNormalizing()
	tmpl.SetNoDefaultContentType(true)
	for _, f := range fields {
		tmpl.Add(f[0], f[1])
	}
	s := &fasthttp.Server{
		NoDefaultServerHeader: true,
		NoDefaultContentType:  true,
		Handler: func(ctx *fasthttp.RequestCtx) {
			tmpl.CopyTo(&ctx.Response.Header)
			ctx.Response.SetBodyRaw(body)
		},
	}
	return s.ListenAndServe(listen)
}

// readFields reads "Name: value" lines, skipping those fasthttp writes.
func readFields(path string) ([][2]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out [][2]string
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		name, value, ok := strings.Cut(line, ":")
		if !ok || strings.HasPrefix(line, "HTTP/") {
			continue
		}
		switch strings.ToLower(name) {
		case "date", "content-length", "connection", "transfer-encoding":
			continue
		}
		out = append(out, [2]string{name, strings.TrimSpace(value)})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no header fields", path)
	}
	return out, nil
}
