#!/usr/bin/env bash
# Makes sure the Docker engine has the base images that Dockerfile.prod,
# Dockerfile.dev and docker-compose.rounds.yml name, for an engine that
# reaches no registry. For each image: keep it if the engine has it, else
# pull it, else make a stand-in locally from Debian's packages and the Go
# module proxy, which the host reaches:
#
#   golang:1.26        Debian (debootstrap, minbase + git, make, gcc,
#                      libc6-dev, ca-certificates) with the host's Go toolchain
#                      in /usr/local/go; the environment of the official image.
#   busybox:1.37-musl  Debian's busybox-static: one statically linked
#                      /bin/busybox (built against glibc, not musl: what
#                      Rounds copies out of it is the static binary).
#   nats:2.15-local    nats-server built from the Go module proxy
#                      (CGO_ENABLED=0) with busybox for a shell and wget, laid
#                      out like the official nats:2.15-alpine; compose runs it
#                      when ROUNDS_NATS_IMAGE names it.
#
# Stand-ins carry the label dev.rounds.base-image.made-locally=true. With a
# registry nothing is made: the official images are pulled. Needs root for
# debootstrap (installed with apt-get when missing) and Go on the host.
#
# Usage: scripts/make-base-images.sh [golang] [busybox] [nats]   (default: all)
# Environment: GO_VERSION, BUSYBOX_VERSION, NATS_VERSION, DEBIAN_SUITE
# (trixie, as the official golang image), DEBIAN_MIRROR, ROUNDS_BASE_PULL=0 to
# skip the pull attempt.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

: "${DEBIAN_SUITE:=trixie}"
: "${DEBIAN_MIRROR:=http://deb.debian.org/debian}"
: "${ROUNDS_BASE_PULL:=1}"

GOLANG_IMAGE="golang:${GO_VERSION}"
BUSYBOX_IMAGE="busybox:${BUSYBOX_VERSION}-musl"

work=""
cleanup() { if [ -n "$work" ]; then rm -rf "$work"; fi; }
trap cleanup EXIT

workdir() {
	if [ -z "$work" ]; then
		work=$(mktemp -d "${TMPDIR:-/tmp}/rounds-base.XXXXXX")
	fi
}

# present_or_pulled: true when the engine has the image or pulls it.
present_or_pulled() {
	if have_image "$1"; then
		if is_local_image "$1"; then say "have $1 (made locally)"; else say "have $1"; fi
		return 0
	fi
	if [ "$ROUNDS_BASE_PULL" = 1 ] && timeout 300 docker pull -q "$1" >/dev/null 2>&1; then
		say "pulled $1"
		return 0
	fi
	return 1
}

# import_rootfs ROOT IMAGE CHANGE... imports a directory as an image.
import_rootfs() {
	local root=$1 image=$2
	shift 2
	local args=(--change "LABEL $LOCAL_LABEL=true")
	local c
	for c in "$@"; do args+=(--change "$c"); done
	tar --numeric-owner -C "$root" -cf - . | docker import "${args[@]}" - "$image" >/dev/null
	say "made $image ($(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}'))"
}

# debian_rootfs makes $work/debian once: minbase with what the official
# golang image has for builds, and busybox-static to take the binary from.
debian_rootfs() {
	workdir
	local root=$work/debian
	[ -d "$root" ] && return 0
	[ "$(id -u)" = 0 ] || die "making a Debian root file system needs root (debootstrap); run this script with sudo"
	if ! command -v debootstrap >/dev/null 2>&1; then
		say "installing debootstrap"
		apt-get install -y -qq debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
	fi
	say "debootstrap $DEBIAN_SUITE from $DEBIAN_MIRROR (a few minutes)"
	local log=$work/debootstrap.log
	if ! debootstrap --variant=minbase --include=ca-certificates,git,make,gcc,libc6-dev,busybox-static \
		"$DEBIAN_SUITE" "$root" "$DEBIAN_MIRROR" >"$log" 2>&1; then
		tail -n 20 "$log" >&2
		die "debootstrap failed (log above)"
	fi
}

