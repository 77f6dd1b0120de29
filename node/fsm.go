package node

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/hashicorp/raft"
)

// Command operations carried in the Raft log.
const (
	OpWrite        = "write"         // register key := Value
	OpCAS          = "cas"           // register key: From -> To if it currently holds From
	OpAdd          = "add"           // set key gains Element
	OpMemberAdd    = "member-add"    // membership metadata: node ID -> HTTP address
	OpMemberRemove = "member-remove" // forget a node's HTTP address
)

// Command is one state-machine command as stored in the Raft log (JSON encoded).
// ClientID and Seq identify it for exactly-once application: a command whose
// (ClientID, Seq) was already applied is answered from the session table.
type Command struct {
	Op       string `json:"op"`
	Key      string `json:"key,omitempty"`
	Value    int64  `json:"value,omitempty"`
	From     int64  `json:"from,omitempty"`
	To       int64  `json:"to,omitempty"`
	Element  int64  `json:"element,omitempty"`
	ClientID string `json:"client_id,omitempty"`
	Seq      uint64 `json:"seq,omitempty"`
	// MemberID and MemberHTTP are used by the member-* operations.
	MemberID   string `json:"member_id,omitempty"`
	MemberHTTP string `json:"member_http,omitempty"`
}

// Result is what FSM.Apply returns for a command (raft's ApplyFuture.Response()).
// OK is the operation's result (false only for a CAS whose comparison failed);
// Err is set when the command was rejected by the state machine (it had no effect).
type Result struct {
	OK  bool   `json:"ok"`
	Err string `json:"err,omitempty"`
}

// ErrStaleRequest is the Result.Err for a command whose sequence number is below
// the client's latest: a delayed duplicate of a request the client has moved past.
const ErrStaleRequest = "stale request: sequence number below the client's latest"

// session is one client's entry in the exactly-once table.
type session struct {
	Seq    uint64 `json:"seq"`
	Result Result `json:"result"`
}

// FSM is the deterministic replicated state machine: registers (key -> int64),
// sets (key -> set of int64), the client session table and membership metadata.
// Apply depends only on the log entry and prior state (no clocks, no randomness,
// no map iteration order). All methods are safe for concurrent use.
type FSM struct {
	mu        sync.RWMutex
	registers map[string]int64
	sets      map[string]map[int64]struct{}
	sessions  map[string]session
	members   map[string]string // node ID -> HTTP address
	applied   uint64            // index of the last log entry applied
}

// NewFSM returns an empty state machine.
func NewFSM() *FSM {
	return &FSM{
		registers: map[string]int64{},
		sets:      map[string]map[int64]struct{}{},
		sessions:  map[string]session{},
		members:   map[string]string{},
	}
}

// EncodeCommand serialises a command for raft.Apply.
func EncodeCommand(c Command) ([]byte, error) { return json.Marshal(c) }

// Apply implements raft.FSM. It returns a Result.
func (f *FSM) Apply(l *raft.Log) interface{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if l.Index > f.applied {
		f.applied = l.Index
	}
	if l.Type != raft.LogCommand {
		return Result{OK: true}
	}
	var c Command
	if err := json.Unmarshal(l.Data, &c); err != nil {
		return Result{Err: fmt.Sprintf("undecodable command at index %d: %v", l.Index, err)}
	}
	return f.applyLocked(c)
}

// applyLocked executes c with exactly-once semantics. f.mu must be held.
func (f *FSM) applyLocked(c Command) Result {
	if c.ClientID != "" {
		s, ok := f.sessions[c.ClientID]
		if ok && c.Seq == s.Seq {
			return s.Result // retry of the latest request: answer from the cache
		}
		if ok && c.Seq < s.Seq {
			return Result{Err: ErrStaleRequest}
		}
	}
	var r Result
	switch c.Op {
	case OpWrite:
		f.registers[c.Key] = c.Value
		r = Result{OK: true}
	case OpCAS:
		if v, ok := f.registers[c.Key]; ok && v == c.From {
			f.registers[c.Key] = c.To
			r = Result{OK: true}
		}
	case OpAdd:
		s := f.sets[c.Key]
		if s == nil {
			s = map[int64]struct{}{}
			f.sets[c.Key] = s
		}
		s[c.Element] = struct{}{}
		r = Result{OK: true}
	case OpMemberAdd:
		f.members[c.MemberID] = c.MemberHTTP
		r = Result{OK: true}
	case OpMemberRemove:
		delete(f.members, c.MemberID)
		r = Result{OK: true}
	default:
		r = Result{Err: fmt.Sprintf("unknown operation %q", c.Op)}
	}
	if c.ClientID != "" {
		f.sessions[c.ClientID] = session{Seq: c.Seq, Result: r}
	}
	return r
}

