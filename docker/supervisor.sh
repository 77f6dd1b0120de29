#!/bin/sh
# raftnode-supervisor: runs raftnode (with this script's arguments; settings also
# come from RAFTNODE_* env) and restarts it whenever it exits, unless the down
# marker exists (raftnode-ctl kill creates it, raftnode-ctl start removes it).
# Meant to run under tini (docker --init). SIGTERM/SIGINT stop raftnode cleanly
# (SIGTERM, SIGKILL after RAFTNODE_STOP_GRACE seconds) and end the container.
# raftnode's output goes to this process's stdout/stderr (docker logs); raftnode
# itself also appends it to $RAFTNODE_LOG_FILE (default /data/node.log).
STATE=${RAFTNODE_STATE_DIR:-/run/raftnode}
DOWN=$STATE/down
PIDFILE=$STATE/pid
GRACE=${RAFTNODE_STOP_GRACE:-8}
mkdir -p "$STATE" "${RAFTNODE_DATA:-/data}"
rm -f "$DOWN" "$PIDFILE" # a fresh container start always starts the node

child=
stopping=
stop() {
	stopping=1
	if [ -n "$child" ]; then
		kill -TERM "$child" 2>/dev/null
		# watchdog: escalate to SIGKILL if raftnode ignores SIGTERM
		(sleep "$GRACE"; kill -KILL "$child" 2>/dev/null) &
	fi
}
trap stop TERM INT

log() { echo "{\"time\":\"$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)\",\"level\":\"INFO\",\"msg\":\"supervisor: $*\",\"node\":\"${RAFTNODE_ID:-}\"}"; }

while [ -z "$stopping" ]; do
	if [ -e "$DOWN" ]; then
		sleep 0.05
		continue
	fi
	started=$(date +%s)
	/usr/local/bin/raftnode "$@" &
	child=$!
	status=
	echo "$child" >"$PIDFILE"
	log "started raftnode pid $child"
	# wait returns early when a trapped signal arrives; keep waiting for the child.
	while kill -0 "$child" 2>/dev/null; do
		wait "$child"
		status=$?
	done
	rm -f "$PIDFILE"
	log "raftnode pid $child exited (status $status)"
	child=
	[ -n "$stopping" ] && break
	# A node that dies within 2 s of starting (bad flags, port in use) is
	# restarted once a second, not in a tight loop.
	if [ $(($(date +%s) - started)) -lt 2 ] && [ ! -e "$DOWN" ]; then sleep 1; else sleep 0.1; fi
done
log "stopped"
exit 0
