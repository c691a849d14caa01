package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rounds-dev/rounds/pkg/client"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/logging"
	"github.com/rounds-dev/rounds/pkg/messaging"
	"github.com/rounds-dev/rounds/pkg/testreport"
)

func publish(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "publish", "publish --project P [--run-id ID] [--commit SHA] [--branch B] [--attempt N] FILE|GLOB|- ...\n\n"+
		"Publishes the failed tests in JUnit XML files, go test -json streams and\n"+
		"Rounds JSON files (one failure event per line; - reads stdin), the format\n"+
		"told by the content, and then, for each JUnit or go test file, a run report\n"+
		"listing the tests that passed, so that flaky tests show. Every file is\n"+
		"parsed before anything is published: if one cannot be parsed, nothing is\n"+
		"published.")
	url := natsURLFlag(fs)
	var opts testreport.Options
	fs.StringVar(&opts.Project, "project", "", "project the failures belong to (required)")
	fs.StringVar(&opts.RunID, "run-id", "", "CI run id; republishing a report with the same run id counts nothing twice (default: a new id per call)")
	fs.StringVar(&opts.Commit, "commit", "", "commit the tests ran on")
	fs.StringVar(&opts.Branch, "branch", "", "branch the tests ran on")
	fs.StringVar(&opts.CIURL, "ci-url", "", "link to the CI run")
	fs.IntVar(&opts.Attempt, "attempt", 0, "attempt of the CI run when CI runs it again under the same run id (GitHub's run_attempt); 0: unknown")
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait for NATS")
	operands, err := parse(fs, env, args)
	if err != nil {
		return err
	}
	if opts.Project == "" {
		return usageError("--project is required")
	}
	if !contract.ValidToken(opts.Project) {
		return usageError("--project %q: use 1-64 of A-Z a-z 0-9 - _", opts.Project)
	}
	if opts.Attempt < 0 {
		return usageError("--attempt %d: use 1 or more, or 0 for unknown", opts.Attempt)
	}
	if len(operands) == 0 {
		return usageError("name at least one file, glob or - for stdin")
	}
	if opts.RunID == "" {
		opts.RunID = newRunID()
	}
	opts.Time = time.Now().UTC()

	files, err := expand(operands)
	if err != nil {
		return err
	}
	var failures []contract.Failure
	var runs []fileRun
	messages := 0
	for _, name := range files {
		rep, err := parseFile(env, name, opts)
		if err != nil {
			return fmt.Errorf("%w (nothing was published)", err)
		}
		failures = append(failures, rep.Failures...)
		if !rep.ListsTests() {
			continue
		}
		run := rep.RunReported()
		// Cut now only to refuse what cannot be published before
		// anything is; PublishRun cuts again.
		chunks, err := run.Chunks(contract.RunChunkBytes)
		if err != nil {
			return fmt.Errorf("%s: run report: %w (nothing was published)", name, err)
		}
		messages += len(chunks)
		runs = append(runs, fileRun{name: name, run: run, passed: len(rep.Passed)})
	}
	messages += len(failures)

	ctx, cancel := context.WithTimeout(ctx, *timeout+time.Duration(messages)*time.Millisecond)
	defer cancel()
	nc, err := messaging.Connect(ctx, *url, "rounds-publish", *timeout, logging.Discard())
	if err != nil {
		return err
	}
	defer nc.Close()
	c, err := client.New(nc)
	if err != nil {
		return err
	}
	res, err := c.PublishFailures(ctx, failures)
	if err != nil {
		return err
	}
	var passed, passedBefore, runsPublished int
	for _, fr := range runs {
		rr, err := c.PublishRun(ctx, fr.run)
		if errors.Is(err, client.ErrRunsNotProvisioned) {
			// The failures are what matters; a CI job must not fail
			// because the Rounds services are older than this command.
			fmt.Fprintf(env.Stderr, "rounds publish: warning: the passed tests were not published: %v\n", err)
			break
		}
		if err != nil {
			return fmt.Errorf("%s: publish run report (the failures were published): %w", fr.name, err)
		}
		runsPublished++
		// A run report published before is dropped whole by JetStream.
		if rr.Published == 0 && rr.Duplicates > 0 {
			passedBefore += fr.passed
		} else {
			passed += fr.passed
		}
	}
	failureSubject, _ := contract.FailureSubject(opts.Project)
	fmt.Fprintf(env.Stdout, "published %s and %s from %d file%s to %s", count(res.Published, "failure"), count(passed, "passed test"), len(files), plural(int64(len(files))), failureSubject)
	if runsPublished > 0 {
		runSubject, _ := contract.RunSubject(opts.Project)
		fmt.Fprintf(env.Stdout, " and %s", runSubject)
	}
	fmt.Fprintf(env.Stdout, " (run %s)", opts.RunID)
	if res.Duplicates > 0 || passedBefore > 0 {
		fmt.Fprintf(env.Stdout, "; %s and %s already published", count(res.Duplicates, "failure"), count(passedBefore, "passed test"))
	}
	fmt.Fprintln(env.Stdout)
	return nil
}

// fileRun is the run report of one file, to publish after the failures.
type fileRun struct {
	name   string
	run    contract.RunReported
	passed int
}

// count says "1 failure", "2 failures".
func count(n int, what string) string {
	return fmt.Sprintf("%d %s%s", n, what, plural(int64(n)))
}

// expand turns globs into file names; a name that is not a pattern is kept
// as it is, so a missing file is reported by name when it is opened.
func expand(args []string) ([]string, error) {
	var files []string
	for _, a := range args {
		if a == "-" {
			files = append(files, a)
			continue
		}
		matches, err := filepath.Glob(a)
		if err != nil {
			return nil, usageError("bad pattern %q: %v", a, err)
		}
		if len(matches) == 0 {
			files = append(files, a)
			continue
		}
		files = append(files, matches...)
	}
	return files, nil
}

func parseFile(env Env, name string, opts testreport.Options) (testreport.Report, error) {
	if name == "-" {
		return testreport.ParseReport("stdin", env.Stdin, opts)
	}
	f, err := os.Open(name)
	if err != nil {
		return testreport.Report{}, fmt.Errorf("open report: %w", err)
	}
	defer f.Close()
	return testreport.ParseReport(name, f, opts)
}

// newRunID names a run the caller did not name: every call is a new run.
func newRunID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "local-" + time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b[:])
}
