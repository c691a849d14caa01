// Package claudecode is the claude-code diagnoser: it runs the Claude Code
// CLI headless in the project's codebase, with read-only tools, a turn
// limit and a wall-clock limit, and reads the diagnosis from its JSON
// answer.
package claudecode

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/diagnose/internal/heuristic"
	"github.com/rounds-dev/rounds/services/diagnose/internal/prompt"
)

// Name is the diagnoser's name, in Diagnosis.Diagnoser.
const Name = "claude-code"

// Errors wrapped in the *prompt.CallError that Diagnose returns.
var (
	// ErrNotInstalled means the CLI binary was not found or cannot run
	// (permanent).
	ErrNotInstalled = errors.New("claude CLI not installed")
	// ErrTimeout means the CLI did not answer within the wall-clock limit
	// and was killed (transient).
	ErrTimeout = errors.New("timed out")
	// ErrExit means the CLI exited with an error and printed no result
	// (transient).
	ErrExit = errors.New("claude CLI failed")
	// ErrMalformed means the CLI's output is not the JSON result it should
	// print (transient).
	ErrMalformed = errors.New("malformed output")
	// ErrResult means the CLI reported an error result (transient).
	ErrResult = errors.New("error result")
	// ErrOverLimit means the CLI stopped at its turn or dollar limit (over
	// limit).
	ErrOverLimit = errors.New("stopped at its limit")
)

const (
	// stderrBytes is how much of the CLI's standard error is kept for an
	// error message.
	stderrBytes = 64 << 10
	// quotedBytes is how much of the CLI's result or standard error an
	// error message quotes.
	quotedBytes = 300
)

// DefaultAllowedTools returns the read-only tools the CLI may use without
// asking: reading and searching files, and reading git history.
func DefaultAllowedTools() []string {
	return []string{"Read", "Grep", "Glob", "LS", "Bash(git log:*)", "Bash(git show:*)", "Bash(git blame:*)"}
}

// DefaultDisallowedTools returns the tools denied outright, in case the
// CLI's settings would allow them: anything that writes or reaches the
// network.
func DefaultDisallowedTools() []string {
	return []string{"Edit", "MultiEdit", "Write", "NotebookEdit", "WebFetch", "WebSearch"}
}

// Hinter gives a first diagnosis to quote in the prompt as a hint: the
// heuristic diagnoser.
type Hinter interface {
	Diagnose(ctx context.Context, in heuristic.Input) (contract.Diagnosis, error)
}

// Config configures the diagnoser.
type Config struct {
	// Bin is the CLI: a path, or a name looked up in PATH.
	Bin string
	// Dir is where the CLI runs. Empty means the codebase of the input;
	// without one, a fresh empty directory, so that the CLI can read
	// nothing of this process's own files.
	Dir string
	// Model is passed as --model when set, and reported when the CLI does
	// not say which model answered.
	Model string
	// MaxTurns bounds the CLI's agentic turns (--max-turns).
	MaxTurns int
	// Timeout bounds one run, wall-clock; the CLI and everything it
	// started are killed when it passes.
	Timeout time.Duration
	// AllowedTools and DisallowedTools are passed as --allowedTools and
	// --disallowedTools.
	AllowedTools    []string
	DisallowedTools []string
	// MaxBudgetUSD, when positive, is passed as --max-budget-usd, which
	// recent versions of the CLI enforce themselves.
	MaxBudgetUSD float64
	// MaxOutputBytes bounds the CLI's output read.
	MaxOutputBytes int
	// WaitDelay bounds the wait for the CLI's output to close once it was
	// killed.
	WaitDelay time.Duration
	// Hint, when set, gives the diagnosis quoted in the prompt as a hint.
	Hint Hinter
}

// DefaultConfig returns the defaults: claude from PATH, 8 turns, 5 minutes,
// read-only tools.
func DefaultConfig() Config {
	return Config{
		Bin:             "claude",
		MaxTurns:        8,
		Timeout:         5 * time.Minute,
		AllowedTools:    DefaultAllowedTools(),
		DisallowedTools: DefaultDisallowedTools(),
		MaxOutputBytes:  4 << 20,
		WaitDelay:       2 * time.Second,
	}
}

