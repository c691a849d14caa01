package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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
	fs := newFlagSet(env, "publish", "publish --project P [--run-id ID] [--commit SHA] [--branch B] FILE|GLOB|- ...\n\n"+
		"Publishes the failures in JUnit XML files and Rounds JSON files (one failure\n"+
		"event per line; - reads stdin). Every file is parsed before anything is\n"+
		"published: if one cannot be parsed, nothing is published.")
	url := natsURLFlag(fs)
	var opts testreport.Options
	fs.StringVar(&opts.Project, "project", "", "project the failures belong to (required)")
	fs.StringVar(&opts.RunID, "run-id", "", "CI run id; republishing a report with the same run id counts nothing twice (default: a new id per call)")
	fs.StringVar(&opts.Commit, "commit", "", "commit the tests ran on")
	fs.StringVar(&opts.Branch, "branch", "", "branch the tests ran on")
	fs.StringVar(&opts.CIURL, "ci-url", "", "link to the CI run")
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
	for _, name := range files {
		fs, err := parseFile(env, name, opts)
		if err != nil {
			return fmt.Errorf("%w (nothing was published)", err)
		}
		failures = append(failures, fs...)
	}

	ctx, cancel := context.WithTimeout(ctx, *timeout+time.Duration(len(failures))*time.Millisecond)
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
	subject, _ := contract.FailureSubject(opts.Project)
	fmt.Fprintf(env.Stdout, "published %d failure%s from %d file%s to %s (run %s)", res.Published, plural(int64(res.Published)), len(files), plural(int64(len(files))), subject, opts.RunID)
	if res.Duplicates > 0 {
		fmt.Fprintf(env.Stdout, "; %d already published", res.Duplicates)
	}
	fmt.Fprintln(env.Stdout)
	return nil
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

func parseFile(env Env, name string, opts testreport.Options) ([]contract.Failure, error) {
	if name == "-" {
		return testreport.Parse("stdin", env.Stdin, opts)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("open report: %w", err)
	}
	defer f.Close()
	return testreport.Parse(name, f, opts)
}

// newRunID names a run the caller did not name: every call is a new run.
func newRunID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "local-" + time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b[:])
}
