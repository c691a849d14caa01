package signatures_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/ingest/internal/signatures"
)

// counts reports a run's source with total tests of which failed failed.
func (h *harness) counts(run, source string, total, failed int) {
	h.t.Helper()
	h.report(contract.RunReported{
		Schema: contract.SchemaRun, ID: run + "-" + source, Project: "shop", Source: source,
		Run: contract.RunInfo{ID: run, Commit: "c1"}, Total: total, Failed: failed, Chunk: contract.Chunk{Count: 1},
	})
}

func TestStorms(t *testing.T) {
	const wait = 10 * time.Second
	tests := []struct {
		name         string
		wait         time.Duration
		steps        func(h *harness)
		wantEvents   []string
		wantReleases []signatures.Release
	}{
		{
			name: "a failure after its run's report, in which most tests failed, is part of a storm",
			steps: func(h *harness) {
				h.counts("r1", "junit.xml", 10, 6)
				h.fail(test, "c1", "r1")
			},
			wantEvents: []string{"detected(storm)"},
		},
		{
			name: "half of the tests failing is no storm",
			steps: func(h *harness) {
				h.counts("r1", "junit.xml", 10, 5)
				h.fail(test, "c1", "r1")
			},
			wantEvents: []string{"detected"},
		},
		{
			name: "fewer failed tests than the minimum are no storm, whatever their share",
			steps: func(h *harness) {
				h.counts("r1", "junit.xml", 2, 2)
				h.fail(test, "c1", "r1")
			},
			wantEvents: []string{"detected"},
		},
		{
			name: "the reports of a run's sources are summed, each once however many chunks it came in",
			steps: func(h *harness) {
				h.counts("r1", "unit.xml", 10, 1)
				h.counts("r1", "it.xml", 10, 9)
				h.counts("r1", "it.xml", 10, 9)
				h.fail(test, "c1", "r1")
				h.counts("r1", "e2e.xml", 2, 2)
				h.fail("cart.TestRemove", "c1", "r1")
			},
			wantEvents: []string{"detected", "detected(storm)"},
		},
		{
			name: "the events of a failure before its run's report wait for it, then go as a storm",
			wait: wait,
			steps: func(h *harness) {
				h.fail(test, "c1", "r1")
				h.fail(test, "c1", "r1")
				h.counts("r1", "junit.xml", 10, 8)
			},
			wantEvents:   []string{"detected(held)", "recurred(held)"},
			wantReleases: []signatures.Release{{Run: signatures.RunKey{Project: "shop", ID: "r1"}, Storm: true}},
		},
		{
			name: "the events that waited go unflagged when the run is no storm",
			wait: wait,
			steps: func(h *harness) {
				h.fail(test, "c1", "r1")
				h.counts("r1", "junit.xml", 10, 1)
			},
			wantEvents:   []string{"detected(held)"},
			wantReleases: []signatures.Release{{Run: signatures.RunKey{Project: "shop", ID: "r1"}}},
		},
		{
			name: "when the report does not come in time, the events go unflagged and the run's later failures wait no more",
			wait: wait,
			steps: func(h *harness) {
				h.fail(test, "c1", "r1")
				h.at(wait - time.Nanosecond)
				h.sweep()
				h.at(wait)
				h.sweep()
				h.fail("cart.TestRemove", "c1", "r1")
			},
			wantEvents:   []string{"detected(held)", "detected"},
			wantReleases: []signatures.Release{{Run: signatures.RunKey{Project: "shop", ID: "r1"}}},
		},
		{
			name: "a report that comes after the wait ran out still judges the run's later failures",
			wait: wait,
			steps: func(h *harness) {
				h.fail(test, "c1", "r1")
				h.at(wait)
				h.sweep()
				h.counts("r1", "junit.xml", 10, 9)
				h.fail("cart.TestRemove", "c1", "r1")
			},
			wantEvents:   []string{"detected(held)", "detected(storm)"},
			wantReleases: []signatures.Release{{Run: signatures.RunKey{Project: "shop", ID: "r1"}}},
		},
		{
			name: "events that wait survive a restart and go when the wait runs out",
			wait: wait,
			steps: func(h *harness) {
				h.fail(test, "c1", "r1")
				h.reload()
				h.at(wait)
				h.sweep()
			},
			wantEvents:   []string{"detected(held)"},
			wantReleases: []signatures.Release{{Run: signatures.RunKey{Project: "shop", ID: "r1"}}},
		},
		{
			name: "without a wait, failures before their run's report go at once",
			steps: func(h *harness) {
				h.fail(test, "c1", "r1")
				h.counts("r1", "junit.xml", 10, 9)
			},
			wantEvents: []string{"detected"},
		},
		{
			name: "failures without a run, and runtime errors, never wait",
			wait: wait,
			steps: func(h *harness) {
				h.fail(test, "c1", "")
				f := h.failure("x.y", "c1", "r1", h.now)
				f.Kind, f.Test, f.Service = contract.KindRuntime, nil, &contract.ServiceIdentity{Name: "checkout"}
				h.record(f)
			},
			wantEvents: []string{"detected", "detected"},
		},
		{
			name: "lifecycle changes never wait",
			wait: wait,
			steps: func(h *harness) {
				h.fail(test, "c1", "r1")
				h.must(h.mute(test, time.Time{}, 0))
			},
			wantEvents: []string{"detected(held)", "status:muted"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := quietPolicy()
			p.StormWait = tt.wait
			h := newHarness(t, p)
			tt.steps(h)
			if !reflect.DeepEqual(h.events, tt.wantEvents) {
				t.Errorf("events %v, want %v", h.events, tt.wantEvents)
			}
			if !reflect.DeepEqual(h.releases, tt.wantReleases) {
				t.Errorf("releases %+v, want %+v", h.releases, tt.wantReleases)
			}
			if held, err := h.store.HeldRuns(); err != nil || (len(tt.wantReleases) > 0 && len(held) > 0) {
				t.Errorf("runs still holding events: %v, %v", held, err)
			}
		})
	}
}
