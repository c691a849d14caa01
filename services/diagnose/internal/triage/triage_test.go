package triage

import (
	"slices"
	"testing"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func ev(change contract.SignatureChange, status contract.SignatureStatus, n int64) *contract.SignatureChanged {
	return &contract.SignatureChanged{ID: "e", Change: change, Signature: contract.Signature{ID: "s", Project: "shop", Status: status, Occurrences: n}}
}

func TestDecide(t *testing.T) {
	flaky := func(e *contract.SignatureChanged) *contract.SignatureChanged { e.Signature.Flaky = true; return e }
	storm := func(e *contract.SignatureChanged) *contract.SignatureChanged { e.Storm = true; return e }
	never := time.Time{}
	tests := []struct {
		name   string
		rules  Rules
		ev     *contract.SignatureChanged
		last   time.Time // the last diagnosis
		want   bool
		cancel bool
	}{
		{"a newly detected signature is diagnosed", DefaultRules(), ev(contract.ChangeDetected, contract.StatusNew, 1), never, true, false},
		{"a detected signature below the threshold waits", Rules{MinOccurrences: 3}, ev(contract.ChangeDetected, contract.StatusNew, 1), never, false, false},
		{"a recurrence reaching the threshold is diagnosed", Rules{MinOccurrences: 3}, ev(contract.ChangeRecurred, contract.StatusNew, 4), never, true, false},
		{"a recurrence within the cooldown is not diagnosed again", DefaultRules(), ev(contract.ChangeRecurred, contract.StatusDiagnosed, 8), now.Add(-time.Minute), false, false},
		{"a recurrence past the cooldown is diagnosed again", DefaultRules(), ev(contract.ChangeRecurred, contract.StatusDiagnosed, 8), now.Add(-2 * time.Hour), true, false},
		{"with no cooldown a recurrence is diagnosed again at once", Rules{MinOccurrences: 1}, ev(contract.ChangeRecurred, contract.StatusDiagnosed, 8), now, true, false},
		{"a regression is diagnosed within the cooldown", DefaultRules(), ev(contract.ChangeRegressed, contract.StatusRegressed, 9), now.Add(-time.Minute), true, false},
		{"a regression is diagnosed below the threshold", Rules{MinOccurrences: 50, Cooldown: time.Hour}, ev(contract.ChangeRegressed, contract.StatusRegressed, 9), never, true, false},
		{"a muted signature is never diagnosed, and what waits is dropped", DefaultRules(), ev(contract.ChangeDetected, contract.StatusMuted, 1), never, false, true},
		{"a resolved signature is never diagnosed, and what waits is dropped", DefaultRules(), ev(contract.ChangeRecurred, contract.StatusResolved, 2), never, false, true},
		{"a muted signature that regressed is not diagnosed", DefaultRules(), ev(contract.ChangeRegressed, contract.StatusMuted, 2), never, false, true},
		{"a status change alone is not diagnosed", DefaultRules(), ev(contract.ChangeStatus, contract.StatusNew, 2), never, false, false},
		{"a flaky signature is not diagnosed", DefaultRules(), flaky(ev(contract.ChangeRecurred, contract.StatusNew, 2)), never, false, false},
		{"a signature turning flaky is not diagnosed", DefaultRules(), ev(contract.ChangeFlaky, contract.StatusDiagnosed, 4), now.Add(-2 * time.Hour), false, false},
		{"a flaky signature is diagnosed when asked", Rules{MinOccurrences: 1, Flaky: true}, flaky(ev(contract.ChangeDetected, contract.StatusNew, 1)), never, true, false},
		{"a signature turning flaky is diagnosed again when asked", Rules{MinOccurrences: 1, Cooldown: time.Hour, Flaky: true}, ev(contract.ChangeFlaky, contract.StatusDiagnosed, 4), now.Add(-2 * time.Hour), true, false},
		{"a flaky signature that regressed is diagnosed", DefaultRules(), flaky(ev(contract.ChangeRegressed, contract.StatusRegressed, 4)), never, true, false},
		{"a change from an infrastructure storm is not diagnosed", DefaultRules(), storm(ev(contract.ChangeDetected, contract.StatusNew, 1)), never, false, false},
		{"a regression from an infrastructure storm is not diagnosed", DefaultRules(), storm(ev(contract.ChangeRegressed, contract.StatusRegressed, 3)), never, false, false},
		{"a retriage is diagnosed within the cooldown", DefaultRules(), ev(contract.ChangeRetriage, contract.StatusDiagnosed, 4), now.Add(-time.Minute), true, false},
		{"a retriage is diagnosed below the threshold", Rules{MinOccurrences: 50, Cooldown: time.Hour}, ev(contract.ChangeRetriage, contract.StatusNew, 1), never, true, false},
		{"a retriage of a flaky signature is diagnosed", DefaultRules(), flaky(ev(contract.ChangeRetriage, contract.StatusDiagnosed, 4)), never, true, false},
		{"a retriage of a muted signature is diagnosed: someone asked", DefaultRules(), ev(contract.ChangeRetriage, contract.StatusMuted, 4), never, true, false},
		{"a tag change alone is not diagnosed", DefaultRules(), ev(contract.ChangeTagged, contract.StatusDiagnosed, 4), never, false, false},
		{"a tag change of a muted signature drops what waits", DefaultRules(), ev(contract.ChangeTagged, contract.StatusMuted, 4), never, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.rules.Decide(tt.ev, tt.last, now)
			if got.Diagnose != tt.want || got.Cancel != tt.cancel || got.Reason == "" {
				t.Errorf("Decide = %+v, want diagnose=%v cancel=%v with a reason", got, tt.want, tt.cancel)
			}
		})
	}
}

