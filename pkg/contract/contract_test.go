package contract_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rounds-dev/rounds/pkg/contract"
)

var update = flag.Bool("update", false, "rewrite golden files")

// schemaDir holds the published JSON Schemas of the events.
const schemaDir = "../../docs/schemas"

// The samples populate every field, optional ones included, so that the
// golden files show the whole wire format and a field missing from a schema
// fails TestGoldenFilesConformToSchemas (TestSamplesPopulateEveryField keeps
// them honest).

func sampleFailure() contract.Failure {
	inApp, notInApp := true, false
	return contract.Failure{
		Schema:  contract.SchemaFailure,
		ID:      "01JDRK8Q3V0ZC5G7X9M2N4P6T8",
		Project: "shop",
		Time:    time.Date(2025, 11, 28, 20, 53, 12, 345000000, time.UTC),
		Kind:    contract.KindTest,
		Test: &contract.TestIdentity{
			Framework: "go",
			Suite:     "example.com/shop/cart",
			Name:      "TestCheckout/empty_cart",
			File:      "cart/checkout_test.go",
			Line:      42,
		},
		Service: &contract.ServiceIdentity{
			Name:        "cart",
			Version:     "1.4.2",
			Environment: "ci",
			Host:        "runner-7",
		},
		Error: contract.ErrorInfo{
			Type:    "*errors.errorString",
			Message: "checkout: total = 0, want 1299",
			Stack:   "goroutine 7 [running]:\nexample.com/shop/cart.(*Cart).Total(...)\n\t/src/cart/cart.go:88 +0x1c\n",
			Frames: []contract.Frame{
				{Function: "(*Cart).Total", Module: "example.com/shop/cart", File: "cart/cart.go", Line: 88, Column: 9, InApp: &inApp},
				{Function: "tRunner", Module: "testing", File: "testing/testing.go", Line: 1934, Column: 3, InApp: &notInApp},
			},
		},
		Run: contract.RunInfo{
			ID:      "8812",
			Commit:  "9f2c1e7d4b3a5f6e8d7c9b0a1f2e3d4c5b6a7980",
			Branch:  "main",
			Attempt: 2,
			CIURL:   "https://ci.example.com/shop/runs/8812",
		},
		Attributes: map[string]string{"goos": "linux", "shard": "3/8"},
	}
}

func sampleSignature() contract.Signature {
	return contract.Signature{
		ID:                 "sig_4f1c9a2b7e3d",
		Project:            "shop",
		Fingerprint:        "4f1c9a2b7e3d8c6f0a5b2e9d1c7f3a8b",
		FingerprintVersion: 1,
		Title:              "TestCheckout/empty_cart: checkout: total = <n>, want <n>",
		Kind:               contract.KindTest,
		Test: &contract.TestIdentity{
			Framework: "go",
			Suite:     "example.com/shop/cart",
			Name:      "TestCheckout/empty_cart",
			File:      "cart/checkout_test.go",
			Line:      42,
		},
		Service: &contract.ServiceIdentity{
			Name:        "cart",
			Version:     "1.4.2",
			Environment: "ci",
			Host:        "runner-7",
		},
		ErrorType:       "*errors.errorString",
		MessageTemplate: "checkout: total = <n>, want <n>",
		Components: []contract.Component{
			{Name: "test", Value: "example.com/shop/cart.TestCheckout/empty_cart"},
			{Name: "message", Value: "checkout: total = <n>, want <n>"},
		},
		Status:      contract.StatusRegressed,
		Occurrences: 8,
		FirstSeen:   time.Date(2025, 11, 20, 9, 0, 0, 0, time.UTC),
		LastSeen:    time.Date(2025, 11, 28, 20, 53, 12, 345000000, time.UTC),
		FirstCommit: "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b",
		LastCommit:  "9f2c1e7d4b3a5f6e8d7c9b0a1f2e3d4c5b6a7980",
		Flaky:       true,
		Regressed:   true,
		Tags:        []string{"checkout", "team:payments"},
	}
}

