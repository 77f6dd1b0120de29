// Package lab is the controller of a test run: it turns a Spec into a Docker
// cluster, concurrent clients and a nemesis schedule, records the history,
// heals, checks, stores the results folder and tells the caller the verdict.
package lab

import (
	"fmt"

	"github.com/raftlab/raftlab/nemesis"
	"strconv"
	"strings"
	"time"
)

// Spec is everything that defines a test run. It is stored as spec.json in the
// results folder, so a run can be understood (and repeated with its Seed) later.
type Spec struct {
	// Name names the test; results go to <Results>/<Name>/<timestamp>/.
	Name string `json:"name"`
	// Workload is register, registers or set.
	Workload string `json:"workload"`
	// Nemesis lists the fault kinds (empty: none).
	Nemesis []string `json:"nemesis"`
	// Schedule, when set, is the exact fault schedule to run instead of one
	// drawn from Nemesis, NemesisInterval and Seed: a named regression
	// scenario, like etcd's robustness tests.
	Schedule []nemesis.Step `json:"schedule,omitempty"`
	// NemesisInterval is the mean time between fault starts.
	NemesisInterval time.Duration `json:"nemesis_interval"`
	// Nodes is the number of Raft nodes.
	Nodes int `json:"nodes"`
	// Concurrency is the number of client workers in all.
	Concurrency int `json:"concurrency"`
	// Rate is the total target ops per second (0: as fast as the clients go).
	Rate float64 `json:"rate"`
	// TimeLimit is how long clients run (excluding setup, recovery and checking).
	TimeLimit time.Duration `json:"time_limit"`
	// ReadMode is the node read mode under test: linearizable, lease or stale.
	ReadMode string `json:"read_mode"`
	// Seed drives the op and fault schedules.
	Seed int64 `json:"seed"`
	// OpTimeout bounds each client op; an op that times out is recorded info.
	OpTimeout time.Duration `json:"op_timeout"`
	// Recovery is the quiet period after healing, before final reads.
	Recovery time.Duration `json:"recovery"`
	// CheckTimeLimit bounds the linearizability check.
	CheckTimeLimit time.Duration `json:"check_time_limit"`
	// Image is the node image.
	Image string `json:"image"`
	// LeaveRunning keeps the cluster up after the run.
	LeaveRunning bool `json:"leave_running"`
	// Results is the results root folder.
	Results string `json:"results"`
	// Command is the command line that started the run.
	Command string `json:"command"`
}

// Workloads are the workload names a Spec accepts.
var Workloads = []string{"register", "registers", "set"}

// ReadModes are the node read modes a Spec accepts.
var ReadModes = []string{"linearizable", "lease", "stale"}

// Validate reports the first problem with the spec, in words a user can act on.
func (s Spec) Validate() error {
	if !contains(Workloads, s.Workload) {
		return fmt.Errorf("unknown workload %q (choose one of %s)", s.Workload, strings.Join(Workloads, ", "))
	}
	if !contains(ReadModes, s.ReadMode) {
		return fmt.Errorf("unknown read mode %q (choose one of %s)", s.ReadMode, strings.Join(ReadModes, ", "))
	}
	switch {
	case s.Nodes < 1 || s.Nodes > 9:
		return fmt.Errorf("--nodes must be between 1 and 9, got %d", s.Nodes)
	case s.Concurrency < 1 || s.Concurrency > 1000:
		return fmt.Errorf("--concurrency must give 1 to 1000 clients, got %d", s.Concurrency)
	case s.Rate < 0:
		return fmt.Errorf("--rate must not be negative, got %g", s.Rate)
	case s.TimeLimit <= 0:
		return fmt.Errorf("--time-limit must be positive, got %s", s.TimeLimit)
	case s.NemesisInterval <= 0 && len(s.Nemesis) > 0:
		return fmt.Errorf("--nemesis-interval must be positive, got %s", s.NemesisInterval)
	case s.OpTimeout <= 0:
		return fmt.Errorf("op timeout must be positive, got %s", s.OpTimeout)
	case s.Name == "" || strings.ContainsAny(s.Name, `/\ `) || strings.HasPrefix(s.Name, "."):
		return fmt.Errorf("test name %q must be non-empty, without slashes, spaces or a leading dot", s.Name)
	}
	return nil
}

// DefaultName names a test after its workload and faults, e.g.
// "registers-partition-kill" or "set-none".
func DefaultName(workload string, nemesis []string) string {
	if len(nemesis) == 0 {
		return workload + "-none"
	}
	return workload + "-" + strings.Join(nemesis, "-")
}

// ParseConcurrency reads a --concurrency value: a number of clients ("10") or
// a multiple of the node count ("2n" = 2 × nodes), like Jepsen.
func ParseConcurrency(v string, nodes int) (int, error) {
	v = strings.TrimSpace(v)
	mult := false
	if strings.HasSuffix(v, "n") {
		mult, v = true, strings.TrimSuffix(v, "n")
		if v == "" {
			v = "1"
		}
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("--concurrency must be a positive number or a multiple of nodes like 2n, got %q", v)
	}
	if mult {
		n *= nodes
	}
	return n, nil
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
