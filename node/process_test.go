package node

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/raftlab/raftlab/node/client"
)

// buildRaftnode compiles cmd/raftnode into dir and returns the binary's path.
func buildRaftnode(tb testing.TB, dir string) string {
	tb.Helper()
	bin := filepath.Join(dir, "raftnode")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/raftlab/raftlab/cmd/raftnode")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build cmd/raftnode: %v\n%s", err, out)
	}
	return bin
}

func freePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// procCluster is n raftnode processes on loopback with TCP transport and boltdb.
type procCluster struct {
	t     testing.TB
	bin   string
	dir   string
	ids   []string
	args  [][]string
	urls  []string
	mu    sync.Mutex
	cmds  []*exec.Cmd
	extra []string
}

func newProcCluster(t testing.TB, n int, extra ...string) *procCluster {
	t.Helper()
	dir := t.TempDir()
	c := &procCluster{t: t, bin: buildRaftnode(t, dir), dir: dir, extra: extra, cmds: make([]*exec.Cmd, n)}
	var peers []string
	var rafts, https []string
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("n%d", i+1)
		r, h := fmt.Sprintf("127.0.0.1:%d", freePort(t)), fmt.Sprintf("127.0.0.1:%d", freePort(t))
		c.ids = append(c.ids, id)
		rafts, https = append(rafts, r), append(https, h)
		peers = append(peers, id+"="+r+"="+h)
		c.urls = append(c.urls, "http://"+h)
	}
	for i := 0; i < n; i++ {
		args := []string{"--id", c.ids[i], "--data", filepath.Join(dir, c.ids[i]), "--raft-bind", rafts[i],
			"--http", https[i], "--peers", strings.Join(peers, ","), "--log-file", filepath.Join(dir, c.ids[i]+".log")}
		c.args = append(c.args, append(args, extra...))
		c.start(i)
	}
	t.Cleanup(func() {
		for i := range c.cmds {
			c.kill(i)
		}
		if t.Failed() {
			for _, id := range c.ids {
				b, _ := os.ReadFile(filepath.Join(dir, id+".log"))
				lines := strings.Split(strings.TrimSpace(string(b)), "\n")
				if len(lines) > 40 {
					lines = lines[len(lines)-40:]
				}
				t.Logf("--- last log lines of %s ---\n%s", id, strings.Join(lines, "\n"))
			}
		}
	})
	return c
}

func (c *procCluster) start(i int) {
	c.t.Helper()
	cmd := exec.Command(c.bin, c.args[i]...)
	// If the test binary dies (panic, timeout) the nodes die with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	// stderr goes to the log file already (--log-file); keep the test output quiet.
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("start %s: %v", c.ids[i], err)
	}
	c.mu.Lock()
	c.cmds[i] = cmd
	c.mu.Unlock()
}

// kill SIGKILLs node i (if running) and reaps it.
func (c *procCluster) kill(i int) {
	c.mu.Lock()
	cmd := c.cmds[i]
	c.cmds[i] = nil
	c.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
}