// Validate reports a setting the diagnoser cannot run with.
func (c Config) Validate() error {
	switch {
	case strings.TrimSpace(c.Bin) == "":
		return errors.New("claude-code: the CLI binary is required")
	case c.MaxTurns < 1:
		return fmt.Errorf("claude-code: max turns must be at least 1, got %d", c.MaxTurns)
	case c.Timeout <= 0:
		return fmt.Errorf("claude-code: timeout must be positive, got %v", c.Timeout)
	case c.MaxOutputBytes < 1:
		return fmt.Errorf("claude-code: max output bytes must be positive, got %d", c.MaxOutputBytes)
	case c.MaxBudgetUSD < 0:
		return fmt.Errorf("claude-code: max budget must not be negative, got %v", c.MaxBudgetUSD)
	case c.WaitDelay < 0:
		return fmt.Errorf("claude-code: wait delay must not be negative, got %v", c.WaitDelay)
	}
	for _, t := range append(append([]string(nil), c.AllowedTools...), c.DisallowedTools...) {
		if t == "" || strings.Contains(t, ",") {
			return fmt.Errorf("claude-code: tool %q must be non-empty and have no comma", t)
		}
	}
	return nil
}

// Diagnoser is the claude-code diagnoser. It is safe for concurrent use.
type Diagnoser struct{ cfg Config }

// New returns a diagnoser; the CLI is looked up on each run, so that
// installing it later needs no restart.
func New(cfg Config) (*Diagnoser, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Diagnoser{cfg: cfg}, nil
}

// Args returns the CLI's arguments: print mode with a JSON result, the
// turn limit and the tools. The prompt goes on standard input.
func (d *Diagnoser) Args() []string {
	args := []string{
		"-p",
		"--output-format", "json",
		"--max-turns", strconv.Itoa(d.cfg.MaxTurns),
	}
	if len(d.cfg.AllowedTools) > 0 {
		args = append(args, "--allowedTools", strings.Join(d.cfg.AllowedTools, ","))
	}
	if len(d.cfg.DisallowedTools) > 0 {
		args = append(args, "--disallowedTools", strings.Join(d.cfg.DisallowedTools, ","))
	}
	if d.cfg.Model != "" {
		args = append(args, "--model", d.cfg.Model)
	}
	if d.cfg.MaxBudgetUSD > 0 {
		args = append(args, "--max-budget-usd", strconv.FormatFloat(d.cfg.MaxBudgetUSD, 'f', -1, 64))
	}
	return args
}

