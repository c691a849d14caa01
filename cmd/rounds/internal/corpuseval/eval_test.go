package corpuseval_test

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rounds-dev/rounds/cmd/rounds/internal/app/apptest"
	"github.com/rounds-dev/rounds/cmd/rounds/internal/cli"
	"github.com/rounds-dev/rounds/cmd/rounds/internal/corpuseval"
	"github.com/rounds-dev/rounds/pkg/contract"
)

// corpusDir holds the corpus, its manifest.json and truth.json.
const corpusDir = "../../../../pkg/testreport/testdata/corpus"

// floor is the least a project (or "all") must score. The floors are what
// was measured when they were set (docs/grouping-quality.md) less 0.03 of
// F1; the flaky floors allow no miss, as each project has one flaky test.
// Raise them when grouping gets better.
type floor struct{ f1, flakyP, flakyR float64 }

var floors = map[string]floor{
	"all":      {f1: 0.988 - 0.03, flakyP: 0.95, flakyR: 0.95},
	"go-json":  {f1: 1.000 - 0.03, flakyP: 0.95, flakyR: 0.95},
	"go-junit": {f1: 0.970 - 0.03, flakyP: 0.95, flakyR: 0.95},
	"mocha":    {f1: 1.000 - 0.03, flakyP: 0.95, flakyR: 0.95},
	"node":     {f1: 0.963 - 0.03, flakyP: 0.95, flakyR: 0.95},
	"pytest":   {f1: 1.000 - 0.03, flakyP: 0.95, flakyR: 0.95},
}

// TestCorpusGrouping publishes every file of the corpus to Rounds running
// in this process, as `rounds publish` would in CI, reads the signatures
// back with `rounds signatures export` and scores them against truth.json.
func TestCorpusGrouping(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole of Rounds over the corpus")
	}
	truth := readTruth(t)
	wantOccurrences := manifestFailures(t, truth)
	url := startRounds(t)

	for _, r := range truth.Runs {
		res := rounds(t, "publish", "--nats-url", url, "--project", r.Project, "--run-id", r.RunID, "--commit", r.Commit, filepath.Join(corpusDir, r.File))
		if res.code != 0 {
			t.Fatalf("publish %s: exit %d, stderr %q", r.File, res.code, res.stderr)
		}
	}

	var sigs []contract.ExportedSignature
	waitFor(t, "ingest has applied every failure and run report", func() bool {
		if !drained(t, url) {
			return false
		}
		sigs = export(t, url)
		return occurrences(sigs) == wantOccurrences
	})
	if n := occurrences(sigs); n != wantOccurrences {
		t.Fatalf("%d occurrences exported, want the manifest's %d failures", n, wantOccurrences)
	}

	scores, err := corpuseval.Evaluate(truth, sigs)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("grouping of the corpus (%d runs, %d occurrences):\n%s", len(truth.Runs), wantOccurrences, corpuseval.Table(scores))
	logConfusions(t, truth, sigs)
	for _, s := range scores {
		fl, ok := floors[s.Project]
		if !ok {
			t.Errorf("project %s has no floor: add it to floors", s.Project)
			continue
		}
		if got := s.Grouping.F1(); got < fl.f1 {
			t.Errorf("%s: pairwise F1 %.3f, below its floor %.3f", s.Project, got, fl.f1)
		}
		if got := s.Flaky.Precision(); got < fl.flakyP {
			t.Errorf("%s: flaky precision %.3f, below its floor %.3f", s.Project, got, fl.flakyP)
		}
		if got := s.Flaky.Recall(); got < fl.flakyR {
			t.Errorf("%s: flaky recall %.3f, below its floor %.3f", s.Project, got, fl.flakyR)
		}
	}
}

// logConfusions logs the bugs split over several signatures and the
// signatures holding several bugs, to say where the score is lost.
func logConfusions(t *testing.T, truth corpuseval.Truth, sigs []contract.ExportedSignature) {
	t.Helper()
	runs := map[[2]string]corpuseval.Run{}
	for _, r := range truth.Runs {
		runs[[2]string{r.Project, r.RunID}] = r
	}
	sigsOfBug := map[string]map[string]bool{}
	for _, s := range sigs {
		bugs := map[string]bool{}
		for _, o := range s.Occurrences {
			bug, err := truth.Label(runs[[2]string{s.Project, o.RunID}], o.Test.Suite, o.Test.Name)
			if err != nil {
				continue // Evaluate has said so
			}
			bugs[bug] = true
			k := s.Project + " " + bug
			if sigsOfBug[k] == nil {
				sigsOfBug[k] = map[string]bool{}
			}
			sigsOfBug[k][s.ID[:8]+" "+s.Title] = true
		}
		if len(bugs) > 1 {
			t.Logf("signature %s/%s %q (flaky %v) holds %d bugs: %v", s.Project, s.ID[:8], s.Title, s.Flaky, len(bugs), keys(bugs))
		}
	}
	for _, bug := range slices.Sorted(maps.Keys(sigsOfBug)) {
		ss := sigsOfBug[bug]
		if len(ss) > 1 {
			t.Logf("%s is split over %d signatures:\n\t%s", bug, len(ss), strings.Join(keys(ss), "\n\t"))
		}
	}
}

