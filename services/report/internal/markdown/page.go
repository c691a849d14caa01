package markdown

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/report/internal/sink"
)

// SummaryName is the summary's path relative to the reports directory.
const SummaryName = "summary.md"

// PageName returns the path of a signature's page relative to the reports
// directory: <project>/<error-type>_<signature-id>.md, each part sanitized
// as in FileName. It depends on what never changes for a signature, so the
// page is rewritten in place; it always has a directory, so it never
// collides with SummaryName.
func PageName(project, errorType, signatureID string) string {
	return sanitize(project) + "/" + sanitize(errorType) + "_" + sanitize(signatureID) + ".md"
}

// RenderPage renders a signature's page: the report of its latest
// diagnosis (or the signature alone while it has none) followed by its
// history, newest first.
func RenderPage(p sink.Page) []byte {
	history := func(b *strings.Builder) { writeHistory(b, p.History) }
	if p.Diagnosis != nil {
		ev := *p.Diagnosis
		ev.Signature = p.Signature
		return render(ev, history)
	}
	var b strings.Builder
	b.WriteString("# " + heading(title(p.Signature)) + "\n\n")
	writeSignature(&b, p.Signature)
	b.WriteString("\n## Diagnosis\n\n_Not diagnosed yet._\n")
	b.WriteString("\n## Grouping\n\n")
	writeGrouping(&b, p.Signature)
	history(&b)
	return []byte(b.String())
}

// writeHistory writes the history section, newest entry first.
func writeHistory(b *strings.Builder, entries []sink.Entry) {
	b.WriteString("\n## History\n\n")
	if len(entries) == 0 {
		b.WriteString("_Nothing happened yet._\n")
		return
	}
	b.WriteString("| Time | What | Occurrences | Details |\n| --- | --- | --- | --- |\n")
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		var details []string
		if e.DiagnosisID != "" {
			details = append(details, fmt.Sprintf("diagnosis %s: %s, %s confident", cellCode(e.DiagnosisID), cellText(orUnknown(e.Category)), percent(e.Confidence)))
		}
		if e.Commit != "" {
			details = append(details, "commit "+cellCode(e.Commit))
		}
		if e.Reason != "" {
			details = append(details, cellText(e.Reason))
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", timestamp(e.Time), cellText(e.What), strconv.FormatInt(e.Occurrences, 10), strings.Join(details, "; "))
	}
}

// statusOrder lists the sections of the summary, most urgent first.
var statusOrder = []contract.SignatureStatus{
	contract.StatusRegressed, contract.StatusNew, contract.StatusDiagnosing,
	contract.StatusDiagnosed, contract.StatusMuted, contract.StatusResolved,
}

// RenderSummary renders summary.md: every signature by status, most urgent
// status first, most recently seen first within a status, each linking to
// its page.
func RenderSummary(pages []sink.Page) []byte {
	byStatus := map[contract.SignatureStatus][]sink.Page{}
	for _, p := range pages {
		byStatus[p.Signature.Status] = append(byStatus[p.Signature.Status], p)
	}
	order := slices.Clone(statusOrder)
	var other []contract.SignatureStatus
	for s := range byStatus {
		if !slices.Contains(order, s) {
			other = append(other, s)
		}
	}
	slices.Sort(other)
	order = append(order, other...)

	var b strings.Builder
	b.WriteString("# Rounds summary\n\n")
	fmt.Fprintf(&b, "%d signature%s.\n", len(pages), plural(len(pages)))
	for _, status := range order {
		ps := byStatus[status]
		if len(ps) == 0 {
			continue
		}
		slices.SortStableFunc(ps, func(a, b sink.Page) int {
			return cmp.Or(b.Signature.LastSeen.Compare(a.Signature.LastSeen), cmp.Compare(a.Signature.ID, b.Signature.ID))
		})
		fmt.Fprintf(&b, "\n## %s (%d)\n\n", heading(orUnknown(string(status))), len(ps))
		b.WriteString("| Signature | Project | Title | Occurrences | Last seen | Flags |\n| --- | --- | --- | --- | --- | --- |\n")
		for _, p := range ps {
			s := p.Signature
			var flags []string
			if s.Flaky {
				flags = append(flags, "flaky")
			}
			if s.Regressed {
				flags = append(flags, "regressed")
			}
			if len(s.Tags) > 0 {
				flags = append(flags, tags(s.Tags, cellCode))
			}
			fmt.Fprintf(&b, "| [%s](%s) | %s | %s | %d | %s | %s |\n",
				cellText(s.ID), linkTarget(p.File), cellCode(s.Project), cellText(title(s)), s.Occurrences, timestamp(s.LastSeen), strings.Join(flags, ", "))
		}
	}
	return []byte(b.String())
}

// linkTarget makes a relative link of a page name: page names are built
// from sanitized parts, so only the characters a link could trip on need
// escaping.
func linkTarget(rel string) string {
	return strings.NewReplacer(" ", "%20", "(", "%28", ")", "%29").Replace(rel)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
