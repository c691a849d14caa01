// Package corpuseval scores how Rounds groups the failures of the corpus of
// real test-runner reports (pkg/testreport/testdata/corpus) against its
// ground truth (truth.json there): pairwise precision, recall and F1 of the
// grouped occurrences, and precision and recall of the tests called flaky.
// The test next to it publishes the corpus to a running Rounds and scores
// what `rounds signatures export` gives back; see docs/grouping-quality.md.
package corpuseval

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/rounds-dev/rounds/pkg/contract"
)

// Truth is the corpus's truth.json: the bugs of the small projects, and
// the runs with the bugs each switched on.
type Truth struct {
	Bugs map[string]Bug `json:"bugs"`
	Runs []Run          `json:"runs"`
}

// Bug is one deliberate bug: what it is, whether it fails by bad luck
// rather than by a change of code, and which tests it breaks.
type Bug struct {
	What  string        `json:"what"`
	Flaky bool          `json:"flaky"`
	Tests []TestPattern `json:"tests"`
}

// TestPattern holds regular expressions over a test's suite and name.
type TestPattern struct {
	Suite string `json:"suite"`
	Name  string `json:"name"`

	suite, name *regexp.Regexp
}

// Run is one file of the corpus as it is published: to which project,
// under which run id and commit, and with which bugs switched on.
type Run struct {
	File    string   `json:"file"`
	Project string   `json:"project"`
	RunID   string   `json:"run_id"`
	Commit  string   `json:"commit"`
	Bugs    []string `json:"bugs"`
}

// ReadTruth reads truth.json and compiles its patterns.
func ReadTruth(r io.Reader) (Truth, error) {
	var t Truth
	if err := json.NewDecoder(r).Decode(&t); err != nil {
		return Truth{}, fmt.Errorf("decode truth: %w", err)
	}
	for id, b := range t.Bugs {
		for i := range b.Tests {
			p := &b.Tests[i]
			var err error
			if p.suite, err = regexp.Compile(p.Suite); err != nil {
				return Truth{}, fmt.Errorf("bug %s: suite pattern: %w", id, err)
			}
			if p.name, err = regexp.Compile(p.Name); err != nil {
				return Truth{}, fmt.Errorf("bug %s: name pattern: %w", id, err)
			}
		}
	}
	seen := make(map[string]bool, len(t.Runs))
	for _, r := range t.Runs {
		if r.Project == "" || r.RunID == "" || seen[r.Project+"\x00"+r.RunID] {
			return Truth{}, fmt.Errorf("run %s: project %q and run id %q must be set and unique", r.File, r.Project, r.RunID)
		}
		seen[r.Project+"\x00"+r.RunID] = true
		for _, b := range r.Bugs {
			if _, ok := t.Bugs[b]; !ok {
				return Truth{}, fmt.Errorf("run %s: unknown bug %q", r.File, b)
			}
		}
	}
	return t, nil
}

// Label returns the bug that broke test (suite, name) in run: the one bug
// switched on in the run whose patterns match it. Anything else is an
// error, as the truth must cover every failure.
func (t Truth) Label(run Run, suite, name string) (string, error) {
	var hits []string
	for _, id := range run.Bugs {
		for _, p := range t.Bugs[id].Tests {
			if p.suite.MatchString(suite) && p.name.MatchString(name) {
				hits = append(hits, id)
				break
			}
		}
	}
	if len(hits) != 1 {
		return "", fmt.Errorf("%s: test %q %q matches bugs %v of the run, want exactly one", run.File, suite, name, hits)
	}
	return hits[0], nil
}

// PairScore counts pairs of items: those grouped together by both the
// truth and the prediction, by the prediction, and by the truth.
type PairScore struct {
	Both, Predicted, True int64
}

// Add sums two scores, to score several projects together (micro average).
func (s PairScore) Add(o PairScore) PairScore {
	return PairScore{s.Both + o.Both, s.Predicted + o.Predicted, s.True + o.True}
}

// Precision is the share of predicted pairs that are true: 1 with none.
func (s PairScore) Precision() float64 { return ratio(s.Both, s.Predicted) }

// Recall is the share of true pairs that were predicted: 1 with none.
func (s PairScore) Recall() float64 { return ratio(s.Both, s.True) }

// F1 is the harmonic mean of precision and recall.
func (s PairScore) F1() float64 { return f1(s.Precision(), s.Recall()) }

// Labelled is an item with its true group and its predicted group.
type Labelled struct{ Truth, Predicted string }

// Pairs scores the predicted grouping of items against the true one.
func Pairs(items []Labelled) PairScore {
	both := map[Labelled]int64{}
	byTruth := map[string]int64{}
	byPrediction := map[string]int64{}
	for _, it := range items {
		both[it]++
		byTruth[it.Truth]++
		byPrediction[it.Predicted]++
	}
	return PairScore{Both: pairsIn(both), Predicted: pairsIn(byPrediction), True: pairsIn(byTruth)}
}

func pairsIn[K comparable](groups map[K]int64) int64 {
	var n int64
	for _, k := range groups {
		n += k * (k - 1) / 2
	}
	return n
}

// SetScore counts the items of a predicted set that are true, predicted and
// true.
type SetScore struct {
	Both, Predicted, True int
}

