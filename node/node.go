// Package node is raftlab's system under test: a replicated register service on
// hashicorp/raft with a deterministic state machine (registers and sets),
// exactly-once client sessions, durable storage (raft-boltdb, file snapshots),
// three read modes, an injectable wall clock and an HTTP/JSON API.
//
// Outcome mapping (what a client may conclude from an answer):
//
//	200                      done; for CAS {"ok": false} means the comparison failed (an ok op)
//	400/404/405/409/413      bad request, rejected before Raft: certainly not applied ("fail")
//	503 outcome "fail"       certainly not applied: no leader, not the leader and forwarding failed
//	                         before the request was sent, ErrEnqueueTimeout, ErrNotLeader,
//	                         ErrLeadershipTransferInProgress, leader not ready for reads
//	504 outcome "unknown"    the handler's deadline fired while waiting for commit, or a forwarded
//	                         request failed after it was sent
//	500 outcome "unknown"    ErrLeadershipLost ("leadership lost while committing log"),
//	                         ErrRaftShutdown while waiting, any other Raft error
package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// Read modes.
const (
	ReadLinearizable = "linearizable" // post-election Barrier gate + VerifyLeader per read, on the leader
	ReadLease        = "lease"        // leader answers locally while its clock-measured lease lasts
	ReadStale        = "stale"        // any node answers from its local state
)

// ValidReadMode reports whether m names a read mode.
func ValidReadMode(m string) bool {
	return m == ReadLinearizable || m == ReadLease || m == ReadStale
}

// Peer is one member of the initial cluster.
type Peer struct {
	ID       string // Raft server ID, e.g. "n1"
	RaftAddr string // host:port of the Raft transport, e.g. "10.77.0.11:7000"
	HTTPAddr string // host:port of the HTTP API, e.g. "10.77.0.11:8080"
}

// ParsePeers parses "n1=host:7000=host:8080,n2=..." into peers.
func ParsePeers(s string) ([]Peer, error) {
	var out []Peer
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		f := strings.Split(part, "=")
		if len(f) != 3 || f[0] == "" || f[1] == "" || f[2] == "" {
			return nil, fmt.Errorf("peer %q: want id=raft_host:port=http_host:port", part)
		}
		for _, a := range f[1:] {
			if _, _, err := net.SplitHostPort(a); err != nil {
				return nil, fmt.Errorf("peer %q: address %q: %v", part, a, err)
			}
		}
		if seen[f[0]] {
			return nil, fmt.Errorf("peer id %q listed twice", f[0])
		}
		seen[f[0]] = true
		out = append(out, Peer{ID: f[0], RaftAddr: f[1], HTTPAddr: f[2]})
	}
	return out, nil
}

// Config configures a Node. ID and either DataDir or all of LogStore,
// StableStore, SnapshotStore and Transport are required.
type Config struct {
	ID            string
	DataDir       string // raft.db (log + stable store) and snapshots/ live here
	RaftBind      string // e.g. "0.0.0.0:7000"
	RaftAdvertise string // e.g. "10.77.0.11:7000"; default: the bind address, or this host's IP if bound to 0.0.0.0
	Peers         []Peer // the full initial voter list (same on every node); used to bootstrap once
	ReadMode      string // default read mode; "" = linearizable
	Cluster       string // cluster name; requests naming another cluster are refused ("" = accept all)

	SnapshotThreshold  uint64        // 0 = raft default (8192)
	SnapshotInterval   time.Duration // 0 = raft default (2m)
	TrailingLogs       uint64        // 0 = raft default (10240)
	HeartbeatTimeout   time.Duration // 0 = raft default (1s)
	ElectionTimeout    time.Duration // 0 = raft default (1s)
	LeaderLeaseTimeout time.Duration // 0 = raft default (500ms)
	ReadLease          time.Duration // lease-mode read lease; 0 = LeaderLeaseTimeout
	RequestTimeout     time.Duration // per-request deadline in handlers; 0 = 5s
	NoSync             bool          // raft-boltdb NoSync (unsafe; for experiments only)

	Logger *slog.Logger // nil = discard
	Clock  *Clock       // nil = NewClock()

	// In-process overrides (tests): when set, DataDir is not used for them.
	Transport     raft.Transport
	LogStore      raft.LogStore
	StableStore   raft.StableStore
	SnapshotStore raft.SnapshotStore
}

