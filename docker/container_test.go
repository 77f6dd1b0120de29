// Package docker holds the raftlab node image build (build.sh, Dockerfile,
// supervisor scripts) and its container test.
package docker

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/raftlab/raftlab/node/client"
)

// run runs a command and returns its trimmed stdout, failing the test with
// stderr on error.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := tryRun(name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return out
}

func tryRun(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return strings.TrimSpace(stdout.String()), fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

func repoRoot(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// TestContainerKillRestart builds the image offline, runs three node
// containers on a private internal network, writes through one node and reads
// through another, SIGKILLs raftnode inside the leader's container and
// restarts it, and checks that the data and an iptables rule set before the
// kill are still there (the container, its netns and /data survived).
func TestContainerKillRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Docker and builds the node image; skipped with -short")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		t.Fatal("docker CLI not found: this test needs Docker Engine (install docker.io, or run with -short to skip)")
	}
	if _, err := tryRun("docker", "info", "--format", "{{.ServerVersion}}"); err != nil {
		t.Fatalf("Docker daemon not reachable (%v); start it, or run with -short to skip", err)
	}
	root := repoRoot(t)
	start := time.Now()
	tag := run(t, filepath.Join(root, "docker", "build.sh"), "--print-tag")
	t.Logf("image %s ready in %v", tag, time.Since(start).Round(time.Millisecond))

	// A private internal network with a random /24 in 10.79-10.99 (compose uses 10.77.0.0/24).
	suffix := fmt.Sprintf("%d-%d", os.Getpid(), rand.IntN(1e6))
	netName := "raftlab-ctest-" + suffix
	var prefix string
	for attempt := 0; ; attempt++ {
		prefix = fmt.Sprintf("10.%d.%d", 79+rand.IntN(20), 1+rand.IntN(250))
		_, err := tryRun("docker", "network", "create", "--internal", "--subnet", prefix+".0/24",
			"--label", "raftlab=1", "--label", "raftlab.test=container", netName)
		if err == nil {
			break
		}
		if attempt >= 5 {
			t.Fatalf("create docker network: %v", err)
		}
	}
	var names []string
	t.Cleanup(func() {
		for _, n := range names {
			if t.Failed() {
				if logs, err := exec.Command("docker", "logs", "--tail", "40", n).CombinedOutput(); err == nil {
					t.Logf("--- docker logs %s ---\n%s", n, logs)
				}
			}
			_, _ = tryRun("docker", "rm", "-f", "-v", n)
		}
		if _, err := tryRun("docker", "network", "rm", netName); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})

	ids := []string{"n1", "n2", "n3"}
	ips := make([]string, len(ids))
	var peers []string
	for i, id := range ids {
		ips[i] = fmt.Sprintf("%s.%d", prefix, 11+i)
		peers = append(peers, fmt.Sprintf("%s=%s:7000=%s:8080", id, ips[i], ips[i]))
	}
	for i, id := range ids {
		name := fmt.Sprintf("raftlab-ctest-%s-%s", suffix, id)
		names = append(names, name)
		run(t, "docker", "run", "-d", "--init", "--name", name, "--hostname", id,
			"--label", "raftlab=1", "--label", "raftlab.test=container",
			"--cap-add", "NET_ADMIN", "--network", netName, "--ip", ips[i],
			"-e", "RAFTNODE_ID="+id, "-e", "RAFTNODE_RAFT_ADVERTISE="+ips[i]+":7000",
			"-e", "RAFTNODE_PEERS="+strings.Join(peers, ","),
			tag, "--heartbeat-timeout", "500ms", "--election-timeout", "500ms", "--leader-lease-timeout", "500ms")
	}
	urls := make([]string, len(ids))
	for i := range ids {
		urls[i] = "http://" + ips[i] + ":8080" // the host reaches container IPs even on an --internal network
	}
	leader := func(timeout time.Duration, except int) int {
		deadline := time.Now().Add(timeout)
		for time.Now().Before(deadline) {
			for i, u := range urls {
				if i == except {
					continue
				}
				ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
				st, err := client.New(u, "").Status(ctx)
				cancel()
				if err == nil && st.State == "Leader" && st.ReadyForReads {
					return i
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("no leader within %v", timeout)
		return -1
	}
	l := leader(30*time.Second, -1)
	f1, f2 := (l+1)%3, (l+2)%3
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	w := client.New(urls[f1], "ctest-writer")
	for v := int64(1); v <= 20; v++ {
		if err := w.Write(ctx, "x", v); err != nil {
			t.Fatalf("write x=%d through follower %s: %v", v, ids[f1], err)
		}
	}
	if err := w.Add(ctx, "s", 7); err != nil {
		t.Fatalf("add: %v", err)
	}
	r := client.New(urls[f2], "ctest-reader")
	if v, err := r.Read(ctx, "x", client.ModeLinearizable); err != nil || v == nil || *v != 20 {
		t.Fatalf("read x through %s: %v %v, want 20", ids[f2], v, err)
	}

	lc := names[l]
	// A rule that must survive the node restart (drops an unused address).
	rule := []string{"INPUT", "-s", prefix + ".250", "-j", "DROP"}
	run(t, "docker", append([]string{"exec", lc, "iptables", "-w", "-A"}, rule...)...)
	startedAt := run(t, "docker", "inspect", "-f", "{{.State.StartedAt}}", lc)
	pid1 := run(t, "docker", "exec", lc, "raftnode-ctl", "pid")
	if pid1 == "" {
		t.Fatal("raftnode-ctl pid printed nothing for a running node")
	}
	t.Logf("leader %s (%s), raftnode pid %s: raftnode-ctl kill", ids[l], lc, pid1)
	run(t, "docker", "exec", lc, "raftnode-ctl", "kill")
	if p := run(t, "docker", "exec", lc, "raftnode-ctl", "pid"); p != "" {
		t.Fatalf("after raftnode-ctl kill, pid is %q; want nothing", p)
	}
	time.Sleep(500 * time.Millisecond)
	if p := run(t, "docker", "exec", lc, "raftnode-ctl", "pid"); p != "" {
		t.Fatalf("supervisor restarted a node marked down (pid %q)", p)
	}
	dctx, dcancel := context.WithTimeout(context.Background(), time.Second)
	if _, err := client.New(urls[l], "").Status(dctx); err == nil {
		t.Fatal("killed node still answers /status: the kill did not take effect")
	}
	dcancel()
	nl := leader(30*time.Second, l)
	t.Logf("new leader %s", ids[nl])
	w2 := client.New(urls[nl], "ctest-writer2")
	if err := w2.Write(ctx, "x", 21); err != nil {
		t.Fatalf("write while %s is down: %v", ids[l], err)
	}

	run(t, "docker", "exec", lc, "raftnode-ctl", "start")
	pid2 := run(t, "docker", "exec", lc, "raftnode-ctl", "pid")
	if pid2 == "" || pid2 == pid1 {
		t.Fatalf("after start: pid %q (before the kill %q)", pid2, pid1)
	}
	if s := run(t, "docker", "inspect", "-f", "{{.State.StartedAt}}", lc); s != startedAt {
		t.Fatalf("the container itself restarted (%s -> %s); only raftnode should have", startedAt, s)
	}
	if out, err := tryRun("docker", append([]string{"exec", lc, "iptables", "-w", "-C"}, rule...)...); err != nil {
		t.Fatalf("iptables rule lost across the node restart: %v %s", err, out)
	}
	// The restarted node has its data back (from /data) and catches up.
	restarted := client.New(urls[l], "ctest-restarted")
	deadline := time.Now().Add(30 * time.Second)
	for {
		sctx, scancel := context.WithTimeout(ctx, 2*time.Second)
		v, err := restarted.Read(sctx, "x", client.ModeStale)
		scancel()
		if err == nil && v != nil && *v == 21 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("restarted node never caught up: x=%v err=%v", v, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if v, err := restarted.Read(ctx, "x", client.ModeLinearizable); err != nil || v == nil || *v != 21 {
		t.Fatalf("linearizable read via restarted node: %v %v, want 21", v, err)
	}
	if s, err := restarted.ReadSet(ctx, "s", client.ModeLinearizable); err != nil || len(s) != 1 || s[0] != 7 {
		t.Fatalf("set via restarted node: %v %v", s, err)
	}
	if logs := run(t, "docker", "exec", lc, "sh", "-c", "grep -c '\"msg\":\"leadership\"' /data/node.log"); logs == "0" {
		t.Fatal("no leadership lines in /data/node.log")
	}
	// SIGTERM to the container stops raftnode cleanly.
	run(t, "docker", "stop", "-t", "10", lc)
	logs, _ := exec.Command("docker", "logs", lc).CombinedOutput()
	if !bytes.Contains(logs, []byte(`"msg":"shutdown complete"`)) {
		t.Fatalf("docker stop did not shut raftnode down cleanly; logs:\n%s", logs)
	}
	if code := run(t, "docker", "inspect", "-f", "{{.State.ExitCode}}", lc); code != "0" {
		t.Fatalf("container exit code %s after docker stop, want 0", code)
	}
}
