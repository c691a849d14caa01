package corpuseval

import (
	"math"
	"strings"
	"testing"

	"github.com/rounds-dev/rounds/pkg/contract"
)

// items makes labelled items from "truth:predicted" words.
func items(s string) []Labelled {
	var out []Labelled
	for _, w := range strings.Fields(s) {
		t, p, _ := strings.Cut(w, ":")
		out = append(out, Labelled{Truth: t, Predicted: p})
	}
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestPairs(t *testing.T) {
	tests := []struct {
		name    string
		items   string
		want    PairScore
		p, r, f float64
	}{
		{name: "a perfect grouping scores 1", items: "a:1 a:1 a:1 b:2 b:2", want: PairScore{Both: 4, Predicted: 4, True: 4}, p: 1, r: 1, f: 1},
		{name: "everything in one group keeps recall and loses precision", items: "a:1 a:1 b:1 b:1", want: PairScore{Both: 2, Predicted: 6, True: 2}, p: 1.0 / 3, r: 1, f: 0.5},
		{name: "every item alone keeps precision and loses recall", items: "a:1 a:2 a:3 b:4", want: PairScore{Both: 0, Predicted: 0, True: 3}, p: 1, r: 0, f: 0},
		{name: "one bug split in two groups loses the pairs across", items: "a:1 a:1 a:2 a:2", want: PairScore{Both: 2, Predicted: 2, True: 6}, p: 1, r: 1.0 / 3, f: 0.5},
		{name: "one item in the wrong group costs its pairs", items: "a:1 a:1 a:1 b:1 b:2", want: PairScore{Both: 3, Predicted: 6, True: 4}, p: 0.5, r: 0.75, f: 0.6},
		{name: "no pairs at all score 1", items: "a:1 b:2", want: PairScore{}, p: 1, r: 1, f: 1},
		{name: "no items score 1", items: "", want: PairScore{}, p: 1, r: 1, f: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Pairs(items(tt.items))
			if got != tt.want {
				t.Fatalf("Pairs() = %+v, want %+v", got, tt.want)
			}
			if !near(got.Precision(), tt.p) || !near(got.Recall(), tt.r) || !near(got.F1(), tt.f) {
				t.Errorf("P/R/F1 = %v/%v/%v, want %v/%v/%v", got.Precision(), got.Recall(), got.F1(), tt.p, tt.r, tt.f)
			}
		})
	}
	t.Run("scores of projects add up pair by pair", func(t *testing.T) {
		got := Pairs(items("a:1 a:1")).Add(Pairs(items("a:1 b:1")))
		if got != (PairScore{Both: 1, Predicted: 2, True: 1}) || !near(got.Precision(), 0.5) {
			t.Errorf("sum = %+v", got)
		}
	})
}

func TestSets(t *testing.T) {
	set := func(ks ...string) map[string]bool {
		m := map[string]bool{}
		for _, k := range ks {
			m[k] = true
		}
		return m
	}
	tests := []struct {
		name            string
		truth, predict  map[string]bool
		want            SetScore
		precision, rcll float64
	}{
		{"all found, nothing else", set("x", "y"), set("x", "y"), SetScore{2, 2, 2}, 1, 1},
		{"one missed", set("x", "y"), set("x"), SetScore{1, 1, 2}, 1, 0.5},
		{"one wrongly called", set("x"), set("x", "z"), SetScore{1, 2, 1}, 0.5, 1},
		{"nothing true, nothing called", set(), set(), SetScore{}, 1, 1},
		{"nothing true, one called", set(), set("z"), SetScore{0, 1, 0}, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Sets(tt.truth, tt.predict)
			if got != tt.want || !near(got.Precision(), tt.precision) || !near(got.Recall(), tt.rcll) {
				t.Errorf("Sets() = %+v (P %v, R %v), want %+v (P %v, R %v)", got, got.Precision(), got.Recall(), tt.want, tt.precision, tt.rcll)
			}
		})
	}
}