// Read returns a register's value; ok is false if it was never written.
func (f *FSM) Read(key string) (v int64, ok bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	v, ok = f.registers[key]
	return v, ok
}

// ReadSet returns the elements of a set in ascending order (empty, not nil, if never added to).
func (f *FSM) ReadSet(key string) []int64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([]int64, 0, len(f.sets[key]))
	for e := range f.sets[key] {
		out = append(out, e)
	}
	slices.Sort(out)
	return out
}

// MemberHTTP returns the HTTP address recorded for a node ID, if any.
func (f *FSM) MemberHTTP(id string) (string, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	a, ok := f.members[id]
	return a, ok
}

// AppliedIndex is the index of the last log entry this FSM applied (or restored).
func (f *FSM) AppliedIndex() uint64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.applied
}

// Digest returns a hash of the replicated state (registers, sets, sessions,
// members) together with the applied index it belongs to. Two replicas at the
// same applied index must have the same digest.
func (f *FSM) Digest() (index uint64, digest string) {
	f.mu.RLock()
	st := f.stateLocked()
	index = f.applied
	f.mu.RUnlock()
	b, _ := json.Marshal(st) // maps marshal in key order: deterministic
	sum := sha256.Sum256(b)
	return index, fmt.Sprintf("%x", sum[:8])
}

// fsmState is the snapshot format (version 1). Maps are encoded by encoding/json
// in sorted key order and sets as sorted slices, so equal states encode equally.
type fsmState struct {
	Version   int                `json:"version"`
	Applied   uint64             `json:"applied"`
	Registers map[string]int64   `json:"registers"`
	Sets      map[string][]int64 `json:"sets"`
	Sessions  map[string]session `json:"sessions"`
	Members   map[string]string  `json:"members"`
}

// stateLocked deep-copies the state. f.mu must be held (read or write).
func (f *FSM) stateLocked() fsmState {
	st := fsmState{
		Version:   1,
		Applied:   f.applied,
		Registers: make(map[string]int64, len(f.registers)),
		Sets:      make(map[string][]int64, len(f.sets)),
		Sessions:  make(map[string]session, len(f.sessions)),
		Members:   make(map[string]string, len(f.members)),
	}
	for k, v := range f.registers {
		st.Registers[k] = v
	}
	for k, s := range f.sets {
		es := make([]int64, 0, len(s))
		for e := range s {
			es = append(es, e)
		}
		slices.Sort(es)
		st.Sets[k] = es
	}
	for k, v := range f.sessions {
		st.Sessions[k] = v
	}
	for k, v := range f.members {
		st.Members[k] = v
	}
	return st
}

// Snapshot implements raft.FSM: it copies the state now, so Persist may run
// concurrently with later Applies.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return &fsmSnapshot{state: f.stateLocked()}, nil
}

// Restore implements raft.FSM: it replaces all state with the snapshot's.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	var st fsmState
	dec := json.NewDecoder(rc)
	if err := dec.Decode(&st); err != nil {
		return fmt.Errorf("restore snapshot: decode: %w", err)
	}
	if st.Version != 1 {
		return fmt.Errorf("restore snapshot: unsupported format version %d (want 1)", st.Version)
	}
	regs := st.Registers
	if regs == nil {
		regs = map[string]int64{}
	}
	sets := make(map[string]map[int64]struct{}, len(st.Sets))
	for k, es := range st.Sets {
		s := make(map[int64]struct{}, len(es))
		for _, e := range es {
			s[e] = struct{}{}
		}
		sets[k] = s
	}
	sess := st.Sessions
	if sess == nil {
		sess = map[string]session{}
	}
	members := st.Members
	if members == nil {
		members = map[string]string{}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.registers, f.sets, f.sessions, f.members, f.applied = regs, sets, sess, members, st.Applied
	return nil
}

type fsmSnapshot struct{ state fsmState }

// Persist writes the copied state as JSON.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := json.NewEncoder(sink).Encode(s.state); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("persist snapshot: %w", err)
	}
	return sink.Close()
}

// Release implements raft.FSMSnapshot.
func (s *fsmSnapshot) Release() {}
