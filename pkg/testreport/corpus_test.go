package testreport

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rounds-dev/rounds/pkg/contract"
)

// The corpus under testdata/corpus holds what real runners wrote about small
// projects with deliberate bugs (their sources are under */src), several runs
// each with other random values and other bugs switched on:
// testdata/corpus/generate.sh makes it again. manifest.json says what each
// file must yield, counted without Rounds.

// corpusWant is one entry of testdata/corpus/manifest.json.
type corpusWant struct {
	Failures int `json:"failures"`
	Passed   int `json:"passed"`
	// Total counts the testcases of a JUnit file; go test -json files
	// leave it out.
	Total *int `json:"total"`
}

func readManifest(t *testing.T) map[string]corpusWant {
	t.Helper()
	data, err := os.ReadFile("testdata/corpus/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]corpusWant
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	return m
}

func parseCorpusFile(t *testing.T, path string) Report {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata/corpus", path))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := ParseReport(path, f, testOptions())
	if err != nil {
		t.Fatalf("ParseReport() error = %v", err)
	}
	return rep
}

func TestCorpusYieldsWhatTheManifestSays(t *testing.T) {
	manifest := readManifest(t)
	files, err := filepath.Glob("testdata/corpus/*/run-*")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		if strings.HasSuffix(file, ".summary") {
			continue
		}
		if _, ok := manifest[strings.TrimPrefix(file, "testdata/corpus/")]; !ok {
			t.Errorf("%s is not in manifest.json: run generate.sh", file)
		}
	}
	for path, want := range manifest {
		t.Run(path, func(t *testing.T) {
			rep := parseCorpusFile(t, path)
			wantFormat := FormatJUnit
			if strings.HasSuffix(path, ".json") {
				wantFormat = FormatGoTestJSON
			}
			if rep.Format != wantFormat {
				t.Errorf("format = %q, want %q", rep.Format, wantFormat)
			}
			if len(rep.Failures) != want.Failures {
				for _, f := range rep.Failures {
					t.Logf("failure %s / %s: %.80q", f.Test.Suite, f.Test.Name, f.Error.Message)
				}
				t.Errorf("%d failures, want %d", len(rep.Failures), want.Failures)
			}
			if len(rep.Passed) != want.Passed {
				t.Errorf("%d passed tests, want %d", len(rep.Passed), want.Passed)
			}
			if want.Total != nil && rep.Total != *want.Total {
				t.Errorf("total %d, want %d", rep.Total, *want.Total)
			}
			checkReport(t, rep, nil)
		})
	}
}

// TestCorpusAgreesWithTheRunnersSummaries checks the passed tests against
// what the runners themselves counted: pytest's last line, Node's comments.
func TestCorpusAgreesWithTheRunnersSummaries(t *testing.T) {
	pytestPassed := regexp.MustCompile(`(\d+) passed`)
	nodePass := regexp.MustCompile(`<!-- pass (\d+) -->`)
	files, _ := filepath.Glob("testdata/corpus/*/run-*.*")
	checked := 0
	for _, file := range files {
		path := strings.TrimPrefix(file, "testdata/corpus/")
		var summary []byte
		var re *regexp.Regexp
		switch {
		case strings.HasPrefix(path, "pytest/") && strings.HasSuffix(path, ".xml"):
			summary, _ = os.ReadFile(strings.TrimSuffix(file, ".xml") + ".summary")
			re = pytestPassed
		case strings.HasPrefix(path, "node/"):
			summary, _ = os.ReadFile(file)
			re = nodePass
		default:
			continue
		}
		m := re.FindSubmatch(summary)
		if m == nil {
			t.Errorf("%s: the runner's summary says nothing about passed tests", path)
			continue
		}
		want, _ := strconv.Atoi(string(m[1]))
		// Node counts test('checkout') with subtests as a test of its
		// own, but its reporter writes it as a testsuite.
		if re == nodePass && regexp.MustCompile(`<testsuite name="checkout"[^>]* failures="0"`).Match(summary) {
			want--
		}
		if got := len(parseCorpusFile(t, path).Passed); got != want {
			t.Errorf("%s: %d passed tests, the runner says %d", path, got, want)
		}
		checked++
	}
	if checked < 6 {
		t.Errorf("checked %d files against their runner's summary, want the 3 pytest and 3 Node runs", checked)
	}
}

