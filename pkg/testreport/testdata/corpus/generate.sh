#!/usr/bin/env bash
# generate.sh runs the small projects under */src with real test runners and
# keeps what the runners wrote, several runs each with other random values and
# other bugs switched on; then it writes manifest.json with what each file must
# yield, counted independently of Rounds (Python's XML parser and JSON reader,
# and which bugs each run switched on; a Go parent test that go-junit-report
# or gotestsum report failed with nothing of its own beside a failed subtest
# is no failure, as go test -json has none), and truth.json, the ground truth of
# grouping: which bug broke each failing test of each file, and which bugs
# are flaky (see BUGS below and docs/grouping-quality.md).
#
# Needs: go (and gcc for -race), node 20+, python3 with pytest
# (apt-get install python3-pytest), mocha (apt-get install mocha). The Go
# module proxy is used once, for go-junit-report and gotestsum.
#
#   pkg/testreport/testdata/corpus/generate.sh
#   pkg/testreport/testdata/corpus/generate.sh --counts-only
#
# --counts-only runs no runner: it writes manifest.json and truth.json again
# from the committed files, the runs' bugs in truth.json and the go test
# -json failure counts in manifest.json (after a change to the counting).
set -uo pipefail
cd "$(dirname "$0")"
here=$(pwd)
export GOWORK=off GOFLAGS=-mod=mod PYTHONDONTWRITEBYTECODE=1
manifest=$(mktemp)
truth=$(mktemp)
trap 'rm -f "$manifest" "$manifest.json" "$truth" "$truth.json"' EXIT
counts_only=
if [ "${1:-}" = --counts-only ]; then
	counts_only=1
	# What the runs below would record: each file and its expected
	# failures ("junit" to count them from the XML), each file and its bugs.
	python3 - "$manifest" "$truth" <<'PY0' || exit 1
import json, sys
manifest, truth = json.load(open("manifest.json")), json.load(open("truth.json"))
with open(sys.argv[1], "w") as m:
    for path, want in manifest.items():
        m.write(f"{path}\t{'junit' if 'total' in want else want['failures']}\n")
with open(sys.argv[2], "w") as t:
    for run in truth["runs"]:
        t.write(" ".join([run["file"]] + run["bugs"]) + "\n")
PY0
fi

# expect FILE FAILURES: records how many failures FILE must yield.
expect() { printf '%s\t%s\n' "$1" "$2" >>"$manifest"; }
# bugs FILE BUG...: records which bugs were switched on when FILE was
# written (ids from BUGS in the truth part at the end).
bugs() { printf '%s\n' "$*" >>"$truth"; }

if [ -z "$counts_only" ]; then
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
bugs go/run-1.json go/discount
# The flaky test fails; a nested subtest panics (its parents are no failures).
gorun 2 3 CORPUS_FLAKY=1 CORPUS_PANIC=1 --
bugs go/run-2.json go/discount go/inventory go/nil-fees
# A subtest times out: the panic goes to TestSettle/batch.
gorun 3 2 CORPUS_TIMEOUT=1 -- -timeout 3s
bugs go/run-3.json go/discount go/settle-hangs
# lib does not build (uses fails with it: one failure), report's tests do not build.
gorun 4 3 -- -tags corpus_broken
bugs go/run-4.json go/discount go/lib-undefined go/report-undefined
# A data race.
gorun 5 2 CORPUS_RACE=1 -- -race
bugs go/run-5.json go/discount go/race
# The same broken build with the text build output of Go before 1.24 on stderr.
gorun 6 3 GODEBUG=gotestjsonbuildtext=1 -- -tags corpus_broken
bugs go/run-6.json go/discount go/lib-undefined go/report-undefined
# Every test twice: TestTotal/big_discount fails twice, the flaky test once.
gorun 7 3 CORPUS_FLAKY=alternate -- -count=2
bugs go/run-7.json go/discount go/inventory

