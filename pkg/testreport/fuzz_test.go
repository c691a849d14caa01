package testreport

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/rounds-dev/rounds/pkg/contract"
)

// addSeeds adds every testdata file matching each pattern to the seed
// corpus.
func addSeeds(f *testing.F, patterns ...string) {
	var files []string
	for _, pattern := range patterns {
		matches, err := filepath.Glob(filepath.Join("testdata", pattern))
		if err != nil || len(matches) == 0 {
			f.Fatalf("no seed files match %s: %v", pattern, err)
		}
		files = append(files, matches...)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// checkResult checks what must hold of any parse of any input: an error
// comes alone and says where, and failures are fit to publish.
func checkResult(t *testing.T, got []contract.Failure, err error) {
	t.Helper()
	if err != nil {
		if got != nil {
			t.Fatalf("returned %d failures with error %v", len(got), err)
		}
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Fatalf("error %v is a %T, not a *ParseError", err, err)
		}
		return
	}
	for i := range got {
		if err := got[i].Validate(); err != nil {
			t.Fatalf("failure %d does not validate: %v", i, err)
		}
		// What is published must come back through the consumers' decoder.
		data, err := json.Marshal(got[i])
		if err != nil {
			t.Fatalf("failure %d does not encode: %v", i, err)
		}
		if _, err := contract.DecodeFailure(data); err != nil {
			t.Fatalf("failure %d is refused by DecodeFailure: %v", i, err)
		}
	}
}

// checkReport checks what must hold of any report parsed from any input:
// checkResult of its failures, counts that add up, each passed test listed
// once, and a run report that can be cut into chunks and decoded.
func checkReport(t *testing.T, rep Report, err error) {
	t.Helper()
	if err != nil {
		if rep.Failures != nil || rep.Passed != nil || rep.Total != 0 {
			t.Fatalf("returned a report with error %v", err)
		}
		checkResult(t, nil, err)
		return
	}
	checkResult(t, rep.Failures, nil)
	ids := make(map[string]bool)
	for _, f := range rep.Failures {
		if ids[f.ID] {
			t.Fatalf("id %s is given twice", f.ID)
		}
		ids[f.ID] = true
	}
	if rep.Failed < 0 || rep.Skipped < 0 || rep.Failed+rep.Skipped+len(rep.Passed) > rep.Total {
		t.Fatalf("total %d, failed %d, skipped %d and %d passed do not add up", rep.Total, rep.Failed, rep.Skipped, len(rep.Passed))
	}
	passed := make(map[contract.TestRef]bool)
	for _, p := range rep.Passed {
		if passed[p] {
			t.Fatalf("%+v is listed as passed twice", p)
		}
		passed[p] = true
	}
	for _, p := range rep.PassedOnRetry {
		if !passed[p] {
			t.Fatalf("%+v passed on retry but is not listed as passed", p)
		}
	}
	if !rep.ListsTests() {
		return
	}
	whole := rep.RunReported()
	chunks, err := whole.Chunks(0)
	if err != nil {
		t.Fatalf("the run report cannot be cut into chunks: %v", err)
	}
	n := 0
	for _, c := range chunks {
		data, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := contract.DecodeRunReported(data); err != nil {
			t.Fatalf("run report chunk is refused by DecodeRunReported: %v", err)
		}
		n += c.Passed.Len()
	}
	if n != len(rep.Passed) {
		t.Fatalf("the run report lists %d passed tests, the report %d", n, len(rep.Passed))
	}
}

func FuzzParseJUnit(f *testing.F) {
	addSeeds(f, "*.xml", "corpus/*/*.xml")
	f.Add([]byte(`<testsuite name="s"><testcase name="t"><flakyFailure message="m"><stackTrace>at x</stackTrace><system-out>o</system-out></flakyFailure></testcase><testcase name="u"><failure/><rerunError/></testcase></testsuite>`))
	f.Add([]byte(`<testsuites><testsuite name="s"><properties><property name="k" value="v"/></properties><testcase classname="test" name="t"><properties><property name="a" value="b"/></properties><system-err>e</system-err><skipped/></testcase></testsuite></testsuites>`))
	f.Add([]byte(`<testsuite name="s"><testcase name="t"><failure message="m">at x</failure></testcase></testsuite>`))
	f.Add([]byte("<testsuites>\n<testsuite name=\"s\">\n<testcase name=\"t\"><error/>"))
	f.Add([]byte(`<?xml version="1.0" encoding="ISO-8859-1"?><testsuite name="s"><testcase name="t"><failure/></testcase></testsuite>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := testOptions()
		rep, err := ParseJUnitReport("reports/fuzz.xml", bytes.NewReader(data), opts)
		checkReport(t, rep, err)
		got := rep.Failures
		seen := make(map[string]bool)
		for _, fl := range got {
			if seen[fl.ID] {
				t.Fatalf("id %s is given twice", fl.ID)
			}
			seen[fl.ID] = true
		}
		// Parse must agree with ParseJUnit on what Detect calls JUnit.
		if format, derr := Detect(bufio.NewReader(bytes.NewReader(data))); derr == nil && format == FormatJUnit {
			again, err2 := Parse("reports/fuzz.xml", bytes.NewReader(data), opts)
			if (err == nil) != (err2 == nil) || len(again) != len(got) {
				t.Fatalf("Parse = %d, %v; ParseJUnit = %d, %v", len(again), err2, len(got), err)
			}
			for i := range got {
				if got[i].ID != again[i].ID {
					t.Fatalf("failure %d: Parse gives id %s, ParseJUnit %s", i, again[i].ID, got[i].ID)
				}
			}
		}
	})
}

func FuzzParseGoTestJSON(f *testing.F) {
	addSeeds(f, "corpus/go/*.json")
	f.Add([]byte(new(goStream).ev("run", "TestA").ev("output", "TestA", "    a_test.go:3: x\n", "panic: y [recovered]\n", "goroutine 1\n").ev("fail", "TestA").ev("fail", "").String()))
	f.Add([]byte("# example.com/x [example.com/x.test]\nx.go:1:1: undefined: y\n" + `{"Action":"output","Package":"example.com/x","Output":"FAIL\texample.com/x [build failed]\n"}` + "\n" + `{"Action":"fail","Package":"example.com/x"}`))
	f.Add([]byte(`{"ImportPath":"p [p.test]","Action":"build-output","Output":"p.go:1: e\n"}` + "\n" + `{"ImportPath":"p [p.test]","Action":"build-fail"}`))
	f.Add([]byte(`{"Action":"attr","Package":"p","Test":"T","Key":"k","Value":"v"}` + "\n" + `{"Action":"cont","Package":"p","Test":"T"}` + "\n" + `{"Action":"pause","Package":"p","Test":"T"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := testOptions()
		rep, err := ParseGoTestJSON("ci/fuzz.json", bytes.NewReader(data), opts)
		checkReport(t, rep, err)
		for _, fl := range rep.Failures {
			if fl.Test.Framework != "go" {
				t.Fatalf("failure of framework %q", fl.Test.Framework)
			}
		}
		// ParseReport must agree with ParseGoTestJSON on what Detect
		// calls go test -json.
		if format, derr := Detect(bufio.NewReaderSize(bytes.NewReader(data), detectBytes)); derr == nil && format == FormatGoTestJSON {
			again, err2 := ParseReport("ci/fuzz.json", bytes.NewReader(data), opts)
			if (err == nil) != (err2 == nil) || len(again.Failures) != len(rep.Failures) || len(again.Passed) != len(rep.Passed) {
				t.Fatalf("ParseReport = %d, %v; ParseGoTestJSON = %d, %v", len(again.Failures), err2, len(rep.Failures), err)
			}
		}
	})
}

func FuzzParseRoundsJSON(f *testing.F) {
	addSeeds(f, "*.jsonl")
	f.Add([]byte(`{"test":{"name":"a"},"error":{"type":"E"}}` + "\r\n\n" + `{"service":{"name":"api"},"error":{"message":"m"}}`))
	f.Add([]byte(`{"schema":"rounds.failure.v2"}`))
	f.Add([]byte("{\"test\":{\"name\":\"caf\xe9\"}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ParseRoundsJSON("out/fuzz.jsonl", bytes.NewReader(data), testOptions())
		checkResult(t, got, err)
		for _, fl := range got {
			if fl.Project != "shop" {
				t.Fatalf("failure of project %q parsed for project shop", fl.Project)
			}
		}
	})
}
