package signatures_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/ingest/internal/signatures"
)

const test = "cart.TestAdd"

func TestRecordAnnouncesDetectionThenGrowthOnPowersOfTwo(t *testing.T) {
	h := newHarness(t, quietPolicy())
	for range 9 {
		h.fail(test, "c1", "")
	}
	want := []string{"detected", "recurred", "recurred", "recurred"}
	if !reflect.DeepEqual(h.events, want) {
		t.Errorf("events %v, want %v", h.events, want)
	}
	if got := h.get(test); got.Occurrences != 9 || got.Status != contract.StatusNew {
		t.Errorf("occurrences %d status %s, want 9 and new", got.Occurrences, got.Status)
	}
}

func TestRecordKeepsFirstAndLastSeenInOrderWhateverTheArrivalOrder(t *testing.T) {
	h := newHarness(t, quietPolicy())
	h.record(h.failure(test, "c2", "", t0.Add(time.Hour)))
	h.record(h.failure(test, "c1", "", t0))
	sig := h.get(test)
	if !sig.FirstSeen.Equal(t0) || !sig.LastSeen.Equal(t0.Add(time.Hour)) || sig.FirstCommit != "c1" || sig.LastCommit != "c2" {
		t.Errorf("first %v on %q, last %v on %q", sig.FirstSeen, sig.FirstCommit, sig.LastSeen, sig.LastCommit)
	}
}

