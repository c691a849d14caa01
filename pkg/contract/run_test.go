package contract_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
)

// The run report is tested here rather than in events() of contract_test.go,
// with the same helpers: golden file, every field populated, conformance to
// its schema and the RunInfo definition shared with failure.v1.json.

const runSchema = "run.v1.json"

func sampleRunReported() contract.RunReported {
	return contract.RunReported{
		Schema:  contract.SchemaRun,
		ID:      "7d0c5e2a9b41f36c8e1d2a4b6f8c0e13.1",
		Project: "shop",
		Time:    time.Date(2025, 11, 28, 20, 53, 12, 345000000, time.UTC),
		Run: contract.RunInfo{
			ID:      "8812",
			Commit:  "9f2c1e7d4b3a5f6e8d7c9b0a1f2e3d4c5b6a7980",
			Branch:  "main",
			Attempt: 2,
			CIURL:   "https://ci.example.com/shop/runs/8812",
		},
		Source:    "TEST-com.acme.shop.cart.CartServiceTest.xml",
		Framework: "junit",
		Passed: contract.TestsBySuite{
			"com.acme.shop.cart.CartServiceTest": {"addsItemToEmptyCart", "checksOutWithSavedCard"},
			"":                                   {"smoke"},
		},
		PassedOnRetry: contract.TestsBySuite{
			"com.acme.shop.cart.CartServiceTest": {"checksOutWithSavedCard"},
		},
		Total:   6,
		Failed:  2,
		Skipped: 1,
		Chunk:   contract.Chunk{Index: 1, Count: 3},
	}
}

func TestRunGolden(t *testing.T) {
	sample := sampleRunReported()
	got, err := json.MarshalIndent(sample, "", "  ")
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	got = append(got, '\n')
	path := goldenPath("run")
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
		t.Errorf("the wire format of the run report changed; if that is intended, bump the schema version or run go test -update\n%s", lineDiff(string(want), string(got)))
	}
	decoded, err := contract.DecodeRunReported(want)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	if !reflect.DeepEqual(decoded, sample) {
		t.Errorf("round trip through %s changed the event\n got: %#v\nwant: %#v", path, decoded, sample)
	}
}

func TestRunSamplePopulatesEveryField(t *testing.T) {
	sample := sampleRunReported()
	all, set := map[string]bool{}, map[string]bool{}
	walkFields(reflect.ValueOf(sample), "RunReported", all, set)
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
}

func TestRunGoldenConformsToItsSchema(t *testing.T) {
	v := loadSchema(t, runSchema)
	for _, e := range v.validate(readJSON(t, goldenPath("run"))) {
		t.Errorf("%s does not conform to %s: %s", goldenPath("run"), runSchema, e)
	}
	for _, loc := range v.declaredProperties() {
		if !v.visited[loc] {
			t.Errorf("%s declares %s, but the golden file never has it", runSchema, loc)
		}
	}
}

func TestRunSchemaDescribesEveryProperty(t *testing.T) {
	v := loadSchema(t, runSchema)
	if got := v.doc["$schema"]; got != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema is %v, want draft 2020-12", got)
	}
	if got, want := v.doc["$id"], "https://rounds.dev/schemas/"+runSchema; got != want {
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
}

func TestRunSchemaSharesRunInfoWithTheFailureSchema(t *testing.T) {
	run := loadSchema(t, runSchema).doc["$defs"].(map[string]any)
	failure := loadSchema(t, "failure.v1.json").doc["$defs"].(map[string]any)
	for name, def := range run {
		if other, ok := failure[name]; ok && !jsonEqual(def, other) {
			t.Errorf("$defs/%s differs between %s and failure.v1.json", name, runSchema)
		}
	}
	if _, ok := run["RunInfo"]; !ok {
		t.Errorf("%s has no $defs/RunInfo", runSchema)
	}
}

