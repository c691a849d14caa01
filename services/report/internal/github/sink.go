package github

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/report/internal/markdown"
	"github.com/rounds-dev/rounds/services/report/internal/sink"
)

// Labels the sink sets.
const (
	LabelRounds    = "rounds"
	LabelFlaky     = "flaky"
	LabelRegressed = "regressed"
)

// maxBody keeps an issue body under GitHub's limit of 65536 characters.
const maxBody = 60000

// Issues maps signatures to their issues.
type Issues interface {
	Issue(signatureID string) (*sink.Issue, error)
	SetIssue(signatureID string, is sink.Issue) error
}

// Sink keeps one issue per signature.
type Sink struct {
	client *Client
	issues Issues
}

// NewSink returns the sink using client, remembering issues in issues.
func NewSink(client *Client, issues Issues) *Sink { return &Sink{client: client, issues: issues} }

// Name is "github".
func (s *Sink) Name() string { return sink.GitHub }

// Wants reports, lifecycle changes (regressed, flaky, status) and tag
// changes (the issue's labels follow the signature's tags).
func (s *Sink) Wants(d *sink.Delivery) bool {
	return d.TellsAPerson() || d.Change != nil && d.Change.Change == contract.ChangeTagged
}

// maxLabel is the longest label name GitHub takes; a longer tag is not
// made a label.
const maxLabel = 50

// tagLabels are the tags that can be labels.
func tagLabels(tags []string) []string {
	var out []string
	for _, t := range tags {
		if len(t) <= maxLabel {
			out = append(out, t)
		}
	}
	return out
}

// Deliver opens the signature's issue on its first report and comments on
// later ones; a lifecycle change comments and opens, closes or labels the
// issue. A change of a signature that has no issue (never diagnosed, or
// diagnosed before this sink was on) does nothing. Idempotent steps (state,
// labels) come before the comment, so a retry after a failed comment does
// not comment twice.
func (s *Sink) Deliver(ctx context.Context, d *sink.Delivery) error {
	is, err := s.issues.Issue(d.SignatureID)
	if err != nil {
		return err
	}
	switch {
	case d.Report != nil:
		if is == nil {
			return s.open(ctx, d.Report)
		}
		return s.client.Comment(ctx, is.Number, diagnosisComment(d.Report))
	case d.Change != nil:
		if is == nil {
			return nil
		}
		if d.Change.Change == contract.ChangeTagged {
			return s.retag(ctx, d.SignatureID, *is, d.Change.Signature.Tags)
		}
		return s.change(ctx, is.Number, d.Change)
	}
	return fmt.Errorf("%w: delivery %s carries nothing", sink.ErrPermanent, d.Key)
}

func (s *Sink) open(ctx context.Context, r *contract.ReportPublished) error {
	labels := []string{LabelRounds}
	if r.Signature.Flaky {
		labels = append(labels, LabelFlaky)
	}
	if r.Signature.Regressed {
		labels = append(labels, LabelRegressed)
	}
	tags := tagLabels(r.Signature.Tags)
	for _, t := range tags {
		if !slices.Contains(labels, t) {
			labels = append(labels, t)
		}
	}
	created, err := s.client.CreateIssue(ctx, issueTitle(r.Signature), issueBody(r), labels)
	if err != nil {
		return err
	}
	// Recorded at once: a failure from here on retries the delivery, which
	// then comments instead of opening a second issue.
	return s.issues.SetIssue(r.Signature.ID, sink.Issue{Number: created.Number, URL: created.HTMLURL, Tags: tags})
}

// retag makes the issue's labels follow the signature's tags: the new ones
// added, the ones removed since the issue's last labels taken off (labels
// people added by hand stay). No comment: a tag is not news. Each step
// can be repeated, so a retry after a failure is safe.
func (s *Sink) retag(ctx context.Context, sigID string, is sink.Issue, tags []string) error {
	want := tagLabels(tags)
	var add []string
	for _, t := range want {
		if !slices.Contains(is.Tags, t) {
			add = append(add, t)
		}
	}
	if len(add) > 0 {
		if err := s.client.AddLabels(ctx, is.Number, add...); err != nil {
			return err
		}
	}
	for _, t := range is.Tags {
		if slices.Contains(want, t) || t == LabelRounds || t == LabelFlaky || t == LabelRegressed {
			continue
		}
		if err := s.client.RemoveLabel(ctx, is.Number, t); err != nil {
			return err
		}
	}
	if slices.Equal(is.Tags, want) {
		return nil
	}
	is.Tags = want
	return s.issues.SetIssue(sigID, is)
}

