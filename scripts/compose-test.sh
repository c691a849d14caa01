#!/usr/bin/env bash
# The deploy test, on a real Docker engine: builds rounds:dist, runs
# docker-compose.rounds.yml from a scratch target project and checks, with
# a PASS or FAIL line each:
#
#   1. up: every container healthy; a JUnit file published from the host
#      becomes report files on the host and report events;
#   2. kills: ingest and diagnose are killed (SIGKILL) while thousands of
#      failures stream in, then started again; every failure is counted
#      exactly once and every signature is diagnosed and reported once;
#   3. rolling update: a new image version, `up -d`; the signatures and the
#      reports are all kept, counting goes on, /app/VERSION is the new one;
#   4. cluster: on three NATS nodes with streams replicated three times, the
#      node leading the failures stream is killed while failures are
#      published; nothing acknowledged is lost, nothing is counted twice.
#
# Counts are read from ingest's own state with `rounds signatures export`,
# run from the image on ingest's volume while ingest is stopped, and from
# the streams through NATS' monitoring endpoint.
#
# Cleans up after itself (containers, volumes, networks, temporary files,
# the update's image tag) unless ROUNDS_CT_KEEP=1. Exits non-zero on any
# failure. Bounded: ROUNDS_CT_TIMEOUT seconds in all (default 2700), each wait
# on its own shorter bound.
#
# Environment: ROUNDS_CT_FAILURES (default 6000), ROUNDS_CT_CLUSTER_FAILURES
# (3000), ROUNDS_CT_STEPS (default "up kills update cluster"), ROUNDS_COMPOSE
# ("docker-compose" or "docker compose"; default: whichever is installed).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

: "${ROUNDS_CT_FAILURES:=6000}"
: "${ROUNDS_CT_CLUSTER_FAILURES:=3000}"
: "${ROUNDS_CT_TIMEOUT:=2700}"
: "${ROUNDS_CT_STEPS:=up kills update cluster}"
SIGS=40           # signatures the generated failures fall into
CHUNKS=12         # files they are published from, one `rounds publish` each
PROJECT=roundsct  # compose project; the cluster's is ${PROJECT}c
REPO=$PWD
ROUNDS=$REPO/bin/rounds
VERSION_NOW=$(cat VERSION)
VERSION_NEXT="$VERSION_NOW-rolling-update-test"

passed=0
failed=0
pass() {
	echo "PASS: $*"
	passed=$((passed + 1))
}
fail() {
	echo "FAIL: $*"
	failed=$((failed + 1))
}
info() { echo "  .. $*"; }

command -v docker >/dev/null 2>&1 || die "docker is not installed"
docker info >/dev/null 2>&1 || die "no Docker engine answers (docker info failed); .ci/run skips this test then"
need_tools jq curl

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rounds-compose-test.XXXXXX")
proj=$tmp/shop # the target project
bg_pids=()
cleanup() {
	local code=$?
	trap - EXIT INT TERM
	for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null || true; done
	if [ "$code" != 0 ] && [ "$failed" = 0 ]; then failed=1; fi
	echo "compose-test: $passed passed, $failed failed ($((SECONDS / 60))m$((SECONDS % 60))s)"
	[ "$failed" = 0 ] || code=1
	if [ "${ROUNDS_CT_KEEP:-0}" = 1 ]; then
		echo "kept: $tmp, compose projects $PROJECT and ${PROJECT}c"
		exit "$code"
	fi
	if [ -d "$proj" ]; then
		dc down -v --remove-orphans >/dev/null 2>&1 || true
		dcc down -v --remove-orphans >/dev/null 2>&1 || true
	fi
	docker rmi "rounds:dist-v$VERSION_NEXT" >/dev/null 2>&1 || true
	rm -rf "$tmp"
	exit "$code"
}
trap cleanup EXIT
trap 'echo "FAIL: interrupted"; exit 1' INT TERM
# The whole run is bounded: a watchdog that ends with this script.
(
	deadline=$((SECONDS + ROUNDS_CT_TIMEOUT))
	while kill -0 $$ 2>/dev/null; do
		if [ $SECONDS -ge $deadline ]; then
			echo "FAIL: time limit of ${ROUNDS_CT_TIMEOUT}s reached"
			kill -TERM $$
			exit
		fi
		sleep 5
	done
) &
bg_pids+=($!)

# --- helpers ---------------------------------------------------------------

dc() { (cd "$proj" && compose -p "$PROJECT" -f docker-compose.rounds.yml "$@"); }
dcc() { (cd "$proj" && compose -p "${PROJECT}c" -f docker-compose.rounds.yml -f deployments/docker-compose.cluster.yml "$@"); }

