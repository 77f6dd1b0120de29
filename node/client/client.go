// Package client is the Go client of the raftlab node HTTP API.
//
// Every write-like call (Write, CAS, Add) takes the next sequence number of the
// client id and retries with the same (client id, seq) until it gets a definite
// answer or ctx ends, so the node applies the operation at most once. Errors tell
// the caller which history outcome to record: IsDefinite(err) means the operation
// certainly did not take effect ("fail"); otherwise it may have ("info").
//
// A Client runs one operation at a time (calls are serialised), as the
// exactly-once session table expects one outstanding request per client id.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Outcome values carried in error responses.
const (
	OutcomeFail    = "fail"    // certainly not applied
	OutcomeUnknown = "unknown" // may or may not have been applied
)

// Read modes accepted by Read and ReadSet ("" = the node's default).
const (
	ModeLinearizable = "linearizable"
	ModeLease        = "lease"
	ModeStale        = "stale"
)

// ClusterHeader names the cluster a request is meant for.
const ClusterHeader = "X-Raftlab-Cluster"

// Server is one member of the Raft configuration as reported by /status.
type Server struct {
	ID       string `json:"id"`
	Address  string `json:"address"`
	Suffrage string `json:"suffrage"`
}

// Status is the body of GET /status (and of the /admin/clock reply).
type Status struct {
	ID            string   `json:"id"`
	Cluster       string   `json:"cluster,omitempty"` // the node's cluster name (--cluster), if any
	State         string   `json:"state"`             // Leader, Follower, Candidate, Shutdown
	Term          uint64   `json:"term"`
	LeaderID      string   `json:"leader_id"`
	LeaderAddr    string   `json:"leader_addr"` // the leader's Raft address
	LeaderHTTP    string   `json:"leader_http"` // the leader's HTTP address, if known
	CommitIndex   uint64   `json:"commit_index"`
	AppliedIndex  uint64   `json:"applied_index"`
	FSMIndex      uint64   `json:"fsm_index"`  // last index the state machine has applied
	FSMDigest     string   `json:"fsm_digest"` // hash of the state at fsm_index
	Configuration []Server `json:"configuration"`
	ClockOffsetNS int64    `json:"clock_offset_ns"`
	ClockRate     float64  `json:"clock_rate"`
	ReadMode      string   `json:"read_mode"`    // the node's default read mode
	LeaseValid    bool     `json:"lease_valid"`  // this node holds an unexpired read lease
	ReadyForReads bool     `json:"ready_reads"`  // leader passed its post-election barrier
	LastSnapshot  uint64   `json:"snapshot_idx"` // index of the latest snapshot
}

// ClockRequest is the body of POST /admin/clock.
type ClockRequest struct {
	Action   string  `json:"action"`              // offset, jump, rate or reset
	OffsetNS int64   `json:"offset_ns,omitempty"` // offset: virtual - host; jump: relative step
	Rate     float64 `json:"rate,omitempty"`      // rate: virtual seconds per host second
}

// MemberRequest is the body of POST /admin/members.
type MemberRequest struct {
	ID       string `json:"id"`
	RaftAddr string `json:"raft_addr"`
	HTTPAddr string `json:"http_addr"`
}

// ErrorBody is the JSON body of every non-200 reply.
type ErrorBody struct {
	Error   string `json:"error"`
	Outcome string `json:"outcome"`
}

// Error is a failed request. Definite means the operation certainly had no effect.
type Error struct {
	Op       string // read, write, cas, add, ...
	Status   int    // HTTP status of the last attempt, 0 if none was received
	Msg      string
	Definite bool
	Attempts int
}

func (e *Error) Error() string {
	kind := "outcome unknown"
	if e.Definite {
		kind = "not applied"
	}
	if e.Status != 0 {
		return fmt.Sprintf("%s: %s (HTTP %d, %s, %d attempts)", e.Op, e.Msg, e.Status, kind, e.Attempts)
	}
	return fmt.Sprintf("%s: %s (%s, %d attempts)", e.Op, e.Msg, kind, e.Attempts)
}

// IsDefinite reports whether err certainly means "not applied" (history "fail").
// false means the outcome is unknown (history "info"); nil is not definite.
func IsDefinite(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Definite
}