# The same streams as JUnit XML, by go-junit-report and gotestsum.
# Each keeps the bugs of the run it was made from.
gobugs() { bugs "$1" $(grep "^go/run-$2.json " "$truth" | cut -d' ' -f2-); }
for n in 1 2 7; do
	go run github.com/jstemmer/go-junit-report/v2@v2.1.0 -parser gojson -in "go/run-$n.json" -out "go/run-$n.go-junit-report.xml"
	expect "go/run-$n.go-junit-report.xml" junit
	gobugs "go/run-$n.go-junit-report.xml" "$n"
done
for n in 3 5; do
	(cd go/src && go run gotest.tools/gotestsum@v1.13.0 --junitfile "../run-$n.gotestsum.xml" --raw-command -- cat "../run-$n.json" >/dev/null)
	expect "go/run-$n.gotestsum.xml" junit
	gobugs "go/run-$n.gotestsum.xml" "$n"
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
bugs node/run-1.xml node/discount node/missing-line
noderun 2 CORPUS_FLAKY=1
bugs node/run-2.xml node/discount node/missing-line node/inventory
noderun 3 CORPUS_FLAKY=1 CORPUS_TIMEOUT=1
bugs node/run-3.xml node/discount node/missing-line node/inventory node/mail-timeout
# The gateway's port is wrong: ECONNREFUSED with a random port, in two tests.
noderun 4 CORPUS_PORT=1
bugs node/run-4.xml node/discount node/missing-line node/wrong-port

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
bugs pytest/run-1.xml pytest/discount pytest/missing-sku
pyrun 2 CORPUS_FLAKY=1 CORPUS_SETUP=1 -- -o junit_logging=all
bugs pytest/run-2.xml pytest/discount pytest/missing-sku pytest/inventory pytest/http-gateway
pyrun 3 CORPUS_SETUP=1 -- -o junit_family=xunit1
bugs pytest/run-3.xml pytest/discount pytest/missing-sku pytest/http-gateway
# Prices read back from their printed form: every test_total fails with a
# ValueError, test_total[75] for another bug than before.
pyrun 4 CORPUS_PRICES=1 --
bugs pytest/run-4.xml pytest/prices pytest/missing-sku

# --- mocha --reporter xunit -------------------------------------------------------
rm -f mocha/run-*
mocharun() { # mocharun N ENV...
	local n=$1
	shift
	(cd mocha/src && env NODE_PATH=/usr/share/nodejs CORPUS_SEED=$((RANDOM * 7 + n)) "$@" mocha --reporter xunit --reporter-option "output=../run-$n.xml" 'test/*.test.js' >/dev/null 2>&1)
	expect "mocha/run-$n.xml" junit
}
mocharun 1
bugs mocha/run-1.xml mocha/discount mocha/guest-receipt
mocharun 2 CORPUS_FLAKY=1
bugs mocha/run-2.xml mocha/discount mocha/guest-receipt mocha/inventory
# The receipt goes to a temporary directory never made: ENOENT, random path.
mocharun 3 CORPUS_TMP=1
bugs mocha/run-3.xml mocha/discount mocha/guest-receipt mocha/receipt-dir

fi # counts_only

# --- the manifest -------------------------------------------------------------------
# Written aside first: a failed count leaves the committed manifest as it was.
python3 - "$manifest" >"$manifest.json" <<'PY' || exit 1
import json, re, sys, xml.etree.ElementTree as ET

STATUS = re.compile(r"^(=== (RUN|PAUSE|CONT|NAME)\b.*|--- (FAIL|PASS|SKIP): .*|FAIL|PASS|(FAIL|ok)\s.*)$")

def own_lines(case):
    """The lines of a testcase's failure and output that go test did not write."""
    text = "\n".join((e.text or "") for e in case if e.tag in ("failure", "system-out", "system-err"))
    return [l.strip() for l in text.splitlines() if l.strip() and not STATUS.match(l.strip())]

def said(case):
    return "\n".join((e.text or "") for e in case if e.tag in ("failure", "error", "system-out", "system-err"))

