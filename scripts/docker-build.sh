#!/usr/bin/env bash
# Builds rounds:dist (Dockerfile.prod) and rounds:dev (Dockerfile.dev), each
# tagged with and without its version: rounds:dist and rounds:dist-v0.1.0.
#
# Usage: scripts/docker-build.sh [dist] [dev]      (default: both)
#
# Environment:
#   VERSION                the version to stamp (default: the VERSION file)
#   ROUNDS_IMAGE_REPO      the repository to tag (default: rounds)
#   GO_VERSION             the golang image of the build stages (default: 1.26)
#   CLAUDE_CLI_VERSION     passed on to Dockerfile.prod (not possible offline)
#   ROUNDS_DOCKER_OFFLINE  1: build with the host's Go module cache as the
#                          module proxy, in a build context made for it, because
#                          the build cannot reach the Go module proxy; 0: a
#                          plain `docker build .`; auto (default): 1 when the
#                          golang image was made by make-base-images.sh
#   ROUNDS_DOCKER_FLOATING 0: tag only the versioned tag (rounds:dist-v0.1.0),
#                          leaving rounds:dist where it is
#   DOCKER_BUILD_FLAGS     more flags for docker build (e.g. --no-cache)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

: "${VERSION:=$(cat VERSION)}"
: "${ROUNDS_IMAGE_REPO:=rounds}"
: "${ROUNDS_DOCKER_OFFLINE:=auto}"
: "${CLAUDE_CLI_VERSION:=}"
: "${STATICCHECK_VERSION:=v0.8.2}"
read -r -a extra_flags <<<"${DOCKER_BUILD_FLAGS:-}"

case "$VERSION" in
'' | *[!A-Za-z0-9.+_-]*) die "VERSION '$VERSION' is not a version" ;;
esac
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(dist dev)

have_image "golang:$GO_VERSION" || die "no golang:$GO_VERSION image: run scripts/make-base-images.sh first"
offline=$ROUNDS_DOCKER_OFFLINE
if [ "$offline" = auto ]; then
	if is_local_image "golang:$GO_VERSION"; then offline=1; else offline=0; fi
fi

ctx=.
build_args=(--build-arg "GO_VERSION=$GO_VERSION" --build-arg "VERSION=$VERSION")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rounds-docker.XXXXXX")
# ROUNDS_DOCKER_KEEP=1 keeps the build context and the build logs.
trap '[ "${ROUNDS_DOCKER_KEEP:-0}" = 1 ] && say "kept $tmp" || rm -rf "$tmp"' EXIT

if [ "$offline" = 1 ]; then
	if [ -n "$CLAUDE_CLI_VERSION" ]; then
		die "CLAUDE_CLI_VERSION=$CLAUDE_CLI_VERSION needs node and npm from Debian and the Claude Code CLI from the npm registry inside the build, and this offline build reaches neither. Build without it here; with a network, docker build --build-arg CLAUDE_CLI_VERSION=... (docs/deploy.md)."
	fi
	command -v go >/dev/null 2>&1 || die "an offline build takes the modules from the host's Go: install Go, or set ROUNDS_DOCKER_OFFLINE=0"
	ctx=$tmp/context
	mkdir -p "$ctx"
	# The files git knows (committed or not, ignored ones left out).
	git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		tar --null -T - -cf - | tar -C "$ctx" -xf -
	# Every module the builds need, taken from the host's module cache (and
	# from the proxy for what it lacks), as a file:// module proxy.
	say "collecting modules from the host's Go module cache"
	hostcache=$(go env GOMODCACHE)
	export GOMODCACHE=$tmp/modcache GOFLAGS=-modcacherw GOWORK=
	export GOPROXY="file://$hostcache/cache/download,$(go env GOPROXY)"
	go mod download
	if printf '%s\n' "${targets[@]}" | grep -qx dev; then
		GOBIN=$tmp/bin go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
	fi
	mv "$GOMODCACHE/cache/download" "$ctx/.goproxy"
	rm -rf "$GOMODCACHE"
	unset GOMODCACHE GOFLAGS GOPROXY GOWORK
	build_args+=(--build-arg GOPROXY=file:///src/.goproxy --build-arg GOSUMDB=off)
	say "offline build: modules from $(du -sh "$ctx/.goproxy" | cut -f1) in the build context's .goproxy"
elif [ -n "$CLAUDE_CLI_VERSION" ]; then
	build_args+=(--build-arg "CLAUDE_CLI_VERSION=$CLAUDE_CLI_VERSION")
fi

for t in "${targets[@]}"; do
	case "$t" in
	dist) file=Dockerfile.prod stage=build ;;
	dev)
		file=Dockerfile.dev
		stage=modules
		# rounds:dev carries the repository; rounds:dist does not need it, and
		# leaving it out keeps its layers cached while git works.
		if [ "$offline" = 1 ] && [ ! -e "$ctx/.git" ]; then cp -a .git "$ctx/.git"; fi
		build_args+=(--build-arg "STATICCHECK_VERSION=$STATICCHECK_VERSION")
		;;
	*) die "unknown image $t: want dist or dev" ;;
	esac
	tags=(-t "$ROUNDS_IMAGE_REPO:$t-v$VERSION")
	[ "${ROUNDS_DOCKER_FLOATING:-1}" = 0 ] || tags+=(-t "$ROUNDS_IMAGE_REPO:$t")
	say "building $ROUNDS_IMAGE_REPO:$t-v$VERSION from $file"
	start=$SECONDS
	docker build --force-rm -f "$ctx/$file" "${build_args[@]}" "${extra_flags[@]}" "${tags[@]}" "$ctx" >"$tmp/build-$t.log" 2>&1 || {
		tail -n 40 "$tmp/build-$t.log" >&2
		die "docker build of $file failed (last lines above)"
	}
	# The legacy builder leaves each build stage behind as an untagged image
	# (1 GB or so). Tag the newest, which later builds reuse as their cache,
	# and remove the older ones.
	# (BuildKit, with buildx, keeps no such images.)
	if ! docker buildx version >/dev/null 2>&1; then
		docker build --force-rm -q -f "$ctx/$file" "${build_args[@]}" --target "$stage" \
			-t "$ROUNDS_IMAGE_REPO:$t-build-cache" "$ctx" >/dev/null 2>&1 &&
			docker image prune -f --filter label=dev.rounds.stage=build >/dev/null 2>&1 || true
	fi
	size=$(docker image inspect -f '{{.Size}}' "$ROUNDS_IMAGE_REPO:$t-v$VERSION" | awk '{printf "%.1f MB", $1/1e6}')
	say "built $ROUNDS_IMAGE_REPO:$t-v$VERSION${tags[2]:+ and $ROUNDS_IMAGE_REPO:$t} ($size, $((SECONDS - start))s)"
done