func (s *Sink) change(ctx context.Context, n int, c *contract.SignatureChanged) error {
	transition := c.Transition
	if c.Change == contract.ChangeRegressed {
		transition = contract.TransitionRegressed
	}
	var err error
	switch {
	case c.Change == contract.ChangeFlaky:
		err = s.client.AddLabels(ctx, n, LabelFlaky)
	case transition == contract.TransitionRegressed:
		if err = s.client.SetState(ctx, n, "open", "reopened"); err == nil {
			err = s.client.AddLabels(ctx, n, LabelRegressed)
		}
	case transition == contract.TransitionResolved || transition == contract.TransitionAutoResolved:
		err = s.client.SetState(ctx, n, "closed", "completed")
	case transition == contract.TransitionMuted:
		err = s.client.SetState(ctx, n, "closed", "not_planned")
	case transition == contract.TransitionUnmuted || transition == contract.TransitionReopened:
		err = s.client.SetState(ctx, n, "open", "reopened")
	default:
		return nil // a status event without a transition: nothing to tell
	}
	if err != nil {
		return err
	}
	return s.client.Comment(ctx, n, changeComment(c, transition))
}

func issueTitle(sig contract.Signature) string {
	t := strings.Join(strings.Fields(sig.Title), " ")
	if t == "" {
		t = sig.ErrorType
	}
	if t == "" {
		t = "signature " + sig.ID
	}
	t = "[rounds] " + t
	if len(t) > 200 {
		cut := 200
		for cut > 0 && t[cut]&0xC0 == 0x80 {
			cut--
		}
		t = t[:cut] + "…"
	}
	return t
}

// issueBody is the markdown report, with a marker naming the signature so
// a person (or a later tool) can find its issue.
func issueBody(r *contract.ReportPublished) string {
	diagnosisID := strings.TrimPrefix(r.ID, "report.")
	b := string(markdown.Render(contract.DiagnosisCompleted{ID: diagnosisID, Time: r.Time, Signature: r.Signature, Diagnosis: r.Diagnosis}))
	return capBody(b) + "\n<!-- rounds-signature: " + r.Signature.ID + " -->\n"
}

func diagnosisComment(r *contract.ReportPublished) string {
	d := r.Diagnosis
	var b strings.Builder
	fmt.Fprintf(&b, "**New diagnosis** (%s, %.0f%% confident, by %s)\n\n", d.Category, d.Confidence*100, d.Diagnoser)
	if d.RootCause != "" {
		b.WriteString("**Root cause:** " + d.RootCause + "\n\n")
	}
	if d.SuggestedFix != "" {
		b.WriteString("**Suggested fix:** " + d.SuggestedFix + "\n\n")
	}
	fmt.Fprintf(&b, "Occurrences so far: %d, last seen %s.\n", r.Signature.Occurrences, r.Signature.LastSeen.UTC().Format("2006-01-02T15:04:05Z"))
	return capBody(b.String())
}

func changeComment(c *contract.SignatureChanged, transition contract.SignatureTransition) string {
	what := string(transition)
	if c.Change == contract.ChangeFlaky {
		what = "flaky"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "**Signature %s** at %s (%d occurrences).\n", what, c.Time.UTC().Format("2006-01-02T15:04:05Z"), c.Signature.Occurrences)
	if c.Reason != "" {
		b.WriteString("\n" + c.Reason + "\n")
	}
	if c.Signature.LastCommit != "" && transition == contract.TransitionRegressed {
		fmt.Fprintf(&b, "\nLast seen on commit `%s`.\n", strings.ReplaceAll(c.Signature.LastCommit, "`", ""))
	}
	return capBody(b.String())
}

func capBody(s string) string {
	if len(s) <= maxBody {
		return s
	}
	cut := maxBody
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "\n\n_(cut)_\n"
}
