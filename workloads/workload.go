// Package workloads is what the lab's clients do: Jepsen-style workers that
// issue reads, writes, compare-and-sets and set adds against the cluster and
// record every invocation and completion as history ops.
//
// Three workloads are chosen by name (see [Names]):
//
//   - "register": one key, read/write/cas over the values 0..4 (Jepsen's
//     cas-register).
//   - "registers": many independent keys, the default. Workers are grouped;
//     each group works on one key for a bounded number of ops and then moves
//     on to a fresh key, so every per-key history stays small enough to check.
//     Written values are unique per key, so the checker can prune crashed ops.
//   - "set": unique adds to one set key, then a final read of the set on
//     every node.
//
// Outcomes follow Jepsen: ok (took effect), fail (certainly did not) and info
// (unknown; the process is retired and the worker continues under a new
// process number and client id). Reads that fail or time out are recorded
// fail, never info: a read has no effect, so "did not happen" is always
// sound, and it keeps open ops (the checker's cost) down.
//
// The package talks to nodes through the small [KV] interface, which the
// node's Go client satisfies ([NodeDial], the default); tests use an
// in-memory fake.
package workloads

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/raftlab/raftlab/history"
	"github.com/raftlab/raftlab/node/client"
)

// Workload names.
const (
	Register  = "register"
	Registers = "registers"
	Set       = "set"
)

// Default is the workload used when none is named.
const Default = Registers

// Names lists the workloads New accepts.
func Names() []string { return []string{Register, Registers, Set} }

// Read modes a node serves; Config.ReadMode is passed to every read.
const (
	ReadLinearizable = "linearizable"
	ReadLease        = "lease"
	ReadStale        = "stale"
)

// Defaults for zero Config fields.
const (
	DefaultOpTimeout    = time.Second
	DefaultOpsPerKey    = 150
	DefaultFinalTimeout = 30 * time.Second
)

// KV is the client a worker uses to talk to one node. The node's Go client
// (node/client) satisfies it. Errors are classified by Config.IsDefinite.
type KV interface {
	// Read returns a register's value, nil when it was never written.
	Read(ctx context.Context, key, mode string) (*int64, error)
	// Write sets a register.
	Write(ctx context.Context, key string, v int64) error
	// CAS sets key to `to` if it holds `from`; false means the comparison
	// failed (a successful op that changed nothing).
	CAS(ctx context.Context, key string, from, to int64) (bool, error)
	// Add adds an element to a set.
	Add(ctx context.Context, key string, e int64) error
	// ReadSet returns a set's elements.
	ReadSet(ctx context.Context, key, mode string) ([]int64, error)
}

// NodeDial is the default Config.Dial: the node's HTTP client
// (node/client), which retries inside each call under the same session
// sequence number until the op's timeout, so the node applies it at most once.
func NodeDial(nodeURL, clientID string) KV { return client.New(nodeURL, clientID) }

// Recorder stores ops as they happen. It stamps each op with its index and
// time (on the controller's clock) and returns the stamped op. It must be safe
// for concurrent use.
type Recorder interface {
	Record(op history.Op) history.Op
}

// Endpoint is one node as clients see it.
type Endpoint struct {
	ID  string // node id, recorded in Op.Node
	URL string // base URL of the node's HTTP API, passed to Dial
}

// Config is what the lab fills in to run a workload.
type Config struct {
	// Nodes are the cluster's nodes; worker i talks to Nodes[i mod len].
	Nodes []Endpoint
	// Concurrency is the total number of workers; 0 means one per node.
	Concurrency int
	// Rate is the total target ops/s across all workers; 0 means as fast as
	// possible.
	Rate float64
	// Seed makes the op sequence of every worker reproducible.
	Seed int64
	// ReadMode is passed to every read during the run: linearizable (the
	// default), lease or stale.
	ReadMode string
	// OpTimeout bounds each op, retries included; an op that runs out of time
	// ends as info (fail for reads, or when IsDefinite says no attempt was
	// applied). Default 1 s.
	OpTimeout time.Duration
	// OpsPerKey is roughly how many ops the registers workload makes on one
	// key before its workers move to a fresh key. Default 150.
	OpsPerKey int
	// ThreadsPerKey is how many workers share one key in the registers
	// workload. Default: the number of nodes (at most Concurrency).
	ThreadsPerKey int
	// KeyPrefix is put before every key name. Set it when several runs share
	// one cluster, so a run never sees an earlier run's keys (the checker
	// assumes every key starts unwritten). At most 32 characters from
	// [A-Za-z0-9_.:-], like "t2-".
	KeyPrefix string
	// RunID distinguishes this run's client ids from earlier runs on the same
	// cluster (the nodes remember sessions by client id). Default: random.
	RunID string
	// Recorder receives every op. Required.
	Recorder Recorder
	// Dial makes a client for a node URL under a client id. It is called once
	// per process: a fresh process gets a fresh client id and so a fresh
	// exactly-once session. Default: NodeDial, the node's HTTP client.
	Dial func(nodeURL, clientID string) KV
	// IsDefinite reports whether an error means the op was certainly not
	// applied (recorded fail) rather than unknown (recorded info). Default:
	// client.IsDefinite of the node's HTTP client.
	IsDefinite func(error) bool
	// Logger receives progress and crash notes. Default: discarded.
	Logger *slog.Logger
}

