package contract_test

import (
	"strings"
	"testing"

	"github.com/rounds-dev/rounds/pkg/contract"
)

func TestManageSubjectsAreOutsideEveryStream(t *testing.T) {
	// A request on a stream's subject would be stored by JetStream, and
	// answered with a publish ack instead of ingest's reply.
	streams := []string{contract.FailuresAll, contract.SignaturesAll, contract.DiagnosesAll, contract.ReportsAll, contract.DeadletterAll, contract.RunsAll}
	seen := map[string]bool{}
	for _, op := range contract.ManageOps() {
		subject := contract.ManageSubject(op)
		if seen[subject] {
			t.Errorf("two operations on %s", subject)
		}
		seen[subject] = true
		if !strings.HasPrefix(subject, contract.ManageSubjectPrefix+".") || strings.ContainsAny(string(op), ".*> ") {
			t.Errorf("op %q: subject %s", op, subject)
		}
		for _, filter := range streams {
			if strings.HasPrefix(subject, strings.TrimSuffix(filter, ">")) {
				t.Errorf("%s falls in the stream of %s", subject, filter)
			}
		}
	}
}

func TestManageChangesHaveSubjects(t *testing.T) {
	for _, ch := range []contract.SignatureChange{contract.ChangeRetriage, contract.ChangeTagged} {
		s, err := contract.SignatureSubject("shop", ch)
		if err != nil || s != "rounds.signatures.shop."+string(ch) {
			t.Errorf("SignatureSubject(shop, %s) = %q, %v", ch, s, err)
		}
	}
}

func TestValidTag(t *testing.T) {
	tests := []struct {
		tag  string
		want bool
	}{
		{"critical", true},
		{"team:cart", true},
		{"owner/alice_b-2.0", true},
		{strings.Repeat("a", 64), true},
		{"", false},
		{strings.Repeat("a", 65), false},
		{"two words", false},
		{"a,b", false},
		{"émoji", false},
	}
	for _, tt := range tests {
		if got := contract.ValidTag(tt.tag); got != tt.want {
			t.Errorf("ValidTag(%q) = %v, want %v", tt.tag, got, tt.want)
		}
	}
}

func TestManageRequestValidation(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		wantErr string // "" when valid
	}{
		{"a reference with a project and an id is valid", contract.SignatureRef{Project: "shop", ID: "abc"}.Validate(), ""},
		{"a reference needs an id", contract.SignatureRef{Project: "shop"}.Validate(), "id is required"},
		{"a reference's project is a subject token", contract.SignatureRef{Project: "shop.eu", ID: "abc"}.Validate(), `project "shop.eu"`},
		{"a change says who makes it", contract.ChangedBy{Reason: "why"}.Validate(), "by is required"},
		{"a change may go without a reason", contract.ChangedBy{By: "alice"}.Validate(), ""},
		{"an empty list request is valid", contract.ListRequest{}.Validate(), ""},
		{"a list by a known status and sort is valid", contract.ListRequest{Status: contract.StatusMuted, Sort: contract.SortCount, Limit: 5}.Validate(), ""},
		{"a list by an unknown status is refused", contract.ListRequest{Status: "gone"}.Validate(), `status "gone" is unknown`},
		{"a list by an unknown sort is refused", contract.ListRequest{Sort: "title"}.Validate(), `sort "title" is unknown`},
		{"a negative limit is refused", contract.ListRequest{Limit: -1}.Validate(), "limit must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			switch {
			case tt.wantErr == "" && tt.err != nil:
				t.Errorf("error %v, want none", tt.err)
			case tt.wantErr != "" && (tt.err == nil || !strings.Contains(tt.err.Error(), tt.wantErr)):
				t.Errorf("error %v, want %q in it", tt.err, tt.wantErr)
			}
		})
	}
}
