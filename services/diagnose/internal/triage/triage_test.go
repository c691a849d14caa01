package triage

import (
	"testing"

	"github.com/rounds-dev/rounds/pkg/contract"
)

func TestDecide(t *testing.T) {
	ev := func(change contract.SignatureChange, status contract.SignatureStatus, n int64) *contract.SignatureChanged {
		return &contract.SignatureChanged{Change: change, Signature: contract.Signature{Status: status, Occurrences: n}}
	}
	tests := []struct {
		name      string
		rules     Rules
		ev        *contract.SignatureChanged
		diagnosed bool
		want      bool
	}{
		{"a newly detected signature is diagnosed", DefaultRules(), ev(contract.ChangeDetected, contract.StatusNew, 1), false, true},
		{"a detected signature below the threshold waits", Rules{MinOccurrences: 3}, ev(contract.ChangeDetected, contract.StatusNew, 1), false, false},
		{"a recurrence reaching the threshold is diagnosed", Rules{MinOccurrences: 3}, ev(contract.ChangeRecurred, contract.StatusNew, 4), false, true},
		{"a recurrence of a diagnosed signature is not diagnosed again", DefaultRules(), ev(contract.ChangeRecurred, contract.StatusNew, 8), true, false},
		{"a regression is diagnosed even when diagnosed before", DefaultRules(), ev(contract.ChangeRegressed, contract.StatusRegressed, 9), true, true},
		{"a muted signature is never diagnosed", DefaultRules(), ev(contract.ChangeDetected, contract.StatusMuted, 1), false, false},
		{"a resolved signature is never diagnosed", DefaultRules(), ev(contract.ChangeRecurred, contract.StatusResolved, 2), false, false},
		{"a status change alone is not diagnosed", DefaultRules(), ev(contract.ChangeStatus, contract.StatusNew, 2), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.rules.Decide(tt.ev, tt.diagnosed)
			if got.Diagnose != tt.want || got.Reason == "" {
				t.Errorf("Decide = %+v, want diagnose=%v with a reason", got, tt.want)
			}
		})
	}
}

func TestValidateRefusesAZeroThreshold(t *testing.T) {
	if err := (Rules{}).Validate(); err == nil {
		t.Fatal("zero min occurrences accepted")
	}
}
