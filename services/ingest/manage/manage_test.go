package manage_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/ingest/manage"
)

var alice = contract.ChangedBy{By: "alice", Reason: "known outage"}

// TestOperations runs each operation on a signature of its own, set up as
// the case needs, and checks the reply, the error, the audit entry and the
// event announced.
func TestOperations(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mute := func(ref contract.SignatureRef) error {
		_, err := e.m.Mute(ctx, contract.MuteRequest{SignatureRef: ref, ChangedBy: alice})
		return err
	}
	resolve := func(ref contract.SignatureRef) error {
		_, err := e.m.Resolve(ctx, contract.ResolveRequest{SignatureRef: ref, ChangedBy: alice})
		return err
	}
	tests := []struct {
		name  string
		setup func(ref contract.SignatureRef) error
		op    func(ref contract.SignatureRef) (contract.SignatureDetail, error)
		// wantErr is the error the operation returns; nil: it succeeds.
		wantErr error
		// wantChange and wantTransition are the event announced.
		wantChange     contract.SignatureChange
		wantTransition contract.SignatureTransition
		wantReason     string
		// wantAction is the last audit entry's action.
		wantAction string
		// wantUnchanged: the operation succeeds and changes nothing.
		wantUnchanged bool
		check         func(t *testing.T, d contract.SignatureDetail)
	}{
		{
			name: "show returns the signature with its count",
			op: func(ref contract.SignatureRef) (contract.SignatureDetail, error) {
				return e.m.Show(ctx, contract.ShowRequest{SignatureRef: ref})
			},
			check: func(t *testing.T, d contract.SignatureDetail) {
				if d.Status != contract.StatusNew || d.Occurrences != 1 || len(d.Audit) != 0 {
					t.Errorf("status %s, count %d, audit %v; want new, 1, none", d.Status, d.Occurrences, d.Audit)
				}
			},
		},
		{
			name: "show of an unknown signature is not found",
			op: func(ref contract.SignatureRef) (contract.SignatureDetail, error) {
				return e.m.Show(ctx, contract.ShowRequest{SignatureRef: contract.SignatureRef{Project: "shop", ID: "0000000000000000"}})
			},
			wantErr: manage.ErrNotFound,
		},
		{
			name: "a project that is no subject token is an invalid request",
			op: func(ref contract.SignatureRef) (contract.SignatureDetail, error) {
				return e.m.Show(ctx, contract.ShowRequest{SignatureRef: contract.SignatureRef{Project: "shop.eu", ID: ref.ID}})
			},
			wantErr: manage.ErrInvalidRequest,
		},
		{
			name: "a change that does not say who makes it is an invalid request",
			op: func(ref contract.SignatureRef) (contract.SignatureDetail, error) {
				return e.m.Mute(ctx, contract.MuteRequest{SignatureRef: ref})
			},
			wantErr: manage.ErrInvalidRequest,
		},
		{
			name: "mute without terms mutes until unmuted",
			op: func(ref contract.SignatureRef) (contract.SignatureDetail, error) {
				return e.m.Mute(ctx, contract.MuteRequest{SignatureRef: ref, ChangedBy: alice})
			},
			wantChange: contract.ChangeStatus, wantTransition: contract.TransitionMuted,
			wantReason: "muted by alice: known outage", wantAction: "muted",
			check: func(t *testing.T, d contract.SignatureDetail) {
				if d.Status != contract.StatusMuted || d.Mute == nil || !d.Mute.Until.IsZero() || d.Mute.UntilCount != 0 || d.Mute.By != "alice" {
					t.Errorf("status %s, mute %+v; want muted forever by alice", d.Status, d.Mute)
				}
			},
		},
		{
			name: "mute until a time",
			op: func(ref contract.SignatureRef) (contract.SignatureDetail, error) {
				return e.m.Mute(ctx, contract.MuteRequest{SignatureRef: ref, ChangedBy: alice, Until: t0.Add(48 * time.Hour)})
			},
			wantChange: contract.ChangeStatus, wantTransition: contract.TransitionMuted,
			wantReason: "muted until 2026-11-30T12:00:00Z by alice: known outage", wantAction: "muted",
			check: func(t *testing.T, d contract.SignatureDetail) {
				if d.Mute == nil || !d.Mute.Until.Equal(t0.Add(48*time.Hour)) {
					t.Errorf("mute %+v, want until two days on", d.Mute)
				}
			},
		},
		{
			name: "mute for N more occurrences",
			op: func(ref contract.SignatureRef) (contract.SignatureDetail, error) {
				return e.m.Mute(ctx, contract.MuteRequest{SignatureRef: ref, ChangedBy: alice, Occurrences: 5})
			},
			wantChange: contract.ChangeStatus, wantTransition: contract.TransitionMuted,
			wantReason: "muted for 5 more occurrences by alice: known outage", wantAction: "muted",
			check: func(t *testing.T, d contract.SignatureDetail) {
				if d.Mute == nil || d.Mute.UntilCount != 6 {
					t.Errorf("mute %+v, want until the count reaches 6", d.Mute)
				}
			},
		},
		{
			name: "mute until a time that has passed is an invalid request",
			op: func(ref contract.SignatureRef) (contract.SignatureDetail, error) {
				return e.m.Mute(ctx, contract.MuteRequest{SignatureRef: ref, ChangedBy: alice, Until: t0.Add(-time.Hour)})
			},
			wantErr: manage.ErrInvalidRequest,
		},
		{
			name: "mute of a negative count is an invalid request",
			op: func(ref contract.SignatureRef) (contract.SignatureDetail, error) {
				return e.m.Mute(ctx, contract.MuteRequest{SignatureRef: ref, ChangedBy: alice, Occurrences: -1})
			},
			wantErr: manage.ErrInvalidRequest,
		},
		{
			name:  "mute of a resolved signature is a bad transition",
			setup: resolve,
			op: func(ref contract.SignatureRef) (contract.SignatureDetail, error) {
				return e.m.Mute(ctx, contract.MuteRequest{SignatureRef: ref, ChangedBy: alice})
			},
			wantErr: manage.ErrTransition,
		},
		{
			name:  "unmute of a muted signature takes it back to its status",
			setup: mute,
			op: func(ref contract.SignatureRef) (contract.SignatureDetail, error) {
				return e.m.Unmute(ctx, contract.UnmuteRequest{SignatureRef: ref, ChangedBy: contract.ChangedBy{By: "bob"}})
			},
			wantChange: contract.ChangeStatus, wantTransition: contract.TransitionUnmuted,
			wantReason: "unmuted by bob", wantAction: "unmuted",
			check: func(t *testing.T, d contract.SignatureDetail) {
				if d.Status != contract.StatusNew || d.Mute != nil {
					t.Errorf("status %s, mute %+v; want new, none", d.Status, d.Mute)
				}
			},
		},
		{
			name: "unmute of a signature that is not muted is a bad transition",
			op: func(ref contract.SignatureRef) (contract.SignatureDetail, error) {
				return e.m.Unmute(ctx, contract.UnmuteRequest{SignatureRef: ref, ChangedBy: alice})
			},
			wantErr: manage.ErrTransition,
		},
		{
			name: "resolve in a commit records the commit",
			op: func(ref contract.SignatureRef) (contract.SignatureDetail, error) {
				return e.m.Resolve(ctx, contract.ResolveRequest{SignatureRef: ref, ChangedBy: contract.ChangedBy{By: "carol", Reason: "fixed the rounding"}, InCommit: "abc123"})
			},
			wantChange: contract.ChangeStatus, wantTransition: contract.TransitionResolved,
			wantReason: "resolved in abc123 by carol: fixed the rounding", wantAction: "resolved",
			check: func(t *testing.T, d contract.SignatureDetail) {
				if d.Status != contract.StatusResolved || d.Resolution == nil || d.Resolution.Commit != "abc123" || d.Resolution.Auto {
					t.Errorf("status %s, resolution %+v; want resolved in abc123 by hand", d.Status, d.Resolution)
				}
			},
		},
		{
			name:  "resolve of a resolved signature is a bad transition",
			setup: resolve,
			op: func(ref contract.SignatureRef) (contract.SignatureDetail, error) {
				return e.m.Resolve(ctx, contract.ResolveRequest{SignatureRef: ref, ChangedBy: alice})
			},
			wantErr: manage.ErrTransition,
		},
		{
			name:  "reopen of a resolved signature takes it back to its status",
			setup: resolve,
			op: func(ref contract.SignatureRef) (contract.SignatureDetail, error) {
				return e.m.Reopen(ctx, contract.ReopenRequest{SignatureRef: ref, ChangedBy: alice})
			},
			wantChange: contract.ChangeStatus, wantTransition: contract.TransitionReopened,
			wantReason: "reopened by alice: known outage", wantAction: "reopened",
			check: func(t *testing.T, d contract.SignatureDetail) {
				if d.Status != contract.StatusNew || d.Resolution != nil {
					t.Errorf("status %s, resolution %+v; want new, none", d.Status, d.Resolution)
				}
			},
		},
		{
			name: "reopen of an open signature is a bad transition",
			op: func(ref contract.SignatureRef) (contract.SignatureDetail, error) {
				return e.m.Reopen(ctx, contract.ReopenRequest{SignatureRef: ref, ChangedBy: alice})
			},
			wantErr: manage.ErrTransition,
		},
		{
			name: "retriage announces a retriage and leaves the status",
			op: func(ref contract.SignatureRef) (contract.SignatureDetail, error) {
				return e.m.Retriage(ctx, contract.RetriageRequest{SignatureRef: ref, ChangedBy: contract.ChangedBy{By: "dave", Reason: "new evidence"}})
			},
			wantChange: contract.ChangeRetriage,
			wantReason: "retriage asked by dave: new evidence", wantAction: "retriage",
			check: func(t *testing.T, d contract.SignatureDetail) {
				if d.Status != contract.StatusNew {
					t.Errorf("status %s, want new", d.Status)
				}
			},
		},
		{
			name:  "retriage of a muted signature is announced too",
			setup: mute,
			op: func(ref contract.SignatureRef) (contract.SignatureDetail, error) {
				return e.m.Retriage(ctx, contract.RetriageRequest{SignatureRef: ref, ChangedBy: alice})
			},
			wantChange: contract.ChangeRetriage, wantReason: "retriage asked by alice: known outage", wantAction: "retriage",
		},
		{
			name: "retriage of an unknown signature is not found",
			op: func(ref contract.SignatureRef) (contract.SignatureDetail, error) {
				return e.m.Retriage(ctx, contract.RetriageRequest{SignatureRef: contract.SignatureRef{Project: "shop", ID: "nope"}, ChangedBy: alice})
			},
			wantErr: manage.ErrNotFound,
		},
		{
			name: "tag adds tags, sorted and each once",
			op: func(ref contract.SignatureRef) (contract.SignatureDetail, error) {
				return e.m.Tag(ctx, contract.TagRequest{SignatureRef: ref, ChangedBy: contract.ChangedBy{By: "erin"}, Add: []string{"team:cart", "critical", "critical"}})
			},
			wantChange: contract.ChangeTagged, wantReason: "tagged +critical +team:cart by erin", wantAction: "tagged",
			check: func(t *testing.T, d contract.SignatureDetail) {
				if !slices.Equal(d.Tags, []string{"critical", "team:cart"}) {
					t.Errorf("tags %v", d.Tags)
				}
			},
		},
		{
			name: "tag removes before it adds",
			setup: func(ref contract.SignatureRef) error {
				_, err := e.m.Tag(ctx, contract.TagRequest{SignatureRef: ref, ChangedBy: alice, Add: []string{"wip", "critical"}})
				return err
			},
			op: func(ref contract.SignatureRef) (contract.SignatureDetail, error) {
				return e.m.Tag(ctx, contract.TagRequest{SignatureRef: ref, ChangedBy: alice, Remove: []string{"wip", "critical"}, Add: []string{"critical"}})
			},
			wantChange: contract.ChangeTagged, wantReason: "tagged -wip by alice: known outage", wantAction: "tagged",
			check: func(t *testing.T, d contract.SignatureDetail) {
				if !slices.Equal(d.Tags, []string{"critical"}) {
					t.Errorf("tags %v, want [critical]", d.Tags)
				}
			},
		},
		{
			name: "a tag request that changes nothing is neither audited nor announced",
			setup: func(ref contract.SignatureRef) error {
				_, err := e.m.Tag(ctx, contract.TagRequest{SignatureRef: ref, ChangedBy: alice, Add: []string{"critical"}})
				return err
			},
			op: func(ref contract.SignatureRef) (contract.SignatureDetail, error) {
				return e.m.Tag(ctx, contract.TagRequest{SignatureRef: ref, ChangedBy: alice, Add: []string{"critical"}, Remove: []string{"wip"}})
			},
			wantUnchanged: true,
			check: func(t *testing.T, d contract.SignatureDetail) {
				// Events go out in the order of the changes: after the
				// setup's tag, the next event must be this retriage's.
				ref := contract.SignatureRef{Project: d.Project, ID: d.ID}
				if _, err := e.m.Retriage(ctx, contract.RetriageRequest{SignatureRef: ref, ChangedBy: alice}); err != nil {
					t.Fatal(err)
				}
				var changes []contract.SignatureChange
				for ev := e.nextEventOf(t, ref); ; ev = e.nextEventOf(t, ref) {
					changes = append(changes, ev.Change)
					if ev.Change == contract.ChangeRetriage {
						break
					}
				}
				if !slices.Equal(changes, []contract.SignatureChange{contract.ChangeTagged, contract.ChangeRetriage}) {
					t.Errorf("events %v, want the setup's tagged, then retriage", changes)
				}
			},
		},
		{
			name: "more tags than the most a signature keeps is an invalid request",
			op: func(ref contract.SignatureRef) (contract.SignatureDetail, error) {
				var tags []string
				for i := range contract.MaxTags + 1 {
					tags = append(tags, "t"+strconv.Itoa(i))
				}
				return e.m.Tag(ctx, contract.TagRequest{SignatureRef: ref, ChangedBy: alice, Add: tags})
			},
			wantErr: manage.ErrInvalidRequest,
		},
		{
			name: "a tag with a space is an invalid request",
			op: func(ref contract.SignatureRef) (contract.SignatureDetail, error) {
				return e.m.Tag(ctx, contract.TagRequest{SignatureRef: ref, ChangedBy: alice, Add: []string{"two words"}})
			},
			wantErr: manage.ErrInvalidRequest,
		},
		{
			name: "a tag request with no tag is an invalid request",
			op: func(ref contract.SignatureRef) (contract.SignatureDetail, error) {
				return e.m.Tag(ctx, contract.TagRequest{SignatureRef: ref, ChangedBy: alice})
			},
			wantErr: manage.ErrInvalidRequest,
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := e.signature(t, "TestCase"+string(rune('A'+i)))
			if tt.setup != nil {
				if err := tt.setup(ref); err != nil {
					t.Fatalf("setup: %v", err)
				}
			}
			before, err := e.m.Show(ctx, contract.ShowRequest{SignatureRef: ref})
			if err != nil {
				t.Fatal(err)
			}
			got, err := tt.op(ref)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error %v, want %v", err, tt.wantErr)
				}
				after, err := e.m.Show(ctx, contract.ShowRequest{SignatureRef: ref})
				if err != nil {
					t.Fatal(err)
				}
				if len(after.Audit) != len(before.Audit) || after.Status != before.Status || !slices.Equal(after.Tags, before.Tags) {
					t.Errorf("a refused request changed the signature: %+v, was %+v", after, before)
				}
				return
			}
			if err != nil {
				t.Fatalf("error %v", err)
			}
			if got.ID != ref.ID || got.Project != ref.Project {
				t.Errorf("reply is about %s/%s, want %s/%s", got.Project, got.ID, ref.Project, ref.ID)
			}
			if tt.check != nil {
				tt.check(t, got)
			}
			if tt.wantUnchanged && (len(got.Audit) != len(before.Audit) || got.Status != before.Status || !slices.Equal(got.Tags, before.Tags)) {
				t.Errorf("the signature changed: %+v, was %+v", got, before)
			}
			if tt.wantAction != "" {
				if len(got.Audit) != len(before.Audit)+1 {
					t.Fatalf("audit has %d entries, was %d; want one more", len(got.Audit), len(before.Audit))
				}
				a := got.Audit[len(got.Audit)-1]
				if a.Action != tt.wantAction || a.Actor == "" || !a.At.Equal(t0) || a.To != got.Status {
					t.Errorf("audit entry %+v, want %s at %s by someone, to %s", a, tt.wantAction, t0, got.Status)
				}
				// The reply is what ingest stored.
				shown, err := e.m.Show(ctx, contract.ShowRequest{SignatureRef: ref})
				if err != nil || len(shown.Audit) != len(got.Audit) || shown.Status != got.Status || !slices.Equal(shown.Tags, got.Tags) {
					t.Errorf("show after the change: %+v, %v; want what the change replied", shown, err)
				}
			}
			if tt.wantChange != "" {
				// Skip the setup's events: the operation's is the last.
				var ev contract.SignatureChanged
				for ev = e.nextEventOf(t, ref); ev.Change != tt.wantChange || ev.Transition != tt.wantTransition || ev.Reason != tt.wantReason; ev = e.nextEventOf(t, ref) {
					if ev.Change != contract.ChangeDetected && ev.Change != contract.ChangeStatus && ev.Change != contract.ChangeTagged {
						t.Fatalf("event %s/%s %q, want %s/%s %q", ev.Change, ev.Transition, ev.Reason, tt.wantChange, tt.wantTransition, tt.wantReason)
					}
				}
				if ev.Signature.Status != got.Status {
					t.Errorf("event's signature is %s, want %s", ev.Signature.Status, got.Status)
				}
				// Every event carries the tags, so that report shows them.
				if !slices.Equal(ev.Signature.Tags, got.Tags) {
					t.Errorf("event's signature has tags %v, want %v", ev.Signature.Tags, got.Tags)
				}
			}
		})
	}
}