func TestLifecycle(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name       string
		policy     func(*signatures.Policy)
		steps      func(h *harness)
		wantEvents []string
		wantStatus contract.SignatureStatus
	}{
		{
			name: "a resolved signature seen on a later commit regresses, and is announced",
			steps: func(h *harness) {
				h.fail(test, "c1", "r1")
				h.at(time.Hour)
				h.must(h.resolve(test, "c2"))
				h.at(2 * time.Hour)
				h.fail(test, "c3", "r3")
			},
			wantEvents: []string{"detected", "status:resolved", "regressed"},
			wantStatus: contract.StatusRegressed,
		},
		{
			name: "a resolved signature seen again on the commit it was resolved in stays resolved, counted",
			steps: func(h *harness) {
				h.fail(test, "c1", "r1")
				h.must(h.resolve(test, "c2"))
				h.at(time.Hour)
				h.fail(test, "c2", "r2")
				h.fail(test, "c2", "r3")
			},
			wantEvents: []string{"detected", "status:resolved"},
			wantStatus: contract.StatusResolved,
		},
		{
			name: "an occurrence from before the resolution does not regress it",
			steps: func(h *harness) {
				h.fail(test, "c1", "r1")
				h.at(time.Hour)
				h.must(h.resolve(test, "c2"))
				h.record(h.failure(test, "c3", "r3", t0.Add(30*time.Minute)))
			},
			wantEvents: []string{"detected", "status:resolved"},
			wantStatus: contract.StatusResolved,
		},
		{
			name: "a commit the test ran on before the resolution is older, and does not regress it",
			steps: func(h *harness) {
				h.fail(test, "c1", "r1")
				h.at(time.Hour)
				h.must(h.resolve(test, "c2"))
				h.at(2 * time.Hour)
				h.fail(test, "c1", "r1-rerun")
			},
			wantEvents: []string{"detected", "status:resolved"},
			wantStatus: contract.StatusResolved,
		},
		{
			name: "a signature resolved without a commit regresses on any later occurrence",
			steps: func(h *harness) {
				h.fail(test, "c1", "r1")
				h.must(h.resolve(test, ""))
				h.at(time.Minute)
				h.fail(test, "c1", "r2")
			},
			wantEvents: []string{"detected", "status:resolved", "regressed"},
			wantStatus: contract.StatusRegressed,
		},
		{
			name: "reopening a resolved signature gives back the status it had",
			steps: func(h *harness) {
				h.fail(test, "c1", "r1")
				h.must(h.resolve(test, "c2"))
				h.must(h.reopen(test))
			},
			wantEvents: []string{"detected", "status:resolved", "status:reopened"},
			wantStatus: contract.StatusNew,
		},
		{
			name: "a regressed signature resolved and reopened is regressed again",
			steps: func(h *harness) {
				h.fail(test, "c1", "r1")
				h.must(h.resolve(test, ""))
				h.at(time.Minute)
				h.fail(test, "c2", "r2")
				h.must(h.resolve(test, "c3"))
				h.must(h.reopen(test))
			},
			wantEvents: []string{"detected", "status:resolved", "regressed", "status:resolved", "status:reopened"},
			wantStatus: contract.StatusRegressed,
		},
		{
			name: "resolving a muted signature ends the mute; reopening it gives back the status before the mute",
			steps: func(h *harness) {
				h.fail(test, "c1", "r1")
				h.must(h.mute(test, time.Time{}, 0))
				h.must(h.resolve(test, "c2"))
				h.must(h.reopen(test))
			},
			wantEvents: []string{"detected", "status:muted", "status:resolved", "status:reopened"},
			wantStatus: contract.StatusNew,
		},
		{
			name:   "a quiet signature is auto-resolved after the quiet period, not before",
			policy: func(p *signatures.Policy) { p.AutoResolveAfter = 7 * day },
			steps: func(h *harness) {
				h.fail(test, "c1", "r1")
				h.at(7*day - time.Second)
				h.sweep()
				h.at(7 * day)
				h.sweep()
				h.sweep()
			},
			wantEvents: []string{"detected", "status:auto-resolved"},
			wantStatus: contract.StatusResolved,
		},
		{
			name:   "the quiet period runs from when ingest counted the last occurrence, when that is later",
			policy: func(p *signatures.Policy) { p.AutoResolveAfter = 7 * day },
			steps: func(h *harness) {
				h.at(30 * day)
				h.record(h.failure(test, "c1", "r1", t0)) // published a month late
				h.sweep()
				h.at(37 * day)
				h.sweep()
			},
			wantEvents: []string{"detected", "status:auto-resolved"},
			wantStatus: contract.StatusResolved,
		},
		{
			name: "without a quiet period nothing is auto-resolved",
			steps: func(h *harness) {
				h.fail(test, "c1", "r1")
				h.at(365 * day)
				h.sweep()
			},
			wantEvents: []string{"detected"},
			wantStatus: contract.StatusNew,
		},
		{
			name:   "a muted signature is not auto-resolved",
			policy: func(p *signatures.Policy) { p.AutoResolveAfter = day },
			steps: func(h *harness) {
				h.fail(test, "c1", "r1")
				h.must(h.mute(test, time.Time{}, 0))
				h.at(30 * day)
				h.sweep()
			},
			wantEvents: []string{"detected", "status:muted"},
			wantStatus: contract.StatusMuted,
		},
		{
			name:   "an auto-resolved signature that comes back later regresses",
			policy: func(p *signatures.Policy) { p.AutoResolveAfter = day },
			steps: func(h *harness) {
				h.fail(test, "c1", "r1")
				h.at(2 * day)
				h.sweep()
				h.at(3 * day)
				h.fail(test, "c1", "r9")
			},
			wantEvents: []string{"detected", "status:auto-resolved", "regressed"},
			wantStatus: contract.StatusRegressed,
		},
		{
			name:   "a signature whose test passed in enough runs since it failed is auto-resolved in the last passing commit",
			policy: func(p *signatures.Policy) { p.AutoResolvePasses = 3 },
			steps: func(h *harness) {
				h.fail(test, "c1", "r1")
				h.at(time.Hour)
				h.pass("c2", "r2", test)
				h.pass("c3", "r3", test)
				h.pass("c4", "r4", test)
				h.pass("c5", "r5", test)
			},
			wantEvents: []string{"detected", "status:auto-resolved"},
			wantStatus: contract.StatusResolved,
		},
		{
			name: "a failure starts the count of passes again",
			// Failing again after passing is flaky; not with this few.
			policy: func(p *signatures.Policy) { p.AutoResolvePasses = 3; p.FlakyMinSamples = 10 },
			steps: func(h *harness) {
				h.fail(test, "c1", "r1")
				h.at(time.Hour)
				h.pass("c2", "r2", test)
				h.pass("c3", "r3", test)
				h.fail(test, "c4", "r4")
				h.pass("c5", "r5", test)
				h.pass("c6", "r6", test)
			},
			wantEvents: []string{"detected", "recurred"},
			wantStatus: contract.StatusNew,
		},
		{
			name:   "passes from before the last failure do not count",
			policy: func(p *signatures.Policy) { p.AutoResolvePasses = 1 },
			steps: func(h *harness) {
				h.at(time.Hour)
				h.fail(test, "c2", "r2")
				h.at(0)
				h.pass("c1", "r1", test)
			},
			wantEvents: []string{"detected"},
			wantStatus: contract.StatusNew,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := quietPolicy()
			if tt.policy != nil {
				tt.policy(&p)
			}
			h := newHarness(t, p)
			tt.steps(h)
			if !reflect.DeepEqual(h.events, tt.wantEvents) {
				t.Errorf("events %v, want %v", h.events, tt.wantEvents)
			}
			if got := h.get(test).Status; got != tt.wantStatus {
				t.Errorf("status %s, want %s", got, tt.wantStatus)
			}
			// What memory holds is what is stored.
			before := h.get(test)
			h.reload()
			if after := h.get(test); !reflect.DeepEqual(before, after) {
				t.Errorf("after a restart the signature is\n%+v\nwant\n%+v", after, before)
			}
		})
	}
}

