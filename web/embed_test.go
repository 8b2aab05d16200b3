package web

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// builtAsset returns the URL path of the first built file under assets/
// with the extension ext.
func builtAsset(t *testing.T, ext string) string {
	t.Helper()
	entries, err := fs.ReadDir(dist, "dist/static")
	require.NoError(t, err, "web/dist/static missing: run make web")
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ext) {
			return "/static/" + e.Name()
		}
	}
	t.Fatalf("no %s file in web/dist/static: run make web", ext)
	return ""
}

func TestHandler(t *testing.T) {
	js, css := builtAsset(t, ".js"), builtAsset(t, ".css")
	h := Handler()
	tests := []struct {
		name, method, path string
		status             int
		ctype, cache       string
		bodyHas            string
	}{
		{"root is the app", "GET", "/", 200, "text/html; charset=utf-8", "no-cache", `<div id="app">`},
		{"index.html itself", "GET", "/index.html", 200, "text/html; charset=utf-8", "no-cache", `<div id="app">`},
		{"client route falls back to the app", "GET", "/alerts/42", 200, "text/html; charset=utf-8", "no-cache", `<div id="app">`},
		{"client route with query", "GET", "/alerts?rule=x&range=7d", 200, "text/html; charset=utf-8", "no-cache", `<div id="app">`},
		{"asset detail route", "GET", "/assets/containers/abc", 200, "text/html; charset=utf-8", "no-cache", `<div id="app">`},
		{"script", "GET", js, 200, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", ""},
		{"style", "GET", css, 200, "text/css; charset=utf-8", "public, max-age=31536000, immutable", ""},
		{"icon", "GET", "/favicon.svg", 200, "image/svg+xml", "no-cache", "<svg"},
		{"missing hashed asset", "GET", "/static/index-nothere.js", 404, "text/plain; charset=utf-8", "", "not found"},
		{"missing file with extension", "GET", "/robots.txt", 404, "text/plain; charset=utf-8", "", "not found"},
		{"unknown API path is not the app", "GET", "/api/v1/nothing", 404, "application/json", "", `"error"`},
		{"head", "HEAD", "/", 200, "text/html; charset=utf-8", "no-cache", ""},
		{"post", "POST", "/", 405, "text/plain; charset=utf-8", "", "method not allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			require.Equal(t, tc.status, rec.Code)
			require.Equal(t, tc.ctype, rec.Header().Get("Content-Type"))
			require.Equal(t, tc.cache, rec.Header().Get("Cache-Control"))
			require.Contains(t, rec.Body.String(), tc.bodyHas)
			if tc.status == 200 {
				require.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
				require.NotEmpty(t, rec.Header().Get("ETag"))
			}
			if tc.method == "HEAD" {
				require.Empty(t, rec.Body.String())
			}
			if tc.ctype == "text/html; charset=utf-8" && tc.status == 200 {
				require.Equal(t, CSP, rec.Header().Get("Content-Security-Policy"))
				require.Equal(t, "DENY", rec.Header().Get("X-Frame-Options"))
			}
		})
	}
}

func TestHandlerConditional(t *testing.T) {
	h := Handler()
	js := builtAsset(t, ".js")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", js, nil))
	require.Equal(t, 200, rec.Code)
	tag := rec.Header().Get("ETag")
	require.Regexp(t, `^"[0-9a-f]{16}"$`, tag)

	req := httptest.NewRequest("GET", js, nil)
	req.Header.Set("If-None-Match", tag)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusNotModified, rec.Code)
	require.Empty(t, rec.Body.String())
}

// TestNothingFromTheInternet checks that the built console loads no script,
// style, font or image from another origin.
func TestNothingFromTheInternet(t *testing.T) {
	external := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//|@import\s+url\(|url\(\s*["']?(https?:)?//`)
	err := fs.WalkDir(dist, "dist", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !strings.HasSuffix(p, ".html") && !strings.HasSuffix(p, ".css") {
			return nil
		}
		b, err := fs.ReadFile(dist, p)
		require.NoError(t, err)
		require.Falsef(t, external.Match(b), "%s loads something from another origin: %s", p, external.Find(b))
		return nil
	})
	require.NoError(t, err)
	b, err := fs.ReadFile(dist, "dist/index.html")
	require.NoError(t, err)
	for _, m := range regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllSubmatch(b, -1) {
		rec := httptest.NewRecorder()
		Handler().ServeHTTP(rec, httptest.NewRequest("GET", string(m[1]), nil))
		require.Equalf(t, 200, rec.Code, "index.html references %s, which is not served", m[1])
		body, _ := io.ReadAll(rec.Body)
		require.NotEmpty(t, body)
	}
}

func TestHandlerWithoutBuild(t *testing.T) {
	h := newHandler(emptyFS{})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/alerts", nil))
	require.Equal(t, 200, rec.Code)
	require.Contains(t, rec.Body.String(), "make web")
}

// emptyFS is a file system with an empty root, as web/dist before a build.
type emptyFS struct{}

func (emptyFS) Open(name string) (fs.File, error) {
	if name == "." {
		return emptyDir{}, nil
	}
	return nil, fs.ErrNotExist
}

type emptyDir struct{}

func (emptyDir) Stat() (fs.FileInfo, error)         { return dirInfo{}, nil }
func (emptyDir) Read([]byte) (int, error)           { return 0, io.EOF }
func (emptyDir) Close() error                       { return nil }
func (emptyDir) ReadDir(int) ([]fs.DirEntry, error) { return nil, nil }

type dirInfo struct{ fs.FileInfo }

func (dirInfo) IsDir() bool       { return true }
func (dirInfo) Name() string      { return "." }
func (dirInfo) Mode() fs.FileMode { return fs.ModeDir | 0o555 }
