// Package web serves the Vigil console: the single-page app built from
// web/src into web/dist (make web) and embedded in the binary, so serving
// it needs neither Node nor files on disk.
package web

import (
	"bytes"
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed all:dist
var dist embed.FS

// contentTypes maps the extensions of the built files to their media type;
// it does not depend on the host's mime tables.
var contentTypes = map[string]string{
	".html":  "text/html; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".mjs":   "text/javascript; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".ico":   "image/x-icon",
	".json":  "application/json",
	".txt":   "text/plain; charset=utf-8",
	".woff2": "font/woff2",
	".map":   "application/json",
}

// CSP is the Content-Security-Policy of every console response: the app
// loads only its own scripts, styles and API.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Handler returns the handler of the console. Built files are served with
// their content type; the content-hashed files under /static/ are cached
// for a year, everything else is revalidated (Last-Modified is the build's
// embed time, so it is not set; ETags are content hashes). Any other GET
// path that does not name a file and is not under /api/ gets index.html,
// so client routes such as /alerts/42 can be reloaded. Mount it at "/".
func Handler() http.Handler {
	sub, err := fs.Sub(dist, "dist")
	if err != nil { // cannot happen: "dist" is a valid path
		panic(err)
	}
	return newHandler(sub)
}

type file struct {
	body  []byte
	ctype string
	etag  string
	cache string
}

type handler struct {
	files map[string]*file // by URL path
	index *file
}

func newHandler(root fs.FS) *handler {
	h := &handler{files: map[string]*file{}}
	_ = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			ct = http.DetectContentType(b)
		}
		f := &file{body: b, ctype: ct, etag: etag(b), cache: "no-cache"}
		if strings.HasPrefix(p, "static/") {
			f.cache = "public, max-age=31536000, immutable"
		}
		h.files["/"+p] = f
		return nil
	})
	h.index = h.files["/index.html"]
	if h.index == nil {
		h.index = &file{
			body:  []byte("<!doctype html><title>Vigil</title><p>The console was not built: run <code>make web</code>.</p>\n"),
			ctype: "text/html; charset=utf-8", cache: "no-cache",
		}
		h.index.etag = etag(h.index.body)
	}
	return h
}

// etag is a strong ETag of b: FNV-1a 64, enough to tell builds apart.
func etag(b []byte) string {
	var x uint64 = 14695981039346656037
	for _, c := range b {
		x ^= uint64(c)
		x *= 1099511628211
	}
	const hex = "0123456789abcdef"
	var s [18]byte
	s[0], s[17] = '"', '"'
	for i := 16; i >= 1; i-- {
		s[i] = hex[x&15]
		x >>= 4
	}
	return string(s[:])
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	if p == "/api" || strings.HasPrefix(p, "/api/") {
		// Unknown API paths are errors, not the app.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":"no such API endpoint"}` + "\n"))
		return
	}
	f := h.files[p]
	switch {
	case f != nil && p != "/index.html":
	case strings.HasPrefix(p, "/static/") || path.Ext(p) != "" && p != "/index.html":
		// A missing hashed asset or file: answering index.html would be
		// parsed as script or style and fail confusingly.
		http.NotFound(w, r)
		return
	default:
		f = h.index
	}
	hd := w.Header()
	hd.Set("Content-Type", f.ctype)
	hd.Set("Cache-Control", f.cache)
	hd.Set("ETag", f.etag)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	if f == h.index {
		hd.Set("Content-Security-Policy", CSP)
		hd.Set("X-Frame-Options", "DENY")
	}
	// ServeContent handles If-None-Match, HEAD and ranges.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}