// Node is one running replica.
type Node struct {
	cfg    Config
	log    *slog.Logger
	clock  *Clock
	fsm    *FSM
	raft   *raft.Raft
	trans  raft.Transport
	closer []io.Closer
	peers  map[string]Peer

	readyTerm  atomic.Uint64 // term whose post-election Barrier succeeded (0 = not ready)
	leaseMu    sync.Mutex
	leaseTerm  uint64
	leaseUntil time.Time // virtual (injectable clock) time
	readyMu    sync.Mutex
	readyCh    chan struct{} // closed when readyTerm is set for the current leadership

	notifyCh chan bool
	obsCh    chan raft.Observation
	observer *raft.Observer
	stop     chan struct{}
	wg       sync.WaitGroup
	stopOnce sync.Once
}

// New opens storage, starts Raft and bootstraps the cluster if this node has no
// existing state and is in cfg.Peers. It returns once Raft is running.
func New(cfg Config) (*Node, error) {
	if cfg.ID == "" {
		return nil, errors.New("node: Config.ID is required")
	}
	if cfg.ReadMode == "" {
		cfg.ReadMode = ReadLinearizable
	}
	if !ValidReadMode(cfg.ReadMode) {
		return nil, fmt.Errorf("node: unknown read mode %q (want linearizable, lease or stale)", cfg.ReadMode)
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 5 * time.Second
	}
	lg := cfg.Logger
	if lg == nil {
		lg = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	n := &Node{cfg: cfg, log: lg, clock: cfg.Clock, fsm: NewFSM(), peers: map[string]Peer{},
		notifyCh: make(chan bool, 16), obsCh: make(chan raft.Observation, 64), stop: make(chan struct{}),
		readyCh: make(chan struct{})}
	if n.clock == nil {
		n.clock = NewClock()
	}
	for _, p := range cfg.Peers {
		n.peers[p.ID] = p
	}

	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.ID)
	rc.NotifyCh = n.notifyCh
	rc.Logger = hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Info, Output: slogWriter{lg}, JSONFormat: false, DisableTime: true})
	if cfg.SnapshotThreshold > 0 {
		rc.SnapshotThreshold = cfg.SnapshotThreshold
	}
	if cfg.SnapshotInterval > 0 {
		rc.SnapshotInterval = cfg.SnapshotInterval
	}
	if cfg.TrailingLogs > 0 {
		rc.TrailingLogs = cfg.TrailingLogs
	}
	if cfg.HeartbeatTimeout > 0 {
		rc.HeartbeatTimeout = cfg.HeartbeatTimeout
	}
	if cfg.ElectionTimeout > 0 {
		rc.ElectionTimeout = cfg.ElectionTimeout
	}
	if cfg.LeaderLeaseTimeout > 0 {
		rc.LeaderLeaseTimeout = cfg.LeaderLeaseTimeout
	}
	if n.cfg.ReadLease <= 0 {
		n.cfg.ReadLease = rc.LeaderLeaseTimeout
	}
	if err := raft.ValidateConfig(rc); err != nil {
		return nil, fmt.Errorf("node: raft config: %w", err)
	}

	logs, stable, snaps, trans := cfg.LogStore, cfg.StableStore, cfg.SnapshotStore, cfg.Transport
	fail := func(err error) (*Node, error) {
		for _, c := range n.closer {
			_ = c.Close()
		}
		return nil, err
	}
	if logs == nil || stable == nil || snaps == nil {
		if cfg.DataDir == "" {
			return nil, errors.New("node: Config.DataDir is required (or all of LogStore, StableStore, SnapshotStore)")
		}
		if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
			return nil, fmt.Errorf("node: data dir: %w", err)
		}
		bolt, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(cfg.DataDir, "raft.db"), NoSync: cfg.NoSync})
		if err != nil {
			return nil, fmt.Errorf("node: open %s: %w", filepath.Join(cfg.DataDir, "raft.db"), err)
		}
		n.closer = append(n.closer, bolt)
		logs, stable = bolt, bolt
		fss, err := raft.NewFileSnapshotStore(filepath.Join(cfg.DataDir, "snapshots"), 2, slogWriter{lg})
		if err != nil {
			return fail(fmt.Errorf("node: snapshot store: %w", err))
		}
		snaps = fss
	}
	if trans == nil {
		if cfg.RaftBind == "" {
			return fail(errors.New("node: Config.RaftBind is required (or Transport)"))
		}
		adv, err := advertiseAddr(cfg.RaftBind, cfg.RaftAdvertise)
		if err != nil {
			return fail(fmt.Errorf("node: %w", err))
		}
		tt, err := raft.NewTCPTransport(cfg.RaftBind, adv, 3, 10*time.Second, slogWriter{lg})
		if err != nil {
			return fail(fmt.Errorf("node: raft transport on %s (advertise %s): %w", cfg.RaftBind, adv, err))
		}
		n.closer = append(n.closer, tt)
		trans = tt
	}
	n.trans = trans

	has, err := raft.HasExistingState(logs, stable, snaps)
	if err != nil {
		return fail(fmt.Errorf("node: inspect existing state: %w", err))
	}
	r, err := raft.NewRaft(rc, n.fsm, logs, stable, snaps, trans)
	if err != nil {
		return fail(fmt.Errorf("node: start raft: %w", err))
	}
	n.raft = r
	if !has && len(cfg.Peers) > 0 {
		if _, self := n.peers[cfg.ID]; self {
			var conf raft.Configuration
			for _, p := range cfg.Peers {
				conf.Servers = append(conf.Servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(p.ID), Address: raft.ServerAddress(p.RaftAddr)})
			}
			if err := r.BootstrapCluster(conf).Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
				_ = r.Shutdown().Error()
				return fail(fmt.Errorf("node: bootstrap: %w", err))
			}
			lg.Info("bootstrapped cluster", "peers", len(cfg.Peers))
		} else {
			lg.Info("not in the peer list: waiting to be added as a member", "peers", len(cfg.Peers))
		}
	} else if has {
		lg.Info("existing state found: not bootstrapping", "last_index", r.LastIndex())
	}
	n.observer = raft.NewObserver(n.obsCh, false, func(o *raft.Observation) bool {
		switch o.Data.(type) {
		case raft.LeaderObservation, raft.RaftState:
			return true
		}
		return false
	})
	r.RegisterObserver(n.observer)
	n.wg.Add(3)
	go n.watchLeadership()
	go n.watchObservations()
	go n.renewLease()
	lg.Info("node started", "raft_addr", string(trans.LocalAddr()), "read_mode", cfg.ReadMode,
		"snapshot_threshold", rc.SnapshotThreshold, "trailing_logs", rc.TrailingLogs, "read_lease", n.cfg.ReadLease.String())
	return n, nil
}