func TestRunSchemaRejectsWhatTheContractRefuses(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(doc map[string]any)
		accept bool
	}{
		{name: "a run report without an id is rejected", edit: func(doc map[string]any) { delete(doc, "id") }},
		{name: "a run report without a source is rejected", edit: func(doc map[string]any) { delete(doc, "source") }},
		{name: "a run report without a chunk is rejected", edit: func(doc map[string]any) { delete(doc, "chunk") }},
		{name: "a run report of another schema version is rejected", edit: func(doc map[string]any) { doc["schema"] = "rounds.run.v2" }},
		{name: "a run report whose project is not a subject token is rejected", edit: func(doc map[string]any) { doc["project"] = "shop.eu" }},
		{name: "a run report with an unknown property is rejected", edit: func(doc map[string]any) { doc["flaky"] = true }},
		{name: "a negative total is rejected", edit: func(doc map[string]any) { doc["total"] = json.Number("-1") }},
		{name: "a chunk count of zero is rejected", edit: func(doc map[string]any) { object(doc, "chunk")["count"] = json.Number("0") }},
		{name: "a suite listing no test is rejected", edit: func(doc map[string]any) { object(doc, "passed")["x"] = []any{} }},
		{name: "a test with an empty name is rejected", edit: func(doc map[string]any) { object(doc, "passed")["x"] = []any{""} }},
		{name: "a suite whose tests are not a list is rejected", edit: func(doc map[string]any) { object(doc, "passed")["x"] = "TestA" }},
		{name: "a run report without passed tests is accepted", edit: func(doc map[string]any) { delete(doc, "passed"); delete(doc, "passed_on_retry") }, accept: true},
		{name: "a run report without framework is accepted", edit: func(doc map[string]any) { delete(doc, "framework") }, accept: true},
	}
	v := loadSchema(t, runSchema)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := readJSON(t, goldenPath("run")).(map[string]any)
			tt.edit(doc)
			errs := v.validate(doc)
			switch {
			case tt.accept && len(errs) > 0:
				t.Errorf("rejected: %s", strings.Join(errs, "; "))
			case !tt.accept && len(errs) == 0:
				t.Errorf("accepted")
			}
		})
	}
}

func TestRunReportedValidate(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(e *contract.RunReported)
		wantErr string // empty: valid
	}{
		{name: "the sample is valid", edit: func(e *contract.RunReported) {}},
		{name: "a report with no tests listed is valid", edit: func(e *contract.RunReported) { e.Passed, e.PassedOnRetry = nil, nil }},
		{name: "another schema is refused", edit: func(e *contract.RunReported) { e.Schema = contract.SchemaFailure }, wantErr: "schema"},
		{name: "an empty id is refused", edit: func(e *contract.RunReported) { e.ID = "" }, wantErr: "id is required"},
		{name: "an id longer than 256 bytes is refused", edit: func(e *contract.RunReported) { e.ID = strings.Repeat("i", 257) }, wantErr: "more than 256"},
		{name: "a project with a dot is refused", edit: func(e *contract.RunReported) { e.Project = "shop.eu" }, wantErr: "project"},
		{name: "a zero time is refused", edit: func(e *contract.RunReported) { e.Time = time.Time{} }, wantErr: "time is required"},
		{name: "an empty source is refused", edit: func(e *contract.RunReported) { e.Source = "" }, wantErr: "source is required"},
		{name: "more failed and skipped than the total is refused", edit: func(e *contract.RunReported) { e.Failed = 6 }, wantErr: "more than the total"},
		{name: "a negative count is refused", edit: func(e *contract.RunReported) { e.Skipped = -1 }, wantErr: "negative"},
		{name: "a chunk count of zero is refused", edit: func(e *contract.RunReported) { e.Chunk = contract.Chunk{} }, wantErr: "chunk.count"},
		{name: "a chunk index past the count is refused", edit: func(e *contract.RunReported) { e.Chunk.Index = 3 }, wantErr: "chunk.index"},
		{name: "a suite listing no test is refused", edit: func(e *contract.RunReported) { e.Passed["x"] = nil }, wantErr: "lists no test"},
		{name: "an empty test name is refused", edit: func(e *contract.RunReported) { e.PassedOnRetry["x"] = []string{""} }, wantErr: "empty name"},
		{name: "a test name over 64 KiB is refused", edit: func(e *contract.RunReported) {
			e.Passed["x"] = []string{strings.Repeat("n", contract.MaxTestRefBytes+1)}
		}, wantErr: "more than 65536"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := sampleRunReported()
			tt.edit(&e)
			err := e.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, contract.ErrInvalidEvent) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want an invalid event error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestDecodeRunReportedRefusesWhatItCannotProcess(t *testing.T) {
	good, err := json.Marshal(sampleRunReported())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		data    []byte
		wantErr string
	}{
		{name: "a payload over 1 MiB is refused before decoding", data: append(good[:len(good)-1:len(good)-1], []byte(`,"x":"`+strings.Repeat("x", contract.MaxRunBytes)+`"}`)...), wantErr: "more than 1048576"},
		{name: "invalid UTF-8 is refused", data: []byte("{\"schema\":\"rounds.run.v1\",\"source\":\"\xff\"}"), wantErr: "not valid UTF-8"},
		{name: "a list of tests that is not an object is refused", data: []byte(`{"schema":"rounds.run.v1","passed":["a"]}`), wantErr: "decode run report"},
		{name: "a payload without a chunk is refused", data: []byte(`{"schema":"rounds.run.v1","id":"r.0","project":"shop","time":"2025-11-28T20:53:12Z","run":{},"source":"a.xml","total":0,"failed":0,"skipped":0}`), wantErr: "chunk.count"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := contract.DecodeRunReported(tt.data)
			if !errors.Is(err, contract.ErrInvalidEvent) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("DecodeRunReported() = %v, want an invalid event error containing %q", err, tt.wantErr)
			}
		})
	}
}

