#!/bin/sh
# docker/build.sh: build the raftlab node image with no container registry.
#
#   docker/build.sh              build (or reuse) raftlab/base:bookworm and raftlab/node:latest + :<hash>
#   docker/build.sh --print-tag  same, then print only the content-hash tag (raftlab/node:<hash>) on stdout
#   docker/build.sh --base-only  build (or reuse) only the base image
#   docker/build.sh --rebuild-base  drop and rebuild the base image
#
# The base is a Debian bookworm minbase rootfs made by debootstrap from the mirror in this machine's apt
# sources, pruned and loaded with `docker import`. If debootstrap cannot be used and a registry is reachable,
# debian:bookworm-slim is pulled and iptables, iproute2 and procps are installed with apt-get instead.
# The node image is FROM the base plus COPY (no RUN), built with the legacy builder, tagged by a hash of its
# inputs; when an image with that hash exists, nothing is rebuilt. Progress goes to stderr.
set -eu

BASE_IMAGE=${RAFTLAB_BASE_IMAGE:-raftlab/base:bookworm}
NODE_REPO=${RAFTLAB_NODE_REPO:-raftlab/node}
SUITE=bookworm
PACKAGES=iptables,iproute2,procps

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
start=$(date +%s.%N)

print_tag=0
base_only=0
rebuild_base=0
for arg in "$@"; do
	case "$arg" in
	--print-tag) print_tag=1 ;;
	--base-only) base_only=1 ;;
	--rebuild-base) rebuild_base=1 ;;
	-h | --help)
		sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "build.sh: unknown argument '$arg' (try --help)" >&2
		exit 2
		;;
	esac
done

log() {
	now=$(date +%s.%N)
	printf '[build %6.1fs] %s\n' "$(echo "$now - $start" | awk '{print $1 - $3}' 2>/dev/null || echo 0)" "$*" >&2
}
die() {
	echo "build.sh: error: $*" >&2
	exit 1
}

command -v docker >/dev/null 2>&1 || die "docker CLI not found; install Docker Engine (docker.io) first"
docker info >/dev/null 2>&1 || die "cannot talk to the Docker daemon (is it running, and may this user use it?)"

GO=${GO:-}
if [ -z "$GO" ]; then
	if command -v go >/dev/null 2>&1; then GO=go; elif [ -x /usr/local/go/bin/go ]; then GO=/usr/local/go/bin/go; else
		die "go toolchain not found (set GO=/path/to/go)"
	fi
fi

# mirror prints the first Debian mirror for $SUITE from the machine's apt sources (deb822 or one-line).
mirror() {
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk -v suite="$SUITE" '
			/^[ \t]*$/ { if (uri != "" && ok) { print uri; exit } uri=""; ok=0; next }
			/^URIs:/ { uri=$2 }
			/^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) ok=1 }
			END { if (uri != "" && ok) print uri }' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		awk -v suite="$SUITE" '$1 == "deb" { u=$2; s=$3; if ($2 ~ /^\[/) { for (i = 2; i <= NF; i++) if ($i ~ /\]$/) break; u=$(i+1); s=$(i+2) } if (s == suite) print u }' "$f"
	done
}