// advertiseAddr picks the address other nodes dial: explicit advertise, else
// the bind address if it names an IP, else this host's first non-loopback IPv4.
func advertiseAddr(bind, advertise string) (*net.TCPAddr, error) {
	if advertise != "" {
		a, err := net.ResolveTCPAddr("tcp", advertise)
		if err != nil || a.IP == nil || a.IP.IsUnspecified() {
			return nil, fmt.Errorf("raft advertise address %q must be a concrete ip:port (err %v)", advertise, err)
		}
		return a, nil
	}
	b, err := net.ResolveTCPAddr("tcp", bind)
	if err != nil {
		return nil, fmt.Errorf("raft bind address %q: %w", bind, err)
	}
	if b.IP != nil && !b.IP.IsUnspecified() {
		return b, nil
	}
	host, _ := os.Hostname()
	if ips, err := net.LookupIP(host); err == nil {
		for _, ip := range ips {
			if ip4 := ip.To4(); ip4 != nil && !ip4.IsLoopback() {
				return &net.TCPAddr{IP: ip4, Port: b.Port}, nil
			}
		}
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && !ipn.IP.IsLoopback() {
			return &net.TCPAddr{IP: ipn.IP.To4(), Port: b.Port}, nil
		}
	}
	return nil, fmt.Errorf("raft bound to %s but no advertise address given and no non-loopback IPv4 found; set --raft-advertise", bind)
}

// ID returns the node's ID.
func (n *Node) ID() string { return n.cfg.ID }