// wholeRun is a run report before it is cut into chunks.
func wholeRun(passed, onRetry []contract.TestRef) contract.RunReported {
	e := sampleRunReported()
	e.ID = "7d0c5e2a9b41f36c8e1d2a4b6f8c0e13"
	e.Chunk = contract.Chunk{}
	e.Passed = contract.GroupTests(passed)
	e.PassedOnRetry = contract.GroupTests(onRetry)
	e.Total = len(passed) + 3
	return e
}

func manyTests(suites, perSuite int, nameLen int) []contract.TestRef {
	var refs []contract.TestRef
	for s := range suites {
		for i := range perSuite {
			name := "Test" + strings.Repeat("x", nameLen) + "_" + string(rune('a'+s%26)) + "_" + itoa(i)
			refs = append(refs, contract.TestRef{Suite: "example.com/shop/pkg" + itoa(s), Name: name})
		}
	}
	return refs
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

func TestRunReportedChunks(t *testing.T) {
	tests := []struct {
		name       string
		passed     []contract.TestRef
		onRetry    []contract.TestRef
		maxBytes   int
		wantChunks int // 0: more than one, not checked exactly
	}{
		{name: "a report with no passed tests is one chunk", maxBytes: 0, wantChunks: 1},
		{name: "a small report is one chunk", passed: manyTests(3, 10, 5), onRetry: manyTests(1, 2, 5), maxBytes: 0, wantChunks: 1},
		{name: "a hundred thousand passed tests are cut into chunks of at most 512 KiB", passed: manyTests(40, 2500, 20), onRetry: manyTests(2, 3, 5)},
		{name: "one huge suite is cut across chunks", passed: manyTests(1, 50000, 10)},
		{name: "names that JSON escapes are measured escaped", passed: []contract.TestRef{{Suite: "a<b>", Name: strings.Repeat("<&>\"\\\x01", 9000)}, {Suite: "a<b>", Name: strings.Repeat("é", 30000)}}, maxBytes: 300 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			whole := wholeRun(tt.passed, tt.onRetry)
			chunks, err := whole.Chunks(tt.maxBytes)
			if err != nil {
				t.Fatalf("Chunks() error = %v", err)
			}
			if tt.wantChunks != 0 && len(chunks) != tt.wantChunks {
				t.Errorf("Chunks() made %d chunks, want %d", len(chunks), tt.wantChunks)
			}
			if tt.wantChunks == 0 && len(chunks) < 2 {
				t.Errorf("Chunks() made %d chunk, want several", len(chunks))
			}
			limit := tt.maxBytes
			if limit == 0 {
				limit = contract.RunChunkBytes
			}
			var passed, onRetry []contract.TestRef
			for i, c := range chunks {
				data, err := json.Marshal(c)
				if err != nil {
					t.Fatal(err)
				}
				if len(data) > limit {
					t.Errorf("chunk %d is %d bytes, more than %d", i, len(data), limit)
				}
				if _, err := contract.DecodeRunReported(data); err != nil {
					t.Errorf("chunk %d does not decode: %v", i, err)
				}
				if c.ID != contract.ChunkID(whole.ID, i) || c.Chunk != (contract.Chunk{Index: i, Count: len(chunks)}) {
					t.Errorf("chunk %d has id %q and chunk %+v", i, c.ID, c.Chunk)
				}
				if c.Total != whole.Total || c.Failed != whole.Failed || c.Skipped != whole.Skipped || c.Run != whole.Run || c.Source != whole.Source {
					t.Errorf("chunk %d does not repeat the header", i)
				}
				passed = append(passed, c.Passed.Refs()...)
				onRetry = append(onRetry, c.PassedOnRetry.Refs()...)
			}
			sortRefs := func(r []contract.TestRef) []contract.TestRef {
				r = slices.Clone(r)
				slices.SortStableFunc(r, func(a, b contract.TestRef) int { return strings.Compare(a.Suite, b.Suite) })
				return r
			}
			if !slices.Equal(passed, sortRefs(tt.passed)) || !slices.Equal(onRetry, sortRefs(tt.onRetry)) {
				t.Errorf("the chunks list %d passed and %d passed on retry, want %d and %d, in suite order", len(passed), len(onRetry), len(tt.passed), len(tt.onRetry))
			}
			again, err := whole.Chunks(tt.maxBytes)
			if err != nil || !reflect.DeepEqual(again, chunks) {
				t.Errorf("Chunks() is not deterministic")
			}
		})
	}
}

