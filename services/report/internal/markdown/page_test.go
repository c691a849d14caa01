package markdown

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/report/internal/sink"
)

func TestPageNameStaysInsideTheReportsDirectory(t *testing.T) {
	tests := []struct {
		name                string
		project, typ, sigID string
		want                string
	}{
		{"a plain signature", "shop", "AssertionError", "3f2a", "shop/AssertionError_3f2a.md"},
		{"traversal in every part cannot climb out", "..", "../../etc/passwd", "../../../root/.ssh/id_rsa", "unknown/etc_passwd_root_.ssh_id_rsa.md"},
		{"an absolute project is not a root", "/etc", "x", "s1", "etc/x_s1.md"},
		{"backslashes cannot make a windows path", `C:\Windows`, `..\..\boot.ini`, "s1", "C_Windows/boot.ini_s1.md"},
		{"a NUL byte is dropped", "shop\x00", "E\x00rr", "s1", "shop/E_rr_s1.md"},
		{"empty parts become unknown", "", "", "", "unknown/unknown_unknown.md"},
		{"a name like the summary still has a directory", "summary.md", "", "", "summary.md/unknown_unknown.md"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PageName(tt.project, tt.typ, tt.sigID)
			if got != tt.want {
				t.Errorf("PageName = %q, want %q", got, tt.want)
			}
			if _, err := checkRel("/reports", got); err != nil {
				t.Errorf("Write would refuse %q: %v", got, err)
			}
		})
	}
}

// fakePages serves pages from memory; the store is tested on its own.
type fakePages map[string]sink.Page

func (f fakePages) Page(id string) (*sink.Page, error) {
	p, ok := f[id]
	if !ok {
		return nil, nil
	}
	return &p, nil
}

func (f fakePages) Pages() ([]sink.Page, error) {
	var out []sink.Page
	for _, p := range f {
		out = append(out, p)
	}
	return out, nil
}

func pageOf(id string, status contract.SignatureStatus, lastSeen time.Time, occurrences int64) sink.Page {
	sig := contract.Signature{ID: id, Project: "shop", Title: "Title of " + id, ErrorType: "Err", Status: status, Occurrences: occurrences, LastSeen: lastSeen}
	return sink.Page{Signature: sig, File: PageName(sig.Project, sig.ErrorType, id)}
}

func TestTheSummaryListsSignaturesByStatusThenLastSeen(t *testing.T) {
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	flaky := pageOf("s-new-old", contract.StatusNew, day, 2)
	flaky.Signature.Flaky = true
	flaky.Signature.Tags = []string{"checkout", "team:payments"}
	got := string(RenderSummary([]sink.Page{
		pageOf("s-resolved", contract.StatusResolved, day.Add(5*time.Hour), 9),
		flaky,
		pageOf("s-new-recent", contract.StatusNew, day.Add(time.Hour), 1),
		pageOf("s-regressed", contract.StatusRegressed, day, 4),
	}))
	want := `# Rounds summary

4 signatures.

## regressed (1)

| Signature | Project | Title | Occurrences | Last seen | Flags |
| --- | --- | --- | --- | --- | --- |
| [s-regressed](shop/Err_s-regressed.md) | ` + "`shop`" + ` | Title of s-regressed | 4 | 2026-03-01T00:00:00Z |  |

## new (2)

| Signature | Project | Title | Occurrences | Last seen | Flags |
| --- | --- | --- | --- | --- | --- |
| [s-new-recent](shop/Err_s-new-recent.md) | ` + "`shop`" + ` | Title of s-new-recent | 1 | 2026-03-01T01:00:00Z |  |
| [s-new-old](shop/Err_s-new-old.md) | ` + "`shop`" + ` | Title of s-new-old | 2 | 2026-03-01T00:00:00Z | flaky, ` + "`checkout` `team:payments`" + ` |

## resolved (1)

| Signature | Project | Title | Occurrences | Last seen | Flags |
| --- | --- | --- | --- | --- | --- |
| [s-resolved](shop/Err_s-resolved.md) | ` + "`shop`" + ` | Title of s-resolved | 9 | 2026-03-01T05:00:00Z |  |
`
	if got != want {
		t.Errorf("summary:\n%s\nwant:\n%s", got, want)
	}
}

func TestTheSinkRewritesThePageInPlace(t *testing.T) {
	dir := t.TempDir()
	p := pageOf("s1", contract.StatusNew, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), 1)
	p.Add(sink.Entry{EventID: "e1", What: "detected", Occurrences: 1})
	pages := fakePages{"s1": p}
	s := NewSink(dir, pages)
	d := &sink.Delivery{Key: "e1", SignatureID: "s1"}
	if err := s.Deliver(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	p.Signature.Status = contract.StatusResolved
	p.Add(sink.Entry{EventID: "e2", What: "resolved", Occurrences: 1, Reason: "fixed | by hand"})
	pages["s1"] = p
	if err := s.Deliver(context.Background(), &sink.Delivery{Key: "e2", SignatureID: "s1"}); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(dir, "shop"))
	if err != nil || len(entries) != 1 || entries[0].Name() != "Err_s1.md" {
		t.Fatalf("shop/ holds %v (%v), want only the page", entries, err)
	}
	body, _ := os.ReadFile(filepath.Join(dir, "shop", "Err_s1.md"))
	if !strings.Contains(string(body), "| Status | resolved |") || !strings.Contains(string(body), `| resolved | 1 | fixed \| by hand |`) {
		t.Errorf("page:\n%s", body)
	}
	// The summary waits for the runner to settle the sink.
	if _, err := os.Stat(filepath.Join(dir, SummaryName)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("summary written on delivery (%v); want it written on Settle", err)
	}
	if err := s.Settle(context.Background()); err != nil {
		t.Fatal(err)
	}
	if summary, _ := os.ReadFile(filepath.Join(dir, SummaryName)); !strings.Contains(string(summary), "## resolved (1)") {
		t.Errorf("summary:\n%s", summary)
	}
}

func TestTheSinkDropsADeliveryOfAnUnknownSignature(t *testing.T) {
	err := NewSink(t.TempDir(), fakePages{}).Deliver(context.Background(), &sink.Delivery{Key: "e", SignatureID: "nope"})
	if err == nil || !strings.Contains(err.Error(), "no page") {
		t.Errorf("Deliver = %v, want a permanent error", err)
	}
}
