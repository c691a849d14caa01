package manage_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
)

// A failure's detection waits for its run's report (is the run a storm?).
// A user who mutes, resolves or tags the signature meanwhile sees the
// change announced at once; the detection that goes out after it carries
// the signature as it is then, so that diagnose does not take up a
// signature the user set aside, nor report show a status that no longer
// holds.
func TestAHeldEventGoesOutWithTheStatusAndTagsOfItsRelease(t *testing.T) {
	ctx := context.Background()
	alice := contract.ChangedBy{By: "alice", Reason: "known"}
	tests := []struct {
		name       string
		change     func(e *env, ref contract.SignatureRef) error
		failed     int // of 40 tests in the run's report
		wantStatus contract.SignatureStatus
		wantTags   []string
		wantStorm  bool
	}{
		{
			name: "muted while the detection waited",
			change: func(e *env, ref contract.SignatureRef) error {
				_, err := e.m.Mute(ctx, contract.MuteRequest{SignatureRef: ref, ChangedBy: alice})
				return err
			},
			failed: 1, wantStatus: contract.StatusMuted,
		},
		{
			name: "resolved while the detection waited, in a storm",
			change: func(e *env, ref contract.SignatureRef) error {
				_, err := e.m.Resolve(ctx, contract.ResolveRequest{SignatureRef: ref, ChangedBy: alice})
				return err
			},
			failed: 30, wantStatus: contract.StatusResolved, wantStorm: true,
		},
		{
			name: "tagged while the detection waited",
			change: func(e *env, ref contract.SignatureRef) error {
				_, err := e.m.Tag(ctx, contract.TagRequest{SignatureRef: ref, ChangedBy: alice, Add: []string{"critical"}})
				return err
			},
			failed: 1, wantStatus: contract.StatusNew, wantTags: []string{"critical"},
		},
		{
			name:   "nothing changed while the detection waited",
			change: func(*env, contract.SignatureRef) error { return nil },
			failed: 1, wantStatus: contract.StatusNew,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnvWaiting(t, time.Hour)
			f := e.failure("TestHeld", "c1")
			e.publish(t, f)
			var ref contract.SignatureRef
			eventually(t, "ingest counts the failure", func() bool {
				list, err := e.m.List(ctx, contract.ListRequest{Project: "shop"})
				if err != nil || len(list.Signatures) != 1 {
					return false
				}
				ref = contract.SignatureRef{Project: "shop", ID: list.Signatures[0].ID}
				return true
			})
			if err := tt.change(e, ref); err != nil {
				t.Fatal(err)
			}
			report := contract.RunReported{
				Schema: contract.SchemaRun, ID: "rep.0", Project: "shop", Time: t0, Run: f.Run,
				Source: "junit.xml", Total: 40, Failed: tt.failed,
			}
			if _, err := e.client.PublishRun(ctx, report); err != nil {
				t.Fatal(err)
			}
			var detected contract.SignatureChanged
			for ev := range e.eventsUntil(t, func(ev contract.SignatureChanged) bool { return ev.Change == contract.ChangeDetected }) {
				detected = ev
			}
			if detected.Signature.Status != tt.wantStatus || !slices.Equal(detected.Signature.Tags, tt.wantTags) || detected.Storm != tt.wantStorm {
				t.Errorf("detected went out with status %s, tags %v, storm %v; want %s, %v, %v",
					detected.Signature.Status, detected.Signature.Tags, detected.Storm, tt.wantStatus, tt.wantTags, tt.wantStorm)
			}
			if detected.Occurrence == nil || detected.Occurrence.ID != f.ID || detected.Signature.Occurrences != 1 {
				t.Errorf("detected lost what it announced: occurrence %v, %d occurrences", detected.Occurrence, detected.Signature.Occurrences)
			}
		})
	}
}
