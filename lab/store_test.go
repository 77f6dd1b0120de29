package lab

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestStoreLatestLinks(t *testing.T) {
	root := t.TempDir()
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	s1, err := NewStore(root, "reg", t0)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := NewStore(root, "reg", t0.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if s1.Dir == s2.Dir {
		t.Fatalf("two runs share a folder %s", s1.Dir)
	}
	for _, link := range []string{filepath.Join(root, "latest"), filepath.Join(root, "reg", "latest")} {
		got, err := filepath.EvalSymlinks(link)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := filepath.EvalSymlinks(s2.Dir)
		if got != want {
			t.Errorf("%s -> %s, want %s", link, got, want)
		}
		if dst, _ := os.Readlink(link); filepath.IsAbs(dst) {
			t.Errorf("%s is absolute (%s); results folders must stay movable", link, dst)
		}
	}
	if err := s2.WriteJSON(SpecFile, Spec{Name: "reg"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "latest", SpecFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s2.Dir, NodeLogsDir)); err != nil {
		t.Fatal(err)
	}
}
