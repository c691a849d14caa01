// Package gittest builds real git repositories for tests.
package gittest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Epoch is the author date of the first commit; each next commit is an
// hour later.
var Epoch = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// Repo is a git repository in a temporary directory.
type Repo struct {
	t       testing.TB
	Dir     string
	commits int
}

// New creates an empty repository on branch main. It skips the test when
// git is not installed, and keeps the user's and the system's git
// configuration out of it.
func New(t testing.TB) *Repo {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	t.Setenv("GIT_CONFIG_GLOBAL", os.DevNull)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	r := &Repo{t: t, Dir: t.TempDir()}
	r.Git("init", "-q", "-b", "main")
	return r
}

// Git runs git in the repository and returns its output, trimmed.
func (r *Repo) Git(args ...string) string {
	r.t.Helper()
	when := Epoch.Add(time.Duration(r.commits) * time.Hour).Format(time.RFC3339)
	cmd := exec.Command("git", append([]string{"-C", r.Dir, "-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_DATE="+when, "GIT_COMMITTER_DATE="+when)
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// Write writes files, by slash-separated path, without committing them.
func (r *Repo) Write(files map[string]string) {
	r.t.Helper()
	for name, text := range files {
		p := filepath.Join(r.Dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
}

// Commit writes files and commits everything as author, returning the
// commit's hash.
func (r *Repo) Commit(author, subject string, files map[string]string) string {
	r.t.Helper()
	r.Write(files)
	r.Git("add", "-A")
	r.Git("-c", "user.name="+author, "commit", "-q", "--allow-empty", "-m", subject)
	r.commits++
	return r.Git("rev-parse", "HEAD")
}

// Lines returns n numbered lines, with the lines in replace (by number)
// replaced: a file whose line numbers a test can point at.
func Lines(n int, replace map[int]string) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if l, ok := replace[i]; ok {
			b.WriteString(l + "\n")
		} else {
			fmt.Fprintf(&b, "// line %d\n", i)
		}
	}
	return b.String()
}
