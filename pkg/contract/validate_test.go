package contract_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
)

// minimalTestFailure and minimalRuntimeFailure set only what Validate
// requires.
func minimalTestFailure() contract.Failure {
	return contract.Failure{
		Schema:  contract.SchemaFailure,
		ID:      "f-1",
		Project: "shop",
		Time:    time.Date(2025, 11, 28, 20, 53, 0, 0, time.UTC),
		Kind:    contract.KindTest,
		Test:    &contract.TestIdentity{Name: "TestCheckout"},
		Error:   contract.ErrorInfo{Message: "want 1299, got 0"},
	}
}

func minimalRuntimeFailure() contract.Failure {
	return contract.Failure{
		Schema:  contract.SchemaFailure,
		ID:      "f-2",
		Project: "shop",
		Time:    time.Date(2025, 11, 28, 20, 53, 0, 0, time.UTC),
		Kind:    contract.KindRuntime,
		Service: &contract.ServiceIdentity{Name: "cart"},
		Error:   contract.ErrorInfo{Type: "NullPointerException"},
	}
}

func frames(n int) []contract.Frame {
	fs := make([]contract.Frame, n)
	for i := range fs {
		fs[i] = contract.Frame{Function: "f", Line: i + 1}
	}
	return fs
}

// TestFailureValidation runs each case through Validate and through
// DecodeFailure of the encoded failure: both must agree.
func TestFailureValidation(t *testing.T) {
	tests := []struct {
		name    string
		base    func() contract.Failure
		edit    func(f *contract.Failure)
		wantErr string // "" when the failure is valid
	}{
		{name: "a fully populated failure is valid", base: sampleFailure, edit: func(*contract.Failure) {}},
		{name: "a minimal test failure is valid", base: minimalTestFailure, edit: func(*contract.Failure) {}},
		{name: "a minimal runtime failure is valid", base: minimalRuntimeFailure, edit: func(*contract.Failure) {}},
		{
			name: "a failure with a type and no message is valid",
			base: minimalTestFailure,
			edit: func(f *contract.Failure) { f.Error = contract.ErrorInfo{Type: "AssertionError"} },
		},
		{
			name: "a failure without a schema version is rejected",
			base: minimalTestFailure, edit: func(f *contract.Failure) { f.Schema = "" },
			wantErr: `schema "" is not "rounds.failure.v1"`,
		},
		{
			name: "a failure of an unknown schema version is rejected",
			base: minimalTestFailure, edit: func(f *contract.Failure) { f.Schema = "rounds.failure.v2" },
			wantErr: `schema "rounds.failure.v2" is not`,
		},
		{
			name: "a failure stamped with another event's schema is rejected",
			base: minimalTestFailure, edit: func(f *contract.Failure) { f.Schema = contract.SchemaSignature },
			wantErr: `schema "rounds.signature.v1" is not`,
		},
		{
			name: "a failure without an id is rejected",
			base: minimalTestFailure, edit: func(f *contract.Failure) { f.ID = "" },
			wantErr: "id is required",
		},
		{
			name: "an id of exactly 256 bytes is valid",
			base: minimalTestFailure, edit: func(f *contract.Failure) { f.ID = strings.Repeat("i", contract.MaxIDLen) },
		},
		{
			name: "an id of 257 bytes is rejected",
			base: minimalTestFailure, edit: func(f *contract.Failure) { f.ID = strings.Repeat("i", contract.MaxIDLen+1) },
			wantErr: "id is 257 bytes, more than 256",
		},
		{
			name: "a failure without a project is rejected",
			base: minimalTestFailure, edit: func(f *contract.Failure) { f.Project = "" },
			wantErr: `project "" is not a subject token`,
		},
		{
			name: "a project with a dot is rejected",
			base: minimalTestFailure, edit: func(f *contract.Failure) { f.Project = "shop.eu" },
			wantErr: `project "shop.eu" is not a subject token`,
		},
		{
			name: "a project with a wildcard is rejected",
			base: minimalTestFailure, edit: func(f *contract.Failure) { f.Project = "*" },
			wantErr: `project "*" is not a subject token`,
		},
		{
			name: "a project with a space is rejected",
			base: minimalTestFailure, edit: func(f *contract.Failure) { f.Project = "my shop" },
			wantErr: `project "my shop" is not a subject token`,
		},
		{
			name: "a project of 64 characters is valid",
			base: minimalTestFailure, edit: func(f *contract.Failure) { f.Project = strings.Repeat("p", 64) },
		},
		{
			name: "a project of 65 characters is rejected",
			base: minimalTestFailure, edit: func(f *contract.Failure) { f.Project = strings.Repeat("p", 65) },
			wantErr: "is not a subject token",
		},
		{
			name: "a failure without a time is rejected",
			base: minimalTestFailure, edit: func(f *contract.Failure) { f.Time = time.Time{} },
			wantErr: "time is required",
		},
		{
			name: "a failure without a kind is rejected",
			base: minimalTestFailure, edit: func(f *contract.Failure) { f.Kind = "" },
			wantErr: `kind "" is neither "test" nor "runtime"`,
		},
		{
			name: "a failure of an unknown kind is rejected",
			base: minimalTestFailure, edit: func(f *contract.Failure) { f.Kind = "crash" },
			wantErr: `kind "crash" is neither`,
		},
		{
			name: "a test failure without a test is rejected",
			base: minimalTestFailure, edit: func(f *contract.Failure) { f.Test = nil },
			wantErr: "test.name is required for a test failure",
		},
		{
			name: "a test failure whose test has no name is rejected",
			base: minimalTestFailure, edit: func(f *contract.Failure) { f.Test = &contract.TestIdentity{Suite: "cart"} },
			wantErr: "test.name is required for a test failure",
		},
		{
			name: "a runtime failure without a service is rejected",
			base: minimalRuntimeFailure, edit: func(f *contract.Failure) { f.Service = nil },
			wantErr: "service.name is required for a runtime failure",
		},
		{
			name: "a runtime failure whose service has no name is rejected",
			base: minimalRuntimeFailure, edit: func(f *contract.Failure) { f.Service = &contract.ServiceIdentity{Version: "1.0"} },
			wantErr: "service.name is required for a runtime failure",
		},
		{
			name: "a runtime failure without a test name is valid",
			base: minimalRuntimeFailure, edit: func(f *contract.Failure) { f.Test = &contract.TestIdentity{Suite: "cart"} },
		},
		{
			name: "a failure with neither error type nor message is rejected",
			base: minimalTestFailure, edit: func(f *contract.Failure) { f.Error = contract.ErrorInfo{Stack: "panic: boom", Frames: frames(1)} },
			wantErr: "error.type or error.message is required",
		},
		{
			name: "a message of exactly 64 KiB is valid",
			base: minimalTestFailure, edit: func(f *contract.Failure) { f.Error.Message = strings.Repeat("m", contract.MaxMessageBytes) },
		},
		{
			name: "a message one byte over 64 KiB is rejected",
			base: minimalTestFailure, edit: func(f *contract.Failure) { f.Error.Message = strings.Repeat("m", contract.MaxMessageBytes+1) },
			wantErr: "error.message is 65537 bytes, more than 65536",
		},
		{
			name: "the message limit counts bytes, not characters",
			base: minimalTestFailure, edit: func(f *contract.Failure) { f.Error.Message = strings.Repeat("é", contract.MaxMessageBytes/2) + "m" },
			wantErr: "error.message is 65537 bytes",
		},
		{
			name: "a stack of exactly 512 KiB is valid",
			base: minimalTestFailure, edit: func(f *contract.Failure) { f.Error.Stack = strings.Repeat("s", contract.MaxStackBytes) },
		},
		{
			name: "a stack one byte over 512 KiB is rejected",
			base: minimalTestFailure, edit: func(f *contract.Failure) { f.Error.Stack = strings.Repeat("s", contract.MaxStackBytes+1) },
			wantErr: "error.stack is 524289 bytes, more than 524288",
		},
		{
			name: "exactly 512 frames are valid",
			base: minimalTestFailure, edit: func(f *contract.Failure) { f.Error.Frames = frames(contract.MaxFrames) },
		},
		{
			name: "513 frames are rejected",
			base: minimalTestFailure, edit: func(f *contract.Failure) { f.Error.Frames = frames(contract.MaxFrames + 1) },
			wantErr: "error.frames has 513 frames, more than 512",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.base()
			tt.edit(&f)
			checkInvalid(t, "Validate", f.Validate(), tt.wantErr)

			data, err := json.Marshal(f)
			if err != nil {
				t.Fatal(err)
			}
			decoded, err := contract.DecodeFailure(data)
			checkInvalid(t, "DecodeFailure", err, tt.wantErr)
			if err != nil && !isZero(decoded) {
				t.Errorf("DecodeFailure returned a non-zero failure with its error: %+v", decoded)
			}
		})
	}
}