const smallTruth = `{
  "bugs": {
    "p/discount": {"what": "d", "tests": [{"suite": ".*", "name": "^TestTotal(/big)?$"}]},
    "p/flaky": {"what": "f", "flaky": true, "tests": [{"suite": ".*", "name": "^TestFlaky$"}]},
    "p/build": {"what": "b", "tests": [{"suite": "/lib$", "name": ".*"}]}
  },
  "runs": [
    {"file": "r1", "project": "p", "run_id": "p-1", "commit": "c1", "bugs": ["p/discount", "p/flaky"]},
    {"file": "r2", "project": "p", "run_id": "p-2", "commit": "c2", "bugs": ["p/discount", "p/build"]}
  ]
}`

func occ(run, suite, name string) contract.Occurrence {
	return contract.Occurrence{EventID: run + name, RunID: run, Test: &contract.OccurrenceTest{Suite: suite, Name: name}}
}

func TestEvaluate(t *testing.T) {
	truth, err := ReadTruth(strings.NewReader(smallTruth))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("labels occurrences by the bugs of their run and scores per project and overall", func(t *testing.T) {
		sigs := []contract.ExportedSignature{
			{ID: "s1", Project: "p", Occurrences: []contract.Occurrence{occ("p-1", "cart", "TestTotal/big"), occ("p-2", "cart", "TestTotal")}},
			// The flaky test grouped with a build failure: a wrong pair,
			// and the build's test wrongly called flaky.
			{ID: "s2", Project: "p", Flaky: true, Occurrences: []contract.Occurrence{occ("p-1", "cart", "TestFlaky"), occ("p-2", "x/lib", "[build]")}},
		}
		scores, err := Evaluate(truth, sigs)
		if err != nil {
			t.Fatal(err)
		}
		if len(scores) != 2 || scores[0].Project != "p" || scores[1].Project != "all" {
			t.Fatalf("scores = %+v, want p and all", scores)
		}
		want := Score{Project: "p", Occurrences: 4, Bugs: 3, Signatures: 2, Grouping: PairScore{Both: 1, Predicted: 2, True: 1}, Flaky: SetScore{Both: 1, Predicted: 2, True: 1}}
		if scores[0] != want {
			t.Errorf("score = %+v, want %+v", scores[0], want)
		}
		if all := scores[1]; all.Grouping != want.Grouping || all.Flaky != want.Flaky || all.Occurrences != 4 {
			t.Errorf("overall = %+v, want the one project's", all)
		}
		if tbl := Table(scores); !strings.Contains(tbl, "| p | 4 | 3 | 2 | 0.500 | 1.000 | 0.667 | 1/2/1 | 0.500 | 1.000 |") {
			t.Errorf("table:\n%s", tbl)
		}
	})
	errs := []struct {
		name, want string
		occ        contract.Occurrence
	}{
		{"an occurrence of an unknown run is an error", "does not know", occ("p-9", "cart", "TestTotal")},
		{"an occurrence no bug of its run explains is an error", "matches bugs []", occ("p-2", "cart", "TestFlaky")},
		{"an occurrence without a test is an error", "has no test", contract.Occurrence{EventID: "e", RunID: "p-1"}},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Evaluate(truth, []contract.ExportedSignature{{ID: "s", Project: "p", Occurrences: []contract.Occurrence{tt.occ}}})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Evaluate() error = %v, want one saying %q", err, tt.want)
			}
		})
	}
}

func TestReadTruth(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"bad JSON is an error", `{`, "decode truth"},
		{"a bad pattern is an error", `{"bugs": {"b": {"tests": [{"suite": "(", "name": ""}]}}}`, "bug b: suite pattern"},
		{"a run with an unknown bug is an error", `{"bugs": {}, "runs": [{"file": "f", "project": "p", "run_id": "r", "bugs": ["nope"]}]}`, "unknown bug"},
		{"two runs with one id are an error", `{"runs": [{"file": "f", "project": "p", "run_id": "r"}, {"file": "g", "project": "p", "run_id": "r"}]}`, "must be set and unique"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ReadTruth(strings.NewReader(tt.in)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ReadTruth() error = %v, want one saying %q", err, tt.want)
			}
		})
	}
}