func TestCorpusGoFailuresSayWhatBroke(t *testing.T) {
	type failure struct{ suite, name, errType string }
	tests := []struct {
		file string
		want []failure
	}{
		{"go/run-1.json", []failure{{"example.com/corpus/cart", "TestTotal/big_discount", ""}}},
		{"go/run-2.json", []failure{
			{"example.com/corpus/cart", "TestTotal/big_discount", ""},
			{"example.com/corpus/cart", "TestFlakyInventory", ""},
			{"example.com/corpus/payment", "TestCharge/card/visa", "panic"},
		}},
		{"go/run-3.json", []failure{
			{"example.com/corpus/cart", "TestTotal/big_discount", ""},
			{"example.com/corpus/slow", "TestSettle/batch", "timeout"},
		}},
		{"go/run-4.json", []failure{
			{"example.com/corpus/lib", GoBuildTest, "build failed"},
			{"example.com/corpus/report", GoBuildTest, "build failed"},
			{"example.com/corpus/cart", "TestTotal/big_discount", ""},
		}},
		{"go/run-5.json", []failure{
			{"example.com/corpus/cart", "TestTotal/big_discount", ""},
			{"example.com/corpus/race", "TestCounter", "data race"},
		}},
		{"go/run-6.json", []failure{
			{"example.com/corpus/lib", GoBuildTest, "build failed"},
			{"example.com/corpus/report", GoBuildTest, "build failed"},
			{"example.com/corpus/cart", "TestTotal/big_discount", ""},
		}},
		{"go/run-7.json", []failure{
			{"example.com/corpus/cart", "TestTotal/big_discount", ""},
			{"example.com/corpus/cart", "TestFlakyInventory", ""},
			{"example.com/corpus/cart", "TestTotal/big_discount", ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			rep := parseCorpusFile(t, tt.file)
			var got []failure
			for _, f := range rep.Failures {
				got = append(got, failure{f.Test.Suite, f.Test.Name, f.Error.Type})
				switch {
				case f.Error.Type == "":
					if !regexp.MustCompile(`^\w+_test\.go:\d+: `).MatchString(f.Error.Message) || len(f.Error.Frames) != 1 {
						t.Errorf("%s: message %q and frames %v, want the test's t.Errorf line and its position", f.Test.Name, f.Error.Message, f.Error.Frames)
					}
				case f.Error.Type == "build failed":
					if !regexp.MustCompile(`^\w+/\w+\.go:\d+:\d+: undefined: \w+$`).MatchString(f.Error.Message) {
						t.Errorf("%s: message %q, want the compiler's error", f.Test.Suite, f.Error.Message)
					}
				default:
					if !strings.Contains(f.Error.Stack, "goroutine ") && f.Error.Type != "data race" || f.Error.Type == "data race" && !strings.Contains(f.Error.Stack, "race_test.go") {
						t.Errorf("%s: stack %.200q, want the trace", f.Test.Name, f.Error.Stack)
					}
				}
			}
			// go test runs packages in parallel: their order in the
			// stream changes from one generate.sh to the next.
			byPackage := func(a, b failure) int { return strings.Compare(a.suite, b.suite) }
			slices.SortStableFunc(got, byPackage)
			slices.SortStableFunc(tt.want, byPackage)
			if !slices.Equal(got, tt.want) {
				t.Errorf("failures:\n got %v\nwant %v", got, tt.want)
			}
		})
	}
	t.Run("the same test failed and passed in one run is listed as passed too", func(t *testing.T) {
		rep := parseCorpusFile(t, "go/run-7.json")
		if !slices.Contains(rep.Passed, contract.TestRef{Suite: "example.com/corpus/cart", Name: "TestFlakyInventory"}) {
			t.Errorf("TestFlakyInventory is not among the passed tests")
		}
	})
}

func TestCorpusJUnitDialects(t *testing.T) {
	tests := []struct {
		name string
		file string
		want contract.TestIdentity // of the first failure
		// messageHas and stackHas are substrings of the first failure's.
		messageHas, stackHas string
	}{
		{name: "Node's reporter nests describe blocks as suites", file: "node/run-1.xml", want: contract.TestIdentity{Framework: "junit", Suite: "cart/totals", Name: "applies a big discount"}, messageHas: "Expected values to be strictly equal:", stackHas: "cart.test.js:"},
		{name: "pytest's classname is the module and class", file: "pytest/run-1.xml", want: contract.TestIdentity{Framework: "junit", Suite: "tests.test_cart.TestCart", Name: "test_total[75]", File: ""}, messageHas: "assert ", stackHas: "tests/test_cart.py:"},
		{name: "mocha's xunit classname is the describe path", file: "mocha/run-1.xml", want: contract.TestIdentity{Framework: "junit", Suite: "Cart #total()", Name: "applies a big discount"}, messageHas: "Expected values to be strictly equal", stackHas: "AssertionError [ERR_ASSERTION]"},
		{name: "go-junit-report names the package and the test", file: "go/run-1.go-junit-report.xml", want: contract.TestIdentity{Framework: "junit", Suite: "example.com/corpus/cart", Name: "TestTotal/big_discount"}, stackHas: "cart_test.go:"},
		{name: "gotestsum names the package and the test", file: "go/run-3.gotestsum.xml", want: contract.TestIdentity{Framework: "junit", Suite: "example.com/corpus/cart", Name: "TestTotal/big_discount"}, stackHas: "cart_test.go:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := parseCorpusFile(t, tt.file)
			if len(rep.Failures) == 0 {
				t.Fatal("no failures")
			}
			f := rep.Failures[0]
			if *f.Test != tt.want {
				t.Errorf("test = %+v, want %+v", *f.Test, tt.want)
			}
			if !strings.Contains(f.Error.Message, tt.messageHas) || !strings.Contains(f.Error.Stack, tt.stackHas) {
				t.Errorf("message %.100q and stack %.100q, want them to contain %q and %q", f.Error.Message, f.Error.Stack, tt.messageHas, tt.stackHas)
			}
		})
	}
	t.Run("mocha's timestamp in RFC 1123 is read", func(t *testing.T) {
		if f := parseCorpusFile(t, "mocha/run-1.xml").Failures[0]; f.Time.Equal(fallbackTime) || f.Time.Year() < 2024 {
			t.Errorf("time = %v, want the suite's timestamp", f.Time)
		}
	})
	t.Run("pytest's captured output is kept without its section headers", func(t *testing.T) {
		rep := parseCorpusFile(t, "pytest/run-2.xml")
		out := rep.Failures[0].Attributes[AttrSystemOut]
		if !strings.HasPrefix(out, "cart [") || strings.Contains(out, "Captured") {
			t.Errorf("system-out = %q, want the printed line alone", out)
		}
		if rep.Failures[0].Attributes["discount"] != "75" {
			t.Errorf("attributes = %v, want the recorded property discount", rep.Failures[0].Attributes)
		}
	})
}