func isZero(f contract.Failure) bool {
	return f.Schema == "" && f.ID == "" && f.Project == "" && f.Time.IsZero() && f.Test == nil && f.Service == nil
}

// checkInvalid checks that err is nil when wantErr is empty, and otherwise
// wraps ErrInvalidEvent and mentions wantErr.
func checkInvalid(t *testing.T, what string, err error, wantErr string) {
	t.Helper()
	switch {
	case wantErr == "" && err != nil:
		t.Errorf("%s: unexpected error: %v", what, err)
	case wantErr == "":
	case err == nil:
		t.Errorf("%s: no error, want one mentioning %q", what, wantErr)
	case !errors.Is(err, contract.ErrInvalidEvent):
		t.Errorf("%s: error %q does not wrap ErrInvalidEvent", what, err)
	case !strings.Contains(err.Error(), wantErr):
		t.Errorf("%s: error %q does not mention %q", what, err, wantErr)
	}
}

// TestDecodeFailureRefusesBadPayloads covers what only the decoder sees: the
// raw bytes.
func TestDecodeFailureRefusesBadPayloads(t *testing.T) {
	valid, err := json.Marshal(minimalTestFailure())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		data    []byte
		wantErr string
	}{
		{name: "a valid failure decodes", data: valid},
		{name: "a failure padded to exactly 1 MiB decodes", data: pad(valid, contract.MaxFailureBytes)},
		{
			name:    "a failure one byte over 1 MiB is refused",
			data:    pad(valid, contract.MaxFailureBytes+1),
			wantErr: "failure is 1048577 bytes, more than 1048576",
		},
		{
			name:    "a failure with invalid UTF-8 in a string is refused",
			data:    bytes.Replace(valid, []byte("want 1299"), []byte("want \xff1299"), 1),
			wantErr: "not valid UTF-8",
		},
		{
			name:    "a failure with a truncated UTF-8 sequence is refused",
			data:    bytes.Replace(valid, []byte("want 1299"), []byte("want \xe2\x82"), 1),
			wantErr: "not valid UTF-8",
		},
		{name: "an empty payload is refused", data: nil, wantErr: "decode failure"},
		{name: "a truncated payload is refused", data: valid[:len(valid)-1], wantErr: "decode failure"},
		{name: "a payload with trailing data is refused", data: append(append([]byte{}, valid...), "{}"...), wantErr: "decode failure"},
		{name: "a payload that is not an object is refused", data: []byte(`["shop"]`), wantErr: "decode failure"},
		{
			name:    "a payload whose time is a number is refused",
			data:    bytes.Replace(valid, []byte(`"time":"2025-11-28T20:53:00Z"`), []byte(`"time":1764363180`), 1),
			wantErr: "decode failure",
		},
		{
			name:    "a payload whose time is not RFC 3339 is refused",
			data:    bytes.Replace(valid, []byte(`"time":"2025-11-28T20:53:00Z"`), []byte(`"time":"2025-11-28 20:53"`), 1),
			wantErr: "decode failure",
		},
		{
			name:    "a payload whose frames are not a list is refused",
			data:    bytes.Replace(valid, []byte(`"error":{`), []byte(`"error":{"frames":{},`), 1),
			wantErr: "decode failure",
		},
		{name: "a null payload is refused by validation", data: []byte("null"), wantErr: `schema "" is not`},
		{
			name:    "a payload without an id is refused by validation",
			data:    bytes.Replace(valid, []byte(`"id":"f-1",`), nil, 1),
			wantErr: "id is required",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := contract.DecodeFailure(tt.data)
			checkInvalid(t, "DecodeFailure", err, tt.wantErr)
		})
	}
}

