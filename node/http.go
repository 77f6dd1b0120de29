package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/raftlab/raftlab/node/client"
)

// Limits on requests.
const (
	MaxBodyBytes   = 4 << 10 // request bodies are tiny JSON objects
	MaxKeyLen      = 128
	MaxClientIDLen = 128
)

// ForwardedHeader marks a request a follower forwarded to the leader; a node
// receiving it never forwards again.
const ForwardedHeader = "X-Raftlab-Forwarded-By"

var keyRE = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,128}$`)

// ValidKey reports whether k is a legal key: 1-128 characters from [A-Za-z0-9_.:-].
func ValidKey(k string) bool { return keyRE.MatchString(k) }

// Handler serves the node's HTTP API (see the package doc for the outcome mapping).
type Handler struct {
	n   *Node
	log *slog.Logger
	fwd *http.Client
}

// NewHandler returns the HTTP API of n.
func NewHandler(n *Node) *Handler {
	return &Handler{n: n, log: n.log, fwd: &http.Client{Transport: &http.Transport{
		// A leader cut off by a partition fails the dial quickly (503, not
		// applied) instead of holding the request for the whole deadline.
		DialContext:         (&net.Dialer{Timeout: time.Second}).DialContext,
		MaxIdleConnsPerHost: 32, IdleConnTimeout: 30 * time.Second,
	}}}
}

// ServeHTTP routes requests; every reply, including errors, is JSON.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if p := recover(); p != nil {
			h.log.Error("handler panic", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(p))
			writeErr(w, unknownErr(500, fmt.Sprintf("internal error: %v", p), nil))
		}
	}()
	if want := r.Header.Get(client.ClusterHeader); want != "" && h.n.cfg.Cluster != "" && want != h.n.cfg.Cluster {
		writeErr(w, failErr(http.StatusMisdirectedRequest, fmt.Sprintf("this node belongs to cluster %q, not %q: the request reached the wrong cluster and was not applied", h.n.cfg.Cluster, want), nil))
		return
	}
	segs, err := splitPath(r.URL.EscapedPath())
	if err != nil {
		writeErr(w, failErr(400, err.Error(), nil))
		return
	}
	switch {
	case len(segs) == 2 && segs[0] == "kv":
		switch r.Method {
		case http.MethodGet:
			h.read(w, r, segs[1], false)
		case http.MethodPut:
			h.write(w, r, OpWrite, segs[1])
		default:
			methodNotAllowed(w, "GET, PUT")
		}
	case len(segs) == 3 && segs[0] == "kv":
		if segs[2] != "cas" {
			writeErr(w, failErr(404, fmt.Sprintf("unknown operation %q on /kv/{key} (want cas)", segs[2]), nil))
			return
		}
		if r.Method != http.MethodPost {
			methodNotAllowed(w, "POST")
			return
		}
		h.write(w, r, OpCAS, segs[1])
	case len(segs) == 2 && segs[0] == "set":
		switch r.Method {
		case http.MethodGet:
			h.read(w, r, segs[1], true)
		case http.MethodPost:
			h.write(w, r, OpAdd, segs[1])
		default:
			methodNotAllowed(w, "GET, POST")
		}
	case len(segs) == 1 && segs[0] == "status":
		if r.Method != http.MethodGet {
			methodNotAllowed(w, "GET")
			return
		}
		writeJSON(w, 200, h.n.Status())
	case len(segs) == 2 && segs[0] == "admin" && segs[1] == "clock":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, "POST")
			return
		}
		h.clock(w, r)
	case len(segs) == 2 && segs[0] == "admin" && segs[1] == "snapshot":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, "POST")
			return
		}
		h.snapshot(w)
	case len(segs) >= 2 && segs[0] == "admin" && segs[1] == "members":
		h.members(w, r, segs[2:])
	default:
		writeErr(w, failErr(404, fmt.Sprintf("unknown path %q (see GET /status, /kv/{key}, /set/{key}, /admin/...)", r.URL.Path), nil))
	}
}

func splitPath(escaped string) ([]string, error) {
	raw := strings.Split(strings.Trim(escaped, "/"), "/")
	out := make([]string, 0, len(raw))
	for _, s := range raw {
		u, err := url.PathUnescape(s)
		if err != nil {
			return nil, fmt.Errorf("bad path segment %q: %v", s, err)
		}
		out = append(out, u)
	}
	return out, nil
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeErr(w, failErr(405, "method not allowed (allowed: "+allow+")", nil))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, e *OpError) {
	writeJSON(w, e.Status, client.ErrorBody{Error: e.Msg, Outcome: e.Outcome})
}

// readBody reads a size-limited JSON body into v, rejecting unknown fields and trailing data.
func readBody(r *http.Request, v any) ([]byte, *OpError) {
	data, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return nil, failErr(400, "read body: "+err.Error(), err)
	}
	if len(data) > MaxBodyBytes {
		return nil, failErr(413, fmt.Sprintf("request body larger than %d bytes", MaxBodyBytes), nil)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return nil, failErr(400, fmt.Sprintf("field %q: value %s does not fit %s (values are 64-bit signed integers)", ute.Field, ute.Value, ute.Type), err)
		}
		return nil, failErr(400, "malformed JSON body: "+err.Error(), err)
	}
	if dec.More() {
		return nil, failErr(400, "malformed JSON body: trailing data after the object", nil)
	}
	return data, nil
}

func (h *Handler) write(w http.ResponseWriter, r *http.Request, op, key string) {
	if !ValidKey(key) {
		writeErr(w, failErr(400, fmt.Sprintf("bad key %q: want 1-%d characters from [A-Za-z0-9_.:-]", key, MaxKeyLen), nil))
		return
	}
	var req client.WriteRequest
	body, oe := readBody(r, &req)
	if oe != nil {
		writeErr(w, oe)
		return
	}
	c := Command{Op: op, Key: key, ClientID: req.ClientID, Seq: req.Seq}
	need := func(name string, p *int64) bool {
		if p == nil {
			writeErr(w, failErr(400, fmt.Sprintf("missing field %q for %s", name, op), nil))
			return false
		}
		return true
	}
	switch op {
	case OpWrite:
		if !need("value", req.Value) {
			return
		}
		c.Value = *req.Value
	case OpCAS:
		if !need("from", req.From) || !need("to", req.To) {
			return
		}
		c.From, c.To = *req.From, *req.To
	case OpAdd:
		if !need("element", req.Element) {
			return
		}
		c.Element = *req.Element
	}
	if (op == OpWrite && (req.From != nil || req.To != nil || req.Element != nil)) ||
		(op == OpCAS && (req.Value != nil || req.Element != nil)) ||
		(op == OpAdd && (req.Value != nil || req.From != nil || req.To != nil)) {
		writeErr(w, failErr(400, "fields do not match the operation "+op, nil))
		return
	}
	if len(req.ClientID) > MaxClientIDLen {
		writeErr(w, failErr(400, fmt.Sprintf("client_id longer than %d bytes", MaxClientIDLen), nil))
		return
	}
	if req.ClientID != "" && req.Seq == 0 {
		writeErr(w, failErr(400, "seq must be >= 1 when client_id is set", nil))
		return
	}
	if req.ClientID == "" && req.Seq != 0 {
		writeErr(w, failErr(400, "seq given without client_id", nil))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.n.cfg.RequestTimeout)
	defer cancel()
	h.serve(w, r, body, func() (any, error) {
		res, err := h.n.Apply(ctx, c)
		return map[string]bool{"ok": res.OK}, err
	})
}

func (h *Handler) read(w http.ResponseWriter, r *http.Request, key string, isSet bool) {
	if !ValidKey(key) {
		writeErr(w, failErr(400, fmt.Sprintf("bad key %q: want 1-%d characters from [A-Za-z0-9_.:-]", key, MaxKeyLen), nil))
		return
	}
	mode := r.URL.Query().Get("mode")
	if mode == "" {
		mode = h.n.cfg.ReadMode
	}
	if !ValidReadMode(mode) {
		writeErr(w, failErr(400, fmt.Sprintf("unknown read mode %q (want linearizable, lease or stale)", mode), nil))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.n.cfg.RequestTimeout)
	defer cancel()
	h.serve(w, r, nil, func() (any, error) {
		var out any
		err := h.n.ReadLocal(ctx, mode, func() {
			if isSet {
				out = map[string][]int64{"elements": h.n.fsm.ReadSet(key)}
				return
			}
			if v, ok := h.n.fsm.Read(key); ok {
				out = map[string]*int64{"value": &v}
			} else {
				out = map[string]*int64{"value": nil}
			}
		})
		return out, err
	})
}

// serve runs local (an operation that needs this node to lead, or not) and
// writes its result. When local says this node is not the leader, the request
// is forwarded to the leader; if this node turns out to be becoming leader, local
// runs once more.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, body []byte, local func() (any, error)) {
	out, err := local()
	if err != nil && errors.Is(err, ErrNotLeaderHere) {
		if by := r.Header.Get(ForwardedHeader); by != "" {
			writeErr(w, failErr(503, fmt.Sprintf("not the leader (request forwarded by %s); retry", by), nil))
			return
		}
		if h.forward(w, r, body) {
			return
		}
		out, err = local()
	}
	if err == nil {
		writeJSON(w, 200, out)
		return
	}
	if errors.Is(err, ErrNotLeaderHere) {
		writeErr(w, failErr(503, "leadership changing on this node; retry", nil))
		return
	}
	var oe *OpError
	if !errors.As(err, &oe) {
		oe = unknownErr(500, err.Error(), err)
	}
	writeErr(w, oe)
}

// forward proxies the request to the leader. Failing before the request was
// written is a definite failure (503); after, the outcome is unknown (504).
// It returns false, having written nothing, when this node itself became the leader.
func (h *Handler) forward(w http.ResponseWriter, r *http.Request, body []byte) bool {
	ctx, cancel := context.WithTimeout(r.Context(), h.n.cfg.RequestTimeout+500*time.Millisecond)
	defer cancel()
	id, addr := h.n.LeaderHTTP()
	// Wait briefly for an election to settle: no leader known yet, or raft names
	// this node leader while it is still entering (or leaving) the leader state.
	for deadline := time.Now().Add(time.Second); (id == "" || addr == "" || (id == h.n.cfg.ID && h.n.raft.State() != raft.Leader)) && time.Now().Before(deadline); {
		select {
		case <-ctx.Done():
			writeErr(w, failErr(503, "no leader known", ctx.Err()))
			return true
		case <-time.After(20 * time.Millisecond):
		}
		id, addr = h.n.LeaderHTTP()
	}
	if id == "" {
		writeErr(w, failErr(503, "no leader known (election in progress or no quorum); retry", nil))
		return true
	}
	if addr == "" {
		writeErr(w, failErr(503, fmt.Sprintf("leader %s has no known HTTP address; retry", id), nil))
		return true
	}
	if id == h.n.cfg.ID {
		if h.n.raft.State() == raft.Leader {
			return false
		}
		writeErr(w, failErr(503, "leadership changing on this node; retry", nil))
		return true
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, "http://"+addr+r.URL.RequestURI(), rd)
	if err != nil {
		writeErr(w, failErr(503, "build forward request: "+err.Error(), err))
		return true
	}
	req.Header.Set(ForwardedHeader, h.n.cfg.ID)
	if c := r.Header.Get(client.ClusterHeader); c != "" {
		req.Header.Set(client.ClusterHeader, c)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	var wrote atomic.Bool
	req = req.WithContext(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteHeaders: func() { wrote.Store(true) },
	}))
	resp, err := h.fwd.Do(req)
	if err != nil {
		if !wrote.Load() {
			writeErr(w, failErr(503, fmt.Sprintf("forward to leader %s (%s) failed before sending: %v", id, addr, err), err))
		} else {
			writeErr(w, unknownErr(504, fmt.Sprintf("forward to leader %s (%s) failed after sending: %v", id, addr, err), err))
		}
		return true
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		writeErr(w, unknownErr(504, fmt.Sprintf("forward to leader %s: reading reply: %v", id, err), err))
		return true
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Raftlab-Served-By", id)
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(data)
	return true
}

func (h *Handler) clock(w http.ResponseWriter, r *http.Request) {
	var req client.ClockRequest
	if _, oe := readBody(r, &req); oe != nil {
		writeErr(w, oe)
		return
	}
	if err := h.n.clock.Apply(req.Action, time.Duration(req.OffsetNS), req.Rate); err != nil {
		writeErr(w, failErr(400, err.Error(), err))
		return
	}
	h.log.Info("clock changed", "action", req.Action, "offset_ns", req.OffsetNS, "rate", req.Rate,
		"clock_offset_ns", h.n.clock.Offset().Nanoseconds())
	writeJSON(w, 200, h.n.Status())
}

func (h *Handler) snapshot(w http.ResponseWriter) {
	err := h.n.raft.Snapshot().Error()
	if err != nil && !errors.Is(err, raft.ErrNothingNewToSnapshot) {
		writeErr(w, unknownErr(500, "snapshot: "+err.Error(), err))
		return
	}
	writeJSON(w, 200, map[string]bool{"ok": true})
}

func (h *Handler) members(w http.ResponseWriter, r *http.Request, rest []string) {
	ctx, cancel := context.WithTimeout(r.Context(), h.n.cfg.RequestTimeout)
	defer cancel()
	switch {
	case len(rest) == 0 && r.Method == http.MethodPost:
		var req client.MemberRequest
		body, oe := readBody(r, &req)
		if oe != nil {
			writeErr(w, oe)
			return
		}
		if !ValidKey(req.ID) || req.RaftAddr == "" || req.HTTPAddr == "" {
			writeErr(w, failErr(400, "want {\"id\", \"raft_addr\", \"http_addr\"} with a valid id", nil))
			return
		}
		h.serve(w, r, body, func() (any, error) {
			return map[string]bool{"ok": true}, h.n.AddVoter(ctx, req.ID, req.RaftAddr, req.HTTPAddr)
		})
	case len(rest) == 1 && r.Method == http.MethodDelete:
		h.serve(w, r, nil, func() (any, error) {
			return map[string]bool{"ok": true}, h.n.RemoveServer(ctx, rest[0])
		})
	case len(rest) > 1:
		writeErr(w, failErr(404, "unknown members path", nil))
	default:
		methodNotAllowed(w, "POST /admin/members, DELETE /admin/members/{id}")
	}
}
