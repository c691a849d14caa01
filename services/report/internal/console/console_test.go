package console

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/report/internal/sink"
)

func TestDeliverPrintsOneBlockPerDelivery(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	sig := contract.Signature{
		ID: "sig_1", Project: "shop", Title: "TestCheckout:\n  total   = 3,\twant 4",
		Status: contract.StatusDiagnosed, Occurrences: 3, Tags: []string{"checkout", "team:payments"},
	}
	report := &contract.ReportPublished{
		Time: at, Signature: sig,
		Diagnosis: contract.Diagnosis{Category: "assertion", Confidence: 0.8, Diagnoser: "heuristic", RootCause: "off by one", SuggestedFix: "add one"},
	}
	report.Reported.File = "shop/Err_sig_1.md"
	muted := sig
	muted.Status, muted.Tags, muted.Occurrences = contract.StatusMuted, nil, 1
	tests := []struct {
		name    string
		d       sink.Delivery
		want    []string
		notWant []string
		wantErr error
	}{
		{
			name: "a report prints its signature, tags, diagnosis and file",
			d:    sink.Delivery{Key: "d1", Kind: sink.KindReport, Report: report},
			want: []string{
				"● report  2026-03-01 12:00:00Z  shop  sig_1  [diagnosed] 3 occurrences\n",
				"  TestCheckout: total = 3, want 4\n", // one line, whatever the title holds
				"  tags:  checkout team:payments\n",
				"  assertion, 80% confident (heuristic)\n",
				"  cause: off by one\n", "  fix:   add one\n", "  file:  shop/Err_sig_1.md\n",
			},
		},
		{
			name: "a status change prints its transition and why, and no tags when there are none",
			d: sink.Delivery{Key: "d2", Kind: sink.KindChange, Change: &contract.SignatureChanged{
				Time: at, Change: contract.ChangeStatus, Transition: contract.TransitionMuted, Signature: muted, Reason: "muted by alice: known",
			}},
			want:    []string{"● muted  2026-03-01 12:00:00Z  shop  sig_1  [muted] 1 occurrence\n", "  why:   muted by alice: known\n"},
			notWant: []string{"tags:"},
		},
		{
			name:    "a delivery carrying nothing is refused for good",
			d:       sink.Delivery{Key: "d3", Kind: sink.KindReport},
			wantErr: sink.ErrPermanent,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			err := New(&out).Deliver(context.Background(), &tt.d)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || out.Len() != 0 {
					t.Fatalf("error %v, printed %q; want %v and nothing printed", err, out.String(), tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := out.String()
			if !strings.HasSuffix(got, "\n\n") || strings.Count(got, "\n\n") != 1 {
				t.Errorf("not one block ending in a blank line:\n%s", got)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in:\n%s", w, got)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(got, w) {
					t.Errorf("unexpected %q in:\n%s", w, got)
				}
			}
		})
	}
}
