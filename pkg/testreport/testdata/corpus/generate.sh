#!/usr/bin/env bash
# generate.sh runs the small projects under */src with real test runners and
# keeps what the runners wrote, several runs each with other random values and
# other bugs switched on; then it writes manifest.json with what each file must
# yield, counted independently of Rounds (Python's XML parser and JSON reader,
# and which bugs each run switched on).
#
# Needs: go (and gcc for -race), node 20+, python3 with pytest
# (apt-get install python3-pytest), mocha (apt-get install mocha). The Go
# module proxy is used once, for go-junit-report and gotestsum.
#
#   pkg/testreport/testdata/corpus/generate.sh
set -uo pipefail
cd "$(dirname "$0")"
here=$(pwd)
export GOWORK=off GOFLAGS=-mod=mod PYTHONDONTWRITEBYTECODE=1
manifest=$(mktemp)
trap 'rm -f "$manifest"' EXIT

# expect FILE FAILURES: records how many failures FILE must yield.
expect() { printf '%s\t%s\n' "$1" "$2" >>"$manifest"; }

# --- go test -json ------------------------------------------------------------
rm -f go/run-*
gorun() { # gorun N FAILURES ENV... -- GO TEST FLAGS...
	local n=$1 failures=$2
	shift 2
	local envs=()
	while [ "$1" != "--" ]; do envs+=("$1"); shift; done
	shift
	(cd go/src && env CORPUS_SEED=$((RANDOM * 7 + n)) "${envs[@]}" go test -json "$@" ./... >"../run-$n.json" 2>"../run-$n.stderr")
	if [ -s "go/run-$n.stderr" ]; then
		# go test's stderr merged in, as `go test -json ./... 2>&1 >file` does.
		cat "go/run-$n.stderr" "go/run-$n.json" >"go/run-$n.tmp" && mv "go/run-$n.tmp" "go/run-$n.json"
	fi
	rm -f "go/run-$n.stderr"
	expect "go/run-$n.json" "$failures"
}
# One failure: TestTotal/big_discount, every run.
gorun 1 1 --
# The flaky test fails; a nested subtest panics (its parents are no failures).
gorun 2 3 CORPUS_FLAKY=1 CORPUS_PANIC=1 --
# A subtest times out: the panic goes to TestSettle/batch.
gorun 3 2 CORPUS_TIMEOUT=1 -- -timeout 3s
# lib does not build (uses fails with it: one failure), report's tests do not build.
gorun 4 3 -- -tags corpus_broken
# A data race.
gorun 5 2 CORPUS_RACE=1 -- -race
# The same broken build with the text build output of Go before 1.24 on stderr.
gorun 6 3 GODEBUG=gotestjsonbuildtext=1 -- -tags corpus_broken
# Every test twice: TestTotal/big_discount fails twice, the flaky test once.
gorun 7 3 CORPUS_FLAKY=alternate -- -count=2

# The same streams as JUnit XML, by go-junit-report and gotestsum.
for n in 1 2; do
	go run github.com/jstemmer/go-junit-report/v2@v2.1.0 -parser gojson -in "go/run-$n.json" -out "go/run-$n.go-junit-report.xml"
	expect "go/run-$n.go-junit-report.xml" junit
done
for n in 3 5; do
	(cd go/src && go run gotest.tools/gotestsum@v1.13.0 --junitfile "../run-$n.gotestsum.xml" --raw-command -- cat "../run-$n.json" >/dev/null)
	expect "go/run-$n.gotestsum.xml" junit
done

# --- node --test --test-reporter=junit -----------------------------------------
rm -f node/run-*
noderun() { # noderun N ENV...
	local n=$1
	shift
	(cd node/src && env CORPUS_SEED=$((RANDOM * 7 + n)) "$@" node --test --test-reporter=junit --test-reporter-destination="../run-$n.xml" >/dev/null 2>&1)
	expect "node/run-$n.xml" junit
}
noderun 1
noderun 2 CORPUS_FLAKY=1
noderun 3 CORPUS_FLAKY=1 CORPUS_TIMEOUT=1

# --- pytest --junitxml ------------------------------------------------------------
rm -f pytest/run-*
pyrun() { # pyrun N ENV... -- PYTEST FLAGS...
	local n=$1
	shift
	local envs=()
	while [ "$1" != "--" ]; do envs+=("$1"); shift; done
	shift
	(cd pytest/src && env CORPUS_SEED=$((RANDOM * 7 + n)) "${envs[@]}" /usr/bin/python3 -m pytest -q -p no:cacheprovider --junitxml="../run-$n.xml" "$@" >"../run-$n.summary" 2>&1)
	tail -n 1 "pytest/run-$n.summary" >"pytest/run-$n.summary.tmp" && mv "pytest/run-$n.summary.tmp" "pytest/run-$n.summary"
	expect "pytest/run-$n.xml" junit
}
pyrun 1 --
pyrun 2 CORPUS_FLAKY=1 CORPUS_SETUP=1 -- -o junit_logging=all
pyrun 3 CORPUS_SETUP=1 -- -o junit_family=xunit1

# --- mocha --reporter xunit -------------------------------------------------------
rm -f mocha/run-*
mocharun() { # mocharun N ENV...
	local n=$1
	shift
	(cd mocha/src && env NODE_PATH=/usr/share/nodejs CORPUS_SEED=$((RANDOM * 7 + n)) "$@" mocha --reporter xunit --reporter-option "output=../run-$n.xml" 'test/*.test.js' >/dev/null 2>&1)
	expect "mocha/run-$n.xml" junit
}
mocharun 1
mocharun 2 CORPUS_FLAKY=1

# --- the manifest -------------------------------------------------------------------
python3 - "$manifest" >manifest.json <<'PY'
import json, sys, xml.etree.ElementTree as ET

def junit_counts(path):
    """Failures and passed tests of a JUnit file, by Python's own parser."""
    failures = passed = total = 0
    seen = set()
    for case in ET.parse(path).getroot().iter("testcase"):
        total += 1
        tags = {c.tag for c in case}
        if tags & {"failure", "error"}:
            failures += 1
        elif "skipped" not in tags:
            key = (case.get("classname") or "", case.get("name"))
            if key not in seen:
                seen.add(key)
                passed += 1
    return failures, passed, total

def go_passed(path):
    seen = set()
    for line in open(path, encoding="utf-8"):
        if not line.startswith("{"):
            continue
        ev = json.loads(line)
        if ev.get("Action") == "pass" and ev.get("Test"):
            seen.add((ev["Package"], ev["Test"]))
    return len(seen)

out = {}
for line in open(sys.argv[1]):
    path, failures = line.rstrip("\n").split("\t")
    if failures == "junit":
        f, p, t = junit_counts(path)
        out[path] = {"failures": f, "passed": p, "total": t}
    else:
        out[path] = {"failures": int(failures), "passed": go_passed(path)}
json.dump(out, sys.stdout, indent=2, sort_keys=True)
print()
PY
echo "wrote $(grep -c '"failures"' manifest.json) files into manifest.json"
