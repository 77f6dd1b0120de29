package nemesis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// fakeCluster is an in-memory Cluster for the nemesis's own tests. It
// interprets the iptables commands the nemesis sends (so tests can ask what
// each node drops), models kill, pause and clocks, and logs every call. The
// proof on real containers lives in lab/.
type fakeCluster struct {
	nodes []Node

	mu     sync.Mutex
	leader string
	calls  []string // "kill n3", "exec n1 iptables -w -F RAFTLAB", ...
	net    map[string]*fakeNet
	killed map[string]bool
	paused map[string]bool
	offset map[string]time.Duration
	rate   map[string]float64
	fail   map[string]error // "kill n3" -> error returned by that call
	// wipeOnStart models a restart that loses the network namespace (a
	// container restart): our chain and jump are gone after Start.
	wipeOnStart bool
}

// fakeNet is one node's filter table: INPUT's rules and our chain.
type fakeNet struct {
	input []string // rules of INPUT, e.g. "-j RAFTLAB", "-j DOCKER-OWN"
	chain []string // nil: no chain; else its rules, e.g. "-s 10.77.0.13 -j DROP"
	has   bool     // our chain exists
}

func newFake(k int) *fakeCluster {
	f := &fakeCluster{nodes: testNodes(k), net: map[string]*fakeNet{}, killed: map[string]bool{},
		paused: map[string]bool{}, offset: map[string]time.Duration{}, rate: map[string]float64{}, fail: map[string]error{}}
	for _, n := range f.nodes {
		// A rule that is not ours: heal must leave it alone.
		f.net[n.ID] = &fakeNet{input: []string{"-j DOCKER-OWN"}}
	}
	return f
}

func (f *fakeCluster) Nodes() []Node { return slices.Clone(f.nodes) }

// call logs a call and returns ctx's error or the error injected for the
// call, if any: like a real one, a call with a dead context fails.
func (f *fakeCluster) call(ctx context.Context, s string) error {
	f.calls = append(f.calls, s)
	if err := ctx.Err(); err != nil {
		return err
	}
	return f.fail[s]
}

func (f *fakeCluster) Exec(ctx context.Context, node string, cmd ...string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call(ctx, "exec "+node+" "+strings.Join(cmd, " ")); err != nil {
		return "", err
	}
	if f.paused[node] {
		return "", fmt.Errorf("container %s is paused", node)
	}
	nt := f.net[node]
	if len(cmd) < 3 || cmd[0] != "iptables" || cmd[1] != "-w" {
		return "", fmt.Errorf("unexpected command %q", cmd)
	}
	args := strings.Join(cmd[2:], " ")
	switch {
	case args == "-N "+Chain:
		if nt.has {
			return "", errors.New("iptables: Chain already exists.")
		}
		nt.has = true
	case args == "-C INPUT -j "+Chain:
		if !nt.has {
			return "", errors.New("iptables v1.8.9 (nf_tables): Couldn't load target `RAFTLAB':No such file or directory")
		}
		if !slices.Contains(nt.input, "-j "+Chain) {
			return "", errors.New("iptables: Bad rule (does a matching rule exist in that chain?).")
		}
	case args == "-I INPUT 1 -j "+Chain:
		if !nt.has {
			return "", errors.New("iptables: No chain/target/match by that name.")
		}
		nt.input = append([]string{"-j " + Chain}, nt.input...)
	case args == "-S "+Chain:
		if !nt.has {
			return "", errors.New("iptables: No chain/target/match by that name.")
		}
		out := "-N " + Chain + "\n"
		for _, ip := range nt.chain {
			out += "-A " + Chain + " -s " + ip + "/32 -j DROP\n"
		}
		return out, nil
	case args == "-F "+Chain:
		if !nt.has {
			return "", errors.New("iptables: No chain/target/match by that name.")
		}
		nt.chain = nil
	case strings.HasPrefix(args, "-A "+Chain+" -s ") && strings.HasSuffix(args, " -j DROP"):
		if !nt.has {
			return "", errors.New("iptables: No chain/target/match by that name.")
		}
		for _, ip := range strings.Split(strings.Fields(args)[3], ",") {
			nt.chain = append(nt.chain, ip)
		}
	default:
		return "", fmt.Errorf("unexpected iptables arguments %q", args)
	}
	return "", nil
}