// Raft exposes the underlying raft instance (for tests and diagnostics).
func (n *Node) Raft() *raft.Raft { return n.raft }

// FSM exposes the state machine (for tests and diagnostics).
func (n *Node) FSM() *FSM { return n.fsm }

// Clock returns the node's injectable clock.
func (n *Node) Clock() *Clock { return n.clock }

// ReadMode returns the node's default read mode.
func (n *Node) ReadMode() string { return n.cfg.ReadMode }

// Shutdown stops Raft and closes storage. It is safe to call more than once.
func (n *Node) Shutdown() error {
	var err error
	n.stopOnce.Do(func() {
		close(n.stop)
		err = n.raft.Shutdown().Error()
		n.raft.DeregisterObserver(n.observer)
		n.wg.Wait()
		for _, c := range n.closer {
			if cerr := c.Close(); cerr != nil && err == nil {
				err = cerr
			}
		}
		n.log.Info("raft stopped")
	})
	return err
}

// watchLeadership runs the post-election Barrier gate: after every leadership
// gain, linearizable and lease reads are refused until a Barrier commits in the
// new term (so the FSM holds every entry committed by earlier leaders; Consul #2644).
func (n *Node) watchLeadership() {
	defer n.wg.Done()
	var cancel chan struct{}
	for {
		select {
		case <-n.stop:
			if cancel != nil {
				close(cancel)
			}
			return
		case leader := <-n.notifyCh:
			if cancel != nil {
				close(cancel)
				cancel = nil
			}
			n.readyTerm.Store(0)
			n.readyMu.Lock()
			select {
			case <-n.readyCh:
				n.readyCh = make(chan struct{})
			default:
			}
			n.readyMu.Unlock()
			if leader {
				cancel = make(chan struct{})
				go n.gate(cancel)
			}
		}
	}
}

// gate retries a Barrier until it succeeds in an unchanged term, then marks the
// node ready for consistent reads in that term.
func (n *Node) gate(cancel chan struct{}) {
	for {
		select {
		case <-cancel:
			return
		default:
		}
		if n.raft.State() != raft.Leader {
			return
		}
		term := n.raft.CurrentTerm()
		start := time.Now()
		err := n.raft.Barrier(n.cfg.RequestTimeout).Error()
		if err == nil && n.raft.CurrentTerm() == term && n.raft.State() == raft.Leader {
			select {
			case <-cancel:
				return
			default:
			}
			n.readyTerm.Store(term)
			n.readyMu.Lock()
			select {
			case <-n.readyCh:
			default:
				close(n.readyCh)
			}
			n.readyMu.Unlock()
			n.log.Info("leader ready for consistent reads", "term", term, "barrier_ms", time.Since(start).Milliseconds(),
				"fsm_index", n.fsm.AppliedIndex())
			return
		}
		n.log.Warn("post-election barrier failed; retrying", "term", term, "err", fmt.Sprint(err))
		select {
		case <-cancel:
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// watchObservations logs every leadership change as msg "leadership".
func (n *Node) watchObservations() {
	defer n.wg.Done()
	for {
		select {
		case <-n.stop:
			return
		case o := <-n.obsCh:
			switch d := o.Data.(type) {
			case raft.RaftState:
				n.log.Info("leadership", "state", d.String(), "term", n.raft.CurrentTerm())
			case raft.LeaderObservation:
				n.log.Info("leadership", "event", "leader-changed", "leader_id", string(d.LeaderID),
					"leader_addr", string(d.LeaderAddr), "term", n.raft.CurrentTerm(), "state", n.raft.State().String())
			}
		}
	}
}

// renewLease keeps the lease-mode read lease fresh while this node leads: every
// ReadLease/3 it runs VerifyLeader and, on success, extends the lease to (clock
// time when the check started) + ReadLease. The lease is measured on the
// injectable clock, so a slowed or stepped-back clock stretches it: knowingly unsafe.
func (n *Node) renewLease() {
	defer n.wg.Done()
	period := n.cfg.ReadLease / 3
	if period < time.Millisecond {
		period = time.Millisecond
	}
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
		}
		if n.raft.State() != raft.Leader {
			continue
		}
		term := n.readyTerm.Load()
		if term == 0 || term != n.raft.CurrentTerm() {
			continue
		}
		start := n.clock.Now()
		if err := n.verifyLeader(context.Background(), n.cfg.ReadLease); err != nil {
			continue
		}
		n.leaseMu.Lock()
		if n.raft.CurrentTerm() == term {
			until := start.Add(n.cfg.ReadLease)
			// A lease only grows within a term, as leases do: a renewal never
			// takes back time already granted.
			if n.leaseTerm != term || until.After(n.leaseUntil) {
				n.leaseTerm, n.leaseUntil = term, until
			}
		}
		n.leaseMu.Unlock()
	}
}

// leaseValid reports whether this node holds an unexpired lease for its
// current term, by its injectable clock. Like a real lease it is trusted
// without asking Raft whether this node still leads: that is what makes lease
// reads fast, and it is safe only while ReadLease is shorter than the
// election timeout and every clock runs at true speed. A slowed or
// stepped-back clock on a leader that is cut off lets it serve stale reads
// while a new leader takes writes: knowingly unsafe, as the mode is meant to be.
func (n *Node) leaseValid() bool {
	term := n.raft.CurrentTerm()
	n.leaseMu.Lock()
	defer n.leaseMu.Unlock()
	// A lease is only granted once the term's post-election barrier passed
	// (renewLease checks readyTerm), so it needs no readiness check here.
	return n.leaseTerm == term && n.clock.Now().Before(n.leaseUntil)
}

// verifyLeader runs VerifyLeader, bounded by ctx and max.
func (n *Node) verifyLeader(ctx context.Context, max time.Duration) error {
	f := n.raft.VerifyLeader()
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return errors.New("verify leader timed out")
	}
}

