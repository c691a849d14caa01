package signatures_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/ingest/grouping"
	"github.com/rounds-dev/rounds/services/ingest/internal/signatures"
)

func TestFlakiness(t *testing.T) {
	tests := []struct {
		name       string
		minSamples int
		steps      func(h *harness)
		wantEvents []string
		wantFlaky  bool
		wantReason string
	}{
		{
			name: "a test that failed and then passed on the same commit is flaky",
			steps: func(h *harness) {
				h.fail(test, "c1", "r1")
				h.pass("c1", "r2", test)
			},
			wantEvents: []string{"detected", "flaky"},
			wantFlaky:  true,
			wantReason: "its test failed and passed on commit c1",
		},
		{
			name: "a test that passed and then failed on the same commit is flaky",
			steps: func(h *harness) {
				h.pass("c1", "r1", test)
				h.fail(test, "c1", "r2")
			},
			wantEvents: []string{"detected", "flaky"},
			wantFlaky:  true,
			wantReason: "its test failed and passed on commit c1",
		},
		{
			name: "a pass before a restart still makes a later failure on its commit flaky",
			steps: func(h *harness) {
				h.pass("c1", "r1", test)
				h.reload()
				h.fail(test, "c1", "r2")
			},
			wantEvents: []string{"detected", "flaky"},
			wantFlaky:  true,
			wantReason: "its test failed and passed on commit c1",
		},
		{
			name: "a test that passed on a retry within its run is flaky, failure first",
			steps: func(h *harness) {
				f := h.failure(test, "c1", "r1", h.now)
				f.Run.Attempt = 1
				h.record(f)
				h.report(retried("c1", "r1", test))
			},
			wantEvents: []string{"detected", "flaky"},
			wantFlaky:  true,
			wantReason: "its test passed on a retry in run r1",
		},
		{
			name: "a test that passed on a retry within its run is flaky, report first",
			steps: func(h *harness) {
				h.report(retried("c1", "r1", test))
				f := h.failure(test, "c1", "r1", h.now)
				f.Run.Attempt = 1
				h.record(f)
			},
			wantEvents: []string{"detected", "flaky"},
			wantFlaky:  true,
			wantReason: "its test passed on a retry in run r1",
		},
		{
			name: "without a commit, failing and passing in the same run is flaky",
			steps: func(h *harness) {
				h.fail(test, "", "r1")
				h.pass("", "r1", test)
			},
			wantEvents: []string{"detected", "flaky"},
			wantFlaky:  true,
			wantReason: "its test failed and passed in run r1",
		},
		{
			name: "without a commit, failing in one run and passing in another is not flaky",
			steps: func(h *harness) {
				h.fail(test, "", "r1")
				h.pass("", "r2", test)
			},
			wantEvents: []string{"detected"},
		},
		{
			name: "a test that failed on one commit and passed on the next is not flaky",
			steps: func(h *harness) {
				h.fail(test, "c1", "r1")
				h.pass("c2", "r2", test)
			},
			wantEvents: []string{"detected"},
		},
		{
			name: "a muted signature becomes flaky silently",
			steps: func(h *harness) {
				h.fail(test, "c1", "r1")
				h.must(h.mute(test, time.Time{}, 0))
				h.pass("c1", "r2", test)
			},
			wantEvents: []string{"detected", "status:muted"},
			wantFlaky:  true,
			wantReason: "its test failed and passed on commit c1",
		},
		{
			name: "flakiness is announced once",
			steps: func(h *harness) {
				h.fail(test, "c1", "r1")
				h.pass("c1", "r2", test)
				h.fail(test, "c2", "r3")
				h.pass("c2", "r4", test)
			},
			wantEvents: []string{"detected", "flaky", "recurred"},
			wantFlaky:  true,
			wantReason: "its test failed and passed on commit c1",
		},
		{
			name:       "failures that come and go over enough commits are flaky",
			minSamples: 5,
			steps: func(h *harness) {
				h.fail(test, "c1", "r1")
				h.next()
				h.pass("c2", "r2", test)
				h.next()
				h.pass("c3", "r3", test)
				h.next()
				h.fail(test, "c4", "r4")
				h.next()
				h.pass("c5", "r5", test)
			},
			wantEvents: []string{"detected", "recurred", "flaky"},
			wantFlaky:  true,
			wantReason: "its test failed on 2 of the 5 commits it ran on in the last 14d, and failed again after passing",
		},
		{
			name:       "failures that come and go over fewer commits than the minimum are not flaky yet",
			minSamples: 6,
			steps: func(h *harness) {
				h.fail(test, "c1", "r1")
				h.next()
				h.pass("c2", "r2", test)
				h.next()
				h.fail(test, "c3", "r3")
				h.next()
				h.pass("c4", "r4", test)
			},
			wantEvents: []string{"detected", "recurred"},
		},
		{
			name:       "a bug fixed for good is not flaky, however many commits pass after it",
			minSamples: 3,
			steps: func(h *harness) {
				h.fail(test, "c1", "r1")
				h.next()
				h.fail(test, "c2", "r2")
				for _, c := range []string{"c3", "c4", "c5", "c6", "c7", "c8", "c9", "c10"} {
					h.next()
					h.pass(c, "r-"+c, test)
				}
			},
			wantEvents: []string{"detected", "recurred"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := quietPolicy()
			p.FlakyMinSamples = 100
			if tt.minSamples > 0 {
				p.FlakyMinSamples = tt.minSamples
			}
			h := newHarness(t, p)
			tt.steps(h)
			if !reflect.DeepEqual(h.events, tt.wantEvents) {
				t.Errorf("events %v, want %v", h.events, tt.wantEvents)
			}
			sig := h.get(test)
			if sig.Flaky != tt.wantFlaky || sig.FlakyReason != tt.wantReason {
				t.Errorf("flaky %v (%q), want %v (%q)", sig.Flaky, sig.FlakyReason, tt.wantFlaky, tt.wantReason)
			}
		})
	}
}