func sampleDiagnosis() contract.Diagnosis {
	return contract.Diagnosis{
		Category:  "assertion",
		RootCause: "Total skips the discount branch when the cart is empty and returns 0 before adding the flat fee.",
		Evidence: []contract.Evidence{
			{Kind: "frame", Summary: "The failure is raised in (*Cart).Total.", File: "cart/cart.go", Line: 88, Snippet: "if len(c.items) == 0 {\n\treturn 0\n}"},
			{Kind: "note", Summary: "The signature regressed: it came back after it was resolved."},
		},
		SuggestedFix:   "Add the flat fee before the early return for an empty cart.",
		Confidence:     0.72,
		Diagnoser:      "heuristic",
		Model:          "example-model-1",
		CostUSD:        0.0042,
		Fallback:       true,
		FallbackReason: "llm: context deadline exceeded after 60s",
	}
}

func sampleSignatureChanged() contract.SignatureChanged {
	occurrence := sampleFailure()
	return contract.SignatureChanged{
		Schema:     contract.SchemaSignature,
		ID:         "sig_4f1c9a2b7e3d.regressed.8",
		Time:       time.Date(2025, 11, 28, 20, 53, 13, 0, time.UTC),
		Change:     contract.ChangeRegressed,
		Signature:  sampleSignature(),
		Occurrence: &occurrence,
		Storm:      true,
		Transition: contract.TransitionRegressed,
		Reason:     "seen on commit 9f2c1e7d4b3a after it was resolved in 1a2b3c4d5e6f",
	}
}

func sampleDiagnosisCompleted() contract.DiagnosisCompleted {
	sig := sampleSignature()
	sig.Status = contract.StatusDiagnosed
	return contract.DiagnosisCompleted{
		Schema:    contract.SchemaDiagnosis,
		ID:        "sig_4f1c9a2b7e3d.diagnosis.8",
		Time:      time.Date(2025, 11, 28, 20, 54, 1, 0, time.UTC),
		Signature: sig,
		Diagnosis: sampleDiagnosis(),
	}
}

func sampleReportPublished() contract.ReportPublished {
	sig := sampleSignature()
	sig.Status = contract.StatusDiagnosed
	return contract.ReportPublished{
		Schema:    contract.SchemaReport,
		ID:        "sig_4f1c9a2b7e3d.report.8",
		Time:      time.Date(2025, 11, 28, 20, 54, 2, 0, time.UTC),
		Signature: sig,
		Diagnosis: sampleDiagnosis(),
		Reported: contract.Reported{
			File:     "shop/sig_4f1c9a2b7e3d.md",
			IssueURL: "https://git.example.com/shop/issues/311",
		},
	}
}

// event is one public event of the contract: its sample, golden file, schema
// and decoder.
type event struct {
	name   string // golden file testdata/<name>.golden.json
	schema string // file in schemaDir
	sample any
	decode func([]byte) (any, error)
}

func events() []event {
	return []event{
		{"failure", "failure.v1.json", sampleFailure(), func(b []byte) (any, error) { return contract.DecodeFailure(b) }},
		{"signature", "signature.v1.json", sampleSignatureChanged(), func(b []byte) (any, error) { return contract.DecodeSignatureChanged(b) }},
		{"diagnosis", "diagnosis.v1.json", sampleDiagnosisCompleted(), func(b []byte) (any, error) { return contract.DecodeDiagnosisCompleted(b) }},
		{"report", "report.v1.json", sampleReportPublished(), func(b []byte) (any, error) { return contract.DecodeReportPublished(b) }},
	}
}

func goldenPath(name string) string {
	return filepath.Join("testdata", name+".golden.json")
}

func TestGolden(t *testing.T) {
	for _, ev := range events() {
		t.Run(ev.name, func(t *testing.T) {
			got, err := json.MarshalIndent(ev.sample, "", "  ")
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			got = append(got, '\n')
			path := goldenPath(ev.name)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("the wire format of %s changed; if that is intended, bump the schema version or run go test -update\n%s",
					ev.name, lineDiff(string(want), string(got)))
			}

			decoded, err := ev.decode(want)
			if err != nil {
				t.Fatalf("decode %s: %v", path, err)
			}
			if !reflect.DeepEqual(decoded, ev.sample) {
				t.Errorf("round trip through %s changed the event\n got: %#v\nwant: %#v", path, decoded, ev.sample)
			}
		})
	}
}

