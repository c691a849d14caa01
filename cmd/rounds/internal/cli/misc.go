package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"

	"github.com/rounds-dev/rounds/services/ingest/grouping"
)

func version(_ context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "version", "version")
	operands, err := parse(fs, env, args)
	if err != nil {
		return err
	}
	if len(operands) > 0 {
		return usageError("unexpected arguments: %s", joinUsage(operands))
	}
	fmt.Fprintf(env.Stdout, "rounds %s\n", env.Version)
	return nil
}

// template prints one group key per input line, in order: the grouping
// debugger, and the hook of the log-template benchmark.
func template(_ context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "template", "template < messages\n\nPrints the grouping template of each line of stdin, one per line.")
	operands, err := parse(fs, env, args)
	if err != nil {
		return err
	}
	if len(operands) > 0 {
		return usageError("unexpected arguments: %s", joinUsage(operands))
	}
	in := bufio.NewReaderSize(env.Stdin, 1<<20)
	out := bufio.NewWriterSize(env.Stdout, 1<<16)
	defer out.Flush()
	for {
		line, err := in.ReadString('\n')
		if len(line) > 0 {
			if line[len(line)-1] == '\n' {
				line = line[:len(line)-1]
			}
			if _, werr := fmt.Fprintln(out, grouping.Template(line)); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read stdin: %w", err)
		}
	}
}