used_ports=" "
free_port() {
	local p
	for _ in $(seq 200); do
		p=$((20000 + RANDOM % 20000))
		case "$used_ports" in *" $p "*) continue ;; esac
		if ! ss -Htln "sport = :$p" 2>/dev/null | grep -q .; then
			used_ports+="$p "
			echo "$p"
			return
		fi
	done
	die "no free port found"
}

# wait_until SECONDS WHAT COMMAND...: true once COMMAND succeeds; it is
# tried every WAIT_STEP seconds (default 1).
wait_until() {
	local limit=$1 what=$2
	shift 2
	local deadline=$((SECONDS + limit))
	until "$@"; do
		if [ $SECONDS -ge $deadline ]; then
			info "gave up after ${limit}s waiting for $what"
			return 1
		fi
		sleep "${WAIT_STEP:-1}"
	done
}

# all_healthy COMPOSE SERVICE...: every service's container is healthy.
all_healthy() {
	local c=$1 s id st
	shift
	for s in "$@"; do
		id=$($c ps -q "$s" 2>/dev/null) || return 1
		[ -n "$id" ] || return 1
		st=$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$id" 2>/dev/null) || return 1
		[ "$st" = healthy ] || return 1
	done
}

container() { $1 ps -q "$2"; }

jsz() { curl -fsS --max-time 5 "http://127.0.0.1:$1/jsz?streams=true&consumers=true&config=true" 2>/dev/null; }

# stream_msgs PORT STREAM
stream_msgs() {
	jsz "$1" | jq -r --arg s "$2" '[.account_details[]?.stream_detail[]? | select(.name == $s) | .state.messages][0] // -1'
}

# ack_floor PORT STREAM CONSUMER
ack_floor() {
	jsz "$1" | jq -r --arg s "$2" --arg c "$3" '[.account_details[]?.stream_detail[]? | select(.name == $s) | .consumer_detail[]? | select(.name == $c) | .ack_floor.stream_seq][0] // -1'
}

# stream_above PORT STREAM N: the stream holds more than N messages.
stream_above() { [ "$(stream_msgs "$1" "$2")" -gt "$3" ]; }

# has_consumer PORT STREAM: someone consumes the stream.
has_consumer() {
	[ "$(jsz "$1" | jq --arg s "$2" '[.account_details[]?.stream_detail[]? | select(.name == $s) | .state.consumer_count][0] // 0')" -ge 1 ]
}

# busy_past PORT STREAM CONSUMER N: the consumer has acked past stream
# sequence N and holds messages it has not acked or not yet been given.
busy_past() {
	jsz "$1" | jq -e --arg s "$2" --arg c "$3" --argjson n "$4" '[.account_details[]?.stream_detail[]? | select(.name == $s)
		| .consumer_detail[]? | select(.name == $c) | select(.ack_floor.stream_seq >= $n and .num_pending + .num_ack_pending > 0)] | length > 0' >/dev/null
}

# count_at_least N COMMAND...: COMMAND prints a number that is at least N.
count_at_least() {
	local n=$1
	shift
	[ "$("$@")" -ge "$n" ]
}
# consumer_nums PORT STREAM CONSUMER BASE: "acked stored in-flight", the
# first two counted from stream sequence BASE.
consumer_nums() {
	jsz "$1" | jq -r --arg s "$2" --arg c "$3" --argjson b "$4" '[.account_details[]?.stream_detail[]? | select(.name == $s)
		| (.state.last_seq) as $last | .consumer_detail[]? | select(.name == $c)
		| "\(.ack_floor.stream_seq - $b) \($last - $b) \(.num_ack_pending)"][0] // "0 -1 0"'
}
report_events() { jq -s --arg p "$2" '[.[] | select(.signature.project == $p)] | length' "$1"; }
# settled PORT...: on every node that answers, the services' consumers have
# nothing pending and the stream counts hold still for two looks.
last_look=""
settled() {
	local look="" p j
	for p in "$@"; do
		j=$(jsz "$p") || continue
		look+=$(jq -c '[.account_details[]?.stream_detail[]? | {n: .name, m: .state.messages,
			c: [.consumer_detail[]? | select(.name | test("^(ingest|diagnose|report)"))
				| {n: .name, p: .num_pending, a: .num_ack_pending}] | sort_by(.n)}] | sort_by(.n)' <<<"$j")
	done
	[ -n "$look" ] || return 1
	if jq -se 'all(.[][]; all(.c[]; .p == 0 and .a == 0))' <<<"$look" >/dev/null && [ "$look" = "$last_look" ]; then
		return 0
	fi
	last_look=$look
	return 1
}