// pad appends JSON whitespace to data until it is n bytes long.
func pad(data []byte, n int) []byte {
	return append(append(make([]byte, 0, n), data...), bytes.Repeat([]byte(" "), n-len(data))...)
}

func TestSignatureChangedValidation(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(e *contract.SignatureChanged)
		wantErr string
	}{
		{name: "a fully populated signature event is valid", edit: func(*contract.SignatureChanged) {}},
		{name: "a signature event without an occurrence is valid", edit: func(e *contract.SignatureChanged) { e.Occurrence = nil }},
		{
			name: "a status change is valid",
			edit: func(e *contract.SignatureChanged) { e.Change = contract.ChangeStatus; e.Occurrence = nil },
		},
		{
			name:    "a signature event of an unknown schema version is rejected",
			edit:    func(e *contract.SignatureChanged) { e.Schema = "rounds.signature.v2" },
			wantErr: `schema "rounds.signature.v2" is not "rounds.signature.v1"`,
		},
		{
			name:    "a signature event without an id is rejected",
			edit:    func(e *contract.SignatureChanged) { e.ID = "" },
			wantErr: "id is required",
		},
		{
			name:    "a signature event without a change is rejected",
			edit:    func(e *contract.SignatureChanged) { e.Change = "" },
			wantErr: `change "" is unknown`,
		},
		{
			name:    "a signature event with an unknown change is rejected",
			edit:    func(e *contract.SignatureChanged) { e.Change = "deleted" },
			wantErr: `change "deleted" is unknown`,
		},
		{
			name:    "a signature event whose signature has no id is rejected",
			edit:    func(e *contract.SignatureChanged) { e.Signature.ID = "" },
			wantErr: "signature.id is required",
		},
		{
			name:    "a signature event whose project is not a token is rejected",
			edit:    func(e *contract.SignatureChanged) { e.Signature.Project = "shop.eu" },
			wantErr: `signature.project "shop.eu" is not a subject token`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := sampleSignatureChanged()
			tt.edit(&e)
			checkInvalid(t, "Validate", e.Validate(), tt.wantErr)
			data, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			_, err = contract.DecodeSignatureChanged(data)
			checkInvalid(t, "DecodeSignatureChanged", err, tt.wantErr)
		})
	}
}

