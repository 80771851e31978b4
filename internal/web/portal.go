package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	portalfiles "github.com/axtract/axtract/portal"
)

// asset is one embedded file, read once at start.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// portal serves the embedded single-page application: files under
// /assets/, and index.html for every other GET path without a file
// extension, so that the browser's own routes (/dashboard, /views/new, ...)
// load the application after a reload or from a bookmark.
type portal struct {
	assets map[string]*asset
	index  *asset
}

// newPortal reads the embedded files. With riverUI, index.html marks
// /riverui/ as mounted, so the application links to it.
func newPortal(riverUI bool) (*portal, error) {
	p := &portal{assets: map[string]*asset{}}
	err := fs.WalkDir(portalfiles.Files, "static", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := portalfiles.Files.ReadFile(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		a := &asset{body: body, contentType: contentType(name), etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
		p.assets[strings.TrimPrefix(name, "static")] = a
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: read embedded portal files: %w", err)
	}
	p.index = p.assets["/index.html"]
	if p.index == nil {
		return nil, fmt.Errorf("web: embedded portal has no index.html")
	}
	if riverUI {
		body := bytes.Replace(p.index.body, []byte(`data-riverui="off"`), []byte(`data-riverui="on"`), 1)
		sum := sha256.Sum256(body)
		p.index = &asset{body: body, contentType: p.index.contentType, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
	}
	return p, nil
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".json":
		return "application/json"
	}
	return "application/octet-stream"
}

func (p *portal) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Security-Policy", portalCSP)

	name := path.Clean(r.URL.Path)
	a, ok := p.assets[name]
	switch {
	case ok && name != "/index.html":
	case path.Ext(name) == "" && !strings.HasPrefix(name, "/assets/"):
		a = p.index
	default:
		http.NotFound(w, r)
		return
	}
	p.serve(w, r, a)
}

// serve writes a with its ETag. The files' names carry no content hash,
// because there is no build step to add one, so browsers revalidate every
// file (no-cache) and get 304 Not Modified while it is unchanged.
func (p *portal) serve(w http.ResponseWriter, r *http.Request, a *asset) {
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("ETag", a.etag)
	h.Set("Cache-Control", "no-cache")
	// ServeContent handles If-None-Match and Range requests. The zero time
	// keeps it from sending Last-Modified, which the ETag makes redundant.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}
