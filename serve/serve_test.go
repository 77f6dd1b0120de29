package serve

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The real runs of the report package's fixtures.
const (
	fixtures    = "../report/testdata/results"
	invalidPath = "stale-reads/20261125T224233.726+0000"
	validPath   = "registers-partition-kill/20261125T224125.986+0000"
	unknownPath = "registers-partition-kill/20261125T220000.000+0000"
	crashedPath = "crashed/20261125T230000.000+0000"
)

func copyTree(t testing.TB, src, dst string) {
	t.Helper()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
}

// testRoot builds a results root: the two real runs, an older copy of the
// valid one made unknown, a crashed run without results, a latest symlink,
// and a symlink leading outside the root. It returns the root and a secret
// file outside it.
func testRoot(t testing.TB) (root, secret string) {
	t.Helper()
	base := t.TempDir()
	root = filepath.Join(base, "results")
	copyTree(t, filepath.Join(fixtures, invalidPath), filepath.Join(root, invalidPath))
	copyTree(t, filepath.Join(fixtures, validPath), filepath.Join(root, validPath))
	copyTree(t, filepath.Join(fixtures, validPath), filepath.Join(root, unknownPath))
	p := filepath.Join(root, unknownPath, "results.json")
	var res map[string]any
	b, _ := os.ReadFile(p)
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	res["verdict"], res["reason"] = "unknown", "checker time limit"
	b, _ = json.Marshal(res)
	os.WriteFile(p, b, 0o644)
	os.Remove(filepath.Join(root, unknownPath, "run.json")) // its time then comes from the folder name
	copyTree(t, filepath.Join(fixtures, validPath), filepath.Join(root, crashedPath))
	for _, f := range []string{"results.json", "run.json"} {
		os.Remove(filepath.Join(root, crashedPath, f))
	}
	spec := filepath.Join(root, crashedPath, "spec.json")
	b, _ = os.ReadFile(spec)
	os.WriteFile(spec, bytes.Replace(b, []byte(`"registers-partition-kill"`), []byte(`"crashed"`), 1), 0o644)
	if err := os.Symlink(invalidPath, filepath.Join(root, "latest")); err != nil {
		t.Fatal(err)
	}
	secret = filepath.Join(base, "secret.txt")
	os.WriteFile(secret, []byte("top secret"), 0o644)
	os.Symlink(base, filepath.Join(root, validPath, "escape"))
	os.Symlink(secret, filepath.Join(root, validPath, "secret.txt"))
	return root, secret
}

