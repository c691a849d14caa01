# Shared by the scripts in this folder: sourced, not run.

# Versions of the images the Dockerfiles and the compose file name. Change
# them here and in Dockerfile.prod, Dockerfile.dev and docker-compose.rounds.yml.
: "${GO_VERSION:=1.26}"
: "${BUSYBOX_VERSION:=1.37}"
: "${NATS_VERSION:=2.15.2}"
NATS_IMAGE_OFFICIAL="nats:${NATS_VERSION%.*}-alpine"
NATS_IMAGE_LOCAL="nats:${NATS_VERSION%.*}-local"
# The label that marks an image made by make-base-images.sh.
LOCAL_LABEL=dev.rounds.base-image.made-locally

say() { printf '%s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# is_local_image tells whether an image was made by make-base-images.sh.
is_local_image() {
	[ "$(docker image inspect -f "{{ index .Config.Labels \"$LOCAL_LABEL\" }}" "$1" 2>/dev/null)" = true ]
}

# nats_image prints the NATS image the compose file should run: the
# official one when the engine has it, else the one made locally.
nats_image() {
	if [ -n "${ROUNDS_NATS_IMAGE:-}" ]; then
		echo "$ROUNDS_NATS_IMAGE"
	elif have_image "$NATS_IMAGE_OFFICIAL"; then
		echo "$NATS_IMAGE_OFFICIAL"
	else
		echo "$NATS_IMAGE_LOCAL"
	fi
}

# compose runs Debian's docker-compose (v1) or the docker compose plugin (v2),
# whichever is there; ROUNDS_COMPOSE picks one ("docker-compose" or "docker compose").
compose() {
	if [ -n "${ROUNDS_COMPOSE:-}" ]; then
		$ROUNDS_COMPOSE "$@"
	elif command -v docker-compose >/dev/null 2>&1; then
		docker-compose "$@"
	elif docker compose version >/dev/null 2>&1; then
		docker compose "$@"
	else
		die "neither docker-compose nor the docker compose plugin is installed"
	fi
}

# need_tools CMD... makes sure each command is there: installs the Debian
# package of the same name with apt-get when it is missing and we are root
# (CI's clean machines), else stops with what to install.
need_tools() {
	local missing=() t
	for t in "$@"; do command -v "$t" >/dev/null 2>&1 || missing+=("$t"); done
	[ ${#missing[@]} = 0 ] && return 0
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		say "installing ${missing[*]} (Debian packages)"
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >&2 ||
			die "could not install ${missing[*]} with apt-get"
		return 0
	fi
	die "${missing[*]} needed: apt-get install ${missing[*]}"
}