// lineDiff shows the first lines where want and got differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 10; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  golden: %s\n  now:    %s\n", i+1, wl, gl)
			shown++
		}
	}
	return b.String()
}

// TestSamplesPopulateEveryField makes sure a field added to an event shows up
// in the golden files, and so must be added to the schema too.
func TestSamplesPopulateEveryField(t *testing.T) {
	for _, ev := range events() {
		t.Run(ev.name, func(t *testing.T) {
			all, set := map[string]bool{}, map[string]bool{}
			walkFields(reflect.ValueOf(ev.sample), reflect.TypeOf(ev.sample).Name(), all, set)
			var missing []string
			for path := range all {
				if !set[path] {
					missing = append(missing, path)
				}
			}
			slices.Sort(missing)
			for _, path := range missing {
				t.Errorf("the sample leaves %s empty: populate it so the golden file and the schema check cover it", path)
			}
		})
	}
}

// walkFields records in all every field path below v, and in set those that
// hold a non-zero value. A slice's fields count as set when any element sets
// them.
func walkFields(v reflect.Value, path string, all, set map[string]bool) {
	all[path] = true
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		set[path] = true
		walkFields(v.Elem(), path, all, set)
		return
	case reflect.Slice, reflect.Map:
		if v.Len() == 0 {
			return
		}
		set[path] = true
		if v.Kind() == reflect.Slice {
			if v.Type().Elem().Kind() == reflect.Struct {
				walkStructType(v.Type().Elem(), path+"[]", all)
			}
			for i := range v.Len() {
				walkFields(v.Index(i), path+"[]", all, set)
			}
		}
		return
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			if !v.IsZero() {
				set[path] = true
			}
			return
		}
		set[path] = true
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if f.IsExported() {
				walkFields(v.Field(i), path+"."+f.Name, all, set)
			}
		}
		return
	}
	if !v.IsZero() {
		set[path] = true
	}
}

// walkStructType records every field path of a struct type, so that fields of
// slice elements are listed even if no element sets them.
func walkStructType(t reflect.Type, path string, all map[string]bool) {
	all[path] = true
	if t == reflect.TypeFor[time.Time]() {
		return
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct {
			walkStructType(ft, path+"."+f.Name, all)
		} else {
			all[path+"."+f.Name] = true
		}
	}
}

func TestGoldenFilesConformToSchemas(t *testing.T) {
	for _, ev := range events() {
		t.Run(ev.name, func(t *testing.T) {
			v := loadSchema(t, ev.schema)
			for _, e := range v.validate(readJSON(t, goldenPath(ev.name))) {
				t.Errorf("%s does not conform to %s: %s", goldenPath(ev.name), ev.schema, e)
			}
			// The reverse direction: with a fully populated sample, every
			// property the schema declares must occur on the wire, or the
			// schema documents a field the Go structs do not have.
			for _, loc := range v.declaredProperties() {
				if !v.visited[loc] {
					t.Errorf("%s declares %s, but the golden file %s never has it", ev.schema, loc, goldenPath(ev.name))
				}
			}
		})
	}
}

