#!/bin/sh
# raftnode-ctl: control the raftnode process inside a raftlab node container.
#   raftnode-ctl kill      mark the node down and SIGKILL it (it stays down); waits until it is gone
#   raftnode-ctl start     clear the down mark; the supervisor starts raftnode (waits up to 5 s for its pid)
#   raftnode-ctl pid       print raftnode's pid, or nothing if it is not running
#   raftnode-ctl signal S  send signal S (e.g. STOP, CONT) to raftnode
#   raftnode-ctl status    print "running PID" or "down" / "stopped"
STATE=${RAFTNODE_STATE_DIR:-/run/raftnode}
DOWN=$STATE/down
PIDFILE=$STATE/pid

# alive PID: true if PID exists and is not a zombie
alive() {
	[ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$st" ] || return 1
	[ "$st" != Z ] && [ "$st" != X ]
}

getpid() {
	p=$(cat "$PIDFILE" 2>/dev/null)
	alive "$p" && echo "$p"
}

case "${1:-}" in
kill)
	mkdir -p "$STATE"
	touch "$DOWN"
	p=$(getpid)
	[ -n "$p" ] || exit 0
	kill -KILL "$p" 2>/dev/null
	i=0
	while alive "$p" && [ $i -lt 100 ]; do sleep 0.02; i=$((i + 1)); done
	alive "$p" && { echo "raftnode-ctl: pid $p still alive after SIGKILL" >&2; exit 1; }
	exit 0
	;;
start)
	rm -f "$DOWN"
	i=0
	while [ -z "$(getpid)" ] && [ $i -lt 250 ]; do sleep 0.02; i=$((i + 1)); done
	[ -n "$(getpid)" ] || { echo "raftnode-ctl: raftnode did not start within 5 s (is the supervisor running? see docker logs)" >&2; exit 1; }
	exit 0
	;;
pid)
	getpid
	exit 0
	;;
signal)
	[ -n "${2:-}" ] || { echo "usage: raftnode-ctl signal SIG" >&2; exit 2; }
	p=$(getpid)
	[ -n "$p" ] || { echo "raftnode-ctl: raftnode is not running" >&2; exit 1; }
	kill -s "$2" "$p"
	;;
status)
	p=$(getpid)
	if [ -n "$p" ]; then echo "running $p"; elif [ -e "$DOWN" ]; then echo down; else echo stopped; fi
	;;
*)
	echo "usage: raftnode-ctl kill|start|pid|signal SIG|status" >&2
	exit 2
	;;
esac
