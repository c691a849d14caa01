package claudecode_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/diagnose/internal/claudecode"
	"github.com/rounds-dev/rounds/services/diagnose/internal/codebase"
	"github.com/rounds-dev/rounds/services/diagnose/internal/heuristic"
	"github.com/rounds-dev/rounds/services/diagnose/internal/prompt"
)

const answer = `{"root_cause": "Total indexes items[0] of an empty cart.", "evidence": [{"kind": "frame", "summary": "Total fails", "file": "cart/cart.go", "line": 4}], "suggested_fix": "Return 0 for an empty cart.", "confidence": 0.8, "category": "index-out-of-range"}`

// secrets are planted in the failure; none may reach the CLI.
var secrets = []string{"ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", "hunter2", "jane@example.com"}

// fake is a fake claude executable in its own directory. It records its
// arguments (one a line), its standard input and its working directory
// next to itself, then runs body.
type fake struct {
	dir string
	bin string
}

func newFake(t *testing.T, body string) fake {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the fake CLI is a shell script")
	}
	dir := t.TempDir()
	script := `#!/bin/sh
here=$(dirname "$0")
for a in "$@"; do printf '%s\n' "$a"; done > "$here/args"
cat > "$here/stdin"
pwd > "$here/pwd"
` + body + "\n"
	bin := filepath.Join(dir, "claude")
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return fake{dir: dir, bin: bin}
}

// respond makes the fake print v as its output.
func (f fake) respond(t *testing.T, output string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(f.dir, "output"), []byte(output), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (f fake) read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(f.dir, name))
	if err != nil {
		t.Fatalf("the fake CLI left no %s: %v", name, err)
	}
	return string(b)
}

// printsOutput is the body of a fake that prints what respond gave it.
const printsOutput = `cat "$here/output"`

func envelope(result string, extra string) string {
	r, err := json.Marshal(result)
	if err != nil {
		panic(err)
	}
	return `{"type":"result","subtype":"success","is_error":false,"duration_ms":4200,"num_turns":3,"result":` + string(r) + `,"session_id":"4f1c","total_cost_usd":0.0123` + extra + `}`
}