# generate DIR PROJECT PREFIX N SIGS FIRST: N failures of SIGS signatures
# in CHUNKS files of Rounds JSON lines, ids PREFIX-FIRST...; failure i
# belongs to signature i % SIGS. Test names and messages differ by words,
# not digits, so that grouping keeps the signatures apart.
generate() {
	mkdir -p "$1"
	awk -v dir="$1" -v prefix="$3" -v n="$4" -v sigs="$5" -v first="$6" -v chunks="$CHUNKS" 'BEGIN {
		split("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima", w, " ")
		per = int((n + chunks - 1) / chunks)
		for (i = 0; i < n; i++) {
			k = i % sigs
			a = w[int(k / 12) % 12 + 1]; b = w[k % 12 + 1]
			file = sprintf("%s/chunk-%02d.jsonl", dir, int(i / per) + 1)
			printf "{\"id\":\"%s-%07d\",\"kind\":\"test\",\"test\":{\"framework\":\"go\",\"suite\":\"load/%s\",\"name\":\"Test%s%s\",\"file\":\"load/%s_test.go\"},\"error\":{\"type\":\"AssertionError\",\"message\":\"%s %s: the %s ledger does not balance\"}}\n", prefix, first + i, a, toupper(substr(a,1,1)) substr(a,2), toupper(substr(b,1,1)) substr(b,2), a, a, b, b > file
		}
	}'
}