func TestDiagnosisCompletedValidation(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(e *contract.DiagnosisCompleted)
		wantErr string
	}{
		{name: "a fully populated diagnosis event is valid", edit: func(*contract.DiagnosisCompleted) {}},
		{name: "a diagnosis without evidence is valid", edit: func(e *contract.DiagnosisCompleted) { e.Diagnosis.Evidence = nil }},
		{
			name:    "a diagnosis event of an unknown schema version is rejected",
			edit:    func(e *contract.DiagnosisCompleted) { e.Schema = contract.SchemaReport },
			wantErr: `schema "rounds.report.v1" is not "rounds.diagnosis.v1"`,
		},
		{
			name:    "a diagnosis event without an id is rejected",
			edit:    func(e *contract.DiagnosisCompleted) { e.ID = "" },
			wantErr: "id is required",
		},
		{
			name:    "a diagnosis event without a time is rejected",
			edit:    func(e *contract.DiagnosisCompleted) { e.Time = time.Time{} },
			wantErr: "time is required",
		},
		{
			name:    "a diagnosis event whose signature has no id is rejected",
			edit:    func(e *contract.DiagnosisCompleted) { e.Signature.ID = "" },
			wantErr: "signature.id is required",
		},
		{
			name:    "a diagnosis event whose project is not a token is rejected",
			edit:    func(e *contract.DiagnosisCompleted) { e.Signature.Project = ">" },
			wantErr: `signature.project ">" is not a subject token`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := sampleDiagnosisCompleted()
			tt.edit(&e)
			checkInvalid(t, "Validate", e.Validate(), tt.wantErr)
			data, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			_, err = contract.DecodeDiagnosisCompleted(data)
			checkInvalid(t, "DecodeDiagnosisCompleted", err, tt.wantErr)
		})
	}
}