func TestResolutionAndRegressionAreRecorded(t *testing.T) {
	h := newHarness(t, quietPolicy())
	h.fail(test, "c1", "r1")
	h.at(time.Hour)
	h.must(h.resolve(test, "c2"))
	sig := h.get(test)
	if res := sig.Resolution; res == nil || res.Commit != "c2" || !res.At.Equal(t0.Add(time.Hour)) || res.Auto || res.Previous != contract.StatusNew {
		t.Fatalf("resolution %+v", res)
	}
	ev := h.last[0]
	if ev.Transition != contract.TransitionResolved || ev.Reason != "resolved in c2 by bob: fixed the rounding" || ev.Signature.Status != contract.StatusResolved {
		t.Errorf("event %+v", ev)
	}
	h.at(2 * time.Hour)
	h.fail(test, "c3", "r3")
	sig = h.get(test)
	if !sig.Regressed || sig.Resolution != nil {
		t.Errorf("regressed %v resolution %+v", sig.Regressed, sig.Resolution)
	}
	ev = h.last[0]
	if ev.Change != contract.ChangeRegressed || ev.Transition != contract.TransitionRegressed || ev.Reason != "seen on commit c3 after it was resolved in c2" || ev.Occurrence == nil {
		t.Errorf("event %+v", ev)
	}
	var actions []string
	for _, a := range sig.Audit {
		actions = append(actions, a.Actor+" "+a.Action+" "+string(a.From)+"→"+string(a.To))
	}
	if want := []string{"bob resolved new→resolved", "ingest regressed resolved→regressed"}; !reflect.DeepEqual(actions, want) {
		t.Errorf("audit %v, want %v", actions, want)
	}
}

func TestStatusEventsHaveDistinctIds(t *testing.T) {
	h := newHarness(t, quietPolicy())
	h.fail(test, "c1", "r1")
	ids := map[string]bool{}
	for range 3 {
		h.must(h.mute(test, time.Time{}, 0))
		ids[h.last[0].ID] = true
		h.must(h.unmute(test))
		ids[h.last[0].ID] = true
	}
	if len(ids) != 6 {
		t.Errorf("six status changes at the same occurrence count got %d ids: %v", len(ids), ids)
	}
}

func TestMute(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name       string
		steps      func(h *harness)
		wantEvents []string
		wantStatus contract.SignatureStatus
	}{
		{
			name: "a muted signature counts occurrences without announcing them",
			steps: func(h *harness) {
				h.must(h.mute(test, time.Time{}, 0))
				for range 7 {
					h.fail(test, "c1", "")
				}
			},
			wantEvents: []string{"status:muted"},
			wantStatus: contract.StatusMuted,
		},
		{
			name: "a mute until a time ends at that time",
			steps: func(h *harness) {
				h.must(h.mute(test, t0.Add(day), 0))
				h.at(day - time.Nanosecond)
				h.sweep()
				h.at(day)
				h.sweep()
			},
			wantEvents: []string{"status:muted", "status:unmuted"},
			wantStatus: contract.StatusNew,
		},
		{
			name: "a mute for N more occurrences ends on the Nth, which it announces",
			steps: func(h *harness) {
				h.must(h.mute(test, time.Time{}, 3))
				h.fail(test, "c1", "")
				h.fail(test, "c1", "")
				h.fail(test, "c1", "")
				h.fail(test, "c1", "")
			},
			wantEvents: []string{"status:muted", "status:unmuted"},
			wantStatus: contract.StatusNew,
		},
		{
			name: "a mute with both ends ends at the first",
			steps: func(h *harness) {
				h.must(h.mute(test, t0.Add(day), 100))
				h.at(day)
				h.sweep()
			},
			wantEvents: []string{"status:muted", "status:unmuted"},
			wantStatus: contract.StatusNew,
		},
		{
			name: "a mute for ever lasts",
			steps: func(h *harness) {
				h.must(h.mute(test, time.Time{}, 0))
				h.at(3650 * day)
				h.sweep()
				h.fail(test, "c1", "")
			},
			wantEvents: []string{"status:muted"},
			wantStatus: contract.StatusMuted,
		},
		{
			name: "muting a muted signature changes the terms and keeps the status it goes back to",
			steps: func(h *harness) {
				h.must(h.resolve(test, ""))
				h.at(time.Minute)
				h.fail(test, "c2", "")
				h.must(h.mute(test, t0.Add(day), 0))
				h.must(h.mute(test, time.Time{}, 0))
				h.at(2 * day)
				h.sweep()
				h.must(h.unmute(test))
			},
			wantEvents: []string{"status:resolved", "regressed", "status:muted", "status:muted", "status:unmuted"},
			wantStatus: contract.StatusRegressed,
		},
		{
			name: "a mute that ends in the past is refused",
			steps: func(h *harness) {
				h.at(day)
				h.wantErr(h.mute(test, t0, 0), signatures.ErrInvalidRequest)
			},
			wantStatus: contract.StatusNew,
		},
		{
			name:       "a negative count is refused",
			steps:      func(h *harness) { h.wantErr(h.mute(test, time.Time{}, -1), signatures.ErrInvalidRequest) },
			wantStatus: contract.StatusNew,
		},
		{
			name: "a resolved signature cannot be muted",
			steps: func(h *harness) {
				h.must(h.resolve(test, ""))
				h.wantErr(h.mute(test, time.Time{}, 0), signatures.ErrTransition)
			},
			wantEvents: []string{"status:resolved"},
			wantStatus: contract.StatusResolved,
		},
		{
			name: "a signature that is not muted cannot be unmuted, nor an open one reopened, nor a resolved one resolved",
			steps: func(h *harness) {
				h.wantErr(h.unmute(test), signatures.ErrTransition)
				h.wantErr(h.reopen(test), signatures.ErrTransition)
				h.must(h.resolve(test, ""))
				h.wantErr(h.resolve(test, ""), signatures.ErrTransition)
			},
			wantEvents: []string{"status:resolved"},
			wantStatus: contract.StatusResolved,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, quietPolicy())
			h.fail(test, "c1", "")
			h.events = nil
			tt.steps(h)
			if !reflect.DeepEqual(h.events, tt.wantEvents) {
				t.Errorf("events %v, want %v", h.events, tt.wantEvents)
			}
			if got := h.get(test).Status; got != tt.wantStatus {
				t.Errorf("status %s, want %s", got, tt.wantStatus)
			}
		})
	}
}

