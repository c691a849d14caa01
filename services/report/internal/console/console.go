// Package console is the stdout sink: one readable block per report and
// per change of a signature's lifecycle.
package console

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/report/internal/sink"
)

// Sink prints to a writer.
type Sink struct {
	mu sync.Mutex
	w  io.Writer
}

// New returns the sink printing to w.
func New(w io.Writer) *Sink { return &Sink{w: w} }

// Name is "stdout".
func (s *Sink) Name() string { return sink.Stdout }

// Wants reports and lifecycle changes, not every new or recurring signature.
func (s *Sink) Wants(d *sink.Delivery) bool { return d.TellsAPerson() }

// Deliver prints d as one block ending in a blank line.
func (s *Sink) Deliver(_ context.Context, d *sink.Delivery) error {
	var b strings.Builder
	switch {
	case d.Report != nil:
		writeReport(&b, d.Report)
	case d.Change != nil:
		writeChange(&b, d.Change)
	default:
		return fmt.Errorf("%w: delivery %s carries nothing", sink.ErrPermanent, d.Key)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := io.WriteString(s.w, b.String()); err != nil {
		return fmt.Errorf("print report: %w", err)
	}
	return nil
}

func writeReport(b *strings.Builder, r *contract.ReportPublished) {
	s, d := &r.Signature, &r.Diagnosis
	fmt.Fprintf(b, "● report  %s  %s  %s  [%s] %d occurrence%s\n", r.Time.UTC().Format("2006-01-02 15:04:05Z"), s.Project, s.ID, s.Status, s.Occurrences, plural(s.Occurrences))
	fmt.Fprintf(b, "  %s\n", oneLine(s.Title))
	if len(s.Tags) > 0 {
		fmt.Fprintf(b, "  tags:  %s\n", strings.Join(s.Tags, " "))
	}
	diagnoser := d.Diagnoser
	if d.Model != "" {
		diagnoser += " " + d.Model
	}
	if d.Fallback {
		diagnoser += ", fallback"
	}
	fmt.Fprintf(b, "  %s, %.0f%% confident (%s)\n", d.Category, d.Confidence*100, diagnoser)
	if d.RootCause != "" {
		fmt.Fprintf(b, "  cause: %s\n", oneLine(d.RootCause))
	}
	if d.SuggestedFix != "" {
		fmt.Fprintf(b, "  fix:   %s\n", oneLine(d.SuggestedFix))
	}
	if r.Reported.File != "" {
		fmt.Fprintf(b, "  file:  %s\n", r.Reported.File)
	}
	if r.Reported.IssueURL != "" {
		fmt.Fprintf(b, "  issue: %s\n", r.Reported.IssueURL)
	}
	b.WriteString("\n")
}

func writeChange(b *strings.Builder, c *contract.SignatureChanged) {
	s := &c.Signature
	what := string(c.Change)
	if c.Transition != "" {
		what = string(c.Transition)
	}
	fmt.Fprintf(b, "● %s  %s  %s  %s  [%s] %d occurrence%s\n", what, c.Time.UTC().Format("2006-01-02 15:04:05Z"), s.Project, s.ID, s.Status, s.Occurrences, plural(s.Occurrences))
	fmt.Fprintf(b, "  %s\n", oneLine(s.Title))
	if len(s.Tags) > 0 {
		fmt.Fprintf(b, "  tags:  %s\n", strings.Join(s.Tags, " "))
	}
	if c.Reason != "" {
		fmt.Fprintf(b, "  why:   %s\n", oneLine(c.Reason))
	}
	b.WriteString("\n")
}

// oneLine keeps one line of at most 200 bytes of text from a failing
// program, so a block stays a block.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		cut := 200
		for cut > 0 && s[cut]&0xC0 == 0x80 { // do not split a rune
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func plural(n int64) string {
	if n == 1 {
		return ""
	}
	return "s"
}