// leader polls /status until some node reports itself leader, ready for reads.
func (c *procCluster) leader(timeout time.Duration) int {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for i, u := range c.urls {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			st, err := client.New(u, "").Status(ctx)
			cancel()
			if err == nil && st.State == "Leader" && st.ReadyForReads {
				return i
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("no leader within %v", timeout)
	return -1
}

// regOp is one completed operation on a single-writer register.
type regOp struct {
	write    bool
	value    int64 // write: value; read: value read (0 = never written)
	invoke   time.Time
	complete time.Time
	acked    bool // write acknowledged
}

// checkSingleWriter checks reads of a register written by one sequential
// writer with increasing values, where only the last write may have an
// unknown outcome. A read must return a value no older than the newest write
// acknowledged before it began, no newer than the newest write begun before it
// ended, and reads ordered in real time must not go backwards.
func checkSingleWriter(ops []regOp) error {
	var writes, reads []regOp
	for _, o := range ops {
		if o.write {
			writes = append(writes, o)
		} else {
			reads = append(reads, o)
		}
	}
	for _, r := range reads {
		var lo, hi int64
		for _, w := range writes {
			if w.acked && w.complete.Before(r.invoke) && w.value > lo {
				lo = w.value
			}
			if w.invoke.Before(r.complete) && w.value > hi {
				hi = w.value
			}
		}
		if r.value < lo {
			return fmt.Errorf("stale read: got %d, but write %d was acknowledged before the read began", r.value, lo)
		}
		if r.value > hi {
			return fmt.Errorf("read from the future: got %d, newest write begun before the read ended is %d", r.value, hi)
		}
	}
	for _, a := range reads {
		for _, b := range reads {
			if a.complete.Before(b.invoke) && b.value < a.value {
				return fmt.Errorf("reads went backwards: %d then %d", a.value, b.value)
			}
		}
	}
	return nil
}

func TestCheckSingleWriterCatchesAnomalies(t *testing.T) {
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	w1 := regOp{write: true, value: 1, invoke: at(0), complete: at(10), acked: true}
	w2 := regOp{write: true, value: 2, invoke: at(20), complete: at(30), acked: true}
	ok := []regOp{w1, w2, {value: 1, invoke: at(11), complete: at(25)}, {value: 2, invoke: at(31), complete: at(40)}}
	if err := checkSingleWriter(ok); err != nil {
		t.Fatalf("valid history rejected: %v", err)
	}
	for name, h := range map[string][]regOp{
		"stale":     {w1, w2, {value: 1, invoke: at(31), complete: at(40)}},
		"future":    {w1, w2, {value: 2, invoke: at(11), complete: at(15)}},
		"backwards": {w1, w2, {value: 2, invoke: at(21), complete: at(25)}, {value: 1, invoke: at(26), complete: at(28)}},
	} {
		if err := checkSingleWriter(h); err == nil {
			t.Errorf("%s history accepted", name)
		}
	}
}

// TestProcessClusterKillLeader runs three raftnode processes (TCP, boltdb with
// fsync, small snapshot threshold), keeps writers and linearizable readers
// busy, SIGKILLs the leader and restarts it on the same data directory. No
// acknowledged write may be lost and the reads must be linearizable.
func TestProcessClusterKillLeader(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs raftnode processes; skipped with -short")
	}
	c := newProcCluster(t, 3, "--snapshot-threshold", "40", "--trailing-logs", "20", "--snapshot-interval", "200ms",
		"--heartbeat-timeout", "300ms", "--election-timeout", "300ms", "--leader-lease-timeout", "300ms", "--request-timeout", "2s")
	c.leader(15 * time.Second)

	const writers = 3
	var (
		mu   sync.Mutex
		hist = map[string][]regOp{} // key -> ops
		stop = make(chan struct{})
		wg   sync.WaitGroup
	)
	record := func(key string, o regOp) {
		mu.Lock()
		hist[key] = append(hist[key], o)
		mu.Unlock()
	}
	clients := func(name string) []*client.Client {
		var cs []*client.Client
		for i, u := range c.urls {
			cl := client.New(u, fmt.Sprintf("%s-%d", name, i))
			cl.Backoff = 20 * time.Millisecond
			cs = append(cs, cl)
		}
		return cs
	}
	var keysMu sync.Mutex
	var keys []string
	for w := 0; w < writers; w++ {
		keys = append(keys, fmt.Sprintf("w%d-g0", w))
	}
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			cs := clients(fmt.Sprintf("w%d", w))
			gen := 0
			key := fmt.Sprintf("w%d-g%d", w, gen) // already in keys
			node := w % len(cs)
			for v := int64(1); ; v++ {
				select {
				case <-stop:
					return
				default:
				}
				first := time.Now()
				for {
					ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
					err := cs[node].Write(ctx, key, v)
					cancel()
					if err == nil {
						record(key, regOp{write: true, value: v, invoke: first, complete: time.Now(), acked: true})
						break
					}
					node = (node + 1) % len(cs)
					if client.IsDefinite(err) {
						continue // certainly not applied: try the same value elsewhere
					}
					// Unknown outcome: it is this key's last write; move to a fresh key.
					record(key, regOp{write: true, value: v, invoke: first, complete: time.Now()})
					gen++
					key = fmt.Sprintf("w%d-g%d", w, gen)
					keysMu.Lock()
					keys = append(keys, key)
					keysMu.Unlock()
					v = 0
					break
				}
			}
		}(w)
	}
	for r := 0; r < 2; r++ {
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			cs := clients(fmt.Sprintf("r%d", r))
			rng := rand.New(rand.NewPCG(uint64(r), 9))
			for {
				select {
				case <-stop:
					return
				default:
				}
				keysMu.Lock()
				key := keys[rng.IntN(len(keys))]
				keysMu.Unlock()
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				inv := time.Now()
				v, err := cs[rng.IntN(len(cs))].Read(ctx, key, client.ModeLinearizable)
				cancel()
				if err != nil {
					continue
				}
				var val int64
				if v != nil {
					val = *v
				}
				record(key, regOp{value: val, invoke: inv, complete: time.Now()})
			}
		}(r)
	}

	time.Sleep(1500 * time.Millisecond)
	old := c.leader(5 * time.Second)
	t.Logf("SIGKILL leader %s", c.ids[old])
	c.kill(old)
	newL := c.leader(10 * time.Second)
	if newL == old {
		t.Fatalf("killed node %s still reported as leader", c.ids[old])
	}
	time.Sleep(1500 * time.Millisecond)
	t.Logf("restart %s (new leader %s)", c.ids[old], c.ids[newL])
	c.start(old)
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()

	// Every node, including the restarted one, catches up to the same state.
	deadline := time.Now().Add(15 * time.Second)
	for {
		var sts []client.Status
		for _, u := range c.urls {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			st, err := client.New(u, "").Status(ctx)
			cancel()
			if err == nil {
				sts = append(sts, st)
			}
		}
		same := len(sts) == len(c.urls)
		for _, st := range sts {
			same = same && st.FSMIndex == sts[0].FSMIndex && st.FSMDigest == sts[0].FSMDigest
		}
		if same {
			t.Logf("all nodes at fsm_index %d digest %s; restarted node snapshot_idx %d", sts[0].FSMIndex, sts[0].FSMDigest, sts[old].LastSnapshot)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nodes did not converge: %+v", sts)
		}
		time.Sleep(100 * time.Millisecond)
	}

	mu.Lock()
	defer mu.Unlock()
	var acked, reads int
	for _, key := range keys {
		ops := hist[key]
		var lastAcked int64
		for _, o := range ops {
			if o.write && o.acked {
				acked++
				lastAcked = max(lastAcked, o.value)
			}
			if !o.write {
				reads++
			}
		}
		if err := checkSingleWriter(ops); err != nil {
			t.Errorf("key %s: %v", key, err)
		}
		for i, u := range c.urls {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			v, err := client.New(u, "final").Read(ctx, key, client.ModeLinearizable)
			cancel()
			if err != nil {
				t.Fatalf("final read of %s via %s: %v", key, c.ids[i], err)
			}
			var got int64
			if v != nil {
				got = *v
			}
			if got < lastAcked {
				t.Errorf("key %s via %s: final value %d, but %d was acknowledged: acknowledged write lost", key, c.ids[i], got, lastAcked)
			}
		}
	}
	t.Logf("%d keys, %d acknowledged writes, %d linearizable reads checked", len(keys), acked, reads)
	if acked < 20 || reads < 20 {
		t.Fatalf("too little traffic to mean anything: %d acked writes, %d reads", acked, reads)
	}
}