make_golang() {
	present_or_pulled "$GOLANG_IMAGE" && return 0
	command -v go >/dev/null 2>&1 || die "no $GOLANG_IMAGE and no Go on this host to make one from"
	local gover goroot
	gover=$(go env GOVERSION)
	goroot=$(go env GOROOT)
	case "$gover" in
	go"$GO_VERSION" | go"$GO_VERSION".*) ;;
	*) die "the host's Go is $gover, not $GO_VERSION: cannot make $GOLANG_IMAGE from it" ;;
	esac
	debian_rootfs
	local root=$work/golang
	say "making $GOLANG_IMAGE from Debian $DEBIAN_SUITE and the host's $gover"
	cp -a "$work/debian" "$root"
	chroot "$root" dpkg --purge busybox-static >/dev/null
	chroot "$root" apt-get clean
	rm -rf "$root"/var/lib/apt/lists/* "$root"/var/log/*.log "$root"/var/cache/debconf/*-old
	mkdir -p "$root/usr/local"
	cp -a "$goroot" "$root/usr/local/go"
	mkdir -p "$root/go/src" "$root/go/bin"
	chmod -R 1777 "$root/go"
	import_rootfs "$root" "$GOLANG_IMAGE" \
		"ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
		"ENV GOLANG_VERSION=${gover#go}" "ENV GOTOOLCHAIN=local" "ENV GOPATH=/go" \
		"WORKDIR /go" 'CMD ["bash"]'
}

# busybox_tree DIR lays out a static busybox with its applets in DIR/bin.
busybox_tree() {
	local dir=$1 bb=$work/debian/usr/bin/busybox
	mkdir -p "$dir/bin" "$dir/etc" "$dir/root" "$dir/tmp"
	chmod 1777 "$dir/tmp"
	cp "$bb" "$dir/bin/busybox"
	local applet
	for applet in $("$bb" --list); do
		[ "$applet" = busybox ] || ln -sf busybox "$dir/bin/$applet"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$dir/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$dir/etc/group"
}

make_busybox() {
	present_or_pulled "$BUSYBOX_IMAGE" && return 0
	debian_rootfs
	local version
	version=$(chroot "$work/debian" dpkg-query -W -f '${Version}' busybox-static)
	case "$version" in
	*:"$BUSYBOX_VERSION".*) ;;
	*) say "warning: Debian $DEBIAN_SUITE has busybox-static $version, not $BUSYBOX_VERSION" ;;
	esac
	say "making $BUSYBOX_IMAGE from Debian's busybox-static $version"
	busybox_tree "$work/busybox"
	import_rootfs "$work/busybox" "$BUSYBOX_IMAGE" "ENV PATH=/bin" 'CMD ["sh"]' \
		"LABEL org.opencontainers.image.description=\"Debian busybox-static $version (static glibc build), made by scripts/make-base-images.sh\""
}

make_nats() {
	if have_image "$NATS_IMAGE_LOCAL"; then
		say "have $NATS_IMAGE_LOCAL (made locally)"
		return 0
	fi
	present_or_pulled "$NATS_IMAGE_OFFICIAL" && return 0
	command -v go >/dev/null 2>&1 || die "no $NATS_IMAGE_OFFICIAL and no Go on this host to build nats-server with"
	debian_rootfs
	local root=$work/nats
	busybox_tree "$root"
	say "building nats-server v$NATS_VERSION (Go module proxy, CGO_ENABLED=0)"
	mkdir -p "$root/usr/local/bin" "$root/etc/nats" "$root/data"
	GOBIN="$root/usr/local/bin" CGO_ENABLED=0 GOWORK=off GOFLAGS=-buildvcs=false \
		go install -trimpath -ldflags "-s -w" "github.com/nats-io/nats-server/v2@v$NATS_VERSION"
	# The official image's default configuration.
	cat >"$root/etc/nats/nats-server.conf" <<-'CONF'
		# Client port of 4222 on all interfaces
		port: 4222
		# HTTP monitoring port
		monitor_port: 8222
	CONF
	import_rootfs "$root" "$NATS_IMAGE_LOCAL" \
		"ENV PATH=/usr/local/bin:/bin" "EXPOSE 4222 6222 8222" \
		'CMD ["nats-server", "--config", "/etc/nats/nats-server.conf"]' \
		"LABEL org.opencontainers.image.description=\"nats-server v$NATS_VERSION built from source, made by scripts/make-base-images.sh\""
}

command -v docker >/dev/null 2>&1 || die "docker is not installed"
docker info >/dev/null 2>&1 || die "no Docker engine answers (docker info failed)"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(golang busybox nats)
for t in "${targets[@]}"; do
	case "$t" in
	golang) make_golang ;;
	busybox) make_busybox ;;
	nats) make_nats ;;
	*) die "unknown base image $t: want golang, busybox or nats" ;;
	esac
done
