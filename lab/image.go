package lab

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// modulePath identifies raftlab's source tree.
const modulePath = "github.com/raftlab/raftlab"

// FindSourceRoot walks up from dir to the folder whose go.mod declares
// raftlab's module: the lab builds the node image from its own sources.
func FindSourceRoot(dir string) (string, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module "+modulePath+"\n")) {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("not inside the raftlab source tree (no go.mod of %s above %s): run labctl from the repository, or pass --image", modulePath, dir)
		}
		d = parent
	}
}

// EnsureImage builds the node image if its sources changed (docker/build.sh
// skips all work when an image with the same content hash exists) and returns
// its tag. Build progress goes to progress.
func EnsureImage(ctx context.Context, srcRoot string, progress io.Writer) (string, error) {
	script := filepath.Join(srcRoot, "docker", "build.sh")
	cmd := exec.CommandContext(ctx, "sh", script, "--print-tag")
	cmd.Dir = srcRoot
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	var tail tailWriter
	cmd.Stderr = io.MultiWriter(progress, &tail)
	if err := cmd.Run(); err != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			return "", ctx.Err()
		}
		return "", fmt.Errorf("building the node image with %s failed (%v); its last output:\n%s", script, err, tail.String())
	}
	var tag string
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			tag = l
		}
	}
	if tag == "" {
		return "", fmt.Errorf("%s printed no image tag", script)
	}
	return tag, nil
}

// tailWriter keeps the last few KiB written to it.
type tailWriter struct{ b []byte }

func (t *tailWriter) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 4096 {
		t.b = t.b[len(t.b)-4096:]
	}
	return len(p), nil
}

func (t *tailWriter) String() string { return string(t.b) }