build_base_debootstrap() {
	if ! command -v debootstrap >/dev/null 2>&1 && [ -x /usr/sbin/debootstrap ]; then PATH=$PATH:/usr/sbin; fi
	if ! command -v debootstrap >/dev/null 2>&1; then
		if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
			log "debootstrap missing: apt-get install -y debootstrap"
			apt-get install -y debootstrap >&2 || { apt-get update >&2 && apt-get install -y debootstrap >&2; } || return 1
			PATH=$PATH:/usr/sbin
		else
			log "debootstrap is not installed (and we are not root to install it)"
			return 1
		fi
	fi
	[ "$(id -u)" = 0 ] || { log "debootstrap needs root"; return 1; }
	m=$(mirror | head -n 1)
	[ -n "$m" ] || { log "no Debian $SUITE mirror in /etc/apt/sources.list*"; return 1; }
	tmp=$(mktemp -d /tmp/raftlab-base.XXXXXX)
	rootfs=$tmp/rootfs
	log "debootstrap --variant=minbase --include=$PACKAGES $SUITE from $m (about a minute)"
	if ! debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$rootfs" "$m" >"$tmp/debootstrap.log" 2>&1; then
		tail -n 20 "$tmp/debootstrap.log" >&2
		rm -rf "$tmp"
		return 1
	fi
	log "pruning docs, man pages, locales, apt lists and caches"
	rm -rf "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
		"$rootfs"/usr/share/locale/* "$rootfs"/usr/share/lintian "$rootfs"/usr/share/linda \
		"$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/var/cache/debconf/*-old \
		"$rootfs"/var/log/* "$rootfs"/tmp/*
	log "docker import -> $BASE_IMAGE"
	tar -C "$rootfs" --numeric-owner -c . | docker import \
		--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'CMD ["/bin/bash"]' \
		--message "raftlab base: debootstrap $SUITE minbase + $PACKAGES" \
		- "$BASE_IMAGE" >/dev/null
	status=$?
	rm -rf "$tmp"
	return $status
}

build_base_pull() {
	log "falling back to a pulled debian:$SUITE-slim (needs a reachable registry)"
	docker pull "debian:$SUITE-slim" >&2 || return 1
	tmp=$(mktemp -d /tmp/raftlab-base.XXXXXX)
	cat >"$tmp/Dockerfile" <<EOF
FROM debian:$SUITE-slim
RUN apt-get update && apt-get install -y --no-install-recommends iptables iproute2 procps \
 && rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/*
EOF
	DOCKER_BUILDKIT=0 docker build -q -t "$BASE_IMAGE" "$tmp" >&2
	status=$?
	rm -rf "$tmp"
	return $status
}

# 1. base image
if [ "$rebuild_base" = 1 ] && docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
	log "removing $BASE_IMAGE (--rebuild-base)"
	docker image rm "$BASE_IMAGE" >/dev/null
fi
if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
	log "base $BASE_IMAGE present"
else
	build_base_debootstrap || build_base_pull ||
		die "could not make $BASE_IMAGE: debootstrap failed (see above; it needs root, the debootstrap package and the Debian mirror in /etc/apt/sources*) and no registry was reachable for debian:$SUITE-slim"
	log "base $BASE_IMAGE built"
fi
[ "$base_only" = 1 ] && exit 0

# 2. content hash of everything that goes into the node image
base_id=$(docker image inspect -f '{{.Id}}' "$BASE_IMAGE")
hash=$(
	cd "$root"
	{
		echo "base $base_id"
		"$GO" version
		find go.mod go.sum cmd/raftnode node docker -type f \
			\( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' -o -name 'Dockerfile' -o -name '*.sh' \) \
			! -name '*_test.go' ! -path 'docker/build.sh' 2>/dev/null | LC_ALL=C sort | xargs sha256sum
	} | sha256sum | cut -c1-12
)
tag="$NODE_REPO:$hash"

# 3. node image
if docker image inspect "$tag" >/dev/null 2>&1; then
	log "image $tag present (inputs unchanged), nothing to build"
else
	ctx=$(mktemp -d /tmp/raftlab-node.XXXXXX)
	trap 'rm -rf "$ctx"' EXIT
	log "go build (CGO_ENABLED=0, static) ./cmd/raftnode"
	(cd "$root" && CGO_ENABLED=0 GOOS=linux GOARCH=amd64 "$GO" build -trimpath -ldflags '-s -w' -o "$ctx/raftnode" ./cmd/raftnode) ||
		die "go build ./cmd/raftnode failed (see the compiler output above)"
	cp "$here/Dockerfile" "$ctx/Dockerfile"
	cp "$here/supervisor.sh" "$ctx/raftnode-supervisor"
	cp "$here/raftnode-ctl.sh" "$ctx/raftnode-ctl"
	chmod 0755 "$ctx/raftnode" "$ctx/raftnode-supervisor" "$ctx/raftnode-ctl"
	log "docker build (legacy builder, COPY only) -> $tag"
	DOCKER_BUILDKIT=0 docker build -q --label raftlab.hash="$hash" -t "$tag" "$ctx" >/dev/null 2>"$ctx/build.err" || {
		cat "$ctx/build.err" >&2
		die "docker build failed"
	}
fi
docker tag "$tag" "$NODE_REPO:latest"
# Drop older hash tags beyond the newest 5 (images still used by a container stay: rmi refuses them).
docker image ls "$NODE_REPO" --format '{{.Tag}}' | grep -v -x -e latest -e "$hash" | tail -n +5 |
	while read -r old; do docker image rm "$NODE_REPO:$old" >/dev/null 2>&1 || true; done
log "ready: $tag (also $NODE_REPO:latest)"
[ "$print_tag" = 1 ] && echo "$tag"
exit 0
