package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/raftlab/raftlab/serve"
	"github.com/urfave/cli/v2"
)

func init() { commands = append(commands, serveCommand()) }

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "browse the results folder in a web browser",
		Description: `Serves a page listing every run under --results (newest first, verdict coloured,
with a filter and sortable columns), each run's report and files, and each run as
a .tar.gz download. It binds to 127.0.0.1 unless --addr says otherwise; the pages
need no internet. Stop it with Ctrl-C.

Exit status: 0 after Ctrl-C, 254 for bad arguments or a missing results folder,
255 when the address cannot be bound.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:8080", Usage: "address to listen on (host:port; port 0 picks a free one)"},
			&cli.StringFlag{Name: "results", Value: "results", Usage: "results root folder"},
		},
		Action: serveAction,
	}
}

func serveAction(c *cli.Context) error {
	if c.NArg() != 0 {
		return usageError(c, "labctl serve: takes no arguments (use --results and --addr), got %q", c.Args().First())
	}
	if _, _, err := net.SplitHostPort(c.String("addr")); err != nil {
		return usageError(c, "labctl serve: --addr must be host:port, like 127.0.0.1:8080: %v", err)
	}
	log := slog.New(slog.NewTextHandler(c.App.ErrWriter, nil))
	srv, err := serve.New(c.String("results"), log)
	if err != nil {
		return exitf(exitBadArgs, "labctl serve: %v (run labctl test first, or point --results at a results folder)", err)
	}
	ln, err := net.Listen("tcp", c.String("addr"))
	if err != nil {
		return exitf(exitInternal, "labctl serve: cannot listen on %s: %v", c.String("addr"), err)
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(c.App.Writer, "serving %s on http://%s/ (Ctrl-C stops)\n", c.String("results"), ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return exitf(exitInternal, "labctl serve: %v", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return exitf(exitInternal, "labctl serve: %v", err)
	}
	return nil
}