func keys(m map[string]bool) []string { return slices.Sorted(maps.Keys(m)) }

func readTruth(t *testing.T) corpuseval.Truth {
	t.Helper()
	f, err := os.Open(filepath.Join(corpusDir, "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	truth, err := corpuseval.ReadTruth(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(truth.Runs) == 0 {
		t.Fatal("truth.json has no runs")
	}
	return truth
}

// manifestFailures sums the failures manifest.json counts (without Rounds)
// in the truth's files, and checks both name the same files.
func manifestFailures(t *testing.T, truth corpuseval.Truth) int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(corpusDir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var manifest map[string]struct {
		Failures int `json:"failures"`
	}
	if err := json.Unmarshal(data, &manifest); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	if len(manifest) != len(truth.Runs) {
		t.Errorf("manifest.json has %d files, truth.json %d runs: run generate.sh", len(manifest), len(truth.Runs))
	}
	n := 0
	for _, r := range truth.Runs {
		m, ok := manifest[r.File]
		if !ok {
			t.Fatalf("%s is in truth.json, not in manifest.json: run generate.sh", r.File)
		}
		n += m.Failures
	}
	return n
}

func occurrences(sigs []contract.ExportedSignature) int {
	n := 0
	for _, s := range sigs {
		n += len(s.Occurrences)
	}
	return n
}

// startRounds runs ingest, diagnose and report in this process against an
// embedded JetStream until the test ends, as `rounds run` does.
func startRounds(t *testing.T) string {
	t.Helper()
	url := apptest.Start(t, apptest.Config(t)).NATSURL
	waitFor(t, "ingest answers the management API", func() bool {
		return rounds(t, "signatures", "list", "--nats-url", url, "--json").code == 0
	})
	return url
}

// drained reports whether ingest's consumers of failures and run reports
// have nothing pending, and checks that nothing was dead-lettered.
func drained(t *testing.T, url string) bool {
	t.Helper()
	res := rounds(t, "status", "--nats-url", url, "--json")
	var st struct {
		Streams []struct {
			Name      string `json:"name"`
			Consumers []struct {
				Name       string `json:"name"`
				Pending    uint64 `json:"num_pending"`
				AckPending int    `json:"num_ack_pending"`
			} `json:"consumers"`
		} `json:"streams"`
		Deadletters map[string]uint64 `json:"deadletters"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &st); err != nil {
		t.Fatalf("status --json: %v in %q (stderr %q)", err, res.stdout, res.stderr)
	}
	if n := st.Deadletters["ingest"]; n > 0 {
		t.Fatalf("ingest dead-lettered %d messages", n)
	}
	seen := 0
	for _, s := range st.Streams {
		if s.Name != contract.StreamFailures && s.Name != contract.StreamRuns {
			continue
		}
		for _, c := range s.Consumers {
			seen++
			if c.Pending > 0 || c.AckPending > 0 {
				return false
			}
		}
	}
	return seen >= 2
}

func export(t *testing.T, url string) []contract.ExportedSignature {
	t.Helper()
	res := rounds(t, "signatures", "export", "--nats-url", url)
	if res.code != 0 {
		t.Fatalf("signatures export: exit %d, stderr %q", res.code, res.stderr)
	}
	var sigs []contract.ExportedSignature
	if err := json.Unmarshal([]byte(res.stdout), &sigs); err != nil {
		t.Fatalf("signatures export: %v", err)
	}
	return sigs
}

type result struct {
	code           int
	stdout, stderr string
}

// rounds runs the rounds command with args, as a user would.
func rounds(t *testing.T, args ...string) result {
	t.Helper()
	var out, errOut strings.Builder
	code := cli.Main(context.Background(), cli.Env{
		Args: args, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut,
		Lookup: func(string) (string, bool) { return "", false }, Version: "corpuseval",
	})
	return result{code, out.String(), errOut.String()}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