// Client talks to one node. Create it with New.
type Client struct {
	base     string
	clientID string

	// HTTP is the HTTP client used for requests (default: a client with no
	// overall timeout; each call is bounded by its ctx).
	HTTP *http.Client
	// Backoff is the first pause between retries (doubling up to 1 s). Default 50 ms.
	Backoff time.Duration
	// NoRetry makes every call a single attempt.
	NoRetry bool
	// Cluster, when set, is sent with every request (ClusterHeader); a node
	// of another cluster refuses the request (421, certainly not applied).
	// It keeps a run from ever acting on a cluster that took over its
	// addresses.
	Cluster string

	mu  sync.Mutex // one operation at a time per client id
	seq uint64
}

// New returns a client for the node at baseURL (like "http://10.77.0.11:8080")
// that identifies itself as clientID for exactly-once writes.
func New(baseURL, clientID string) *Client {
	return &Client{
		base:     strings.TrimRight(baseURL, "/"),
		clientID: clientID,
		HTTP:     &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8, IdleConnTimeout: 30 * time.Second}},
		Backoff:  50 * time.Millisecond,
	}
}

// BaseURL returns the node address this client talks to.
func (c *Client) BaseURL() string { return c.base }

// ClientID returns the client id used for exactly-once writes.
func (c *Client) ClientID() string { return c.clientID }

// WriteRequest is the body of PUT /kv/{key} (Value), POST /kv/{key}/cas
// (From, To) and POST /set/{key} (Element). ClientID and Seq identify the
// request for exactly-once application.
type WriteRequest struct {
	Value    *int64 `json:"value,omitempty"`
	From     *int64 `json:"from,omitempty"`
	To       *int64 `json:"to,omitempty"`
	Element  *int64 `json:"element,omitempty"`
	ClientID string `json:"client_id,omitempty"`
	Seq      uint64 `json:"seq,omitempty"`
}

type okBody struct {
	OK bool `json:"ok"`
}

// Read returns the register's value; nil means it was never written.
func (c *Client) Read(ctx context.Context, key, mode string) (*int64, error) {
	var out struct {
		Value *int64 `json:"value"`
	}
	if err := c.do(ctx, "read", http.MethodGet, "/kv/"+url.PathEscape(key)+modeQuery(mode), nil, &out); err != nil {
		return nil, err
	}
	return out.Value, nil
}

// Write sets the register to v.
func (c *Client) Write(ctx context.Context, key string, v int64) error {
	_, err := c.mutate(ctx, "write", http.MethodPut, "/kv/"+url.PathEscape(key), WriteRequest{Value: &v})
	return err
}

// mutate sends a write-like request under the next sequence number of this
// client; the retries inside do reuse it. One runs at a time per client.
func (c *Client) mutate(ctx context.Context, op, method, path string, req WriteRequest) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	req.ClientID, req.Seq = c.clientID, c.seq
	var out okBody
	err := c.do(ctx, op, method, path, req, &out)
	return out.OK, err
}

// CAS sets the register to `to` if it holds `from`. It returns false, with a
// nil error, when the comparison failed (an ok operation with no effect).
func (c *Client) CAS(ctx context.Context, key string, from, to int64) (bool, error) {
	return c.mutate(ctx, "cas", http.MethodPost, "/kv/"+url.PathEscape(key)+"/cas", WriteRequest{From: &from, To: &to})
}

// Add adds e to the set at key.
func (c *Client) Add(ctx context.Context, key string, e int64) error {
	_, err := c.mutate(ctx, "add", http.MethodPost, "/set/"+url.PathEscape(key), WriteRequest{Element: &e})
	return err
}

// ReadSet returns the set's elements in ascending order (empty if never added to).
func (c *Client) ReadSet(ctx context.Context, key, mode string) ([]int64, error) {
	var out struct {
		Elements []int64 `json:"elements"`
	}
	if err := c.do(ctx, "read-set", http.MethodGet, "/set/"+url.PathEscape(key)+modeQuery(mode), nil, &out); err != nil {
		return nil, err
	}
	if out.Elements == nil {
		out.Elements = []int64{}
	}
	return out.Elements, nil
}

// Status returns the node's view of the cluster (one attempt).
func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	err := c.once(ctx, "status", http.MethodGet, "/status", nil, &s)
	return s, err
}

// SetClock changes the node's injectable clock and returns its new status (one attempt).
func (c *Client) SetClock(ctx context.Context, req ClockRequest) (Status, error) {
	var s Status
	err := c.once(ctx, "clock", http.MethodPost, "/admin/clock", req, &s)
	return s, err
}

