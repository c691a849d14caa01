package testreport

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
)

func TestParseRoundsJSONFillsDefaults(t *testing.T) {
	opts := testOptions()
	got, err := ParseRoundsJSON("out/failures.jsonl", openTestdata(t, "failures.jsonl"), opts)
	if err != nil {
		t.Fatalf("ParseRoundsJSON() error = %v", err)
	}
	if len(got) != 3 {
		t.Fatalf("ParseRoundsJSON() returned %d failures, want 3", len(got))
	}
	optsRun := contract.RunInfo{ID: opts.RunID, Commit: opts.Commit, Branch: opts.Branch, CIURL: opts.CIURL}

	t.Run("a line with only a test and an error gets everything else from the options", func(t *testing.T) {
		f := got[0]
		if f.Schema != contract.SchemaFailure || f.Project != "shop" || f.Kind != contract.KindTest || !f.Time.Equal(fallbackTime) {
			t.Errorf("schema, project, kind, time = %q, %q, %q, %v", f.Schema, f.Project, f.Kind, f.Time)
		}
		if f.Run != optsRun {
			t.Errorf("run = %+v, want %+v", f.Run, optsRun)
		}
		if !idPattern.MatchString(f.ID) {
			t.Errorf("id = %q, want a derived 32 hex character id", f.ID)
		}
		want := contract.TestIdentity{Framework: "vitest", Suite: "src/cart/cart.test.ts", Name: "applies a percentage discount", File: "src/cart/cart.test.ts", Line: 42}
		if *f.Test != want {
			t.Errorf("test = %+v, want %+v", *f.Test, want)
		}
	})
	t.Run("a complete runtime line keeps what it says and gets only the missing run fields", func(t *testing.T) {
		f := got[1]
		if f.ID != "checkout-run-9-1" || f.Kind != contract.KindRuntime || f.Service.Name != "checkout-api" {
			t.Errorf("id, kind, service = %q, %q, %+v", f.ID, f.Kind, f.Service)
		}
		if want := time.Date(2024, 3, 5, 10, 11, 12, 0, time.UTC); !f.Time.Equal(want) {
			t.Errorf("time = %v, want %v", f.Time, want)
		}
		wantRun := contract.RunInfo{ID: "deploy-311", Commit: "0f3c2a9", Branch: opts.Branch, CIURL: opts.CIURL}
		if f.Run != wantRun {
			t.Errorf("run = %+v, want %+v", f.Run, wantRun)
		}
		if len(f.Error.Frames) != 1 || f.Attributes["region"] != "eu-west-1" {
			t.Errorf("frames, attributes = %+v, %v", f.Error.Frames, f.Attributes)
		}
	})
	t.Run("a line naming the same project as the options and an attempt keeps both", func(t *testing.T) {
		f := got[2]
		wantRun := optsRun
		wantRun.Attempt = 2
		if f.Project != "shop" || f.Kind != contract.KindTest || f.Run != wantRun {
			t.Errorf("project, kind, run = %q, %q, %+v", f.Project, f.Kind, f.Run)
		}
	})
	t.Run("every failure validates", func(t *testing.T) {
		for i := range got {
			if err := got[i].Validate(); err != nil {
				t.Errorf("failure %d: %v", i, err)
			}
		}
	})
}

func TestParseRoundsJSONIDs(t *testing.T) {
	const line = `{"test":{"name":"TestTotal"},"error":{"message":"got 90, want 85"}}`
	parse := func(t *testing.T, name, input string, opts Options) []contract.Failure {
		t.Helper()
		got, err := ParseRoundsJSON(name, strings.NewReader(input), opts)
		if err != nil {
			t.Fatalf("ParseRoundsJSON() error = %v", err)
		}
		return got
	}
	otherRun := testOptions()
	otherRun.RunID = "gha-8112345678-2"
	base := parse(t, "out/failures.jsonl", line+"\n"+line+"\n", testOptions())

	tests := []struct {
		name  string
		other []contract.Failure
		same  bool
	}{
		{name: "the same file in the same run gets the same ids", other: parse(t, "out/failures.jsonl", line+"\n"+line+"\n", testOptions()), same: true},
		{name: "the same file with CRLF line endings gets the same ids", other: parse(t, "out/failures.jsonl", line+"\r\n"+line+"\r\n", testOptions()), same: true},
		{name: "the same file from another directory gets the same ids", other: parse(t, "/tmp/ci/failures.jsonl", line+"\n"+line+"\n", testOptions()), same: true},
		{name: "the same file in another run gets other ids", other: parse(t, "out/failures.jsonl", line+"\n"+line+"\n", otherRun), same: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := range base {
				if (base[i].ID == tt.other[i].ID) != tt.same {
					t.Errorf("line %d: ids %s and %s, want same = %v", i+1, base[i].ID, tt.other[i].ID, tt.same)
				}
			}
		})
	}
	t.Run("two identical lines get different ids", func(t *testing.T) {
		if base[0].ID == base[1].ID {
			t.Errorf("both lines have id %s", base[0].ID)
		}
	})
}