func TestRecheck(t *testing.T) {
	rules := DefaultRules()
	waiting := NewPending(ev(contract.ChangeDetected, contract.StatusNew, 1), Priority{}, "detected", now)
	regressed := NewPending(ev(contract.ChangeRegressed, contract.StatusRegressed, 3), Priority{}, "regressed", now)
	retriaged := NewPending(ev(contract.ChangeRetriage, contract.StatusDiagnosed, 3), Priority{}, "retriage", now)
	retriagedThenRecurred := Merge(&retriaged, NewPending(ev(contract.ChangeRecurred, contract.StatusDiagnosed, 4), Priority{}, "recurred", now))
	landed := retriagedThenRecurred
	landed.Landed(landed.Version)
	tests := []struct {
		name string
		p    Pending
		last time.Time
		want bool
	}{
		{"a signature never diagnosed is diagnosed", waiting, time.Time{}, true},
		{"a signature diagnosed while it waited is not diagnosed again", waiting, now.Add(-time.Second), false},
		{"a signature diagnosed long before is diagnosed", waiting, now.Add(-2 * time.Hour), true},
		{"a regression is diagnosed though the signature was just diagnosed", regressed, now.Add(-time.Second), true},
		{"a retriage is diagnosed though the signature was just diagnosed", retriaged, now.Add(-time.Second), true},
		{"a retriage merged with a later recurrence still skips the cooldown", retriagedThenRecurred, now.Add(-time.Second), true},
		{"a retriage once diagnosed no longer skips the cooldown", landed, now.Add(-time.Second), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rules.Recheck(&tt.p, tt.last, now); got.Diagnose != tt.want || got.Reason == "" {
				t.Errorf("Recheck = %+v, want diagnose=%v with a reason", got, tt.want)
			}
		})
	}
}

func TestPriorityOrder(t *testing.T) {
	at := func(h int) time.Time { return now.Add(time.Duration(h) * time.Hour) }
	// From the most urgent to the least.
	ordered := []struct {
		name string
		p    Priority
	}{
		{"critical, even old and rare", Priority{Critical: true, Occurrences: 1, LastSeen: at(-100)}},
		{"regressed", Priority{Regressed: true, Occurrences: 2, LastSeen: at(-50)}},
		{"new and frequent", Priority{New: true, Occurrences: 300, LastSeen: at(-10)}},
		{"new, less frequent but recent", Priority{New: true, Occurrences: 9, LastSeen: at(0)}},
		{"new, as frequent in powers of two, less recent", Priority{New: true, Occurrences: 15, LastSeen: at(-1)}},
		{"new and rare", Priority{New: true, Occurrences: 1, LastSeen: at(0)}},
		{"diagnosed before and very frequent", Priority{Occurrences: 5000, LastSeen: at(-3)}},
		{"diagnosed before, as frequent, recent", Priority{Occurrences: 6, LastSeen: at(0)}},
		{"diagnosed before, as frequent and recent, fewer", Priority{Occurrences: 5, LastSeen: at(0)}},
	}
	for i := range ordered {
		for j := range ordered {
			got := ordered[i].p.Compare(ordered[j].p)
			switch {
			case i < j && got <= 0:
				t.Errorf("%q should come before %q (Compare = %d)", ordered[i].name, ordered[j].name, got)
			case i > j && got >= 0:
				t.Errorf("%q should come after %q (Compare = %d)", ordered[i].name, ordered[j].name, got)
			case i == j && got != 0:
				t.Errorf("%q compares %d to itself", ordered[i].name, got)
			}
		}
	}
}

