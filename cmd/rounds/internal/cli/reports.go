package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rounds-dev/rounds/pkg/client"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/logging"
	"github.com/rounds-dev/rounds/pkg/messaging"
)

func reports(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "reports", "reports --follow [--project P] [--json]\n\nPrints each report event as it arrives until interrupted.")
	url := natsURLFlag(fs)
	follow := fs.Bool("follow", false, "wait for report events and print each as it arrives")
	project := fs.String("project", "", "only this project's reports (default: every project)")
	asJSON := fs.Bool("json", false, "print one JSON object per line")
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait for NATS")
	operands, err := parse(fs, env, args)
	if err != nil {
		return err
	}
	if len(operands) > 0 {
		return usageError("unexpected arguments: %s", joinUsage(operands))
	}
	if !*follow {
		return usageError("--follow is required: rounds reports prints report events as they arrive (past reports are the files under --reports-dir)")
	}
	if *project != "" && !contract.ValidToken(*project) {
		return usageError("--project %q: use 1-64 of A-Z a-z 0-9 - _", *project)
	}
	nc, err := messaging.Connect(ctx, *url, "rounds-reports", *timeout, logging.Discard())
	if err != nil {
		return err
	}
	defer nc.Close()
	c, err := client.New(nc)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(env.Stdout)
	return c.FollowReports(ctx, *project, func(r contract.ReportPublished, err error) error {
		if err != nil {
			fmt.Fprintf(env.Stderr, "rounds reports: skipping a report event: %v\n", err)
			return nil
		}
		if *asJSON {
			return enc.Encode(r)
		}
		printReport(env.Stdout, &r)
		return nil
	})
}

// printReport writes one readable block per report.
func printReport(w io.Writer, r *contract.ReportPublished) {
	s, d := &r.Signature, &r.Diagnosis
	fmt.Fprintf(w, "● %s  %s  %s  [%s] %d occurrence%s\n", r.Time.Local().Format("2006-01-02 15:04:05"), s.Project, s.ID, s.Status, s.Occurrences, plural(s.Occurrences))
	fmt.Fprintf(w, "  %s\n", s.Title)
	fmt.Fprintf(w, "  %s, %.0f%% confident (%s)\n", d.Category, d.Confidence*100, diagnoser(d))
	if d.RootCause != "" {
		fmt.Fprintf(w, "  cause: %s\n", oneLine(d.RootCause))
	}
	if d.SuggestedFix != "" {
		fmt.Fprintf(w, "  fix:   %s\n", oneLine(d.SuggestedFix))
	}
	if r.Reported.File != "" {
		fmt.Fprintf(w, "  file:  %s\n", r.Reported.File)
	}
	if r.Reported.IssueURL != "" {
		fmt.Fprintf(w, "  issue: %s\n", r.Reported.IssueURL)
	}
	fmt.Fprintln(w)
}

func diagnoser(d *contract.Diagnosis) string {
	s := d.Diagnoser
	if d.Model != "" {
		s += " " + d.Model
	}
	if d.Fallback {
		s += ", fallback"
	}
	return s
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

func plural(n int64) string {
	if n == 1 {
		return ""
	}
	return "s"
}
