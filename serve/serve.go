// Package serve is the web browser of a results root (labctl serve): a page
// listing every run, newest first, with its verdict coloured, a filter and
// sortable columns; each run's report and files; and a run as a .tar.gz
// download.
//
// Paths are confined to the results root: a request naming a file outside it
// (with .., or through a symlink that leads outside) gets 404.
package serve

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/raftlab/raftlab/report"
)

// favicon is a small Raft-ish logo: three nodes, one leading.
const favicon = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="4" r="3" fill="#333"/><circle cx="3" cy="12" r="3" fill="#6DB6FE"/><circle cx="13" cy="12" r="3" fill="#6DB6FE"/></svg>`

// Server serves one results root.
type Server struct {
	root string // absolute, symlinks resolved
	log  *slog.Logger
	mux  *http.ServeMux
}

// New returns a Server for the results root folder (e.g. "results"). The
// folder must exist. log may be nil.
func New(root string, log *slog.Logger) (*Server, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("results folder %s: %w", root, err)
	}
	st, err := os.Stat(real)
	if err != nil {
		return nil, fmt.Errorf("results folder %s: %w", root, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("results folder %s is not a folder", root)
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{root: real, log: log, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /{$}", s.index)
	s.mux.HandleFunc("GET /runs/{path...}", s.file)
	s.mux.HandleFunc("GET /archive/{path...}", s.archive)
	s.mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/svg+xml")
		io.WriteString(w, favicon)
	})
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	s.mux.ServeHTTP(w, r)
}

// Run is one row of the index.
type Run struct {
	report.Summary
	// Path is the run folder relative to the root, with slashes.
	Path string `json:"path"`
}

// Runs lists the runs under the root, newest first: every folder
// <root>/<name>/<timestamp>/ that Summarize accepts. Symlinks (latest) are
// skipped, so each run is listed once.
func (s *Server) Runs() ([]Run, error) { return ListRuns(s.root) }

// ListRuns lists the runs of a results root, newest first (see Server.Runs).
func ListRuns(root string) ([]Run, error) {
	tests, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	var out []Run
	for _, t := range tests {
		if !t.IsDir() || strings.HasPrefix(t.Name(), ".") {
			continue // files, symlinks (latest) and hidden folders
		}
		runs, err := os.ReadDir(filepath.Join(root, t.Name()))
		if err != nil {
			continue
		}
		for _, r := range runs {
			if !r.IsDir() {
				continue
			}
			dir := filepath.Join(root, t.Name(), r.Name())
			sum, err := report.Summarize(dir)
			if err != nil {
				continue
			}
			out = append(out, Run{Summary: sum, Path: t.Name() + "/" + r.Name()})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Started.Equal(out[j].Started) {
			return out[i].Started.After(out[j].Started)
		}
		return out[i].Path > out[j].Path
	})
	return out, nil
}

// resolve maps a URL path below the root to a file path, refusing anything
// outside the root, also through symlinks. ok is false when it does not exist
// or is out of scope.
func (s *Server) resolve(rel string) (string, bool) {
	if strings.Contains(rel, "\x00") {
		return "", false
	}
	for _, part := range strings.Split(rel, "/") {
		if part == ".." {
			return "", false
		}
	}
	clean := path.Clean("/" + rel)
	p := filepath.Join(s.root, filepath.FromSlash(clean))
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", false
	}
	if real != s.root && !strings.HasPrefix(real, s.root+string(filepath.Separator)) {
		return "", false
	}
	return real, true
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	runs, err := s.Runs()
	if err != nil {
		http.Error(w, "cannot list runs: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := indexTmpl.Execute(w, indexPage{Root: s.root, Runs: runs, CSS: template.CSS(indexCSS), JS: template.JS(indexJS)}); err != nil {
		s.log.Warn("rendering the index", "err", err)
	}
}

// file serves a file of the root. A folder gets a listing; the report.html
// of a run that has none is rendered on the fly (not stored).
func (s *Server) file(w http.ResponseWriter, r *http.Request) {
	rel := r.PathValue("path")
	p, ok := s.resolve(rel)
	if !ok {
		if path.Base(rel) == report.ReportFile {
			if dir, ok := s.resolve(path.Dir(rel)); ok {
				s.renderReport(w, dir)
				return
			}
		}
		http.NotFound(w, r)
		return
	}
	st, err := os.Stat(p)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	if st.IsDir() {
		if !strings.HasSuffix(r.URL.Path, "/") {
			http.Redirect(w, r, r.URL.Path+"/", http.StatusMovedPermanently)
			return
		}
		s.listing(w, rel, p)
		return
	}
	f, err := os.Open(p)
	if err != nil {
		http.Error(w, "cannot open: "+err.Error(), http.StatusInternalServerError)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", contentType(p))
	http.ServeContent(w, r, "", st.ModTime(), f)
}

func (s *Server) renderReport(w http.ResponseWriter, dir string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	var b strings.Builder
	if err := report.Render(&b, dir); err != nil {
		http.Error(w, "cannot build the report of this run: "+err.Error(), http.StatusNotFound)
		return
	}
	io.WriteString(w, b.String())
}

// contentType shows logs and history as text in the browser.
func contentType(p string) string {
	switch strings.ToLower(filepath.Ext(p)) {
	case ".log", ".jsonl", ".txt", ".edn", ".tmp":
		return "text/plain; charset=utf-8"
	case ".json":
		return "application/json; charset=utf-8"
	case ".html":
		return "text/html; charset=utf-8"
	}
	if t := mime.TypeByExtension(filepath.Ext(p)); t != "" {
		return t
	}
	return "application/octet-stream"
}

type entry struct {
	Name, Href string
	Dir        bool
	Size       int64
	Mod        time.Time
}

func (s *Server) listing(w http.ResponseWriter, rel, dir string) {
	des, err := os.ReadDir(dir)
	if err != nil {
		http.Error(w, "cannot list: "+err.Error(), http.StatusInternalServerError)
		return
	}
	var es []entry
	for _, d := range des {
		full := filepath.Join(dir, d.Name())
		if _, ok := s.resolve(path.Join(rel, d.Name())); !ok {
			continue // a symlink leading outside the root
		}
		st, err := os.Stat(full)
		if err != nil {
			continue
		}
		href := url.PathEscape(d.Name())
		if st.IsDir() {
			href += "/"
		}
		es = append(es, entry{Name: d.Name(), Href: href, Dir: st.IsDir(), Size: st.Size(), Mod: st.ModTime()})
	}
	rel = strings.Trim(rel, "/")
	_, isRun := report.Summarize(dir)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = listTmpl.Execute(w, map[string]any{"Path": rel, "Entries": es, "IsRun": isRun == nil,
		"Archive": "/archive/" + escapePath(rel) + ".tar.gz", "CSS": template.CSS(indexCSS)})
}

// escapePath escapes each segment of a slash path for a URL.
func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// archive streams a folder of the root as .tar.gz. Only regular files and
// folders go in; symlinks are left out.
func (s *Server) archive(w http.ResponseWriter, r *http.Request) {
	rel, ok := strings.CutSuffix(r.PathValue("path"), ".tar.gz")
	if !ok {
		http.Error(w, "archives are .tar.gz: /archive/<test>/<timestamp>.tar.gz", http.StatusNotFound)
		return
	}
	dir, ok := s.resolve(rel)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() || dir == s.root {
		http.NotFound(w, r)
		return
	}
	base := strings.ReplaceAll(strings.Trim(rel, "/"), "/", "_")
	w.Header().Set("Content-Type", "application/gzip")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": base + ".tar.gz"}))
	if err := writeArchive(w, dir, base); err != nil {
		s.log.Warn("archive", "dir", dir, "err", err)
	}
}

// writeArchive writes dir as a gzipped tar whose entries are under prefix/.
func writeArchive(w io.Writer, dir, prefix string) error {
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 || !(d.IsDir() || d.Type().IsRegular()) {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		h, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		h.Name = path.Join(prefix, filepath.ToSlash(rel))
		if d.IsDir() {
			h.Name += "/"
		}
		h.Uname, h.Gname = "", ""
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.CopyN(tw, f, h.Size)
		return err
	})
	if cerr := tw.Close(); err == nil {
		err = cerr
	}
	if cerr := gz.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("a file vanished while archiving: %w", err)
	}
	return err
}