func TestPendingBeforeBreaksTiesByWaitingTime(t *testing.T) {
	p := func(id string, prio Priority, enqueued time.Time) *Pending {
		return &Pending{Project: "shop", SignatureID: id, Priority: prio, Enqueued: enqueued}
	}
	queue := []*Pending{
		p("late", Priority{Occurrences: 2}, now.Add(time.Minute)),
		p("early", Priority{Occurrences: 2}, now),
		p("urgent", Priority{Regressed: true}, now.Add(time.Hour)),
		p("also-early", Priority{Occurrences: 2}, now),
	}
	slices.SortFunc(queue, func(a, b *Pending) int {
		if a.Before(b) {
			return -1
		}
		if b.Before(a) {
			return 1
		}
		return 0
	})
	var got []string
	for _, q := range queue {
		got = append(got, q.SignatureID)
	}
	if want := []string{"urgent", "also-early", "early", "late"}; !slices.Equal(got, want) {
		t.Errorf("queue order %v, want %v", got, want)
	}
}

func TestCritical(t *testing.T) {
	tests := []struct {
		name  string
		attrs map[string]string
		want  bool
	}{
		{"no attributes", nil, false},
		{"critical: true", map[string]string{"critical": "true"}, true},
		{"critical: 1", map[string]string{"critical": "1"}, true},
		{"critical: false", map[string]string{"critical": "false"}, false},
		{"critical: yes is not a boolean", map[string]string{"critical": "yes"}, false},
		{"a critical tag among others", map[string]string{"tags": "payments, Critical ,smoke"}, true},
		{"a tag that only contains the word", map[string]string{"tags": "noncritical,critical-path"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Critical(&contract.Failure{Attributes: tt.attrs}); got != tt.want {
				t.Errorf("Critical(%v) = %v, want %v", tt.attrs, got, tt.want)
			}
		})
	}
	if Critical(nil) {
		t.Error("Critical(nil) = true")
	}
}

func TestPriorityOfASignatureTaggedCritical(t *testing.T) {
	tests := []struct {
		name     string
		tags     []string
		critical bool
		want     bool
	}{
		{"no tags, no critical occurrence", nil, false, false},
		{"a critical occurrence", nil, true, true},
		{"tagged critical by a user", []string{"payments", "critical"}, false, true},
		{"tagged in another case", []string{"CRITICAL"}, false, true},
		{"a tag that only contains the word", []string{"critical-path", "noncritical"}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := &contract.SignatureChanged{Change: contract.ChangeDetected, Signature: contract.Signature{Tags: tt.tags}}
			if got := PriorityOf(ev, false, tt.critical).Critical; got != tt.want {
				t.Errorf("critical = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	first := NewPending(ev(contract.ChangeDetected, contract.StatusNew, 1), Priority{New: true, Occurrences: 1}, "detected", now)
	if first.Event.Occurrence != nil || first.Version != 1 || first.Regression != 0 {
		t.Fatalf("NewPending = %+v", first)
	}
	if got := Merge(nil, first); got.Version != 1 || !got.Enqueued.Equal(now) {
		t.Errorf("Merge(nil, p) = %+v, want p", got)
	}

	old := first
	old.InFlight = true
	later := NewPending(ev(contract.ChangeRegressed, contract.StatusRegressed, 4), Priority{Regressed: true, Occurrences: 4}, "regressed", now.Add(time.Hour))
	later.Event.ID = "e4"
	got := Merge(&old, later)
	if got.Version != 2 || !got.InFlight || !got.Enqueued.Equal(now) || got.Event.ID != "e4" || got.Regression != 2 || !got.Priority.Regressed {
		t.Errorf("Merge(in flight, regression) = %+v; want version 2, still in flight, first enqueued, the later event, regression at 2", got)
	}

	older := NewPending(ev(contract.ChangeRecurred, contract.StatusNew, 2), Priority{Occurrences: 2, Critical: true}, "recurred", now.Add(2*time.Hour))
	older.Event.ID = "e2"
	got = Merge(&got, older)
	if got.Event.ID != "e4" || got.Priority.Occurrences != 4 || got.Version != 3 || got.Regression != 2 || !got.Priority.Critical {
		t.Errorf("Merge(an overtaken event) = %+v; want the later event kept, version 3, regression still at 2, critical", got)
	}

	got.Landed(2)
	if got.InFlight || got.Regression != 0 || got.Priority.Regressed || got.Priority.New {
		t.Errorf("Landed(2) = %+v; want the regression diagnosed and the signature no longer new", got)
	}
	got.Regression = 3
	got.Landed(2)
	if got.Regression != 3 {
		t.Errorf("Landed(2) dropped a regression merged at 3")
	}
}

func TestValidate(t *testing.T) {
	if err := (Rules{}).Validate(); err == nil {
		t.Error("zero min occurrences accepted")
	}
	if err := (Rules{MinOccurrences: 1, Cooldown: -time.Second}).Validate(); err == nil {
		t.Error("a negative cooldown accepted")
	}
	if err := DefaultRules().Validate(); err != nil {
		t.Errorf("the default rules: %v", err)
	}
}