// TestSchemasRejectWhatTheContractRefuses proves that the validator and the
// schemas are strict: each case edits a golden file and validates it.
func TestSchemasRejectWhatTheContractRefuses(t *testing.T) {
	tests := []struct {
		name   string
		event  string // golden file and schema
		edit   func(doc map[string]any)
		accept bool
	}{
		{
			name:  "a failure without an id is rejected",
			event: "failure",
			edit:  func(doc map[string]any) { delete(doc, "id") },
		},
		{
			name:  "a failure with an empty id is rejected",
			event: "failure",
			edit:  func(doc map[string]any) { doc["id"] = "" },
		},
		{
			name:  "a failure without a run is rejected",
			event: "failure",
			edit:  func(doc map[string]any) { delete(doc, "run") },
		},
		{
			name:  "a failure whose time is a number is rejected",
			event: "failure",
			edit:  func(doc map[string]any) { doc["time"] = json.Number("1764363192") },
		},
		{
			name:  "a failure whose time is not RFC 3339 is rejected",
			event: "failure",
			edit:  func(doc map[string]any) { doc["time"] = "28/11/2025 20:53" },
		},
		{
			name:  "a failure with an unknown property is rejected",
			event: "failure",
			edit:  func(doc map[string]any) { doc["severity"] = "high" },
		},
		{
			name:  "a failure with another schema version is rejected",
			event: "failure",
			edit:  func(doc map[string]any) { doc["schema"] = "rounds.failure.v2" },
		},
		{
			name:  "a failure of an unknown kind is rejected",
			event: "failure",
			edit:  func(doc map[string]any) { doc["kind"] = "crash" },
		},
		{
			name:  "a failure whose project is not a subject token is rejected",
			event: "failure",
			edit:  func(doc map[string]any) { doc["project"] = "shop.eu" },
		},
		{
			name:  "a failure whose project is 65 characters long is rejected",
			event: "failure",
			edit:  func(doc map[string]any) { doc["project"] = strings.Repeat("p", 65) },
		},
		{
			name:  "a test failure without its test is rejected",
			event: "failure",
			edit:  func(doc map[string]any) { delete(doc, "test") },
		},
		{
			name:  "a test failure whose test has an empty name is rejected",
			event: "failure",
			edit:  func(doc map[string]any) { object(doc, "test")["name"] = "" },
		},
		{
			name:  "a runtime failure without its service is rejected",
			event: "failure",
			edit:  func(doc map[string]any) { doc["kind"] = "runtime"; delete(doc, "service") },
		},
		{
			name:   "a runtime failure without a test is accepted",
			event:  "failure",
			edit:   func(doc map[string]any) { doc["kind"] = "runtime"; delete(doc, "test") },
			accept: true,
		},
		{
			name:  "an error with neither type nor message is rejected",
			event: "failure",
			edit: func(doc map[string]any) {
				delete(object(doc, "error"), "type")
				delete(object(doc, "error"), "message")
			},
		},
		{
			name:   "an error with a message only is accepted",
			event:  "failure",
			edit:   func(doc map[string]any) { delete(object(doc, "error"), "type") },
			accept: true,
		},
		{
			name:  "an error with more than 512 frames is rejected",
			event: "failure",
			edit: func(doc map[string]any) {
				frames := make([]any, contract.MaxFrames+1)
				for i := range frames {
					frames[i] = map[string]any{"function": "f"}
				}
				object(doc, "error")["frames"] = frames
			},
		},
		{
			name:  "a frame with an unknown property is rejected",
			event: "failure",
			edit: func(doc map[string]any) {
				array(doc, "error", "frames")[0].(map[string]any)["offset"] = json.Number("12")
			},
		},
		{
			name:  "a frame whose line is a string is rejected",
			event: "failure",
			edit:  func(doc map[string]any) { array(doc, "error", "frames")[0].(map[string]any)["line"] = "88" },
		},
		{
			name:  "a frame whose line is not an integer is rejected",
			event: "failure",
			edit: func(doc map[string]any) {
				array(doc, "error", "frames")[0].(map[string]any)["line"] = json.Number("88.5")
			},
		},
		{
			name:  "an attribute that is not a string is rejected",
			event: "failure",
			edit:  func(doc map[string]any) { object(doc, "attributes")["retries"] = json.Number("3") },
		},
		{
			name:   "any attribute name is accepted",
			event:  "failure",
			edit:   func(doc map[string]any) { object(doc, "attributes")["any.name at all"] = "x" },
			accept: true,
		},
		{
			name:  "a signature event with an unknown change is rejected",
			event: "signature",
			edit:  func(doc map[string]any) { doc["change"] = "deleted" },
		},
		{
			name:  "a signature event without its signature is rejected",
			event: "signature",
			edit:  func(doc map[string]any) { delete(doc, "signature") },
		},
		{
			name:  "a signature with an unknown status is rejected",
			event: "signature",
			edit:  func(doc map[string]any) { object(doc, "signature")["status"] = "closed" },
		},
		{
			name:  "a signature whose occurrences is not an integer is rejected",
			event: "signature",
			edit:  func(doc map[string]any) { object(doc, "signature")["occurrences"] = json.Number("1.5") },
		},
		{
			name:  "a signature whose flaky flag is a string is rejected",
			event: "signature",
			edit:  func(doc map[string]any) { object(doc, "signature")["flaky"] = "true" },
		},
		{
			name:  "a signature with a tag holding a space is rejected",
			event: "signature",
			edit:  func(doc map[string]any) { object(doc, "signature")["tags"] = []any{"team payments"} },
		},
		{
			name:  "a signature with a tag twice is rejected",
			event: "signature",
			edit:  func(doc map[string]any) { object(doc, "signature")["tags"] = []any{"checkout", "checkout"} },
		},
		{
			name:  "a signature without components is rejected",
			event: "signature",
			edit:  func(doc map[string]any) { delete(object(doc, "signature"), "components") },
		},
		{
			name:   "a signature with null components, as Go encodes an empty list, is accepted",
			event:  "signature",
			edit:   func(doc map[string]any) { object(doc, "signature")["components"] = nil },
			accept: true,
		},
		{
			name:  "an occurrence that is not a valid failure is rejected",
			event: "signature",
			edit:  func(doc map[string]any) { delete(object(doc, "occurrence"), "kind") },
		},
		{
			name:  "a diagnosis with a confidence above 1 is rejected",
			event: "diagnosis",
			edit:  func(doc map[string]any) { object(doc, "diagnosis")["confidence"] = json.Number("1.5") },
		},
		{
			name:  "a diagnosis with a negative cost is rejected",
			event: "diagnosis",
			edit:  func(doc map[string]any) { object(doc, "diagnosis")["cost_usd"] = json.Number("-0.01") },
		},
		{
			name:  "evidence of an unknown kind is rejected",
			event: "diagnosis",
			edit:  func(doc map[string]any) { array(doc, "diagnosis", "evidence")[0].(map[string]any)["kind"] = "hunch" },
		},
		{
			name:   "a diagnosis with null evidence, as Go encodes an empty list, is accepted",
			event:  "diagnosis",
			edit:   func(doc map[string]any) { object(doc, "diagnosis")["evidence"] = nil },
			accept: true,
		},
		{
			name:  "a diagnosis whose evidence is an object is rejected",
			event: "diagnosis",
			edit:  func(doc map[string]any) { object(doc, "diagnosis")["evidence"] = map[string]any{} },
		},
		{
			name:  "a report without where it was reported is rejected",
			event: "report",
			edit:  func(doc map[string]any) { delete(doc, "reported") },
		},
		{
			name:  "a report with an unknown property in reported is rejected",
			event: "report",
			edit:  func(doc map[string]any) { object(doc, "reported")["slack"] = "#bugs" },
		},
		{
			name:  "a report whose signature has an empty id is rejected",
			event: "report",
			edit:  func(doc map[string]any) { object(doc, "signature")["id"] = "" },
		},
		{
			name:  "a report with a diagnosis schema version is rejected",
			event: "report",
			edit:  func(doc map[string]any) { doc["schema"] = contract.SchemaDiagnosis },
		},
	}
	validators := map[string]*schemaValidator{}
	for _, ev := range events() {
		validators[ev.name] = loadSchema(t, ev.schema)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, ok := readJSON(t, goldenPath(tt.event)).(map[string]any)
			if !ok {
				t.Fatalf("%s is not an object", goldenPath(tt.event))
			}
			tt.edit(doc)
			errs := validators[tt.event].validate(doc)
			switch {
			case tt.accept && len(errs) > 0:
				t.Errorf("rejected: %s", strings.Join(errs, "; "))
			case !tt.accept && len(errs) == 0:
				t.Errorf("accepted")
			}
		})
	}
}