func TestMuteRecordsItsTermsAndWho(t *testing.T) {
	h := newHarness(t, quietPolicy())
	h.fail(test, "c1", "")
	h.fail(test, "c1", "")
	until := t0.Add(48 * time.Hour)
	h.must(h.mute(test, until, 5))
	sig := h.get(test)
	want := &signatures.Mute{Until: until, UntilOccurrences: 7, Previous: contract.StatusNew, By: "alice", Reason: "noisy", At: t0}
	if !reflect.DeepEqual(sig.Mute, want) {
		t.Errorf("mute %+v, want %+v", sig.Mute, want)
	}
	if r := h.last[0].Reason; !strings.Contains(r, "until 2026-11-04T09:00:00Z or 5 more occurrences by alice: noisy") {
		t.Errorf("reason %q", r)
	}
	if a := sig.Audit[len(sig.Audit)-1]; a.Actor != "alice" || a.Action != "muted" || a.Reason != "noisy" || !a.At.Equal(t0) {
		t.Errorf("audit %+v", a)
	}
}

func TestUnknownSignaturesAreNotFound(t *testing.T) {
	h := newHarness(t, quietPolicy())
	u := signatures.NewUnit(t0)
	who := signatures.Who{Actor: "alice"}
	for name, op := range map[string]func() error{
		"mute":    func() error { _, err := h.tracker.Mute(u, "shop", "nope", time.Time{}, 0, who); return err },
		"unmute":  func() error { _, err := h.tracker.Unmute(u, "shop", "nope", who); return err },
		"resolve": func() error { _, err := h.tracker.Resolve(u, "shop", "nope", "", who); return err },
		"reopen":  func() error { _, err := h.tracker.Reopen(u, "shop", "nope", who); return err },
	} {
		if err := op(); !errorsIs(err, signatures.ErrSignatureNotFound) {
			t.Errorf("%s: %v, want ErrSignatureNotFound", name, err)
		}
	}
}

func TestTheAuditKeepsTheLatestEntries(t *testing.T) {
	h := newHarness(t, quietPolicy())
	h.fail(test, "c1", "")
	for range 40 {
		h.must(h.mute(test, time.Time{}, 0))
		h.must(h.unmute(test))
	}
	sig := h.get(test)
	if len(sig.Audit) != 32 || sig.AuditSeq != 80 || sig.Audit[31].Seq != 80 || sig.Audit[0].Seq != 49 {
		t.Errorf("%d entries, seq %d, first %d last %d", len(sig.Audit), sig.AuditSeq, sig.Audit[0].Seq, sig.Audit[31].Seq)
	}
}
