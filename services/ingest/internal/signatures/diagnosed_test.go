package signatures_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/ingest/internal/signatures"
)

// diagnosed applies a diagnosis of the signature of test as diagnose saw
// it (status seen).
func (h *harness) diagnosed(test string, seen contract.SignatureStatus) error {
	return h.do(test, func(t *signatures.Tracker, u *signatures.Unit, id string) (*signatures.Record, error) {
		d := contract.DiagnosisCompleted{
			Schema: contract.SchemaDiagnosis, ID: "d-" + id, Time: h.now,
			Signature: contract.Signature{ID: id, Project: "shop", Status: seen},
			Diagnosis: contract.Diagnosis{Category: "assertion", Diagnoser: "heuristic", Confidence: 0.5},
		}
		return t.Diagnosed(u, &d)
	})
}

func TestDiagnosisMarksOpenSignaturesDiagnosedAndLeavesMutedAndResolvedAlone(t *testing.T) {
	tests := []struct {
		name       string
		steps      func(h *harness)
		wantEvents []string
		wantStatus contract.SignatureStatus
	}{
		{
			name: "a new signature becomes diagnosed, announced",
			steps: func(h *harness) {
				h.fail(test, "c1", "r1")
				h.must(h.diagnosed(test, contract.StatusNew))
			},
			wantEvents: []string{"detected", "status:diagnosed"},
			wantStatus: contract.StatusDiagnosed,
		},
		{
			name: "the same diagnosis applied again (a redelivery) changes nothing",
			steps: func(h *harness) {
				h.fail(test, "c1", "r1")
				h.must(h.diagnosed(test, contract.StatusNew))
				h.must(h.diagnosed(test, contract.StatusNew))
			},
			wantEvents: []string{"detected", "status:diagnosed"},
			wantStatus: contract.StatusDiagnosed,
		},
		{
			name: "a diagnosed signature stays diagnosed as it recurs",
			steps: func(h *harness) {
				h.fail(test, "c1", "r1")
				h.must(h.diagnosed(test, contract.StatusNew))
				h.fail(test, "c1", "r2")
			},
			wantEvents: []string{"detected", "status:diagnosed", "recurred"},
			wantStatus: contract.StatusDiagnosed,
		},
		{
			name: "a muted signature stays muted, and is diagnosed once unmuted",
			steps: func(h *harness) {
				h.fail(test, "c1", "r1")
				h.must(h.mute(test, time.Time{}, 0))
				h.must(h.diagnosed(test, contract.StatusNew))
				h.must(h.unmute(test))
			},
			wantEvents: []string{"detected", "status:muted", "status:unmuted"},
			wantStatus: contract.StatusDiagnosed,
		},
		{
			name: "a resolved signature stays resolved, and is diagnosed once reopened",
			steps: func(h *harness) {
				h.fail(test, "c1", "r1")
				h.must(h.resolve(test, "c2"))
				h.must(h.diagnosed(test, contract.StatusNew))
				h.must(h.reopen(test))
			},
			wantEvents: []string{"detected", "status:resolved", "status:reopened"},
			wantStatus: contract.StatusDiagnosed,
		},
		{
			name: "a regressed signature becomes diagnosed by a diagnosis of the regression",
			steps: func(h *harness) {
				h.fail(test, "c1", "r1")
				h.must(h.resolve(test, "c2"))
				h.at(time.Hour)
				h.fail(test, "c3", "r3")
				h.must(h.diagnosed(test, contract.StatusRegressed))
			},
			wantEvents: []string{"detected", "status:resolved", "regressed", "status:diagnosed"},
			wantStatus: contract.StatusDiagnosed,
		},
		{
			name: "a diagnosis from before the regression leaves it regressed",
			steps: func(h *harness) {
				h.fail(test, "c1", "r1")
				h.must(h.resolve(test, "c2"))
				h.at(time.Hour)
				h.fail(test, "c3", "r3")
				h.must(h.diagnosed(test, contract.StatusNew))
			},
			wantEvents: []string{"detected", "status:resolved", "regressed"},
			wantStatus: contract.StatusRegressed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, quietPolicy())
			tt.steps(h)
			if !reflect.DeepEqual(h.events, tt.wantEvents) {
				t.Errorf("events %v, want %v", h.events, tt.wantEvents)
			}
			if got := h.get(test).Status; got != tt.wantStatus {
				t.Errorf("status %s, want %s", got, tt.wantStatus)
			}
			// What is stored agrees with what is in memory.
			before := h.get(test)
			h.reload()
			if after := h.get(test); after.Status != before.Status || !reflect.DeepEqual(after.Mute, before.Mute) || !reflect.DeepEqual(after.Resolution, before.Resolution) {
				t.Errorf("after a restart %+v, before %+v", after, before)
			}
		})
	}
}

func TestDiagnosisIsAuditedAndAnnouncedWithWhoDiagnosed(t *testing.T) {
	h := newHarness(t, quietPolicy())
	h.fail(test, "c1", "r1")
	h.must(h.diagnosed(test, contract.StatusNew))
	ev := h.last[0]
	if ev.Change != contract.ChangeStatus || ev.Transition != contract.TransitionDiagnosed || ev.Signature.Status != contract.StatusDiagnosed {
		t.Errorf("event %s/%s with status %s", ev.Change, ev.Transition, ev.Signature.Status)
	}
	if want := "diagnosed by heuristic as assertion (confidence 0.50) in d-" + ev.Signature.ID; ev.Reason != want {
		t.Errorf("reason %q, want %q", ev.Reason, want)
	}
	audit := h.get(test).Audit
	if len(audit) != 1 || audit[0].Actor != signatures.DiagnoseActor || audit[0].Action != "diagnosed" || audit[0].From != contract.StatusNew || audit[0].To != contract.StatusDiagnosed {
		t.Errorf("audit %+v", audit)
	}
}

func TestDiagnosisOfAnUnknownSignatureIsNotFound(t *testing.T) {
	h := newHarness(t, quietPolicy())
	err := h.unit(func(u *signatures.Unit) error {
		_, err := h.tracker.Diagnosed(u, &contract.DiagnosisCompleted{Signature: contract.Signature{ID: "nope", Project: "shop"}})
		return err
	})
	h.wantErr(err, signatures.ErrSignatureNotFound)
}