// TestSchemasShareDefinitions keeps the copies of shared definitions in the
// four schema files identical.
func TestSchemasShareDefinitions(t *testing.T) {
	first := map[string]string{}
	for _, ev := range events() {
		v := loadSchema(t, ev.schema)
		defs, _ := v.doc["$defs"].(map[string]any)
		for name, def := range defs {
			if other, ok := first[name]; ok {
				if !jsonEqual(def, loadSchema(t, other).doc["$defs"].(map[string]any)[name]) {
					t.Errorf("$defs/%s differs between %s and %s", name, other, ev.schema)
				}
				continue
			}
			first[name] = ev.schema
		}
	}
}

// TestSchemasDescribeEveryProperty checks the metadata integrators rely on.
func TestSchemasDescribeEveryProperty(t *testing.T) {
	for _, ev := range events() {
		t.Run(ev.name, func(t *testing.T) {
			v := loadSchema(t, ev.schema)
			if got := v.doc["$schema"]; got != "https://json-schema.org/draft/2020-12/schema" {
				t.Errorf("$schema is %v, want draft 2020-12", got)
			}
			if got, want := v.doc["$id"], "https://rounds.dev/schemas/"+ev.schema; got != want {
				t.Errorf("$id is %v, want %s", got, want)
			}
			for _, loc := range append([]string{"#"}, v.declaredProperties()...) {
				s := v.at(loc)
				for _, kw := range []string{"title", "description"} {
					if text, _ := s[kw].(string); strings.TrimSpace(text) == "" {
						t.Errorf("%s has no %s", loc, kw)
					}
				}
			}
			for name := range v.doc["$defs"].(map[string]any) {
				s := v.at("#/$defs/" + name)
				if s["title"] == nil || s["description"] == nil {
					t.Errorf("$defs/%s has no title or description", name)
				}
			}
		})
	}
}