func TestParseRoundsJSONAcceptsOddButValidFiles(t *testing.T) {
	tests := []struct {
		name      string
		input     string
		wantCount int
	}{
		{name: "an empty file has no failures", input: "", wantCount: 0},
		{name: "blank lines are skipped", input: "\n  \n" + `{"test":{"name":"a"},"error":{"type":"E"}}` + "\n\t\n", wantCount: 1},
		{name: "a last line without a newline is read", input: `{"test":{"name":"a"},"error":{"type":"E"}}` + "\n" + `{"test":{"name":"b"},"error":{"type":"E"}}`, wantCount: 2},
		{name: "a byte order mark is skipped", input: utf8BOM + `{"test":{"name":"a"},"error":{"type":"E"}}`, wantCount: 1},
		{name: "unknown fields are ignored as consumers do", input: `{"test":{"name":"a"},"error":{"type":"E"},"severity":"high"}`, wantCount: 1},
		{name: "a complete failure of the maximum size is accepted", input: maxSizeLine(t), wantCount: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRoundsJSON("failures.jsonl", strings.NewReader(tt.input), testOptions())
			if err != nil {
				t.Fatalf("ParseRoundsJSON() error = %v", err)
			}
			if len(got) != tt.wantCount {
				t.Errorf("ParseRoundsJSON() returned %d failures, want %d", len(got), tt.wantCount)
			}
		})
	}
}

// maxSizeLine returns a complete failure, which defaults do not grow, that
// is exactly contract.MaxFailureBytes encoded.
func maxSizeLine(t *testing.T) string {
	t.Helper()
	opts := testOptions()
	f := contract.Failure{
		Schema:     contract.SchemaFailure,
		ID:         "max-size",
		Project:    opts.Project,
		Time:       opts.Time,
		Kind:       contract.KindTest,
		Test:       &contract.TestIdentity{Name: "a"},
		Error:      contract.ErrorInfo{Type: "E", Stack: strings.Repeat("s", contract.MaxStackBytes)},
		Run:        contract.RunInfo{ID: opts.RunID, Commit: opts.Commit, Branch: opts.Branch, CIURL: opts.CIURL},
		Attributes: map[string]string{"pad": ""},
	}
	data, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	f.Attributes["pad"] = strings.Repeat("p", contract.MaxFailureBytes-len(data))
	if data, err = json.Marshal(f); err != nil || len(data) != contract.MaxFailureBytes {
		t.Fatalf("built a line of %d bytes (%v), want %d", len(data), err, contract.MaxFailureBytes)
	}
	return string(data)
}