// Diagnose runs the CLI on a signature. A failure is a *prompt.CallError
// that says whether trying again may help and what the run cost.
func (d *Diagnoser) Diagnose(ctx context.Context, in heuristic.Input) (contract.Diagnosis, error) {
	var hint *contract.Diagnosis
	if d.cfg.Hint != nil {
		if h, err := d.cfg.Hint.Diagnose(ctx, in); err == nil {
			hint = &h
		}
	}
	text := prompt.System + "\n\n" + prompt.Build(in, hint, prompt.Options{Tools: true})

	dir := d.cfg.Dir
	if dir == "" && in.Tree != nil {
		dir = in.Tree.Root()
	}
	if dir == "" {
		tmp, err := os.MkdirTemp("", "rounds-claude-")
		if err != nil {
			return contract.Diagnosis{}, d.fail(prompt.Transient, fmt.Errorf("make an empty working directory: %w", err))
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}

	runCtx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	stdout := &capped{limit: d.cfg.MaxOutputBytes}
	stderr := &capped{limit: stderrBytes}
	cmd := exec.CommandContext(runCtx, d.cfg.Bin, d.Args()...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(text)
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	cmd.WaitDelay = d.cfg.WaitDelay
	killProcessGroup(cmd)
	started := time.Now()
	runErr := cmd.Run()

	switch {
	case ctx.Err() != nil:
		// Shutting down: the run may have cost something nobody will know.
		return contract.Diagnosis{}, d.fail(prompt.Transient, fmt.Errorf("run %s: %w", d.cfg.Bin, ctx.Err()))
	case runCtx.Err() != nil:
		return contract.Diagnosis{}, d.fail(prompt.Transient, fmt.Errorf("%w after %v (limit %v)", ErrTimeout, time.Since(started).Round(time.Millisecond), d.cfg.Timeout))
	case runErr != nil && notInstalled(runErr):
		return contract.Diagnosis{}, d.fail(prompt.Permanent, fmt.Errorf("%w: %v", ErrNotInstalled, runErr))
	}

	env, perr := parseEnvelope(stdout)
	if perr != nil {
		if runErr != nil {
			return contract.Diagnosis{}, d.fail(prompt.Transient, fmt.Errorf("%w: %v%s", ErrExit, runErr, quoteStderr(stderr)))
		}
		return contract.Diagnosis{}, d.fail(prompt.Transient, fmt.Errorf("%w: %v%s", ErrMalformed, perr, quoteStderr(stderr)))
	}
	cost, costKnown := env.cost()
	if env.IsError || env.Subtype != "success" {
		kind, sentinel := prompt.Transient, ErrResult
		switch env.Subtype {
		case "error_max_turns", "error_max_budget_usd":
			kind, sentinel = prompt.OverLimit, ErrOverLimit
		}
		return contract.Diagnosis{}, &prompt.CallError{
			Diagnoser: Name, Kind: kind, CostUSD: cost, CostKnown: costKnown,
			Err: fmt.Errorf("%w: %s after %d turns%s", sentinel, subtypeOr(env.Subtype), env.NumTurns, quoteResult(env.Result)),
		}
	}
	diag, err := prompt.ParseAnswer(env.Result)
	if err != nil {
		return contract.Diagnosis{}, &prompt.CallError{Diagnoser: Name, Kind: prompt.Transient, CostUSD: cost, CostKnown: costKnown, Err: err}
	}
	prompt.AttachSource(diag.Evidence, in.Tree)
	diag.Diagnoser = Name
	diag.Model = env.model()
	if diag.Model == "" {
		diag.Model = d.cfg.Model
	}
	diag.CostUSD = cost
	return diag, nil
}

// fail is a failure of a run whose cost is unknown.
func (d *Diagnoser) fail(kind prompt.Kind, err error) *prompt.CallError {
	return &prompt.CallError{Diagnoser: Name, Kind: kind, Err: err}
}

func notInstalled(err error) bool {
	return errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission)
}

// envelope is the result the CLI prints with --output-format json.
type envelope struct {
	Type    string `json:"type"`
	Subtype string `json:"subtype"`
	IsError bool   `json:"is_error"`
	Result  string `json:"result"`
	// TotalCostUSD is the cost; CostUSD is its name in older versions.
	TotalCostUSD *float64 `json:"total_cost_usd"`
	CostUSD      *float64 `json:"cost_usd"`
	NumTurns     int      `json:"num_turns"`
	SessionID    string   `json:"session_id"`
	Model        string   `json:"model"`
	// ModelUsage is keyed by model name.
	ModelUsage map[string]struct {
		CostUSD float64 `json:"costUSD"`
	} `json:"modelUsage"`
}

// parseEnvelope reads the result object, or the last result of an array
// of messages, which the CLI prints with --verbose.
func parseEnvelope(out *capped) (envelope, error) {
	if out.overflow {
		return envelope{}, fmt.Errorf("output is larger than %d bytes", out.limit)
	}
	data := bytes.TrimSpace(out.buf.Bytes())
	if len(data) == 0 {
		return envelope{}, errors.New("no output")
	}
	var env envelope
	if data[0] == '[' {
		var msgs []envelope
		if err := json.Unmarshal(data, &msgs); err != nil {
			return envelope{}, fmt.Errorf("decode messages: %w", err)
		}
		found := false
		for _, m := range msgs {
			if m.Type == "result" {
				env, found = m, true
			}
		}
		if !found {
			return envelope{}, errors.New("no result message")
		}
	} else if err := json.Unmarshal(data, &env); err != nil {
		return envelope{}, fmt.Errorf("decode result: %w (output starts %q)", err, prompt.Quote(string(data), 120))
	}
	if env.Type != "result" {
		return envelope{}, fmt.Errorf("type is %q, not result", env.Type)
	}
	return env, nil
}

func (e envelope) cost() (float64, bool) {
	switch {
	case e.TotalCostUSD != nil && *e.TotalCostUSD >= 0:
		return *e.TotalCostUSD, true
	case e.CostUSD != nil && *e.CostUSD >= 0:
		return *e.CostUSD, true
	}
	return 0, false
}

// model is the model that answered: the one named, else the one that
// cost the most.
func (e envelope) model() string {
	if e.Model != "" {
		return e.Model
	}
	best, bestCost := "", -1.0
	for name, u := range e.ModelUsage {
		if u.CostUSD > bestCost || u.CostUSD == bestCost && name < best {
			best, bestCost = name, u.CostUSD
		}
	}
	return best
}

func subtypeOr(s string) string {
	if s == "" {
		return "is_error"
	}
	return s
}

func quoteResult(r string) string {
	if r = prompt.Quote(r, quotedBytes); r == "" {
		return ""
	}
	return fmt.Sprintf(": %q", r)
}

func quoteStderr(c *capped) string {
	s := prompt.Quote(c.buf.String(), quotedBytes)
	if s == "" {
		return ""
	}
	return fmt.Sprintf(" (stderr: %q)", s)
}

// capped keeps the first limit bytes written to it and notes whether more
// came. It never fails a write, so that a chatty process is not killed by
// a broken pipe.
type capped struct {
	limit    int
	buf      bytes.Buffer
	overflow bool
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.limit - c.buf.Len(); room < len(p) {
		c.overflow = true
		c.buf.Write(p[:max(room, 0)])
		return len(p), nil
	}
	c.buf.Write(p)
	return len(p), nil
}
