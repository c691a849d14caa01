package sink

import (
	"fmt"
	"testing"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
)

func TestPageAddKeepsOneEntryPerEventAndCapsTheHistory(t *testing.T) {
	var p Page
	if !p.Add(Entry{EventID: "e0", What: "detected"}) || p.Add(Entry{EventID: "e0", What: "detected"}) {
		t.Fatal("the first Add of an event must add, the second must not")
	}
	for i := 1; i <= MaxHistory+10; i++ {
		p.Add(Entry{EventID: fmt.Sprint("e", i), What: "recurred"})
	}
	if len(p.History) != MaxHistory || p.History[0].EventID != "e0" || p.History[MaxHistory-1].EventID != fmt.Sprint("e", MaxHistory+10) || p.History[1].EventID != "e12" {
		t.Errorf("history of %d from %s, %s to %s; want %d keeping the first and the latest", len(p.History), p.History[0].EventID, p.History[1].EventID, p.History[len(p.History)-1].EventID, MaxHistory)
	}
}

func TestBackoffDoublesUpToFiveMinutes(t *testing.T) {
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}
	for i, w := range want {
		if got := Backoff(i + 1); got != w {
			t.Errorf("Backoff(%d) = %s, want %s", i+1, got, w)
		}
	}
	if got := Backoff(50); got != 5*time.Minute {
		t.Errorf("Backoff(50) = %s, want 5m", got)
	}
}

func TestTellsAPerson(t *testing.T) {
	change := func(c contract.SignatureChange) *contract.SignatureChanged {
		return &contract.SignatureChanged{Change: c}
	}
	tests := []struct {
		name string
		d    Delivery
		want bool
	}{
		{"a report", Delivery{Kind: KindReport}, true},
		{"a regression", Delivery{Kind: KindChange, Change: change(contract.ChangeRegressed)}, true},
		{"became flaky", Delivery{Kind: KindChange, Change: change(contract.ChangeFlaky)}, true},
		{"a status change", Delivery{Kind: KindChange, Change: change(contract.ChangeStatus)}, true},
		{"a new signature", Delivery{Kind: KindChange, Change: change(contract.ChangeDetected)}, false},
		{"a recurrence", Delivery{Kind: KindChange, Change: change(contract.ChangeRecurred)}, false},
		{"a change without its event", Delivery{Kind: KindChange}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.d.TellsAPerson(); got != tt.want {
				t.Fatalf("TellsAPerson = %v, want %v", got, tt.want)
			}
		})
	}
}