// Counts are the live op counters, for a progress line.
type Counts struct {
	Invoked int64 // invocations recorded
	OK      int64 // completions that took effect
	Fail    int64 // completions that certainly did not take effect
	Info    int64 // completions with unknown outcome
}

// InFlight is the number of invocations not yet completed.
func (c Counts) InFlight() int64 { return c.Invoked - c.OK - c.Fail - c.Info }

// Workload runs one named workload: Run during the test, Final after healing.
type Workload struct {
	name string
	cfg  Config
	log  *slog.Logger

	invoked, ok, fail, info atomic.Int64

	started atomic.Bool
	// gens and procs hold each worker's generator and current process after
	// Run; Final reads them to find the keys and the next free process.
	gens  []*generator
	procs []history.Process

	finalMu   sync.Mutex
	finalNext history.Process // first process number Final has not used
}

// keyPrefixRE matches the prefixes that keep keys legal for the node
// (1-128 characters from [A-Za-z0-9_.:-]).
var keyPrefixRE = regexp.MustCompile(`^[A-Za-z0-9_.:-]{0,32}$`)

// New checks cfg, fills its defaults and returns the named workload.
func New(name string, cfg Config) (*Workload, error) {
	if name == "" {
		name = Default
	}
	if !slices.Contains(Names(), name) {
		return nil, fmt.Errorf("unknown workload %q: choose one of %s", name, strings.Join(Names(), ", "))
	}
	if len(cfg.Nodes) == 0 {
		return nil, errors.New("workload needs at least one node in Config.Nodes")
	}
	for i, n := range cfg.Nodes {
		if n.ID == "" || n.URL == "" {
			return nil, fmt.Errorf("node %d has an empty ID or URL (%+v): give every endpoint both", i, n)
		}
	}
	if cfg.Recorder == nil {
		return nil, errors.New("workload needs a Config.Recorder to record its ops in")
	}
	if cfg.Dial == nil {
		cfg.Dial = NodeDial
	}
	if cfg.Concurrency < 0 || cfg.Rate < 0 || cfg.OpTimeout < 0 || cfg.OpsPerKey < 0 || cfg.ThreadsPerKey < 0 {
		return nil, fmt.Errorf("concurrency, rate, op timeout, ops per key and threads per key must not be negative (got %d, %g, %s, %d, %d)",
			cfg.Concurrency, cfg.Rate, cfg.OpTimeout, cfg.OpsPerKey, cfg.ThreadsPerKey)
	}
	if !keyPrefixRE.MatchString(cfg.KeyPrefix) {
		return nil, fmt.Errorf("key prefix %q: use at most 32 of the characters A-Z a-z 0-9 _ . : - (node key syntax)", cfg.KeyPrefix)
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = len(cfg.Nodes)
	}
	switch cfg.ReadMode {
	case "":
		cfg.ReadMode = ReadLinearizable
	case ReadLinearizable, ReadLease, ReadStale:
	default:
		return nil, fmt.Errorf("unknown read mode %q: choose linearizable, lease or stale", cfg.ReadMode)
	}
	if cfg.OpTimeout == 0 {
		cfg.OpTimeout = DefaultOpTimeout
	}
	if cfg.OpsPerKey == 0 {
		cfg.OpsPerKey = DefaultOpsPerKey
	}
	if cfg.ThreadsPerKey == 0 {
		cfg.ThreadsPerKey = len(cfg.Nodes)
	}
	cfg.ThreadsPerKey = min(cfg.ThreadsPerKey, cfg.Concurrency)
	if cfg.RunID == "" {
		b := make([]byte, 4)
		rand.Read(b)
		cfg.RunID = hex.EncodeToString(b)
	}
	if cfg.IsDefinite == nil {
		cfg.IsDefinite = client.IsDefinite
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Workload{name: name, cfg: cfg, log: log.With("workload", name)}, nil
}

// Name is the workload's name.
func (w *Workload) Name() string { return w.name }

// Config returns the configuration with defaults filled in.
func (w *Workload) Config() Config { return w.cfg }

// Model names the linearizability package's model that checks this
// workload's history: "register", "registers" or "set".
func (w *Workload) Model() string { return w.name }

// Counts returns the live op counters. Safe to call at any time.
func (w *Workload) Counts() Counts {
	return Counts{Invoked: w.invoked.Load(), OK: w.ok.Load(), Fail: w.fail.Load(), Info: w.info.Load()}
}

// clientID names the session of one process. The run id keeps ids unique
// across runs on the same cluster.
func (w *Workload) clientID(p history.Process) string {
	return fmt.Sprintf("%s-p%d", w.cfg.RunID, p)
}
