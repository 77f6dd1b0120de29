package lab

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Names of the files in a run's results folder.
const (
	SpecFile       = "spec.json"
	HistoryFile    = "history.jsonl"
	ResultsFile    = "results.json"
	ControllerLog  = "controller.log"
	NodeLogsDir    = "nodes"
	ReportFile     = "report.html"
	latestLinkName = "latest"
)

// Store is one run's results folder: <root>/<test name>/<timestamp>/.
type Store struct {
	// Root is the results root (e.g. "results").
	Root string
	// Dir is the run's folder.
	Dir string
}

// timestampLayout is Jepsen's basic date-time, e.g. 20221003T124714.485-0400.
const timestampLayout = "20060102T150405.000-0700"

// NewStore creates the run folder and points <root>/latest (and
// <root>/<name>/latest) at it, so a crashed run is still easy to find.
func NewStore(root, name string, now time.Time) (*Store, error) {
	dir := filepath.Join(root, name, now.Format(timestampLayout))
	if err := os.MkdirAll(filepath.Join(dir, NodeLogsDir), 0o755); err != nil {
		return nil, fmt.Errorf("create results folder: %w", err)
	}
	s := &Store{Root: root, Dir: dir}
	if err := s.linkLatest(); err != nil {
		return nil, err
	}
	return s, nil
}

// linkLatest makes relative symlinks <root>/latest and <root>/<name>/latest.
func (s *Store) linkLatest() error {
	for _, base := range []string{s.Root, filepath.Dir(s.Dir)} {
		rel, err := filepath.Rel(base, s.Dir)
		if err != nil {
			return err
		}
		link := filepath.Join(base, latestLinkName)
		tmp := link + ".tmp"
		os.Remove(tmp)
		if err := os.Symlink(rel, tmp); err != nil {
			return fmt.Errorf("link latest run: %w", err)
		}
		if err := os.Rename(tmp, link); err != nil {
			return fmt.Errorf("link latest run: %w", err)
		}
	}
	return nil
}

// Path returns the path of a file in the run folder.
func (s *Store) Path(name string) string { return filepath.Join(s.Dir, name) }

// WriteJSON writes v, indented, to a file of the run folder, atomically.
func (s *Store) WriteJSON(name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := s.Path(name + ".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, s.Path(name))
}