func TestParseRoundsJSONRefusesBadLines(t *testing.T) {
	const good = `{"test":{"name":"TestTotal"},"error":{"message":"got 90, want 85"}}`
	tests := []struct {
		name     string
		input    string
		wantLine int
		wantCol  int
		wantErr  string
		wantIs   error
	}{
		{
			name:     "invalid JSON on line 3 is reported on line 3 with its column",
			input:    good + "\n" + good + "\n" + `{"test":{"name":"a"},"error":{"message":x}}` + "\n" + good + "\n",
			wantLine: 3,
			wantCol:  41,
			wantErr:  "decode failure: invalid character 'x' looking for beginning of value",
		},
		{
			name:     "blank lines count in line numbers",
			input:    good + "\n\n\n" + `{"test":` + "\n",
			wantLine: 4,
			wantErr:  "unexpected end of JSON input",
		},
		{
			name:     "a pretty-printed object is refused on its first line",
			input:    "{\n  \"test\": {\"name\": \"a\"}\n}\n",
			wantLine: 1,
			wantErr:  "decode failure",
		},
		{
			name:     "two objects on one line are refused",
			input:    good + good + "\n",
			wantLine: 1,
			wantCol:  len(good) + 1,
			wantErr:  "after top-level value",
		},
		{
			name:     "a JSON array is refused",
			input:    "[" + good + "]\n",
			wantLine: 1,
			wantCol:  1,
			wantErr:  "cannot unmarshal array",
		},
		{
			name:     "a field of the wrong type is refused with its column",
			input:    `{"test":{"name":42},"error":{"type":"E"}}`,
			wantLine: 1,
			wantCol:  18,
			wantErr:  "cannot unmarshal number",
		},
		{
			name:     "a time that is not RFC 3339 is refused",
			input:    `{"time":"yesterday","test":{"name":"a"},"error":{"type":"E"}}`,
			wantLine: 1,
			wantErr:  "decode failure",
		},
		{
			name:     "an unknown schema version is refused",
			input:    `{"schema":"rounds.failure.v2","test":{"name":"a"},"error":{"type":"E"}}`,
			wantLine: 1,
			wantErr:  `unknown schema "rounds.failure.v2", want "rounds.failure.v1"`,
			wantIs:   contract.ErrInvalidEvent,
		},
		{
			name:     "another project than the options' is refused",
			input:    `{"project":"billing","test":{"name":"a"},"error":{"type":"E"}}`,
			wantLine: 1,
			wantErr:  `project "billing" is not "shop"`,
			wantIs:   contract.ErrInvalidEvent,
		},
		{
			name:     "a test without a name is refused",
			input:    `{"test":{"suite":"cart"},"error":{"type":"E"}}`,
			wantLine: 1,
			wantErr:  "test.name is required",
			wantIs:   contract.ErrInvalidEvent,
		},
		{
			name:     "a failure without an error type or message is refused",
			input:    `{"test":{"name":"a"},"error":{"stack":"at a.go:1"}}`,
			wantLine: 1,
			wantErr:  "error.type or error.message is required",
			wantIs:   contract.ErrInvalidEvent,
		},
		{
			name:     "a failure with neither test nor service has no kind",
			input:    `{"error":{"type":"E"}}`,
			wantLine: 1,
			wantErr:  `kind "" is neither`,
			wantIs:   contract.ErrInvalidEvent,
		},
		{
			name:     "a failure with both test and service needs a kind",
			input:    `{"test":{"name":"a"},"service":{"name":"api"},"error":{"type":"E"}}`,
			wantLine: 1,
			wantErr:  "kind is required when both test and service are set",
			wantIs:   contract.ErrInvalidEvent,
		},
		{
			name:     "an unknown kind is refused",
			input:    `{"kind":"build","test":{"name":"a"},"error":{"type":"E"}}`,
			wantLine: 1,
			wantErr:  `kind "build" is neither`,
			wantIs:   contract.ErrInvalidEvent,
		},
		{
			name:     "a null line is refused",
			input:    "null\n",
			wantLine: 1,
			wantIs:   contract.ErrInvalidEvent,
		},
		{
			name:     "an id longer than allowed is refused",
			input:    `{"id":"` + strings.Repeat("i", contract.MaxIDLen+1) + `","test":{"name":"a"},"error":{"type":"E"}}`,
			wantLine: 1,
			wantErr:  "id is 257 bytes",
			wantIs:   contract.ErrInvalidEvent,
		},
		{
			name:     "a message longer than allowed is refused rather than cut",
			input:    `{"test":{"name":"a"},"error":{"message":"` + strings.Repeat("m", contract.MaxMessageBytes+1) + `"}}`,
			wantLine: 1,
			wantErr:  "error.message is 65537 bytes",
			wantIs:   contract.ErrInvalidEvent,
		},
		{
			name:     "invalid UTF-8 is refused at its column",
			input:    good + "\n" + `{"test":{"name":"caf` + "\xe9" + `"},"error":{"type":"E"}}`,
			wantLine: 2,
			wantCol:  21,
			wantErr:  "line is not valid UTF-8",
		},
		{
			name:     "a line longer than the limit is refused",
			input:    good + "\n" + strings.Repeat(" ", contract.MaxFailureBytes) + good + "\n",
			wantLine: 2,
			wantErr:  "line is longer than 1048576 bytes",
		},
		{
			name:     "a line one byte longer than the limit is refused",
			input:    strings.Repeat(" ", contract.MaxFailureBytes+1-len(good)) + good + "\r\n",
			wantLine: 1,
			wantErr:  "line is longer than 1048576 bytes",
		},
		{
			name:     "a failure whose encoding is too big is refused",
			input:    `{"test":{"name":"a"},"error":{"type":"E","stack":"` + strings.Repeat("<", contract.MaxStackBytes) + `"}}`,
			wantLine: 1,
			wantErr:  "bytes encoded, more than 1048576",
			wantIs:   contract.ErrInvalidEvent,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRoundsJSON("out/failures.jsonl", strings.NewReader(tt.input), testOptions())
			if got != nil {
				t.Errorf("ParseRoundsJSON() returned %d failures with an error", len(got))
			}
			pe := parseError(t, err)
			if pe.Name != "out/failures.jsonl" {
				t.Errorf("error names %q, want the input name", pe.Name)
			}
			if pe.Line != tt.wantLine || (tt.wantCol != 0 && pe.Column != tt.wantCol) {
				t.Errorf("error at line %d column %d, want line %d column %d (%v)", pe.Line, pe.Column, tt.wantLine, tt.wantCol, err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %q, want it to contain %q", err, tt.wantErr)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error = %v, want it to wrap %v", err, tt.wantIs)
			}
		})
	}
}

func TestParseRoundsJSONPassesOnReadErrors(t *testing.T) {
	boom := errors.New("connection reset")
	r := io.MultiReader(strings.NewReader(`{"test":{"name":"a"},"error":{"type":"E"}}`+"\n"), iotest.ErrReader(boom))
	got, err := ParseRoundsJSON("failures.jsonl", r, testOptions())
	if got != nil || !errors.Is(err, boom) {
		t.Fatalf("ParseRoundsJSON() = %v, %v; want nil and an error wrapping %v", got, err, boom)
	}
	if pe := parseError(t, err); pe.Line != 1 {
		t.Errorf("error at line %d, want the last line read, 1", pe.Line)
	}
}