# publish_chunks URL PROJECT DIR PAUSE: publishes every chunk in order,
# retrying one that fails (same ids: what was stored is not stored again),
# and touches DIR/done-NN after each.
publish_chunks() {
	local url=$1 project=$2 dir=$3 pause=$4 f n try
	for f in "$dir"/chunk-*.jsonl; do
		n=${f##*/chunk-}
		n=${n%.jsonl}
		for try in 1 2 3 4 5 6 7 8 9 10; do
			if "$ROUNDS" publish --nats-url "$url" --project "$project" --run-id "ct-$project-$n" --timeout 20s "$f" >>"$dir/publish.log" 2>&1; then
				touch "$dir/done-$n"
				break
			fi
			echo "chunk $n: attempt $try failed" >>"$dir/publish.log"
			sleep 1
		done
		[ -e "$dir/done-$n" ] || {
			echo "chunk $n: not published" >>"$dir/publish.log"
			return 1
		}
		sleep "$pause"
	done
	touch "$dir/done-all"
}

chunks_done() { find "$1" -name 'done-[0-9]*' | wc -l; }
all_events() { jq -s 'length' "$tmp/reports.jsonl"; }

# export_signatures COMPOSE OUT: stops ingest cleanly, reads its state from
# the image onto OUT, starts it again.
export_signatures() {
	local c=$1 out=$2 vol image
	$c stop ingest >/dev/null 2>&1
	vol=$(docker inspect -f '{{range .Mounts}}{{if eq .Destination "/app/data"}}{{.Name}}{{end}}{{end}}' "$(container "$c" ingest)")
	image=$(docker inspect -f '{{.Config.Image}}' "$(container "$c" ingest)")
	docker run --rm -v "$vol:/app/data" "$image" signatures export --data-dir /app/data >"$out"
	$c start ingest >/dev/null 2>&1
}

# occurrences FILE PROJECT: "signatures occurrences min max" of a project,
# from each signature's count; "listed" (the occurrences listed in all)
# follows, which must equal the total.
occurrences() {
	jq -r --arg p "$2" '[.[] | select(.project == $p)] | [.[].count] as $c | "\($c | length) \($c | add // 0) \($c | min // 0) \($c | max // 0) \([.[].occurrences | length] | add // 0)"' "$1"
}

# report_counts FILE PROJECT: "events distinct-signatures most-per-signature".
report_counts() {
	jq -rs --arg p "$2" '[.[] | select(.signature.project == $p) | .signature.id] | "\(length) \(unique | length) \([group_by(.)[] | length] | max // 0)"' "$1"
}

# report_files PROJECT: how many signature pages report wrote for PROJECT
# (one per signature, <reports>/<project>/<type>_<id>.md).
report_files() { find "$proj/.rounds/reports/$1" -name '*.md' -type f 2>/dev/null | wc -l; }
# diagnosis_sums FILE: "page checksum" of each page's diagnosis section (the
# pages are rewritten as their signatures change; their diagnoses are not).
diagnosis_sums() {
	(cd "$proj/.rounds/reports" && find . -mindepth 2 -type f -name '*.md' | sort | while read -r f; do
		printf '%s %s\n' "$f" "$(awk '/^## /{p = /^## Diagnosis/} p' "$f" | md5sum | cut -d' ' -f1)"
	done) >"$1"
}

# --- 0. build ----------------------------------------------------------------

echo "compose-test: $(compose version --short 2>/dev/null || compose version | head -1), engine $(docker version -f '{{.Server.Version}}')"
t0=$SECONDS
if ! { make -s build >/dev/null && timeout 1200 scripts/make-base-images.sh golang busybox nats && timeout 1800 scripts/docker-build.sh dist; }; then
	fail "could not build bin/rounds, the base images or rounds:dist (above)"
	exit 1
fi
export ROUNDS_IMAGE="rounds:dist-v$VERSION_NOW" # what the compose file runs
ROUNDS_NATS_IMAGE=$(nats_image)
export ROUNDS_NATS_IMAGE
info "images ready in $((SECONDS - t0))s: $ROUNDS_IMAGE ($(docker image inspect -f '{{.Size}}' "$ROUNDS_IMAGE" | awk '{printf "%.1f MB", $1/1e6}')), $ROUNDS_NATS_IMAGE"

# The target project: some source, the compose file, its settings, and
# deployments/ for the cluster.
mkdir -p "$proj/src/cart" "$proj/.rounds/reports"
cp docker-compose.rounds.yml "$proj/"
cp .env.rounds.template "$proj/.env.rounds"
# Batches of 1 rather than 500, each its own synced commit: ingest works
# through a backlog of thousands in seconds rather than a blink, so that it
# can be killed in the middle of it (with batches of 10, a fast CI machine
# got through 4000 between two looks); and a check that .env.rounds reaches
# the services.
echo ROUNDS_INGEST_BATCH_SIZE=1 >>"$proj/.env.rounds"
# The HTTP API's bearer token (step 1 posts a report with it).
API_TOKEN=compose-test-$$-$RANDOM
echo "ROUNDS_API_TOKEN=$API_TOKEN" >>"$proj/.env.rounds"
cp -r deployments "$proj/deployments"
printf 'package cart\n\nfunc Add(a, b int) int { return a + b }\n' >"$proj/src/cart/cart.go"
# The report service writes as UID 1000.
if [ "$(id -u)" = 0 ]; then chown 1000:1000 "$proj/.rounds/reports"; else chmod 0777 "$proj/.rounds/reports"; fi

export ROUNDS_NATS_PORT ROUNDS_NATS_MONITOR_PORT ROUNDS_NATS_PORT_2 ROUNDS_NATS_MONITOR_PORT_2 ROUNDS_NATS_PORT_3 ROUNDS_NATS_MONITOR_PORT_3
ROUNDS_NATS_PORT=$(free_port)
ROUNDS_NATS_MONITOR_PORT=$(free_port)
ROUNDS_NATS_PORT_2=$(free_port)
ROUNDS_NATS_MONITOR_PORT_2=$(free_port)
ROUNDS_NATS_PORT_3=$(free_port)
ROUNDS_NATS_MONITOR_PORT_3=$(free_port)
export ROUNDS_HTTP_PORT
ROUNDS_HTTP_PORT=$(free_port)
URL=nats://127.0.0.1:$ROUNDS_NATS_PORT
MON=$ROUNDS_NATS_MONITOR_PORT
SERVICES=(nats ingest diagnose report)
# Leftovers of an interrupted run.
dc down -v --remove-orphans >/dev/null 2>&1 || true
dcc down -v --remove-orphans >/dev/null 2>&1 || true

steps=" $ROUNDS_CT_STEPS "
single_up=false
bring_up() {
	[ "$single_up" = true ] && return 0
	dc up -d >"$tmp/up.log" 2>&1 || {
		cat "$tmp/up.log"
		return 1
	}
	single_up=true
	wait_until 180 "every container healthy" all_healthy dc "${SERVICES[@]}"
}

# --- 1. up, publish, report ---------------------------------------------------

if [[ $steps == *" up "* || $steps == *" kills "* || $steps == *" update "* ]]; then
	t0=$SECONDS
	if bring_up; then
		pass "compose up -d: nats, ingest, diagnose and report healthy in $((SECONDS - t0))s"
	else
		fail "compose up -d: not every container became healthy"
		dc ps
		dc logs --tail=20
		exit 1
	fi
	# Each container announces its service over NATS micro, ready.
	status_json=$("$ROUNDS" status --json --nats-url "$URL" 2>"$tmp/status.err" || cat "$tmp/status.err")
	ready=$(jq -r '[.services[]? | select(.ready == true) | .name] | sort | unique | join(" ")' <<<"$status_json" 2>/dev/null || true)
	if [ "$ready" = "rounds-diagnose rounds-ingest rounds-report" ]; then
		pass "rounds status from the host: $ready announced over NATS micro, each ready"
	else
		fail "rounds status from the host: ready services \"$ready\", want rounds-diagnose rounds-ingest rounds-report: $(head -c 300 <<<"$status_json")"
	fi
	"$ROUNDS" reports --follow --json --nats-url "$URL" >"$tmp/reports.jsonl" 2>"$tmp/reports.err" &
	follower=$!
	bg_pids+=("$follower")
	wait_until 30 "the report follower" has_consumer "$MON" ROUNDS_REPORTS || fail "the report follower did not subscribe"
	published=$("$ROUNDS" publish --nats-url "$URL" --project shop --run-id ct-junit pkg/testreport/testdata/surefire.xml)
	info "$published"
	junit_failures=$(sed -n 's/^published \([0-9]*\) failure.*/\1/p' <<<"$published")
	if wait_until 60 "report files of the JUnit file" count_at_least 1 report_files shop &&
		wait_until 60 "report events of the JUnit file" count_at_least 1 report_events "$tmp/reports.jsonl" shop &&
		wait_until 60 "the services to settle" settled "$MON"; then
		read -r events distinct _ <<<"$(report_counts "$tmp/reports.jsonl" shop)"
		files=$(report_files shop)
		if [ "$files" -ge 1 ] && [ "$files" = "$distinct" ] && [ "$events" = "$distinct" ]; then
			pass "a JUnit file ($junit_failures failures) published from the host: $files report files on the host, $events report events"
		else
			fail "JUnit file: $files report files, $events report events for $distinct signatures"
		fi
	else
		fail "no report for the JUnit file published from the host"
		dc logs --tail=30 report diagnose
	fi
	# The same JUnit file again, over ingest's HTTP API from the host, as a
	# CI system that cannot speak NATS would: refused without the token,
	# published with it (recurrences of the same signatures: no new report).
	api="http://127.0.0.1:$ROUNDS_HTTP_PORT/v1/reports?project=shop&run_id=ct-http"
	unauth=$(curl -s -o /dev/null -w '%{http_code}' --data-binary @pkg/testreport/testdata/surefire.xml "$api" || true)
	answer=$(curl -s -w '\n%{http_code}' -H "Authorization: Bearer $API_TOKEN" --data-binary @pkg/testreport/testdata/surefire.xml "$api" || true)
	code=$(tail -n 1 <<<"$answer")
	posted=$(head -n -1 <<<"$answer" | jq -r '.failures // empty' 2>/dev/null || true)
	if [ "$unauth" = 401 ] && [ "$code" = 200 ] && [ "$posted" = "$junit_failures" ]; then
		pass "the JUnit file POSTed to ingest's HTTP API: 401 without the token, 200 with it ($posted failures)"
	else
		fail "HTTP API: $unauth without the token (want 401), $code with it (want 200), $posted failures (want $junit_failures): $(head -c 300 <<<"$answer")"
	fi
	wait_until 60 "the services to settle" settled "$MON" || true
	SHOP_SIGS=$(report_files shop)
fi

# --- 2. kills in the middle of a stream -----------------------------------------

if [[ $steps == *" kills "* || $steps == *" update "* ]]; then
	N=$ROUNDS_CT_FAILURES
	bring_up || true
	base_failures=$(stream_msgs "$MON" ROUNDS_FAILURES)
	base_signatures=$(stream_msgs "$MON" ROUNDS_SIGNATURES)
	base_diagnoses=$(stream_msgs "$MON" ROUNDS_DIAGNOSES)
	generate "$tmp/load" load load "$N" "$SIGS" 0
	info "publishing $N failures of $SIGS signatures in $CHUNKS files; killing diagnose, then ingest, midway"
	publish_chunks "$URL" load "$tmp/load" 0.7 &
	publisher=$!
	bg_pids+=("$publisher")
	# Each service is killed twice: while the failures are being published,
	# and once started again, in the middle of the backlog it found. Each
	# kill is judged after the fact: did the dead service leave work undone?
	# Messages it had not acked (the ack floor read after the kill, which a
	# dead process cannot move, is below the stream's end) or, for
	# diagnose, whose handler only queues in Badger and acks, signatures
	# taken up and not yet diagnosed. Each service must have died so at least
	# once. A restarted ingest may get through its whole backlog before the
	# kill lands (docker takes up to a second to start and to kill; ingest
	# counts thousands a second): that kill is listed, not required.
	killed=()
	declare -A undone=([ingest]=0 [diagnose]=0)
	# kill_service SERVICE STREAM BASE [CONTAINER]
	kill_service() {
		local acked total inflight done cid
		# docker-compose takes the better part of a second to name the
		# container: ask it before the reading, not between it and the kill.
		cid=${4:-$(container dc "$1")}
		read -r acked total inflight <<<"$(consumer_nums "$MON" "$2" "$1" "$3")"
		done=$(chunks_done "$tmp/load")
		docker kill "$cid" >/dev/null
		local after end left=false state
		read -r after end _ <<<"$(consumer_nums "$MON" "$2" "$1" "$3")"
		state="$after of $end acked once dead"
		[ "$after" -lt "$end" ] && left=true
		if [ "$1" = diagnose ]; then
			local diagnosed=$(($(stream_msgs "$MON" ROUNDS_DIAGNOSES) - base_diagnoses))
			state+=", $diagnosed of $SIGS diagnosed"
			# Signatures it had taken up (acked their events) and not
			# diagnosed: the load's 40 are detected in its first files.
			[ "$after" -gt 0 ] && [ "$diagnosed" -lt "$SIGS" ] && left=true
		fi
		if [ "$left" = true ]; then
			undone[$1]=$((undone[$1] + 1))
			state+=": work left undone"
		fi
		killed+=("$1 with $acked of $total acked, $inflight in flight, $done of $CHUNKS files published; $state")
	}
	# restart_and_kill SERVICE STREAM BASE: starts the service and kills it
	# as soon as it has acked part of its backlog (or, too late, all of it).
	restart_and_kill() {
		local acked floor cid deadline=$((SECONDS + 60))
		cid=$(container dc "$1")
		read -r floor _ _ <<<"$(consumer_nums "$MON" "$2" "$1" "$3")"
		docker start "$cid" >/dev/null
		while [ $SECONDS -lt $deadline ]; do
			read -r acked _ _ <<<"$(consumer_nums "$MON" "$2" "$1" "$3")"
			if [ "$acked" -gt "$floor" ]; then break; fi
			sleep 0.02
		done
		kill_service "$1" "$2" "$3" "$cid"
		docker start "$cid" >/dev/null
	}
	WAIT_STEP=0.05 wait_until 60 "the first failures" stream_above "$MON" ROUNDS_FAILURES "$base_failures" || true
	kill_service diagnose ROUNDS_SIGNATURES "$base_signatures"
	# Ingest a third of the way, with failures in hand or waiting for it
	# (it works in batches of one, and files are published in bursts).
	ingest_cid=$(container dc ingest)
	WAIT_STEP=0.05 wait_until 60 "ingest a third of the way, behind the publisher" busy_past "$MON" ROUNDS_FAILURES ingest $((base_failures + N / 3)) || true
	kill_service ingest ROUNDS_FAILURES "$base_failures" "$ingest_cid"
	# The rest is published while ingest is down: a backlog of thousands.
	wait_until 120 "every file published" test -e "$tmp/load/done-all" || true
	restart_and_kill ingest ROUNDS_FAILURES "$base_failures"
	restart_and_kill diagnose ROUNDS_SIGNATURES "$base_signatures"
	info "started ingest and diagnose again after $(chunks_done "$tmp/load") of $CHUNKS files"
	if wait "$publisher"; then
		pass "published $N failures in $CHUNKS files while ingest and diagnose were killed and started"
	else
		fail "publishing: $(tail -n 3 "$tmp/load/publish.log")"
	fi
	# The same failures again: JetStream drops them by id.
	"$ROUNDS" publish --nats-url "$URL" --project load --run-id ct-again "$tmp/load/chunk-01.jsonl" "$tmp/load/chunk-02.jsonl" >"$tmp/again.log" 2>&1 || true
	info "again: $(cat "$tmp/again.log")"
	wait_until 120 "every container healthy" all_healthy dc "${SERVICES[@]}" || fail "not healthy after the kills"
	what=$(printf '%s; ' "${killed[@]}")
	if [ "${undone[ingest]}" -ge 1 ] && [ "${undone[diagnose]}" -ge 1 ]; then
		pass "docker kill with work left undone: ingest ${undone[ingest]} of 2 times, diagnose ${undone[diagnose]} of 2: ${what%; }"
	else
		fail "docker kill with work left undone: ingest ${undone[ingest]} of 2 times, diagnose ${undone[diagnose]} of 2 (want at least 1 each): ${what%; }"
	fi
	wait_until 240 "the services to settle" settled "$MON" || fail "the services did not settle"
	stored=$(($(stream_msgs "$MON" ROUNDS_FAILURES) - base_failures))
	[ "$stored" = "$N" ] && pass "the failures stream holds each of the $N failures once" ||
		fail "the failures stream holds $stored failures, want $N"
	export_signatures dc "$tmp/signatures-kills.json"
	read -r sigs total lo hi listed <<<"$(occurrences "$tmp/signatures-kills.json" load)"
	if [ "$sigs" = "$SIGS" ] && [ "$total" = "$N" ] && [ "$lo" = $((N / SIGS)) ] && [ "$hi" = $((N / SIGS)) ] && [ "$listed" = "$N" ]; then
		pass "every failure counted exactly once: $N occurrences on $SIGS signatures, $lo each, each listed"
	else
		fail "counted $total occurrences ($listed listed) on $sigs signatures ($lo to $hi each), want $N on $SIGS ($((N / SIGS)) each)"
	fi
	wait_until 60 "report events" count_at_least "$SIGS" report_events "$tmp/reports.jsonl" load || true
	read -r events distinct most <<<"$(report_counts "$tmp/reports.jsonl" load)"
	files=$(report_files load)
	reports_stream=$(stream_msgs "$MON" ROUNDS_REPORTS)
	if [ "$distinct" = "$SIGS" ] && [ "$events" = "$SIGS" ] && [ "$most" = 1 ] && [ "$files" = "$SIGS" ] && [ "$reports_stream" = $((SIGS + SHOP_SIGS)) ]; then
		pass "every signature diagnosed and reported once: $events report events, $files report files, $reports_stream in the reports stream"
	else
		fail "reports: $events events for $distinct signatures (at most $most for one), $files files, $reports_stream in the stream; want $SIGS of each (+$SHOP_SIGS for shop in the stream)"
	fi
fi

# --- 3. rolling update -----------------------------------------------------------

if [[ $steps == *" update "* ]]; then
	diagnosis_sums "$tmp/reports-before.sums"
	t0=$SECONDS
	if ! VERSION=$VERSION_NEXT ROUNDS_DOCKER_FLOATING=0 timeout 1800 scripts/docker-build.sh dist; then
		fail "could not build version $VERSION_NEXT (above)"
		exit 1
	fi
	old_image=$ROUNDS_IMAGE
	export ROUNDS_IMAGE="rounds:dist-v$VERSION_NEXT"
	dc up -d >"$tmp/update.log" 2>&1 || cat "$tmp/update.log"
	if wait_until 180 "every container healthy" all_healthy dc "${SERVICES[@]}"; then
		pass "rolling update from $old_image to $ROUNDS_IMAGE: healthy again $((SECONDS - t0))s after the build started"
	else
		fail "rolling update: not healthy again"
	fi
	running=$(dc exec -T ingest cat /app/VERSION | tr -d '\r')
	images=$(for s in ingest diagnose report; do docker inspect -f '{{.Config.Image}}' "$(container dc "$s")"; done | sort -u | paste -sd ' ')
	[ "$running" = "$VERSION_NEXT" ] && [ "$images" = "$ROUNDS_IMAGE" ] &&
		pass "compose exec ingest cat /app/VERSION: $running (every service on $images)" ||
		fail "after the update /app/VERSION is '$running' and the services run $images"
	# More of the same signatures, and one new one.
	generate "$tmp/more" load more 400 "$SIGS" 0
	generate "$tmp/new" load new 5 1 0
	sed -i 's/the \([a-z]*\) ledger does not balance/the \1 ledger was never opened/; s/"name":"Test/"name":"TestNew/' "$tmp/new"/chunk-*.jsonl
	before_events=$(all_events)
	"$ROUNDS" publish --nats-url "$URL" --project load --run-id ct-more "$tmp"/more/chunk-*.jsonl "$tmp"/new/chunk-*.jsonl | sed 's/^/  .. /'
	wait_until 60 "the new signature's report" count_at_least $((before_events + 1)) all_events || true
	wait_until 120 "the services to settle" settled "$MON" || fail "the services did not settle after the update"
	export_signatures dc "$tmp/signatures-update.json"
	read -r sigs total _ _ _ <<<"$(occurrences "$tmp/signatures-update.json" load)"
	kept=$(jq -n --slurpfile a "$tmp/signatures-kills.json" --slurpfile b "$tmp/signatures-update.json" \
		'[$a[0][] | .id] - [$b[0][] | .id] | length')
	want=$((N + 405))
	if [ "$kept" = 0 ] && [ "$sigs" = $((SIGS + 1)) ] && [ "$total" = "$want" ]; then
		pass "every signature kept through the update, and counting goes on: $total occurrences on $sigs signatures"
	else
		fail "after the update: $kept signatures lost, $total occurrences on $sigs signatures; want 0 lost, $want on $((SIGS + 1))"
	fi
	diagnosis_sums "$tmp/reports-after.sums"
	missing=$(comm -23 "$tmp/reports-before.sums" "$tmp/reports-after.sums" | wc -l)
	added=$(comm -13 "$tmp/reports-before.sums" "$tmp/reports-after.sums" | wc -l)
	new_events=$(($(all_events) - before_events))
	if [ "$missing" = 0 ] && [ "$added" = 1 ] && [ "$new_events" = 1 ] && [ -s "$proj/.rounds/reports/summary.md" ]; then
		pass "every report page kept through the update with its diagnosis unchanged; only the new signature reported ($added page, $new_events event)"
	else
		fail "reports after the update: $missing pages changed in their diagnosis or gone, $added new pages, $new_events new events, summary.md $([ -s "$proj/.rounds/reports/summary.md" ] && echo present || echo missing); want 0, 1, 1, present"
	fi
fi

# --- 4. cluster: a NATS node dies while failures are published -----------------------

if [[ $steps == *" cluster "* ]]; then
	if [ "$single_up" = true ]; then
		kill "$follower" 2>/dev/null || true
		dc down -v >/dev/null 2>&1
		single_up=false
	fi
	N=$ROUNDS_CT_CLUSTER_FAILURES
	CSERVICES=(nats nats-2 nats-3 ingest diagnose report)
	MONS=("$ROUNDS_NATS_MONITOR_PORT" "$ROUNDS_NATS_MONITOR_PORT_2" "$ROUNDS_NATS_MONITOR_PORT_3")
	CURL=nats://127.0.0.1:$ROUNDS_NATS_PORT,nats://127.0.0.1:$ROUNDS_NATS_PORT_2,nats://127.0.0.1:$ROUNDS_NATS_PORT_3
	t0=$SECONDS
	dcc up -d >"$tmp/cluster-up.log" 2>&1 || cat "$tmp/cluster-up.log"
	if wait_until 240 "the cluster healthy" all_healthy dcc "${CSERVICES[@]}"; then
		pass "cluster variant: three NATS nodes and the services healthy in $((SECONDS - t0))s"
	else
		fail "cluster variant: not every container became healthy"
		dcc ps
		dcc logs --tail=20
		exit 1
	fi
	replicas=$(jsz "${MONS[0]}" | jq -r '[.account_details[]?.stream_detail[]? | select(.name | startswith("ROUNDS_")) | .config.num_replicas] | unique | map(tostring) | join(",")')
	[ "$replicas" = 3 ] && pass "every Rounds stream has 3 replicas" || fail "stream replicas: $replicas, want 3"
	leader=$(jsz "${MONS[0]}" | jq -r '[.account_details[]?.stream_detail[]? | select(.name == "ROUNDS_FAILURES") | .cluster.leader][0]')
	case "$leader" in
	nats-1) victim=nats ;;
	nats-2 | nats-3) victim=$leader ;;
	*) victim=nats-2 ;;
	esac
	generate "$tmp/cluster" cl cl "$N" "$SIGS" 0
	info "publishing $N failures to all three nodes; killing $victim (leader of ROUNDS_FAILURES: $leader) midway"
	publish_chunks "$CURL" cl "$tmp/cluster" 0.7 &
	publisher=$!
	bg_pids+=("$publisher")
	wait_until 60 "a quarter published" count_at_least $((CHUNKS / 4)) chunks_done "$tmp/cluster" || true
	docker kill "$(container dcc "$victim")" >/dev/null
	info "killed $victim after $(chunks_done "$tmp/cluster") of $CHUNKS files"
	wait_until 120 "three quarters published" count_at_least $((CHUNKS * 3 / 4)) chunks_done "$tmp/cluster" || true
	docker start "$(container dcc "$victim")" >/dev/null
	info "started $victim again after $(chunks_done "$tmp/cluster") of $CHUNKS files"
	if wait "$publisher"; then
		retries=$(grep -c 'attempt' "$tmp/cluster/publish.log" || true)
		pass "published $N failures while $victim was down ($retries files published again after an error)"
	else
		fail "publishing to the cluster: $(tail -n 3 "$tmp/cluster/publish.log")"
	fi
	wait_until 180 "the cluster healthy again" all_healthy dcc "${CSERVICES[@]}" || fail "the cluster is not healthy again"
	wait_until 240 "the services to settle" settled "${MONS[@]}" || fail "the services did not settle on the cluster"
	stored=$(stream_msgs "${MONS[0]}" ROUNDS_FAILURES)
	stored_restarted=$(stream_msgs "${MONS[$(case $victim in nats) echo 0 ;; nats-2) echo 1 ;; *) echo 2 ;; esac)]}" ROUNDS_FAILURES)
	[ "$stored" = "$N" ] && [ "$stored_restarted" = "$N" ] &&
		pass "nothing acknowledged lost: the failures stream holds $N on a live node and on the restarted one" ||
		fail "the failures stream holds $stored (on the restarted node $stored_restarted), want $N"
	export_signatures dcc "$tmp/signatures-cluster.json"
	read -r sigs total lo hi _ <<<"$(occurrences "$tmp/signatures-cluster.json" cl)"
	if [ "$sigs" = "$SIGS" ] && [ "$total" = "$N" ] && [ "$lo" = $((N / SIGS)) ] && [ "$hi" = $((N / SIGS)) ]; then
		pass "cluster: every failure counted exactly once: $N occurrences on $SIGS signatures"
	else
		fail "cluster: counted $total occurrences on $sigs signatures ($lo to $hi each), want $N on $SIGS"
	fi
fi

[ "$failed" = 0 ]