func get(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("GET", "http://x"+path, nil)
	req.URL.Path = path // keep what a client could send, unnormalised
	req.URL.RawPath = ""
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestListRuns(t *testing.T) {
	root, _ := testRoot(t)
	runs, err := ListRuns(root)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range runs {
		got = append(got, r.Path+" "+r.Verdict)
	}
	want := []string{
		crashedPath + " incomplete", // newest first, by the folder's timestamp when run.json is missing
		invalidPath + " invalid",
		validPath + " valid",
		unknownPath + " unknown",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("runs:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if runs[0].Name != "crashed" || runs[1].Workload != "registers" || runs[1].Nemesis != "partition:one,clock" {
		t.Errorf("summaries: %+v / %+v", runs[0].Summary, runs[1].Summary)
	}
}

func TestIndexAndFiles(t *testing.T) {
	root, _ := testRoot(t)
	s, err := New(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := get(t, s, "/")
	body := w.Body.String()
	if w.Code != 200 || !strings.Contains(body, `data-verdict="invalid"`) || !strings.Contains(body, `class="verdict v-unknown"`) ||
		!strings.Contains(body, `href="/archive/stale-reads/20261125T224233.726&#43;0000.tar.gz"`) {
		t.Errorf("index: %d\n%s", w.Code, body)
	}
	if strings.Count(body, `<tr class="run"`) != 4 {
		t.Errorf("index lists %d runs, want 4 (latest is a symlink, listed once)", strings.Count(body, `<tr class="run"`))
	}
	// A stored file, with a type a browser shows.
	w = get(t, s, "/runs/"+invalidPath+"/nodes/n1.log")
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") || !strings.Contains(w.Body.String(), "leadership") {
		t.Errorf("node log: %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	// No report.html stored: built on the fly, not written.
	w = get(t, s, "/runs/"+invalidPath+"/report.html")
	if w.Code != 200 || !strings.Contains(w.Body.String(), `data-verdict="invalid"`) {
		t.Errorf("report on the fly: %d", w.Code)
	}
	if _, err := os.Stat(filepath.Join(root, invalidPath, "report.html")); err == nil {
		t.Error("serving a report must not write into the results folder")
	}
	// Through latest (a symlink inside the root): fine.
	if w = get(t, s, "/runs/latest/results.json"); w.Code != 200 {
		t.Errorf("latest/results.json: %d", w.Code)
	}
	// A folder listing, without the symlinks that lead outside.
	w = get(t, s, "/runs/"+validPath+"/")
	if w.Code != 200 || !strings.Contains(w.Body.String(), "history.jsonl") || strings.Contains(w.Body.String(), "escape") ||
		strings.Contains(w.Body.String(), "secret") {
		t.Errorf("listing: %d\n%s", w.Code, w.Body.String())
	}
	if w = get(t, s, "/runs/"+validPath); w.Code != http.StatusMovedPermanently {
		t.Errorf("folder without slash: %d, want a redirect", w.Code)
	}
}

func TestPathScope(t *testing.T) {
	root, secret := testRoot(t)
	s, err := New(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{
		"/runs/../secret.txt",
		"/runs/" + validPath + "/../../../secret.txt",
		"/runs/" + validPath + "/secret.txt",        // symlink to a file outside
		"/runs/" + validPath + "/escape/secret.txt", // symlink to a folder outside
		"/runs/" + validPath + "/escape/",
		"/runs/" + secret,
		"/archive/" + validPath + "/escape.tar.gz",
		"/archive/...tar.gz",
		"/archive/.tar.gz",
		"/runs/nope/report.html",
	} {
		w := get(t, s, p)
		if w.Code == 200 || strings.Contains(w.Body.String(), "top secret") {
			t.Errorf("GET %s = %d; want it refused\n%.200s", p, w.Code, w.Body.String())
		}
	}
	// And over a real connection, where the client may encode the dots.
	ts := httptest.NewServer(s)
	defer ts.Close()
	for _, p := range []string{"/runs/%2e%2e/secret.txt", "/runs/..%2fsecret.txt", "/runs/" + validPath + "/escape%2fsecret.txt"} {
		resp, err := http.Get(ts.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 || strings.Contains(string(b), "top secret") {
			t.Errorf("GET %s = %d; want it refused", p, resp.StatusCode)
		}
	}
	if _, err := New(filepath.Join(root, "missing"), nil); err == nil {
		t.Error("New on a missing folder must fail")
	}
}

func TestArchive(t *testing.T) {
	root, _ := testRoot(t)
	s, _ := New(root, nil)
	ts := httptest.NewServer(s)
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/archive/" + validPath + ".tar.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/gzip" ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), "registers-partition-kill_20261125T224125.986+0000.tar.gz") {
		t.Fatalf("archive: %d %v", resp.StatusCode, resp.Header)
	}
	gz, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		files[h.Name] = b
	}
	prefix := "registers-partition-kill_20261125T224125.986+0000/"
	want, _ := os.ReadFile(filepath.Join(root, validPath, "history.jsonl"))
	if got := files[prefix+"history.jsonl"]; !bytes.Equal(got, want) {
		t.Errorf("history.jsonl in the archive has %d bytes, want %d", len(got), len(want))
	}
	if _, ok := files[prefix+"nodes/n1.log"]; !ok {
		t.Errorf("no nodes/n1.log in the archive: %v", keys(files))
	}
	for name := range files {
		if strings.Contains(name, "escape") || strings.Contains(name, "secret") {
			t.Errorf("archive follows a symlink: %s", name)
		}
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