// Outcome classes of a failed operation.
const (
	outcomeFail    = "fail"
	outcomeUnknown = "unknown"
)

// OpError is a failed node operation with its HTTP status and outcome.
type OpError struct {
	Status  int
	Outcome string // fail or unknown
	Msg     string
	Err     error
}

func (e *OpError) Error() string { return e.Msg }
func (e *OpError) Unwrap() error { return e.Err }

func failErr(status int, msg string, err error) *OpError {
	return &OpError{Status: status, Outcome: outcomeFail, Msg: msg, Err: err}
}

func unknownErr(status int, msg string, err error) *OpError {
	return &OpError{Status: status, Outcome: outcomeUnknown, Msg: msg, Err: err}
}

// ErrNotLeaderHere is returned (wrapped in an *OpError with Status 421) by the
// leader-only local paths when this node is not the leader; the HTTP layer
// then forwards to the leader.
var ErrNotLeaderHere = errors.New("this node is not the leader")

// ClassifyApplyError maps an error from an Apply future to an *OpError
// following REFERENCE 1.5.
func ClassifyApplyError(err error) *OpError {
	switch {
	case errors.Is(err, raft.ErrEnqueueTimeout), errors.Is(err, raft.ErrNotLeader),
		errors.Is(err, raft.ErrLeadershipTransferInProgress):
		return failErr(503, "not applied: "+err.Error(), err)
	case errors.Is(err, raft.ErrLeadershipLost):
		return unknownErr(500, "outcome unknown: "+err.Error(), err)
	case errors.Is(err, raft.ErrRaftShutdown):
		return unknownErr(500, "outcome unknown: node shutting down: "+err.Error(), err)
	default:
		return unknownErr(500, "outcome unknown: "+err.Error(), err)
	}
}

// Apply submits a command on this node, which must be the leader, and waits
// for it to be committed and applied, or for ctx to end.
func (n *Node) Apply(ctx context.Context, c Command) (Result, error) {
	if n.raft.State() != raft.Leader {
		return Result{}, &OpError{Status: 421, Outcome: outcomeFail, Msg: ErrNotLeaderHere.Error(), Err: ErrNotLeaderHere}
	}
	data, err := EncodeCommand(c)
	if err != nil {
		return Result{}, failErr(400, "encode command: "+err.Error(), err)
	}
	enqueue := time.Second
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < enqueue {
		enqueue = max(time.Until(dl), time.Millisecond)
	}
	f := n.raft.Apply(data, enqueue)
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		if err != nil {
			return Result{}, ClassifyApplyError(err)
		}
	case <-ctx.Done():
		return Result{}, unknownErr(504, "outcome unknown: timed out waiting for commit", ctx.Err())
	}
	res, ok := f.Response().(Result)
	if !ok {
		return Result{}, unknownErr(500, fmt.Sprintf("unexpected state machine response %T", f.Response()), nil)
	}
	if res.Err != "" {
		// Rejected by the state machine: nothing changed.
		return res, failErr(409, res.Err, nil)
	}
	return res, nil
}

