package node

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/hashicorp/raft"

	"github.com/raftlab/raftlab/node/client"
)

// Status reports this node's view of the cluster (GET /status).
func (n *Node) Status() client.Status {
	addr, lid := n.raft.LeaderWithID()
	fsmIdx, digest := n.fsm.Digest()
	st := client.Status{
		ID:            n.cfg.ID,
		Cluster:       n.cfg.Cluster,
		State:         n.raft.State().String(),
		Term:          n.raft.CurrentTerm(),
		LeaderID:      string(lid),
		LeaderAddr:    string(addr),
		CommitIndex:   n.raft.CommitIndex(),
		AppliedIndex:  n.raft.AppliedIndex(),
		FSMIndex:      fsmIdx,
		FSMDigest:     digest,
		Configuration: []client.Server{},
		ClockOffsetNS: n.clock.Offset().Nanoseconds(),
		ClockRate:     n.clock.Rate(),
		ReadMode:      n.cfg.ReadMode,
		LeaseValid:    n.leaseValid(),
		ReadyForReads: n.raft.State() == raft.Leader && n.readyTerm.Load() == n.raft.CurrentTerm(),
	}
	if lid != "" {
		st.LeaderHTTP = n.httpAddrOf(string(lid))
	}
	if v, err := strconv.ParseUint(n.raft.Stats()["last_snapshot_index"], 10, 64); err == nil {
		st.LastSnapshot = v
	}
	if f := n.raft.GetConfiguration(); f.Error() == nil {
		for _, s := range f.Configuration().Servers {
			st.Configuration = append(st.Configuration, client.Server{ID: string(s.ID), Address: string(s.Address), Suffrage: s.Suffrage.String()})
		}
	}
	return st
}

// AddVoter records the new member's HTTP address in the replicated state, then
// adds it as a voter. This node must be the leader.
func (n *Node) AddVoter(ctx context.Context, id, raftAddr, httpAddr string) error {
	if _, err := n.Apply(ctx, Command{Op: OpMemberAdd, MemberID: id, MemberHTTP: httpAddr}); err != nil {
		return err
	}
	return n.configChange(ctx, "add voter "+id, n.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(raftAddr), 0, n.cfg.RequestTimeout))
}

// RemoveServer removes a server from the configuration, then forgets its HTTP
// address. This node must be the leader.
func (n *Node) RemoveServer(ctx context.Context, id string) error {
	if n.raft.State() != raft.Leader {
		return &OpError{Status: 421, Outcome: outcomeFail, Msg: ErrNotLeaderHere.Error(), Err: ErrNotLeaderHere}
	}
	if err := n.configChange(ctx, "remove server "+id, n.raft.RemoveServer(raft.ServerID(id), 0, n.cfg.RequestTimeout)); err != nil {
		return err
	}
	_, err := n.Apply(ctx, Command{Op: OpMemberRemove, MemberID: id})
	return err
}

func (n *Node) configChange(ctx context.Context, what string, f raft.IndexFuture) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		if err != nil {
			oe := ClassifyApplyError(err)
			oe.Msg = fmt.Sprintf("%s: %s", what, oe.Msg)
			return oe
		}
		n.log.Info("configuration changed", "change", what, "index", f.Index())
		return nil
	case <-ctx.Done():
		return unknownErr(504, what+": outcome unknown: timed out", ctx.Err())
	case <-time.After(n.cfg.RequestTimeout + time.Second):
		return unknownErr(504, what+": outcome unknown: timed out", nil)
	}
}