func TestRetriageEventsAreDistinct(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ref := e.signature(t, "TestRetriage")
	var ids []string
	for range 2 {
		if _, err := e.m.Retriage(ctx, contract.RetriageRequest{SignatureRef: ref, ChangedBy: alice}); err != nil {
			t.Fatal(err)
		}
		var ev contract.SignatureChanged
		for ev = e.nextEventOf(t, ref); ev.Change != contract.ChangeRetriage; ev = e.nextEventOf(t, ref) {
		}
		ids = append(ids, ev.ID)
	}
	// JetStream drops a repeated id, and diagnose handles an id once: a
	// second retriage at the same count must not be taken for the first.
	if ids[0] == ids[1] {
		t.Errorf("two retriages announced with the same id %s", ids[0])
	}
}

func TestListFiltersSortsAndCounts(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.signature(t, "TestA")
	b := e.signature(t, "TestB")
	c := e.signature(t, "TestC")
	// b occurs twice more, c is muted and tagged, a is resolved.
	e.publish(t, e.failure("TestB", "c2"), e.failure("TestB", "c3"))
	eventually(t, "b is counted three times", func() bool {
		d, err := e.m.Show(ctx, contract.ShowRequest{SignatureRef: b})
		return err == nil && d.Occurrences == 3
	})
	if _, err := e.m.Mute(ctx, contract.MuteRequest{SignatureRef: c, ChangedBy: alice}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Tag(ctx, contract.TagRequest{SignatureRef: c, ChangedBy: alice, Add: []string{"critical"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Resolve(ctx, contract.ResolveRequest{SignatureRef: a, ChangedBy: alice}); err != nil {
		t.Fatal(err)
	}
	yes, no := true, false
	tests := []struct {
		name      string
		req       contract.ListRequest
		want      []string // ids, in order
		wantTotal int
		wantErr   error
	}{
		{"everything, most recently seen first", contract.ListRequest{}, []string{b.ID, c.ID, a.ID}, 3, nil},
		{"by count, most first", contract.ListRequest{Sort: contract.SortCount}, []string{b.ID, ids(a, c)[0], ids(a, c)[1]}, 3, nil},
		{"by id", contract.ListRequest{Sort: contract.SortID}, sortedIDs(a, b, c), 3, nil},
		{"by status", contract.ListRequest{Status: contract.StatusMuted}, []string{c.ID}, 1, nil},
		{"by tag", contract.ListRequest{Tag: "critical"}, []string{c.ID}, 1, nil},
		{"by project, none", contract.ListRequest{Project: "billing"}, []string{}, 0, nil},
		{"flaky only, none", contract.ListRequest{Flaky: &yes}, []string{}, 0, nil},
		{"not flaky", contract.ListRequest{Flaky: &no, Sort: contract.SortID}, sortedIDs(a, b, c), 3, nil},
		{"limited, with the total", contract.ListRequest{Limit: 1}, []string{b.ID}, 3, nil},
		{"an unknown status is an invalid request", contract.ListRequest{Status: "gone"}, nil, 0, manage.ErrInvalidRequest},
		{"an unknown sort is an invalid request", contract.ListRequest{Sort: "title"}, nil, 0, manage.ErrInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.m.List(ctx, tt.req)
			if tt.wantErr != nil || err != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error %v, want %v", err, tt.wantErr)
				}
				return
			}
			var have []string
			for _, s := range got.Signatures {
				have = append(have, s.ID)
			}
			if !slices.Equal(have, tt.want) && !(len(have) == 0 && len(tt.want) == 0) {
				t.Errorf("ids %v, want %v", have, tt.want)
			}
			if got.Total != tt.wantTotal {
				t.Errorf("total %d, want %d", got.Total, tt.wantTotal)
			}
		})
	}
	all, err := e.m.List(ctx, contract.ListRequest{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := map[contract.SignatureStatus]int{contract.StatusNew: 1, contract.StatusMuted: 1, contract.StatusResolved: 1}
	if len(all.ByStatus) != len(want) || all.ByStatus[contract.StatusNew] != 1 || all.ByStatus[contract.StatusMuted] != 1 || all.ByStatus[contract.StatusResolved] != 1 {
		t.Errorf("by status %v, want %v (the limit aside)", all.ByStatus, want)
	}
	for _, s := range all.Signatures {
		if s.ID == c.ID && !slices.Equal(s.Tags, []string{"critical"}) {
			t.Errorf("list shows tags %v, want [critical]", s.Tags)
		}
	}
}

func ids(refs ...contract.SignatureRef) []string {
	out := make([]string, 0, len(refs))
	for _, r := range refs {
		out = append(out, r.ID)
	}
	slices.Sort(out)
	return out
}

func sortedIDs(refs ...contract.SignatureRef) []string { return ids(refs...) }

func TestTagsAndAuditSurviveARestart(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ref := e.signature(t, "TestRestart")
	if _, err := e.m.Tag(ctx, contract.TagRequest{SignatureRef: ref, ChangedBy: alice, Add: []string{"critical"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Retriage(ctx, contract.RetriageRequest{SignatureRef: ref, ChangedBy: alice}); err != nil {
		t.Fatal(err)
	}
	e.restart()
	d, err := e.m.Show(ctx, contract.ShowRequest{SignatureRef: ref})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, a := range d.Audit {
		actions = append(actions, a.Actor+":"+a.Action)
	}
	if !slices.Equal(d.Tags, []string{"critical"}) || strings.Join(actions, " ") != "alice:tagged alice:retriage" {
		t.Errorf("after a restart: tags %v, audit %v; want [critical] and the tag and retriage by alice", d.Tags, actions)
	}
}

func TestExportPagesThroughEveryOccurrence(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.signature(t, "TestExportA")
	b := e.signature(t, "TestExportB")
	var more []contract.Failure
	for range 9 {
		more = append(more, e.failure("TestExportB", "c9"))
	}
	e.publish(t, more...)
	eventually(t, "b is counted ten times", func() bool {
		d, err := e.m.Show(ctx, contract.ShowRequest{SignatureRef: b})
		return err == nil && d.Occurrences == 10
	})
	// Pages of about three occurrences: b spans several.
	e.m.SetPageBytes(3 * 150)
	got := map[string][]contract.Occurrence{}
	counts := map[string]int64{}
	var order []string
	req := contract.ExportRequest{}
	pages := 0
	for {
		page, err := e.m.Export(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, s := range page.Signatures {
			if len(order) == 0 || order[len(order)-1] != s.ID {
				order = append(order, s.ID)
			}
			got[s.ID] = append(got[s.ID], s.Occurrences...)
			counts[s.ID] = s.Count
		}
		if page.Next == nil {
			break
		}
		if pages > 20 {
			t.Fatal("export does not end")
		}
		req.After = page.Next
	}
	if pages < 3 {
		t.Errorf("%d pages, want several with a small budget", pages)
	}
	if !slices.Equal(order, sortedIDs(a, b)) {
		t.Errorf("signatures in order %v, want %v", order, sortedIDs(a, b))
	}
	if len(got[a.ID]) != 1 || len(got[b.ID]) != 10 || counts[b.ID] != 10 {
		t.Fatalf("occurrences a %d, b %d (count %d); want 1 and 10", len(got[a.ID]), len(got[b.ID]), counts[b.ID])
	}
	seen := map[string]bool{}
	for _, o := range got[b.ID] {
		if seen[o.EventID] || o.Test == nil || o.Test.Name != "TestExportB" {
			t.Errorf("occurrence %+v repeated or not of TestExportB", o)
		}
		seen[o.EventID] = true
	}
	if _, err := e.m.Export(ctx, contract.ExportRequest{Project: "no.token"}); !errors.Is(err, manage.ErrInvalidRequest) {
		t.Errorf("export of project no.token: %v, want an invalid request", err)
	}
}

func TestOperationsWhileIngestIsStoppedAreUnavailable(t *testing.T) {
	e := newEnv(t)
	e.stop()
	_, err := e.m.List(context.Background(), contract.ListRequest{})
	if !errors.Is(err, manage.ErrUnavailable) || manage.Code(err) != contract.ManageCodeUnavailable {
		t.Errorf("list with ingest stopped: %v (code %d), want unavailable (503)", err, manage.Code(err))
	}
}
