package nemesis

import (
	"context"
	"net/netip"
	"time"

	"github.com/raftlab/raftlab/history"
)

// Node is one member of the cluster as the nemesis sees it.
type Node struct {
	ID string     // node id, e.g. "n1"
	IP netip.Addr // address of the node on the lab network; peers' traffic comes from it
}

// Cluster is what the nemesis needs from the lab. Every method must honour
// ctx and return an error that says what went wrong.
type Cluster interface {
	// Nodes lists the nodes in a stable order (n1, n2, ...).
	Nodes() []Node
	// Exec runs a command (argv, no shell) inside the node's container, in
	// its network namespace, and returns its standard output. A non-zero
	// exit status is an error that includes the standard error.
	Exec(ctx context.Context, node string, cmd ...string) (stdout string, err error)
	// Kill sends SIGKILL to the node process; it stays down until Start.
	// The container and its network namespace stay.
	Kill(ctx context.Context, node string) error
	// Start starts the node process again after Kill.
	Start(ctx context.Context, node string) error
	// Pause freezes the node (docker pause or SIGSTOP).
	Pause(ctx context.Context, node string) error
	// Resume unfreezes a paused node.
	Resume(ctx context.Context, node string) error
	// Leader returns the id of the current leader, or "" when there is none.
	Leader(ctx context.Context) (string, error)
	// Clock drives the node's injectable clock: action is one of ClockOffset,
	// ClockJump, ClockRate or ClockReset (see the node's POST /admin/clock).
	Clock(ctx context.Context, node string, action string, offset time.Duration, rate float64) error
}

// Actions of Cluster.Clock, as in the node's POST /admin/clock.
const (
	ClockOffset = "offset" // set the clock's offset from true time to offset
	ClockJump   = "jump"   // add offset to the clock's current offset
	ClockRate   = "rate"   // run the clock at rate times true speed from now on
	ClockReset  = "reset"  // back to true time at true speed
)

// Recorder appends ops to the history: it stamps the index and the time
// (the controller's monotonic clock) and returns the stamped op, with an
// error when the op could not be stored. *history.Recorder is one.
type Recorder interface {
	Record(op history.Op) (history.Op, error)
}