func readJSON(t testing.TB, path string) any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v, err := decodeJSON(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

// decodeJSON decodes with json.Number, so that integers and floats stay
// apart.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after the JSON value")
	}
	return v, nil
}

func object(doc map[string]any, keys ...string) map[string]any {
	var v any = doc
	for _, k := range keys {
		v = v.(map[string]any)[k]
	}
	return v.(map[string]any)
}

func array(doc map[string]any, keys ...string) []any {
	return object(doc, keys[:len(keys)-1]...)[keys[len(keys)-1]].([]any)
}

// schemaValidator checks JSON values against a JSON Schema (draft 2020-12),
// supporting the subset the Rounds schemas use. A keyword it does not know
// is an error, so that a schema cannot silently rely on one.
type schemaValidator struct {
	doc map[string]any
	// visited records the property locations (#/$defs/X/properties/y) that
	// a validated value had.
	visited map[string]bool
	regexps map[string]*regexp.Regexp
}

func loadSchema(t testing.TB, name string) *schemaValidator {
	t.Helper()
	doc, ok := readJSON(t, filepath.Join(schemaDir, name)).(map[string]any)
	if !ok {
		t.Fatalf("%s is not a JSON object", name)
	}
	return &schemaValidator{doc: doc, visited: map[string]bool{}, regexps: map[string]*regexp.Regexp{}}
}

// validate returns every violation, each prefixed by its JSON pointer.
func (v *schemaValidator) validate(instance any) []string {
	var errs []string
	v.check(v.doc, "#", instance, "", &errs)
	return errs
}