func codebaseTree(t *testing.T) *codebase.Tree {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "cart"), 0o755); err != nil {
		t.Fatal(err)
	}
	src := "package cart\n\nfunc (c *Cart) Total() int {\n\treturn c.items[0].Price\n}\n"
	if err := os.WriteFile(filepath.Join(root, "cart", "cart.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	tree, err := codebase.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

func input(tree *codebase.Tree) heuristic.Input {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	return heuristic.Input{
		Signature: contract.Signature{ID: "sig_1", Project: "shop", Title: "TestTotal: index out of range", Kind: contract.KindTest, Occurrences: 1, FirstSeen: t0, LastSeen: t0},
		Occurrences: []contract.Failure{{
			Schema: contract.SchemaFailure, ID: "f1", Project: "shop", Time: t0, Kind: contract.KindTest,
			Test: &contract.TestIdentity{Name: "TestTotal"},
			Error: contract.ErrorInfo{
				Type:    "runtime.Error",
				Message: "panic: runtime error: index out of range [0] with length 0 (token=ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789, owner jane@example.com)",
				Stack:   "goroutine 7 [running]:\nexample.com/shop/cart.(*Cart).Total()\n\t/ci/shop/cart/cart.go:4 +0x1c\n",
			},
			Run:        contract.RunInfo{ID: "1", Commit: "abc123"},
			Attributes: map[string]string{"PASSWORD": "hunter2"},
		}},
		Tree: tree,
	}
}

func newDiagnoser(t *testing.T, cfg claudecode.Config) *claudecode.Diagnoser {
	t.Helper()
	d, err := claudecode.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func config(bin string) claudecode.Config {
	cfg := claudecode.DefaultConfig()
	cfg.Bin = bin
	cfg.Timeout = 10 * time.Second
	cfg.WaitDelay = 100 * time.Millisecond
	return cfg
}

func TestASuccessfulRunGivesTheDiagnosis(t *testing.T) {
	f := newFake(t, printsOutput)
	f.respond(t, envelope("Having read the code:\n```json\n"+answer+"\n```", `,"modelUsage":{"claude-haiku":{"costUSD":0.001},"claude-sonnet-4-5":{"costUSD":0.0113}}`))
	tree := codebaseTree(t)
	cfg := config(f.bin)
	cfg.Model = "sonnet"
	cfg.Hint = heuristic.New()

	got, err := newDiagnoser(t, cfg).Diagnose(context.Background(), input(tree))
	if err != nil {
		t.Fatal(err)
	}
	if got.Diagnoser != "claude-code" || got.Model != "claude-sonnet-4-5" || got.CostUSD != 0.0123 {
		t.Errorf("diagnoser %q, model %q, cost %v; want claude-code, claude-sonnet-4-5 (from the result), 0.0123", got.Diagnoser, got.Model, got.CostUSD)
	}
	if got.Category != "index-out-of-range" || got.Confidence != 0.8 || !strings.Contains(got.RootCause, "empty cart") {
		t.Errorf("the answer was not taken: %+v", got)
	}
	if len(got.Evidence) != 1 || !strings.Contains(got.Evidence[0].Snippet, "> 4 | \treturn c.items[0].Price") {
		t.Errorf("the cited frame did not get its source: %+v", got.Evidence)
	}
	if pwd := strings.TrimSpace(f.read(t, "pwd")); pwd != tree.Root() {
		t.Errorf("the CLI ran in %q, want the codebase %q", pwd, tree.Root())
	}
	stdin := f.read(t, "stdin")
	for _, want := range []string{"index out of range [0] with length 0", "offline rule-based diagnoser", "git blame", `"root_cause"`} {
		if !strings.Contains(stdin, want) {
			t.Errorf("the prompt on stdin lacks %q", want)
		}
	}
	for _, s := range secrets {
		if strings.Contains(stdin, s) {
			t.Errorf("the prompt on stdin leaks %q", s)
		}
	}
}

func TestTheCLIGetsReadOnlyToolsAndLimitsAsSeparateArguments(t *testing.T) {
	f := newFake(t, printsOutput)
	f.respond(t, envelope(answer, ""))
	cfg := config(f.bin)
	cfg.MaxTurns = 4
	// A shell would run the command substitution.
	cfg.Model = "claude-sonnet-4-5 $(touch " + filepath.Join(f.dir, "pwned") + ")"
	cfg.MaxBudgetUSD = 0.25
	if _, err := newDiagnoser(t, cfg).Diagnose(context.Background(), input(nil)); err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(f.read(t, "args"), "\n"), "\n")
	want := []string{
		"-p",
		"--output-format", "json",
		"--max-turns", "4",
		"--allowedTools", "Read,Grep,Glob,LS,Bash(git log:*),Bash(git show:*),Bash(git blame:*)",
		"--disallowedTools", "Edit,MultiEdit,Write,NotebookEdit,WebFetch,WebSearch",
		"--model", cfg.Model,
		"--max-budget-usd", "0.25",
	}
	// Each argument arrives whole, spaces and parentheses included: no
	// shell split or expanded them.
	if !slices.Equal(got, want) {
		t.Errorf("the CLI got the arguments\n%q\nwant\n%q", got, want)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "pwned")); err == nil {
		t.Error("a shell ran the command substitution in an argument")
	}
	allowed := strings.Split(got[slices.Index(got, "--allowedTools")+1], ",")
	for _, tool := range allowed {
		if tool == "Bash" || tool == "Edit" || tool == "Write" || strings.HasPrefix(tool, "Bash(") && !strings.HasPrefix(tool, "Bash(git ") {
			t.Errorf("the allowlist grants %s", tool)
		}
	}
}

func TestWithoutACodebaseTheCLIRunsInAnEmptyDirectory(t *testing.T) {
	f := newFake(t, `ls -A > "$here/listing"; `+printsOutput)
	f.respond(t, envelope(answer, ""))
	if _, err := newDiagnoser(t, config(f.bin)).Diagnose(context.Background(), input(nil)); err != nil {
		t.Fatal(err)
	}
	if l := f.read(t, "listing"); l != "" {
		t.Errorf("the CLI's working directory is not empty: %q", l)
	}
	pwd := strings.TrimSpace(f.read(t, "pwd"))
	if _, err := os.Stat(pwd); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the temporary working directory %s was left behind (%v)", pwd, err)
	}
}