func TestRunReportedChunksRefusesWhatCannotBeCut(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(e *contract.RunReported)
		maxBytes int
		wantErr  string
	}{
		{name: "a chunk is not cut again", edit: func(e *contract.RunReported) { e.Chunk = contract.Chunk{Index: 0, Count: 1} }, wantErr: "already chunk"},
		{name: "an invalid header is refused", edit: func(e *contract.RunReported) { e.Project = "" }, wantErr: "project"},
		{name: "a limit smaller than the header is refused", edit: func(e *contract.RunReported) {}, maxBytes: 100, wantErr: "header alone"},
		{name: "a test name that does not fit in a chunk is refused", edit: func(e *contract.RunReported) { e.Passed = contract.TestsBySuite{"s": {strings.Repeat("n", 5000)}} }, maxBytes: 4096, wantErr: "does not fit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := wholeRun(nil, nil)
			tt.edit(&e)
			chunks, err := e.Chunks(tt.maxBytes)
			if chunks != nil || !errors.Is(err, contract.ErrInvalidEvent) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Chunks() = %d chunks, %v; want an invalid event error containing %q", len(chunks), err, tt.wantErr)
			}
		})
	}
}

func TestTestsBySuite(t *testing.T) {
	refs := []contract.TestRef{{Suite: "b", Name: "TestB1"}, {Name: "loose"}, {Suite: "a", Name: "TestA"}, {Suite: "b", Name: "TestB2"}}
	g := contract.GroupTests(refs)
	if g.Len() != 4 {
		t.Errorf("Len() = %d, want 4", g.Len())
	}
	want := []contract.TestRef{{Name: "loose"}, {Suite: "a", Name: "TestA"}, {Suite: "b", Name: "TestB1"}, {Suite: "b", Name: "TestB2"}}
	if got := g.Refs(); !slices.Equal(got, want) {
		t.Errorf("Refs() = %v, want %v", got, want)
	}
	if contract.GroupTests(nil) != nil {
		t.Errorf("GroupTests(nil) is not nil")
	}
	data, _ := json.Marshal(g)
	if string(data) != `{"":["loose"],"a":["TestA"],"b":["TestB1","TestB2"]}` {
		t.Errorf("encoded as %s", data)
	}
}

func TestRunSubject(t *testing.T) {
	if got, err := contract.RunSubject("shop"); got != "rounds.runs.shop" || err != nil {
		t.Errorf("RunSubject(shop) = %q, %v", got, err)
	}
	if _, err := contract.RunSubject("a.b"); !errors.Is(err, contract.ErrInvalidToken) {
		t.Errorf("RunSubject(a.b) error = %v, want ErrInvalidToken", err)
	}
	if !strings.HasPrefix("rounds.runs.shop", strings.TrimSuffix(contract.RunsAll, ">")) {
		t.Errorf("RunsAll %q does not cover the run subjects", contract.RunsAll)
	}
}
