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

// addSeeds adds every testdata file matching pattern to the seed corpus.
func addSeeds(f *testing.F, pattern string) {
	files, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed files match %s: %v", pattern, err)
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

func FuzzParseJUnit(f *testing.F) {
	addSeeds(f, "*.xml")
	f.Add([]byte(`<testsuite name="s"><testcase name="t"><failure message="m">at x</failure></testcase></testsuite>`))
	f.Add([]byte("<testsuites>\n<testsuite name=\"s\">\n<testcase name=\"t\"><error/>"))
	f.Add([]byte(`<?xml version="1.0" encoding="ISO-8859-1"?><testsuite name="s"><testcase name="t"><failure/></testcase></testsuite>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := testOptions()
		got, err := ParseJUnit("reports/fuzz.xml", bytes.NewReader(data), opts)
		checkResult(t, got, err)
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