// drops lists, per node, the node ids whose traffic it drops (through a jump
// from INPUT to our chain), and fails if a node's INPUT lost a rule not ours
// or jumps to our chain twice.
func (f *fakeCluster) drops() (map[string][]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	byIP := map[string]string{}
	for _, n := range f.nodes {
		byIP[n.IP.String()] = n.ID
	}
	out := map[string][]string{}
	for _, n := range f.nodes {
		nt := f.net[n.ID]
		if !slices.Contains(nt.input, "-j DOCKER-OWN") {
			return nil, fmt.Errorf("%s: a rule that is not ours was removed: INPUT %v", n.ID, nt.input)
		}
		jumps := 0
		for _, r := range nt.input {
			if r == "-j "+Chain {
				jumps++
			}
		}
		if jumps > 1 {
			return nil, fmt.Errorf("%s: INPUT jumps to %s %d times", n.ID, Chain, jumps)
		}
		if jumps == 0 {
			continue
		}
		for _, ip := range nt.chain {
			out[n.ID] = append(out[n.ID], byIP[ip])
		}
		slices.SortFunc(out[n.ID], compareNodeIDs)
	}
	return out, nil
}

func (f *fakeCluster) Kill(ctx context.Context, node string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call(ctx, "kill "+node); err != nil {
		return err
	}
	if f.paused[node] {
		return fmt.Errorf("container %s is paused", node)
	}
	f.killed[node] = true
	return nil
}

func (f *fakeCluster) Start(ctx context.Context, node string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call(ctx, "start "+node); err != nil {
		return err
	}
	if !f.killed[node] {
		return fmt.Errorf("%s is already running", node)
	}
	delete(f.killed, node)
	delete(f.offset, node)
	delete(f.rate, node)
	if f.wipeOnStart {
		f.net[node] = &fakeNet{input: []string{"-j DOCKER-OWN"}}
	}
	return nil
}

func (f *fakeCluster) Pause(ctx context.Context, node string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call(ctx, "pause "+node); err != nil {
		return err
	}
	if f.paused[node] {
		return fmt.Errorf("container %s is already paused", node)
	}
	f.paused[node] = true
	return nil
}

func (f *fakeCluster) Resume(ctx context.Context, node string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call(ctx, "resume "+node); err != nil {
		return err
	}
	if !f.paused[node] {
		return fmt.Errorf("container %s is not paused", node)
	}
	delete(f.paused, node)
	return nil
}

func (f *fakeCluster) Leader(ctx context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.leader, f.call(ctx, "leader")
}

func (f *fakeCluster) Clock(ctx context.Context, node, action string, offset time.Duration, rate float64) error {
	f.mu.Lock()
	if err := f.call(ctx, fmt.Sprintf("clock %s %s", node, action)); err != nil {
		f.mu.Unlock()
		return err
	}
	if f.paused[node] { // a frozen node does not answer
		f.mu.Unlock()
		<-ctx.Done()
		return ctx.Err()
	}
	defer f.mu.Unlock()
	if f.killed[node] {
		return fmt.Errorf("dial %s: connection refused", node)
	}
	switch action {
	case ClockJump:
		f.offset[node] += offset
	case ClockOffset:
		f.offset[node] = offset
	case ClockRate:
		f.rate[node] = rate
	case ClockReset:
		delete(f.offset, node)
		delete(f.rate, node)
	default:
		return fmt.Errorf("unknown clock action %q", action)
	}
	return nil
}

// healthy says what is still faulty in the fake ("" when nothing).
func (f *fakeCluster) faulty() string {
	d, err := f.drops()
	if err != nil {
		return err.Error()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var bad []string
	for n, ds := range d {
		if len(ds) > 0 {
			bad = append(bad, fmt.Sprintf("%s drops %v", n, ds))
		}
	}
	for n := range f.killed {
		bad = append(bad, n+" killed")
	}
	for n := range f.paused {
		bad = append(bad, n+" paused")
	}
	for n, o := range f.offset {
		if o != 0 {
			bad = append(bad, fmt.Sprintf("%s clock off by %v", n, o))
		}
	}
	for n := range f.rate {
		bad = append(bad, n+" clock rate skewed")
	}
	slices.Sort(bad)
	return strings.Join(bad, "; ")
}

// callLog returns the calls so far.
func (f *fakeCluster) callLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}