def go_parents(root):
    """Failed Go parent tests that say nothing their failed subtests do not:
    go-junit-report and gotestsum write them, go test -json has no failure
    of them, and Rounds leaves them out (pkg/testreport/goparent.go)."""
    failed = {}
    for suite in root.iter("testsuite"):
        for case in suite.findall("testcase"):
            if case.find("failure") is not None or case.find("error") is not None:
                key = case.get("classname") or suite.get("name") or ""
                failed.setdefault(key, []).append(case)
    parents = set()
    for key, cases in failed.items():
        for case in cases:
            name = case.get("name") or ""
            f = case.find("failure")
            if not re.match(r"(Test|Benchmark|Fuzz|Example)", name) or f is None or len([e for e in case if e.tag in ("failure", "error") or e.tag.startswith(("rerun", "flaky"))]) != 1:
                continue
            if (f.get("type") or "failure").strip() not in ("", "failure") or (f.get("message") or "").strip() not in ("", "Failed"):
                continue
            subs = [c for c in cases if (c.get("name") or "").startswith(name + "/")]
            if subs and all(any(l in said(s) for s in subs) for l in own_lines(case)):
                parents.add(id(case))
    return parents

def junit_counts(path):
    """Failures and passed tests of a JUnit file, by Python's own parser."""
    failures = passed = total = 0
    seen = set()
    root = ET.parse(path).getroot()
    parents = go_parents(root)
    for case in root.iter("testcase"):
        total += 1
        tags = {c.tag for c in case}
        if tags & {"failure", "error"}:
            if id(case) not in parents:
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
mv "$manifest.json" manifest.json
echo "wrote $(grep -c '"failures"' manifest.json) files into manifest.json"

# --- the ground truth ----------------------------------------------------------------
# BUGS says which tests each bug breaks (read from the sources under */src):
# regular expressions over the test's name and, where the name alone is not
# enough, its suite (the JUnit classname, the Go package). A flaky bug fails
# without any change to the code (an environment switch standing for bad
# luck); the others are code changes. Each run's commit stands for its code:
# runs with the same code bugs share a commit, so a flaky test that failed
# and passed on one commit can be seen. Every failing test of every file must
# match exactly one bug switched on in its run: the truth covers them all.
python3 - "$truth" >"$truth.json" <<'PY2' || exit 1
import hashlib, json, re, sys, xml.etree.ElementTree as ET

def t(name, suite=".*"):
    return {"suite": suite, "name": name}

BUGS = {
    "go/discount": {"what": "cart.Total takes a big discount off twice (cart/cart.go)", "tests": [t(r"^TestTotal(/big_discount)?$")]},
    "go/inventory": {"what": "TestFlakyInventory fails on bad luck (cart/cart_test.go)", "flaky": True, "tests": [t(r"^TestFlakyInventory$")]},
    "go/nil-fees": {"what": "a broken Gateway has a nil fees map: Charge panics (payment/payment.go)", "tests": [t(r"^TestCharge(/card(/visa|/amex)?)?$")]},
    "go/settle-hangs": {"what": "TestSettle/batch sleeps past the test timeout (slow/slow_test.go)", "tests": [t(r"^(TestSettle(/batch)?|TestMain)$", r"/slow$")]},
    "go/lib-undefined": {"what": "lib_bug.go uses an undefined name: lib and what imports it do not build", "tests": [t(r".*", r"/(lib|uses)$")]},
    "go/report-undefined": {"what": "report_bug_test.go uses an undefined name: report's tests do not build", "tests": [t(r".*", r"/report$")]},
    "go/race": {"what": "TestCounter's goroutines write n unsynchronised (race/race_test.go)", "tests": [t(r"^TestCounter$")]},
    "node/discount": {"what": "total() takes a big discount off twice (cart.js)", "tests": [t(r"^applies a big discount$")]},
    "node/missing-line": {"what": "lineFor() reads .quantity of a line it did not find (cart.js)", "tests": [t(r"^finds a missing line$")]},
    "node/inventory": {"what": "the inventory test fails on bad luck (cart.test.js)", "flaky": True, "tests": [t(r"^inventory is in stock$")]},
    "node/mail-timeout": {"what": "the mail server does not answer in time (cart.test.js)", "tests": [t(r"^sends the receipt$")]},
    "node/wrong-port": {"what": "checkout connects to a port nothing listens on: ECONNREFUSED (cart.js charge)", "tests": [t(r"^(pays by card|sends the receipt)$")]},
    "pytest/discount": {"what": "total() takes a big discount off twice (shop.py)", "tests": [t(r"^test_total\[75\]$")]},
    "pytest/missing-sku": {"what": "line_for() raises KeyError for a missing sku (shop.py)", "tests": [t(r"^test_line_for_missing_sku$")]},
    "pytest/inventory": {"what": "test_inventory fails on bad luck (tests/test_cart.py)", "flaky": True, "tests": [t(r"^test_inventory$")]},
    "pytest/http-gateway": {"what": "the gateway fixture gets an http:// URL: ConnectionRefusedError in setup (tests/test_checkout.py)", "tests": [t(r"^(test_pay_with_card|test_refund)$")]},
    "pytest/prices": {"what": "total() reads prices back from their printed form: ValueError (shop.py)", "tests": [t(r"^test_total\[\d+\]$")]},
    "mocha/discount": {"what": "total() takes a big discount off twice (cart.js)", "tests": [t(r"^applies a big discount$")]},
    "mocha/guest-receipt": {"what": "receipt() reads the name of a guest order's missing customer (cart.js)", "tests": [t(r"^handles a guest order$")]},
    "mocha/inventory": {"what": "the inventory test fails on bad luck (test/cart.test.js)", "flaky": True, "tests": [t(r"^is in stock$")]},
    "mocha/receipt-dir": {"what": "saveReceipt() writes into a directory never made: ENOENT (cart.js)", "tests": [t(r"^names the customer$")]},
}

