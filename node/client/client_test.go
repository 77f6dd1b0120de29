package client

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// script answers successive requests with the given statuses (then 200 {"ok":true})
// and records the bodies it saw.
type script struct {
	mu       sync.Mutex
	then     int // status once statuses run out (0 = 200)
	statuses []int
	bodies   []WriteRequest
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var b WriteRequest
	_ = json.NewDecoder(r.Body).Decode(&b)
	s.mu.Lock()
	s.bodies = append(s.bodies, b)
	st := 200
	if s.then != 0 {
		st = s.then
	}
	if len(s.statuses) > 0 {
		st, s.statuses = s.statuses[0], s.statuses[1:]
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(st)
	switch st {
	case 200:
		_, _ = w.Write([]byte(`{"ok":true}`))
	case 503:
		_, _ = w.Write([]byte(`{"error":"no leader","outcome":"fail"}`))
	case 400:
		_, _ = w.Write([]byte(`{"error":"bad","outcome":"fail"}`))
	default:
		_, _ = w.Write([]byte(`{"error":"timed out","outcome":"unknown"}`))
	}
}

func newScripted(t *testing.T, statuses ...int) (*Client, *script) {
	return newScriptedThen(t, 0, statuses...)
}

func newScriptedThen(t *testing.T, then int, statuses ...int) (*Client, *script) {
	s := &script{statuses: statuses, then: then}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c := New(srv.URL, "p1")
	c.Backoff = time.Millisecond
	return c, s
}

func TestRetriesReuseSequenceNumber(t *testing.T) {
	c, s := newScripted(t, 504, 503, 500)
	if err := c.Write(context.Background(), "x", 1); err != nil {
		t.Fatalf("write after retries: %v", err)
	}
	if err := c.Write(context.Background(), "x", 2); err != nil {
		t.Fatal(err)
	}
	if len(s.bodies) != 5 {
		t.Fatalf("%d requests, want 4 attempts + 1", len(s.bodies))
	}
	for i := 0; i < 4; i++ {
		if s.bodies[i].Seq != 1 || s.bodies[i].ClientID != "p1" {
			t.Fatalf("attempt %d: %+v, want client p1 seq 1", i, s.bodies[i])
		}
	}
	if s.bodies[4].Seq != 2 {
		t.Fatalf("next op seq %d, want 2", s.bodies[4].Seq)
	}
}

func TestOutcomes(t *testing.T) {
	short := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.Background(), 50*time.Millisecond)
	}
	// Only "not applied" answers until the deadline: definite.
	c, _ := newScriptedThen(t, 503)
	ctx, cancel := short()
	err := c.Write(ctx, "x", 1)
	cancel()
	if err == nil || !IsDefinite(err) {
		t.Fatalf("all-503: %v, want a definite error", err)
	}
	// One unknown attempt makes the whole op unknown, even if later attempts say 503.
	c, _ = newScriptedThen(t, 503, 504)
	ctx, cancel = short()
	err = c.Write(ctx, "x", 1)
	cancel()
	if err == nil || IsDefinite(err) {
		t.Fatalf("504 then 503s: %v, want an unknown error", err)
	}
	// 4xx: definite, no retry.
	c, s := newScripted(t, 400)
	if err := c.Write(context.Background(), "x", 1); err == nil || !IsDefinite(err) || len(s.bodies) != 1 {
		t.Fatalf("400: err %v, %d attempts; want definite after 1 attempt", err, len(s.bodies))
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error type %T", err)
	}
	// Connection refused: the request was never sent: definite.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	dead := New("http://"+addr, "p9")
	dead.NoRetry = true
	if err := dead.Write(context.Background(), "x", 1); err == nil || !IsDefinite(err) {
		t.Fatalf("connection refused: %v, want definite", err)
	}
	if IsDefinite(nil) || IsDefinite(context.DeadlineExceeded) {
		t.Fatal("IsDefinite of nil or a foreign error must be false")
	}
}