// TestCorpusGoJUnitFailsTheTestsGoTestJSONDoes checks that Go's JUnit
// writers' failed parents are left out: the JUnit files then name the failed
// tests their go test -json stream does.
func TestCorpusGoJUnitFailsTheTestsGoTestJSONDoes(t *testing.T) {
	names := func(rep Report) []string {
		var out []string
		for _, f := range rep.Failures {
			out = append(out, f.Test.Suite+" "+f.Test.Name)
		}
		slices.Sort(out)
		return out
	}
	tests := []struct {
		junit, json string
		// extra are failures only the JUnit file has: gotestsum reports a
		// test binary's timeout panic as a TestMain of its own.
		extra []string
	}{
		{junit: "go/run-1.go-junit-report.xml", json: "go/run-1.json"},
		{junit: "go/run-2.go-junit-report.xml", json: "go/run-2.json"},
		{junit: "go/run-3.gotestsum.xml", json: "go/run-3.json", extra: []string{"example.com/corpus/slow TestMain"}},
		{junit: "go/run-5.gotestsum.xml", json: "go/run-5.json"},
		{junit: "go/run-7.go-junit-report.xml", json: "go/run-7.json"},
	}
	for _, tt := range tests {
		t.Run(tt.junit, func(t *testing.T) {
			want := append(names(parseCorpusFile(t, tt.json)), tt.extra...)
			slices.Sort(want)
			if got := names(parseCorpusFile(t, tt.junit)); !slices.Equal(got, want) {
				t.Errorf("failures:\n got %q\nwant %q", got, want)
			}
		})
	}
}
