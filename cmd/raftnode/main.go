// Command raftnode runs one raftlab register node (package node).
//
// Every flag can also be set from the environment as RAFTNODE_<FLAG>, with
// dashes as underscores (--raft-advertise = RAFTNODE_RAFT_ADVERTISE); a flag on
// the command line wins over the environment.
//
//	raftnode --id n1 --data /data --raft-bind 0.0.0.0:7000 --raft-advertise 10.77.0.11:7000 \
//	    --http :8080 --peers n1=10.77.0.11:7000=10.77.0.11:8080,n2=... --read-mode linearizable
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/raftlab/raftlab/node"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("raftnode", flag.ContinueOnError)
	var (
		id        = fs.String("id", "", "node ID, unique for all time (required), e.g. n1")
		dataDir   = fs.String("data", "", "data directory for raft.db and snapshots (required; survives restarts)")
		raftBind  = fs.String("raft-bind", "0.0.0.0:7000", "Raft TCP listen address")
		raftAdv   = fs.String("raft-advertise", "", "Raft address other nodes dial (default: bind address, or this host's IP)")
		httpAddr  = fs.String("http", ":8080", "HTTP API listen address")
		peers     = fs.String("peers", "", "initial cluster, same on every node: id=raft_host:port=http_host:port,...")
		readMode  = fs.String("read-mode", "linearizable", "default read mode: linearizable, lease or stale")
		cluster   = fs.String("cluster", "", "cluster name; requests that name another cluster (X-Raftlab-Cluster) are refused")
		snapThr   = fs.Uint64("snapshot-threshold", 8192, "take a snapshot after this many new log entries")
		snapInt   = fs.Duration("snapshot-interval", 2*time.Minute, "how often to check whether to snapshot")
		trailing  = fs.Uint64("trailing-logs", 10240, "log entries kept after a snapshot")
		hb        = fs.Duration("heartbeat-timeout", time.Second, "raft HeartbeatTimeout")
		election  = fs.Duration("election-timeout", time.Second, "raft ElectionTimeout")
		leaderLT  = fs.Duration("leader-lease-timeout", 500*time.Millisecond, "raft LeaderLeaseTimeout (step-down without quorum contact)")
		readLease = fs.Duration("read-lease", 0, "lease-mode read lease, measured on the injectable clock (default: leader-lease-timeout)")
		reqTO     = fs.Duration("request-timeout", 5*time.Second, "per-request deadline; past it a write's outcome is unknown (504)")
		noSync    = fs.Bool("unsafe-no-sync", false, "UNSAFE: turn off fsync in raft-boltdb (experiments only)")
		logFile   = fs.String("log-file", "", "also append logs to this file (stderr always gets them)")
		logLevel  = fs.String("log-level", "info", "debug, info, warn or error")
	)
	if err := applyEnv(fs); err != nil {
		fmt.Fprintln(os.Stderr, "raftnode:", err)
		return 2
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "raftnode: unexpected arguments %q (all settings are flags)\n", fs.Args())
		return 2
	}
	if *id == "" || *dataDir == "" {
		fmt.Fprintln(os.Stderr, "raftnode: --id and --data are required (or RAFTNODE_ID, RAFTNODE_DATA)")
		return 2
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "raftnode: --log-level %q: want debug, info, warn or error\n", *logLevel)
		return 2
	}
	var out io.Writer = os.Stderr
	if *logFile != "" {
		f, err := os.OpenFile(*logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			fmt.Fprintf(os.Stderr, "raftnode: open log file: %v\n", err)
			return 1
		}
		defer f.Close()
		out = io.MultiWriter(os.Stderr, f)
	}
	log := slog.New(slog.NewJSONHandler(out, &slog.HandlerOptions{Level: lvl})).With("node", *id)

	ps, err := node.ParsePeers(*peers)
	if err != nil {
		log.Error("bad --peers", "err", err.Error())
		return 2
	}
	ln, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		log.Error("cannot listen for HTTP", "addr", *httpAddr, "err", err.Error())
		return 1
	}
	n, err := node.New(node.Config{
		ID: *id, DataDir: *dataDir, RaftBind: *raftBind, RaftAdvertise: *raftAdv, Peers: ps, ReadMode: *readMode, Cluster: *cluster,
		SnapshotThreshold: *snapThr, SnapshotInterval: *snapInt, TrailingLogs: *trailing,
		HeartbeatTimeout: *hb, ElectionTimeout: *election, LeaderLeaseTimeout: *leaderLT, ReadLease: *readLease,
		RequestTimeout: *reqTO, NoSync: *noSync, Logger: log,
	})
	if err != nil {
		ln.Close()
		log.Error("cannot start node", "err", err.Error())
		return 1
	}
	srv := &http.Server{Handler: node.NewHandler(n), ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("http listening", "addr", ln.Addr().String(), "pid", os.Getpid())

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	code := 0
	select {
	case s := <-sig:
		log.Info("shutting down", "signal", s.String())
	case err := <-errc:
		log.Error("http server failed", "err", err.Error())
		code = 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	if err := n.Shutdown(); err != nil {
		log.Error("raft shutdown", "err", err.Error())
		code = 1
	}
	log.Info("shutdown complete")
	return code
}

// applyEnv sets each flag from RAFTNODE_<NAME> if that variable is set.
func applyEnv(fs *flag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := "RAFTNODE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok && err == nil {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("%s=%q: %v", name, v, e)
			}
		}
	})
	return err
}
