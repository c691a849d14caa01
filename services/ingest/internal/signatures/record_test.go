package signatures

import (
	"reflect"
	"testing"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
)

// A clone is equal to its record, and changing the record afterwards in
// every place that holds a pointer or a slice leaves the clone as it was.
func TestCloneSharesNothing(t *testing.T) {
	at := time.Unix(1_700_000_000, 0).UTC()
	r := &Record{
		Signature: contract.Signature{
			ID: "s1", Project: "shop",
			Test:       &contract.TestIdentity{Suite: "cart", Name: "TestAdd"},
			Service:    &contract.ServiceIdentity{Name: "api"},
			Components: []contract.Component{{Name: "type", Value: "E"}},
			Tags:       []string{"a"},
		},
		Mute:        &Mute{By: "alice", At: at},
		Resolution:  &Resolution{Commit: "abc", At: at},
		FailureRate: &FailureRate{Failed: 1, Commits: 4},
		Audit:       []AuditEntry{{Seq: 1, Actor: "alice"}},
	}
	c := r.Clone()
	if !reflect.DeepEqual(c, *r) {
		t.Fatalf("clone differs from its record:\n%+v\n%+v", c, *r)
	}
	want := r.Clone()
	r.Test.Name = "changed"
	r.Service.Name = "changed"
	r.Components[0].Value = "changed"
	r.Mute.By = "changed"
	r.Resolution.Commit = "changed"
	r.FailureRate.Failed = 9
	r.Audit[0].Actor = "changed"
	r.Tags[0] = "changed"
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("changing the record changed its clone:\n%+v\nwant\n%+v", c, want)
	}
	var empty Record
	if got := empty.Clone(); !reflect.DeepEqual(got, empty) {
		t.Fatalf("clone of an empty record = %+v", got)
	}
}