func TestTheCLIIsFoundOnThePath(t *testing.T) {
	f := newFake(t, printsOutput)
	f.respond(t, envelope(answer, ""))
	t.Setenv("PATH", f.dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	got, err := newDiagnoser(t, config("claude")).Diagnose(context.Background(), input(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got.Model != "" {
		t.Errorf("model = %q, want none: neither the result nor the config names one", got.Model)
	}
}

func TestFailedRuns(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		output    string
		bin       string
		timeout   time.Duration
		wantKind  prompt.Kind
		wantErr   error
		wantText  string
		wantCost  float64
		costKnown bool
	}{
		{
			name:     "an error result is transient and keeps its cost",
			body:     printsOutput,
			output:   `{"type":"result","subtype":"error_during_execution","is_error":true,"result":"API Error: 529 overloaded","num_turns":1,"total_cost_usd":0.002}`,
			wantKind: prompt.Transient, wantErr: claudecode.ErrResult, wantText: "529 overloaded", wantCost: 0.002, costKnown: true,
		},
		{
			name:     "a run stopped at its turn limit is over limit",
			body:     printsOutput,
			output:   `{"type":"result","subtype":"error_max_turns","is_error":true,"num_turns":8,"total_cost_usd":0.31}`,
			wantKind: prompt.OverLimit, wantErr: claudecode.ErrOverLimit, wantText: "error_max_turns after 8 turns", wantCost: 0.31, costKnown: true,
		},
		{
			name:     "an answer that is not the JSON asked for is transient and keeps its cost",
			body:     printsOutput,
			output:   envelope("I think the cart is empty.", ""),
			wantKind: prompt.Transient, wantErr: prompt.ErrInvalidAnswer, wantCost: 0.0123, costKnown: true,
		},
		{
			name:     "output that is not JSON is transient with an unknown cost",
			body:     printsOutput,
			output:   "Welcome to Claude Code!\n",
			wantKind: prompt.Transient, wantErr: claudecode.ErrMalformed, wantText: "Welcome",
		},
		{
			name:     "JSON that is not a result is malformed",
			body:     printsOutput,
			output:   `{"type":"assistant","message":{}}`,
			wantKind: prompt.Transient, wantErr: claudecode.ErrMalformed,
		},
		{
			name:     "no output is malformed",
			body:     "true",
			wantKind: prompt.Transient, wantErr: claudecode.ErrMalformed, wantText: "no output",
		},
		{
			name:     "a non-zero exit without a result is transient and quotes stderr without secrets",
			body:     `echo "Invalid API key sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWx" >&2; exit 3`,
			wantKind: prompt.Transient, wantErr: claudecode.ErrExit, wantText: "exit status 3",
		},
		{
			name:     "a non-zero exit with an error result reads the result",
			body:     printsOutput + "; exit 1",
			output:   `{"type":"result","subtype":"error_during_execution","is_error":true,"total_cost_usd":0.004}`,
			wantKind: prompt.Transient, wantErr: claudecode.ErrResult, wantCost: 0.004, costKnown: true,
		},
		{
			name:     "a slow run is killed at the wall-clock limit",
			body:     "sleep 30",
			timeout:  300 * time.Millisecond,
			wantKind: prompt.Transient, wantErr: claudecode.ErrTimeout, wantText: "limit 300ms",
		},
		{
			name:     "a missing binary is permanent",
			bin:      "/nonexistent/claude",
			wantKind: prompt.Permanent, wantErr: claudecode.ErrNotInstalled,
		},
		{
			name:     "a binary missing from the path is permanent",
			bin:      "rounds-no-such-claude",
			wantKind: prompt.Permanent, wantErr: claudecode.ErrNotInstalled,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin := tt.bin
			if bin == "" {
				f := newFake(t, tt.body)
				f.respond(t, tt.output)
				bin = f.bin
			}
			cfg := config(bin)
			if tt.timeout > 0 {
				cfg.Timeout = tt.timeout
			}
			started := time.Now()
			_, err := newDiagnoser(t, cfg).Diagnose(context.Background(), input(nil))
			if took := time.Since(started); took > 5*time.Second {
				t.Errorf("the run took %v", took)
			}
			var ce *prompt.CallError
			if !errors.As(err, &ce) {
				t.Fatalf("Diagnose() error = %v, want a *prompt.CallError", err)
			}
			if ce.Kind != tt.wantKind || !errors.Is(err, tt.wantErr) {
				t.Errorf("Diagnose() error = %v (%v), want %v wrapping %v", err, ce.Kind, tt.wantKind, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantText) || !strings.HasPrefix(err.Error(), "claude-code: ") {
				t.Errorf("Diagnose() error = %q, want it to start with claude-code and say %q", err, tt.wantText)
			}
			if strings.Contains(err.Error(), "sk-ant-") {
				t.Errorf("Diagnose() error leaks a key: %q", err)
			}
			if ce.CostUSD != tt.wantCost || ce.CostKnown != tt.costKnown {
				t.Errorf("cost = %v (known %v), want %v (known %v)", ce.CostUSD, ce.CostKnown, tt.wantCost, tt.costKnown)
			}
		})
	}
}

func TestACancelledContextStopsTheRun(t *testing.T) {
	f := newFake(t, "sleep 30")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := newDiagnoser(t, config(f.bin)).Diagnose(ctx, input(nil))
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, claudecode.ErrTimeout) {
		t.Errorf("Diagnose() error = %v, want the context's error, not the diagnoser's own timeout", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(*claudecode.Config)
		wantOK bool
	}{
		{name: "the defaults are valid", edit: func(*claudecode.Config) {}, wantOK: true},
		{name: "an empty binary is refused", edit: func(c *claudecode.Config) { c.Bin = " " }},
		{name: "zero turns are refused", edit: func(c *claudecode.Config) { c.MaxTurns = 0 }},
		{name: "a zero timeout is refused", edit: func(c *claudecode.Config) { c.Timeout = 0 }},
		{name: "a negative budget is refused", edit: func(c *claudecode.Config) { c.MaxBudgetUSD = -1 }},
		{name: "a tool with a comma is refused", edit: func(c *claudecode.Config) { c.AllowedTools = []string{"Read,Write"} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := claudecode.DefaultConfig()
			tt.edit(&cfg)
			if err := cfg.Validate(); (err == nil) != tt.wantOK {
				t.Errorf("Validate() = %v, want ok %v", err, tt.wantOK)
			}
		})
	}
}