func TestReportPublishedValidation(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(e *contract.ReportPublished)
		wantErr string
	}{
		{name: "a fully populated report event is valid", edit: func(*contract.ReportPublished) {}},
		{name: "a report that went nowhere is valid", edit: func(e *contract.ReportPublished) { e.Reported = contract.Reported{} }},
		{
			name:    "a report event of an unknown schema version is rejected",
			edit:    func(e *contract.ReportPublished) { e.Schema = "rounds.report.v0" },
			wantErr: `schema "rounds.report.v0" is not "rounds.report.v1"`,
		},
		{
			name:    "a report event without an id is rejected",
			edit:    func(e *contract.ReportPublished) { e.ID = "" },
			wantErr: "id is required",
		},
		{
			name:    "a report event whose signature has no id is rejected",
			edit:    func(e *contract.ReportPublished) { e.Signature.ID = "" },
			wantErr: "signature.id is required",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := sampleReportPublished()
			tt.edit(&e)
			checkInvalid(t, "Validate", e.Validate(), tt.wantErr)
			data, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			_, err = contract.DecodeReportPublished(data)
			checkInvalid(t, "DecodeReportPublished", err, tt.wantErr)
		})
	}
}

// TestDecodeEventsRefuseBadPayloads checks the raw-byte rules of the three
// derived events, whose limit is four times a failure's.
func TestDecodeEventsRefuseBadPayloads(t *testing.T) {
	const limit = 4 * contract.MaxFailureBytes
	decoders := []struct {
		name   string
		what   string
		sample any
		decode func([]byte) error
	}{
		{"signature", "signature event", sampleSignatureChanged(), func(b []byte) error { _, err := contract.DecodeSignatureChanged(b); return err }},
		{"diagnosis", "diagnosis event", sampleDiagnosisCompleted(), func(b []byte) error { _, err := contract.DecodeDiagnosisCompleted(b); return err }},
		{"report", "report event", sampleReportPublished(), func(b []byte) error { _, err := contract.DecodeReportPublished(b); return err }},
	}
	for _, d := range decoders {
		valid, err := json.Marshal(d.sample)
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name    string
			data    []byte
			wantErr string
		}{
			{name: "a valid event decodes", data: valid},
			{name: "an event padded to exactly 4 MiB decodes", data: pad(valid, limit)},
			{name: "an event one byte over 4 MiB is refused", data: pad(valid, limit+1), wantErr: d.what + " is 4194305 bytes, more than 4194304"},
			{name: "an event with invalid UTF-8 is refused", data: bytes.Replace(valid, []byte("shop"), []byte("sh\xffop"), 1), wantErr: "not valid UTF-8"},
			{name: "an event that is not JSON is refused", data: []byte("schema=" + d.name), wantErr: "decode " + d.what},
			{name: "a truncated event is refused", data: valid[:len(valid)/2], wantErr: "decode " + d.what},
			{name: "a failure is refused", data: mustMarshal(t, minimalTestFailure()), wantErr: `schema "rounds.failure.v1" is not`},
		}
		for _, tt := range tests {
			t.Run(d.name+"/"+tt.name, func(t *testing.T) {
				checkInvalid(t, "decode", d.decode(tt.data), tt.wantErr)
			})
		}
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestValidToken(t *testing.T) {
	tests := []struct {
		token string
		want  bool
	}{
		{"shop", true},
		{"Shop_EU-2", true},
		{"0", true},
		{strings.Repeat("x", 64), true},
		{"", false},
		{strings.Repeat("x", 65), false},
		{"a.b", false},
		{"*", false},
		{">", false},
		{"a*", false},
		{"a>", false},
		{"my shop", false},
		{" shop", false},
		{"shop\t", false},
		{"shop\n", false},
		{"café", false},
		{"a/b", false},
	}
	for _, tt := range tests {
		if got := contract.ValidToken(tt.token); got != tt.want {
			t.Errorf("ValidToken(%q) = %v, want %v", tt.token, got, tt.want)
		}
	}
}

func TestSubjects(t *testing.T) {
	subjects := []struct {
		name string
		fn   func(token string) (string, error)
		want string // prefix the token is appended to
	}{
		{"FailureSubject", contract.FailureSubject, "rounds.failures."},
		{"SignatureSubject", func(p string) (string, error) {
			s, err := contract.SignatureSubject(p, contract.ChangeDetected)
			return strings.TrimSuffix(s, ".detected"), err
		}, "rounds.signatures."},
		{"DiagnosisSubject", contract.DiagnosisSubject, "rounds.diagnoses."},
		{"ReportSubject", contract.ReportSubject, "rounds.reports."},
		{"ReportFilter", contract.ReportFilter, "rounds.reports."},
		{"DeadletterSubject", contract.DeadletterSubject, "rounds.deadletter."},
	}
	valid := []string{"shop", "Shop_EU-2", strings.Repeat("x", 64)}
	invalid := []struct{ label, token string }{
		{"a dot", "a.b"},
		{"the * wildcard", "*"},
		{"the > wildcard", ">"},
		{"an empty token", ""},
		{"a space inside", "my shop"},
		{"a lone space", " "},
		{"65 characters", strings.Repeat("x", 65)},
	}
	for _, s := range subjects {
		for _, token := range valid {
			t.Run(s.name+" accepts "+token[:min(len(token), 10)], func(t *testing.T) {
				got, err := s.fn(token)
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if want := s.want + token; got != want {
					t.Errorf("got %q, want %q", got, want)
				}
			})
		}
		for _, bad := range invalid {
			if bad.token == "" && s.name == "ReportFilter" {
				continue // "" means every project
			}
			t.Run(s.name+" rejects "+bad.label, func(t *testing.T) {
				got, err := s.fn(bad.token)
				if !errors.Is(err, contract.ErrInvalidToken) {
					t.Errorf("error %v does not wrap ErrInvalidToken", err)
				}
				if got != "" {
					t.Errorf("returned subject %q with the error", got)
				}
			})
		}
	}
}

func TestSignatureSubjectEndsWithTheChange(t *testing.T) {
	for _, ch := range []contract.SignatureChange{
		contract.ChangeDetected, contract.ChangeRecurred, contract.ChangeRegressed, contract.ChangeFlaky, contract.ChangeStatus,
	} {
		got, err := contract.SignatureSubject("shop", ch)
		if err != nil {
			t.Errorf("SignatureSubject(shop, %s): %v", ch, err)
			continue
		}
		if want := "rounds.signatures.shop." + string(ch); got != want {
			t.Errorf("SignatureSubject(shop, %s) = %q, want %q", ch, got, want)
		}
	}
	for _, ch := range []contract.SignatureChange{"", "deleted", "a.b", "*", ">"} {
		if got, err := contract.SignatureSubject("shop", ch); !errors.Is(err, contract.ErrInvalidToken) || got != "" {
			t.Errorf("SignatureSubject(shop, %q) = %q, %v; want an ErrInvalidToken", ch, got, err)
		}
	}
}

func TestReportFilterWithoutProjectCoversEveryProject(t *testing.T) {
	got, err := contract.ReportFilter("")
	if err != nil || got != contract.ReportsAll {
		t.Errorf(`ReportFilter("") = %q, %v; want %q`, got, err, contract.ReportsAll)
	}
}

func TestSubjectsFallUnderTheirStreamFilters(t *testing.T) {
	tests := []struct {
		subject func() (string, error)
		filter  string
	}{
		{func() (string, error) { return contract.FailureSubject("shop") }, contract.FailuresAll},
		{func() (string, error) { return contract.SignatureSubject("shop", contract.ChangeFlaky) }, contract.SignaturesAll},
		{func() (string, error) { return contract.DiagnosisSubject("shop") }, contract.DiagnosesAll},
		{func() (string, error) { return contract.ReportSubject("shop") }, contract.ReportsAll},
		{func() (string, error) { return contract.DeadletterSubject("ingest") }, contract.DeadletterAll},
	}
	for _, tt := range tests {
		subject, err := tt.subject()
		if err != nil {
			t.Fatal(err)
		}
		if prefix := strings.TrimSuffix(tt.filter, ">"); !strings.HasPrefix(subject, prefix) || len(subject) == len(prefix) {
			t.Errorf("%s is not matched by %s", subject, tt.filter)
		}
	}
}