// at resolves a location such as #/$defs/Frame/properties/line.
func (v *schemaValidator) at(loc string) map[string]any {
	var cur any = v.doc
	for _, part := range strings.Split(strings.TrimPrefix(loc, "#"), "/")[1:] {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	m, _ := cur.(map[string]any)
	return m
}

// declaredProperties lists the locations of every property the schema
// declares, in the root and in $defs (not inside allOf, anyOf or if, which
// only constrain declared properties).
func (v *schemaValidator) declaredProperties() []string {
	var locs []string
	var walk func(s map[string]any, loc string)
	walk = func(s map[string]any, loc string) {
		props, _ := s["properties"].(map[string]any)
		for name, sub := range props {
			l := loc + "/properties/" + name
			locs = append(locs, l)
			if m, ok := sub.(map[string]any); ok {
				walk(m, l)
			}
		}
		if items, ok := s["items"].(map[string]any); ok {
			walk(items, loc+"/items")
		}
	}
	walk(v.doc, "#")
	defs, _ := v.doc["$defs"].(map[string]any)
	for name, def := range defs {
		if m, ok := def.(map[string]any); ok {
			walk(m, "#/$defs/"+name)
		}
	}
	slices.Sort(locs)
	return locs
}

func (v *schemaValidator) check(s map[string]any, loc string, inst any, ptr string, errs *[]string) {
	fail := func(format string, args ...any) {
		where := ptr
		if where == "" {
			where = "/"
		}
		*errs = append(*errs, where+": "+fmt.Sprintf(format, args...))
	}
	keywords := make([]string, 0, len(s))
	for kw := range s {
		keywords = append(keywords, kw)
	}
	slices.Sort(keywords)
	for _, kw := range keywords {
		arg := s[kw]
		switch kw {
		case "$schema", "$id", "$defs", "$comment", "title", "description", "then", "else":
			// Annotations, or handled with "if".
		case "$ref":
			ref, _ := arg.(string)
			if !strings.HasPrefix(ref, "#/$defs/") {
				fail("unsupported $ref %q", ref)
				continue
			}
			target := v.at(ref)
			if target == nil {
				fail("$ref %q does not resolve", ref)
				continue
			}
			v.check(target, ref, inst, ptr, errs)
		case "type":
			var types []string
			switch a := arg.(type) {
			case string:
				types = []string{a}
			case []any:
				for _, t := range a {
					types = append(types, t.(string))
				}
			}
			if !slices.ContainsFunc(types, func(t string) bool { return hasType(inst, t) }) {
				fail("is %s, want %s", typeName(inst), strings.Join(types, " or "))
			}
		case "const":
			if !jsonEqual(inst, arg) {
				fail("is %s, want %s", show(inst), show(arg))
			}
		case "enum":
			if !slices.ContainsFunc(arg.([]any), func(e any) bool { return jsonEqual(inst, e) }) {
				fail("%s is not one of %s", show(inst), show(arg))
			}
		case "properties":
			obj, ok := inst.(map[string]any)
			if !ok {
				continue
			}
			for name, sub := range arg.(map[string]any) {
				if val, ok := obj[name]; ok {
					v.visited[loc+"/properties/"+name] = true
					v.check(sub.(map[string]any), loc+"/properties/"+name, val, ptr+"/"+name, errs)
				}
			}
		case "required":
			obj, ok := inst.(map[string]any)
			if !ok {
				continue
			}
			for _, name := range arg.([]any) {
				if _, ok := obj[name.(string)]; !ok {
					fail("%s is required", name)
				}
			}
		case "additionalProperties":
			obj, ok := inst.(map[string]any)
			if !ok {
				continue
			}
			props, _ := s["properties"].(map[string]any)
			for name, val := range obj {
				if _, declared := props[name]; declared {
					continue
				}
				switch a := arg.(type) {
				case bool:
					if !a {
						fail("%s is not an allowed property", name)
					}
				case map[string]any:
					v.check(a, loc+"/additionalProperties", val, ptr+"/"+name, errs)
				}
			}
		case "items":
			arr, ok := inst.([]any)
			if !ok {
				continue
			}
			for i, item := range arr {
				v.check(arg.(map[string]any), loc+"/items", item, ptr+"/"+strconv.Itoa(i), errs)
			}
		case "minItems", "maxItems":
			if arr, ok := inst.([]any); ok {
				limit := number(arg)
				if kw == "minItems" && float64(len(arr)) < limit || kw == "maxItems" && float64(len(arr)) > limit {
					fail("has %d items, %s is %v", len(arr), kw, arg)
				}
			}
		case "uniqueItems":
			if arr, ok := inst.([]any); ok && arg == true {
				seen := map[string]bool{}
				for _, item := range arr {
					b, _ := json.Marshal(item)
					if seen[string(b)] {
						fail("holds %s twice, uniqueItems is true", b)
					}
					seen[string(b)] = true
				}
			}
		case "minLength", "maxLength":
			if str, ok := inst.(string); ok {
				n, limit := utf8.RuneCountInString(str), number(arg)
				if kw == "minLength" && float64(n) < limit || kw == "maxLength" && float64(n) > limit {
					fail("has %d characters, %s is %v", n, kw, arg)
				}
			}
		case "minimum", "maximum":
			if num, ok := inst.(json.Number); ok {
				x, limit := number(num), number(arg)
				if kw == "minimum" && x < limit || kw == "maximum" && x > limit {
					fail("%s is out of range, %s is %v", num, kw, arg)
				}
			}
		case "pattern":
			if str, ok := inst.(string); ok {
				re, err := v.regexp(arg.(string))
				if err != nil {
					fail("pattern %q: %v", arg, err)
				} else if !re.MatchString(str) {
					fail("%q does not match %s", str, arg)
				}
			}
		case "format":
			str, ok := inst.(string)
			if !ok {
				continue
			}
			switch arg {
			case "date-time":
				if _, err := time.Parse(time.RFC3339, str); err != nil {
					fail("%q is not an RFC 3339 date-time: %v", str, err)
				}
			default:
				fail("unsupported format %q", arg)
			}
		case "allOf":
			for i, sub := range arg.([]any) {
				v.check(sub.(map[string]any), loc+"/allOf/"+strconv.Itoa(i), inst, ptr, errs)
			}
		case "anyOf":
			var branchErrs []string
			matched := false
			for i, sub := range arg.([]any) {
				var e []string
				v.check(sub.(map[string]any), loc+"/anyOf/"+strconv.Itoa(i), inst, ptr, &e)
				if len(e) == 0 {
					matched = true
					break
				}
				branchErrs = append(branchErrs, strings.Join(e, ", "))
			}
			if !matched {
				fail("matches none of anyOf: [%s]", strings.Join(branchErrs, "] ["))
			}
		case "if":
			var e []string
			v.check(arg.(map[string]any), loc+"/if", inst, ptr, &e)
			branch := "else"
			if len(e) == 0 {
				branch = "then"
			}
			if sub, ok := s[branch].(map[string]any); ok {
				v.check(sub, loc+"/"+branch, inst, ptr, errs)
			}
		default:
			fail("unsupported keyword %q at %s", kw, loc)
		}
	}
}

func (v *schemaValidator) regexp(pattern string) (*regexp.Regexp, error) {
	if re, ok := v.regexps[pattern]; ok {
		return re, nil
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	v.regexps[pattern] = re
	return re, nil
}

func hasType(inst any, typ string) bool {
	switch inst := inst.(type) {
	case nil:
		return typ == "null"
	case bool:
		return typ == "boolean"
	case string:
		return typ == "string"
	case []any:
		return typ == "array"
	case map[string]any:
		return typ == "object"
	case json.Number:
		if typ == "number" {
			return true
		}
		if typ != "integer" {
			return false
		}
		if _, err := inst.Int64(); err == nil {
			return true
		}
		f, err := inst.Float64()
		return err == nil && f == math.Trunc(f) && !math.IsInf(f, 0)
	}
	return false
}

func typeName(inst any) string {
	for _, t := range []string{"null", "boolean", "string", "array", "object", "integer", "number"} {
		if hasType(inst, t) {
			return t
		}
	}
	return fmt.Sprintf("%T", inst)
}

func number(v any) float64 {
	switch n := v.(type) {
	case json.Number:
		f, _ := n.Float64()
		return f
	case float64:
		return n
	}
	return math.NaN()
}

// jsonEqual compares decoded JSON values, numbers by value.
func jsonEqual(a, b any) bool {
	switch a := a.(type) {
	case json.Number:
		bn, ok := b.(json.Number)
		return ok && number(a) == number(bn)
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok || len(a) != len(bm) {
			return false
		}
		for k, av := range a {
			bv, ok := bm[k]
			if !ok || !jsonEqual(av, bv) {
				return false
			}
		}
		return true
	case []any:
		bs, ok := b.([]any)
		return ok && slices.EqualFunc(a, bs, jsonEqual)
	}
	return a == b
}

func show(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
