#!/bin/sh
# Entry point of rounds:dist (/app/entrypoint.sh). Runs /app/rounds with the
# arguments given. With none, or with flags only, it runs the daemon:
# `rounds run`, ingest, diagnose and report with an embedded NATS server.
#   docker run rounds:dist                       # rounds run
#   docker run rounds:dist --log-level debug     # rounds run --log-level debug
#   docker run rounds:dist ingest                # one service (compose)
#   docker run rounds:dist version
set -eu

if [ $# -eq 0 ]; then
	set -- run
fi
case "$1" in
-*) set -- run "$@" ;;
esac

# The services write as UID 1000 (nurse). A bind mount owned by another user
# would fail deep inside Badger; say plainly what to do instead.
check_writable() {
	if [ -d "$1" ] && [ ! -w "$1" ]; then
		echo "rounds: $1 is not writable by UID $(id -u) (the image's user, nurse)." >&2
		echo "rounds: on the host, give the mounted directory to that UID (chown $(id -u) DIR)," >&2
		echo "rounds: or run the container as the directory's owner (docker run --user, compose user:)." >&2
		exit 1
	fi
}
case "$1" in
run | report)
	check_writable "${ROUNDS_DATA_DIR:-/app/data}"
	check_writable "${ROUNDS_REPORTS_DIR:-/app/reports}"
	;;
ingest | diagnose)
	check_writable "${ROUNDS_DATA_DIR:-/app/data}"
	;;
esac

exec /app/rounds "$@"