// Add sums two scores.
func (s SetScore) Add(o SetScore) SetScore {
	return SetScore{s.Both + o.Both, s.Predicted + o.Predicted, s.True + o.True}
}

// Precision is the share of predicted items that are true: 1 with none.
func (s SetScore) Precision() float64 { return ratio(int64(s.Both), int64(s.Predicted)) }

// Recall is the share of true items that were predicted: 1 with none.
func (s SetScore) Recall() float64 { return ratio(int64(s.Both), int64(s.True)) }

// Sets scores a predicted set against the true one.
func Sets[K comparable](truth, predicted map[K]bool) SetScore {
	var s SetScore
	for k, ok := range predicted {
		if ok {
			s.Predicted++
			if truth[k] {
				s.Both++
			}
		}
	}
	for _, ok := range truth {
		if ok {
			s.True++
		}
	}
	return s
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

func f1(p, r float64) float64 {
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

// Score is what one project (runner family), or all of them, scored.
type Score struct {
	Project     string
	Occurrences int
	Bugs        int // distinct bugs among the occurrences
	Signatures  int // distinct signatures among the occurrences
	Grouping    PairScore
	Flaky       SetScore
}

// testKey is a test of a project.
type testKey struct{ project, suite, name string }

// Evaluate labels every exported occurrence with its bug and scores the
// signatures against the labels, per project and overall (the last Score,
// project "all"). Pairs are only counted within a project, as signatures
// are. A test is truly flaky when one of its failures was labelled with a
// flaky bug, and predicted flaky when one of its occurrences is in a flaky
// signature. An occurrence of an unknown run, or one that no bug of its run
// (or more than one) explains, is an error.
func Evaluate(truth Truth, sigs []contract.ExportedSignature) ([]Score, error) {
	runs := make(map[[2]string]Run, len(truth.Runs))
	for _, r := range truth.Runs {
		runs[[2]string{r.Project, r.RunID}] = r
	}
	type labels struct {
		items               []Labelled
		flaky, predictFlaky map[testKey]bool
	}
	byProject := map[string]*labels{}
	for _, s := range sigs {
		l := byProject[s.Project]
		if l == nil {
			l = &labels{flaky: map[testKey]bool{}, predictFlaky: map[testKey]bool{}}
			byProject[s.Project] = l
		}
		for _, o := range s.Occurrences {
			run, ok := runs[[2]string{s.Project, o.RunID}]
			if !ok {
				return nil, fmt.Errorf("signature %s/%s: occurrence %s of run %q, which the truth does not know", s.Project, s.ID, o.EventID, o.RunID)
			}
			if o.Test == nil {
				return nil, fmt.Errorf("signature %s/%s: occurrence %s has no test", s.Project, s.ID, o.EventID)
			}
			bug, err := truth.Label(run, o.Test.Suite, o.Test.Name)
			if err != nil {
				return nil, fmt.Errorf("signature %s/%s: occurrence %s: %w", s.Project, s.ID, o.EventID, err)
			}
			l.items = append(l.items, Labelled{Truth: bug, Predicted: s.ID})
			k := testKey{s.Project, o.Test.Suite, o.Test.Name}
			if truth.Bugs[bug].Flaky {
				l.flaky[k] = true
			}
			if s.Flaky {
				l.predictFlaky[k] = true
			}
		}
	}
	projects := make([]string, 0, len(byProject))
	for p := range byProject {
		projects = append(projects, p)
	}
	slices.Sort(projects)
	all := Score{Project: "all"}
	scores := make([]Score, 0, len(projects)+1)
	for _, p := range projects {
		l := byProject[p]
		s := Score{
			Project: p, Occurrences: len(l.items), Bugs: distinct(l.items, true), Signatures: distinct(l.items, false),
			Grouping: Pairs(l.items), Flaky: Sets(l.flaky, l.predictFlaky),
		}
		scores = append(scores, s)
		all.Occurrences += s.Occurrences
		all.Bugs += s.Bugs
		all.Signatures += s.Signatures
		all.Grouping = all.Grouping.Add(s.Grouping)
		all.Flaky = all.Flaky.Add(s.Flaky)
	}
	return append(scores, all), nil
}

// distinct counts the true groups of items, or the predicted ones.
func distinct(items []Labelled, truth bool) int {
	seen := map[string]bool{}
	for _, it := range items {
		if truth {
			seen[it.Truth] = true
		} else {
			seen[it.Predicted] = true
		}
	}
	return len(seen)
}

// Table renders scores as a markdown table.
func Table(scores []Score) string {
	var b strings.Builder
	b.WriteString("| project | occurrences | bugs | signatures | pair P | pair R | pair F1 | flaky tests (true/predicted/both) | flaky P | flaky R |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range scores {
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %.3f | %.3f | %.3f | %d/%d/%d | %.3f | %.3f |\n",
			s.Project, s.Occurrences, s.Bugs, s.Signatures,
			s.Grouping.Precision(), s.Grouping.Recall(), s.Grouping.F1(),
			s.Flaky.True, s.Flaky.Predicted, s.Flaky.Both, s.Flaky.Precision(), s.Flaky.Recall())
	}
	return b.String()
}