// ReadLocal serves a read in the given mode on this node. For linearizable
// and lease modes it requires leadership (421 ErrNotLeaderHere otherwise).
// read is called once the mode's safety condition holds.
func (n *Node) ReadLocal(ctx context.Context, mode string, read func()) error {
	switch mode {
	case ReadStale:
		read()
		return nil
	case ReadLease:
		if n.leaseValid() {
			read()
			return nil
		}
		// Lease expired or not held: fall back to a linearizable read.
		return n.readLinearizable(ctx, read)
	case ReadLinearizable:
		return n.readLinearizable(ctx, read)
	default:
		return failErr(400, fmt.Sprintf("unknown read mode %q (want linearizable, lease or stale)", mode), nil)
	}
}

// readLinearizable: wait for the post-election barrier of this term, confirm
// leadership with a quorum round (VerifyLeader), confirm the term did not
// change, then read.
func (n *Node) readLinearizable(ctx context.Context, read func()) error {
	if n.raft.State() != raft.Leader {
		return &OpError{Status: 421, Outcome: outcomeFail, Msg: ErrNotLeaderHere.Error(), Err: ErrNotLeaderHere}
	}
	term := n.raft.CurrentTerm()
	if n.readyTerm.Load() != term {
		n.readyMu.Lock()
		ch := n.readyCh
		n.readyMu.Unlock()
		wait := time.NewTimer(2 * time.Second)
		defer wait.Stop()
		select {
		case <-ch:
		case <-ctx.Done():
			return failErr(503, "leader not ready for consistent reads (post-election barrier pending)", ctx.Err())
		case <-wait.C:
			return failErr(503, "leader not ready for consistent reads (post-election barrier pending)", nil)
		}
		term = n.raft.CurrentTerm()
		if n.readyTerm.Load() != term {
			return failErr(503, "leadership changed while waiting for the read barrier", nil)
		}
	}
	if err := n.verifyLeader(ctx, n.cfg.RequestTimeout); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
			return failErr(503, "read refused: leadership not confirmed: "+err.Error(), err)
		}
		return failErr(503, "read refused: leadership not confirmed: "+err.Error(), err)
	}
	if n.raft.CurrentTerm() != term || n.readyTerm.Load() != term {
		return failErr(503, "read refused: term changed during leadership check", nil)
	}
	read()
	return nil
}

// LeaderHTTP returns the leader's ID and HTTP address as this node knows them.
func (n *Node) LeaderHTTP() (id, httpAddr string) {
	_, lid := n.raft.LeaderWithID()
	id = string(lid)
	if id == "" {
		return "", ""
	}
	return id, n.httpAddrOf(id)
}

func (n *Node) httpAddrOf(id string) string {
	if a, ok := n.fsm.MemberHTTP(id); ok {
		return a
	}
	if p, ok := n.peers[id]; ok {
		return p.HTTPAddr
	}
	return ""
}

// slogWriter adapts raft's and hclog's text output to slog lines.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	s := strings.TrimSpace(string(p))
	if s == "" {
		return len(p), nil
	}
	lvl := slog.LevelInfo
	switch {
	case strings.Contains(s, "[ERROR]"):
		lvl = slog.LevelError
	case strings.Contains(s, "[WARN]"):
		lvl = slog.LevelWarn
	case strings.Contains(s, "[DEBUG]"), strings.Contains(s, "[TRACE]"):
		lvl = slog.LevelDebug
	}
	for _, tag := range []string{"[ERROR] ", "[WARN]  ", "[WARN] ", "[INFO]  ", "[INFO] ", "[DEBUG] ", "[TRACE] "} {
		s = strings.Replace(s, tag, "", 1)
	}
	w.l.Log(context.Background(), lvl, s, "component", "raft")
	return len(p), nil
}