// next moves the harness's clock on by a minute.
func (h *harness) next() { h.now = h.now.Add(time.Minute) }

// retried is the report of a run in which tests passed on a retry.
func retried(commit, run string, tests ...string) contract.RunReported {
	var refs []contract.TestRef
	for _, test := range tests {
		suite, name, _ := cut(test)
		refs = append(refs, contract.TestRef{Suite: suite, Name: name})
	}
	return contract.RunReported{
		Schema: contract.SchemaRun, ID: "r-" + run, Project: "shop", Source: "TEST-cart.xml",
		Run: contract.RunInfo{ID: run, Commit: commit}, Passed: contract.GroupTests(refs), PassedOnRetry: contract.GroupTests(refs),
		Total: len(tests), Chunk: contract.Chunk{Count: 1},
	}
}

func cut(test string) (string, string, bool) {
	for i := 0; i < len(test); i++ {
		if test[i] == '.' {
			return test[:i], test[i+1:], true
		}
	}
	return "", test, false
}

func TestFlakinessIsPerSignature(t *testing.T) {
	h := newHarness(t, quietPolicy())
	other := h.failure(test, "c2", "r2", h.now)
	other.Error = contract.ErrorInfo{Type: "NullPointerException", Message: "cart is null"}
	h.fail(test, "c1", "r1")
	h.record(other)
	h.pass("c1", "r3", test)
	if sig := h.get(test); !sig.Flaky {
		t.Error("the signature that failed on c1, where the test passed, is not flaky")
	}
	id := grouping.SignatureID("shop", grouping.Fingerprint(other).Fingerprint)
	if sig, _ := h.tracker.Get("shop", id); sig.Flaky {
		t.Error("the other signature of the test, which failed on c2 only, is flaky")
	}
}

func TestTheFailureRateIsRecorded(t *testing.T) {
	p := quietPolicy()
	p.FlakyMinSamples = 100
	h := newHarness(t, p)
	h.fail(test, "c1", "r1")
	h.next()
	h.pass("c2", "r2", test)
	h.next()
	h.fail(test, "c3", "r3")
	h.next()
	h.pass("c4", "r4", test)
	if got, want := h.get(test).FailureRate, (&signatures.FailureRate{Failed: 2, Commits: 4}); !reflect.DeepEqual(got, want) {
		t.Errorf("failure rate %+v, want %+v", got, want)
	}
}

func TestPassesOfOtherTestsChangeNothing(t *testing.T) {
	h := newHarness(t, quietPolicy())
	h.fail(test, "c1", "r1")
	h.pass("c1", "r2", "cart.TestRemove", "billing.TestInvoice")
	if sig := h.get(test); sig.Flaky || sig.PassesSinceFailure != 0 || sig.FailureRate != nil {
		t.Errorf("signature %+v", sig)
	}
}