// AddVoter asks the cluster (through this node) to add a voter.
func (c *Client) AddVoter(ctx context.Context, req MemberRequest) error {
	var out okBody
	return c.do(ctx, "add-voter", http.MethodPost, "/admin/members", req, &out)
}

// RemoveServer asks the cluster (through this node) to remove a server.
func (c *Client) RemoveServer(ctx context.Context, id string) error {
	var out okBody
	return c.do(ctx, "remove-server", http.MethodDelete, "/admin/members/"+url.PathEscape(id), nil, &out)
}

func modeQuery(mode string) string {
	if mode == "" {
		return ""
	}
	return "?mode=" + url.QueryEscape(mode)
}

// attemptErr is the result of one attempt.
type attemptErr struct {
	status   int
	msg      string
	definite bool
	retry    bool
}

// do runs a request, retrying (same body, so same client id and seq) on
// "not applied" (503) and unknown outcomes until success, a 4xx, or ctx ends.
func (c *Client) do(ctx context.Context, op, method, path string, body, out any) error {
	var payload []byte
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return &Error{Op: op, Msg: "encode request: " + err.Error(), Definite: true}
		}
		payload = b
	}
	allDefinite := true
	backoff := c.Backoff
	if backoff <= 0 {
		backoff = 50 * time.Millisecond
	}
	for attempt := 1; ; attempt++ {
		ae := c.attempt(ctx, method, path, payload, out)
		if ae == nil {
			return nil
		}
		if !ae.definite {
			allDefinite = false
		}
		// Do not start an attempt that the deadline would cut mid-flight: that
		// would turn a definite failure into an unknown outcome.
		tooLate := false
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < max(2*backoff, 20*time.Millisecond) {
			tooLate = true
		}
		if !ae.retry || c.NoRetry || ctx.Err() != nil || tooLate {
			return &Error{Op: op, Status: ae.status, Msg: ae.msg, Definite: allDefinite && ae.definite, Attempts: attempt}
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return &Error{Op: op, Status: ae.status, Msg: ae.msg + "; gave up: " + ctx.Err().Error(), Definite: allDefinite, Attempts: attempt}
		case <-t.C:
		}
		if backoff *= 2; backoff > time.Second {
			backoff = time.Second
		}
	}
}

// once runs a single attempt.
func (c *Client) once(ctx context.Context, op, method, path string, body, out any) error {
	var payload []byte
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return &Error{Op: op, Msg: "encode request: " + err.Error(), Definite: true}
		}
		payload = b
	}
	if ae := c.attempt(ctx, method, path, payload, out); ae != nil {
		return &Error{Op: op, Status: ae.status, Msg: ae.msg, Definite: ae.definite, Attempts: 1}
	}
	return nil
}

func (c *Client) attempt(ctx context.Context, method, path string, payload []byte, out any) *attemptErr {
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return &attemptErr{msg: "build request: " + err.Error(), definite: true}
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Cluster != "" {
		req.Header.Set(ClusterHeader, c.Cluster)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		// We cannot know whether the node received it (connection refused is the
		// only sure "not sent", but a proxy could sit in between): unknown.
		return &attemptErr{msg: err.Error(), definite: isRefused(err), retry: true}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return &attemptErr{status: resp.StatusCode, msg: "read response: " + err.Error(), retry: true}
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(data, out); err != nil {
			return &attemptErr{status: resp.StatusCode, msg: "decode response: " + err.Error()}
		}
		return nil
	}
	var eb ErrorBody
	if json.Unmarshal(data, &eb) != nil || eb.Error == "" {
		eb.Error = strings.TrimSpace(string(data))
		if eb.Error == "" {
			eb.Error = resp.Status
		}
	}
	switch {
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		// Bad request: the node rejected it before anything was applied. No retry.
		return &attemptErr{status: resp.StatusCode, msg: eb.Error, definite: true}
	case eb.Outcome == OutcomeFail || (eb.Outcome == "" && resp.StatusCode == http.StatusServiceUnavailable):
		return &attemptErr{status: resp.StatusCode, msg: eb.Error, definite: true, retry: true}
	default:
		return &attemptErr{status: resp.StatusCode, msg: eb.Error, retry: true}
	}
}

// isRefused reports whether err happened while dialling, so no byte of the
// request reached the node (connection refused, no route, dial timeout).
func isRefused(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial"
}