def project(path):
    """The Rounds project a file is published to: one per runner family."""
    family = path.split("/")[0]
    if family == "go":
        return "go-json" if path.endswith(".json") else "go-junit"
    return family

def failing_tests(path):
    """The failing tests of a file as the runner wrote them: (suite, name)."""
    if path.endswith(".xml"):
        # An empty classname stands for the enclosing testsuite's name.
        return [(c.get("classname") or s.get("name") or "", c.get("name") or "")
                for s in ET.parse(path).getroot().iter("testsuite") for c in s.findall("testcase")
                if {x.tag for x in c} & {"failure", "error"}]
    out = []
    for line in open(path, encoding="utf-8"):
        if line.startswith("{"):
            ev = json.loads(line)
            if ev.get("Action") == "fail" and ev.get("Test"):
                out.append((ev["Package"], ev["Test"]))
    return out

def matches(bug, suite, name):
    return any(re.search(p["suite"], suite) and re.search(p["name"], name) for p in BUGS[bug]["tests"])

runs, problems = [], []
for line in open(sys.argv[1]):
    path, *on = line.split()
    for b in on:
        if b not in BUGS:
            problems.append(f"{path}: unknown bug {b}")
    on = [b for b in on if b in BUGS]
    for suite, name in failing_tests(path):
        hit = [b for b in on if matches(b, suite, name)]
        if len(hit) != 1:
            problems.append(f"{path}: {suite} {name} matches bugs {hit}, want exactly one")
    code = sorted(b for b in on if not BUGS[b].get("flaky"))
    n = re.search(r"run-(\d+)", path).group(1)
    runs.append({
        "file": path,
        "project": project(path),
        "run_id": f"{project(path)}-{n}",
        "commit": hashlib.sha1(("\n".join([path.split("/")[0]] + code)).encode()).hexdigest(),
        "bugs": on,
    })
if problems:
    sys.exit("truth.json: " + "\n".join(problems))
runs.sort(key=lambda r: (r["project"], int(r["run_id"].rsplit("-", 1)[1]), r["file"]))
json.dump({"bugs": {k: {"what": v["what"], "flaky": bool(v.get("flaky")), "tests": v["tests"]} for k, v in BUGS.items()},
           "runs": runs}, sys.stdout, indent=2, sort_keys=True)
print()
PY2
mv "$truth.json" truth.json
echo "wrote $(grep -c '"run_id"' truth.json) runs into truth.json"
