// Package git reads the history of the codebase under diagnosis with the
// git command: who last changed a line, a commit's parent, the commits
// between two others. It only reads, and bounds the time and the output
// of every command, because the repository and the commit ids in failure
// reports are not ours to trust.
package git

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Errors returned, wrapped, by Open and the Repo's methods.
var (
	// ErrNoGit means no git command is installed.
	ErrNoGit = errors.New("git is not installed")
	// ErrNotRepository means the directory is not in a git work tree.
	ErrNotRepository = errors.New("not a git repository")
	// ErrUnknownCommit means a commit is not in the repository: it was made
	// elsewhere, or the clone is shallow, or the id is not a commit id.
	ErrUnknownCommit = errors.New("commit is not in the repository")
	// ErrBadPath means a file path cannot be given to git safely.
	ErrBadPath = errors.New("path cannot be passed to git")
)

const (
	// DefaultTimeout bounds one git command.
	DefaultTimeout = 5 * time.Second
	// maxOutput bounds what one git command may print; the rest is cut.
	maxOutput = 1 << 20
	// maxSubjectBytes bounds a commit subject.
	maxSubjectBytes = 200
)

// Commit is a commit as the evidence shows it.
type Commit struct {
	// Hash is the full object id.
	Hash    string
	Author  string
	Time    time.Time
	Subject string
	// Files are the files it touched among those asked about, relative to
	// the repository's directory; set by Between only.
	Files []string
}

// Short is the commit's id cut to twelve characters.
func (c Commit) Short() string { return Short(c.Hash) }

// Short cuts a commit id to twelve characters.
func Short(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}

// Repo is a git work tree, read through the git command. It is safe for
// concurrent use.
type Repo struct {
	bin     string
	dir     string
	timeout time.Duration
}

// Open returns the repository whose work tree holds dir: ErrNoGit when
// git is not installed, ErrNotRepository when dir is in no work tree.
// Paths given to the Repo are relative to dir.
func Open(ctx context.Context, dir string) (*Repo, error) {
	bin, err := exec.LookPath("git")
	if err != nil {
		return nil, fmt.Errorf("open git repository %q: %w", dir, ErrNoGit)
	}
	r := &Repo{bin: bin, dir: dir, timeout: DefaultTimeout}
	out, err := r.run(ctx, "rev-parse", "--is-inside-work-tree")
	if err != nil || strings.TrimSpace(string(out)) != "true" {
		return nil, fmt.Errorf("open git repository %q: %w", dir, ErrNotRepository)
	}
	return r, nil
}

// Dir returns the directory the Repo's paths are relative to.
func (r *Repo) Dir() string { return r.dir }

// Shallow reports whether the repository is a shallow clone, whose
// history stops short.
func (r *Repo) Shallow(ctx context.Context) bool {
	out, err := r.run(ctx, "rev-parse", "--is-shallow-repository")
	return err == nil && strings.TrimSpace(string(out)) == "true"
}

// revision matches what Commit accepts: an object id, full or abbreviated,
// and nothing git could read as an option or a revision expression.
var revision = regexp.MustCompile(`^[0-9a-fA-F]{4,64}$`)

// Commit looks up a commit by its id, full or abbreviated, or "HEAD".
func (r *Repo) Commit(ctx context.Context, id string) (Commit, error) {
	if id != "HEAD" && !revision.MatchString(id) {
		return Commit{}, fmt.Errorf("look up commit %q: %w", id, ErrUnknownCommit)
	}
	return r.commit(ctx, id)
}

// Parent returns the first parent of the commit id: ErrUnknownCommit when
// it has none or the clone is too shallow to know it.
func (r *Repo) Parent(ctx context.Context, id string) (Commit, error) {
	c, err := r.Commit(ctx, id)
	if err != nil {
		return Commit{}, err
	}
	p, err := r.commit(ctx, c.Hash+"^")
	if err != nil {
		return Commit{}, fmt.Errorf("parent of %s: %w", c.Short(), err)
	}
	return p, nil
}

func (r *Repo) commit(ctx context.Context, rev string) (Commit, error) {
	out, err := r.run(ctx, "rev-parse", "--verify", "--quiet", "--end-of-options", rev+"^{commit}")
	if err != nil {
		return Commit{}, fmt.Errorf("look up commit %q: %w", rev, ErrUnknownCommit)
	}
	hash := strings.TrimSpace(string(out))
	out, err = r.run(ctx, "log", "-n", "1", "--no-walk", format, hash)
	if err != nil {
		return Commit{}, fmt.Errorf("read commit %s: %w", Short(hash), err)
	}
	commits := parse(out, false)
	if len(commits) == 0 {
		return Commit{}, fmt.Errorf("read commit %s: %w", Short(hash), ErrUnknownCommit)
	}
	return commits[0], nil
}

// LineHistory returns the commits that changed line of file, the most
// recent first, at most limit of them, following the line back from the
// commit at (empty for HEAD) so that it is the line as it was when the
// code failed.
func (r *Repo) LineHistory(ctx context.Context, at, file string, line, limit int) ([]Commit, error) {
	if err := checkPath(file); err != nil {
		return nil, err
	}
	if line < 1 || limit < 1 {
		return nil, nil
	}
	rev := "HEAD"
	if at != "" {
		c, err := r.Commit(ctx, at)
		if err != nil {
			return nil, err
		}
		rev = c.Hash
	}
	out, err := r.run(ctx, "log", "-n", strconv.Itoa(limit), "-s", format,
		fmt.Sprintf("-L%d,%d:%s", line, line, file), rev)
	if err != nil {
		return nil, fmt.Errorf("history of %s:%d: %w", file, line, err)
	}
	return parse(out, false), nil
}

// Between returns the commits reachable from to but not from from (from
// excluded, to included), the most recent first, at most limit of them,
// and whether there were more. With files, only the commits touching them
// count, and each lists those it touched.
func (r *Repo) Between(ctx context.Context, from, to string, files []string, limit int) ([]Commit, bool, error) {
	for _, f := range files {
		if err := checkPath(f); err != nil {
			return nil, false, err
		}
	}
	if limit < 1 {
		return nil, false, nil
	}
	a, err := r.Commit(ctx, from)
	if err != nil {
		return nil, false, err
	}
	b, err := r.Commit(ctx, to)
	if err != nil {
		return nil, false, err
	}
	args := []string{"log", "-n", strconv.Itoa(limit + 1), format, a.Hash + ".." + b.Hash}
	if len(files) > 0 {
		args = append(args, "--name-only", "--relative", "--")
		args = append(args, files...)
	}
	out, err := r.run(ctx, args...)
	if err != nil {
		return nil, false, fmt.Errorf("commits between %s and %s: %w", a.Short(), b.Short(), err)
	}
	commits := parse(out, len(files) > 0)
	if len(commits) > limit {
		return commits[:limit], true, nil
	}
	return commits, false, nil
}

// format prints each commit as a record: a record separator, then hash,
// author, Unix time and subject separated by unit separators.
const format = "--format=%x1e%H%x1f%an%x1f%at%x1f%s"

// parse reads the records format prints; with files, the names that
// --name-only lists after each. Anything else, such as a diff, is skipped.
func parse(out []byte, files bool) []Commit {
	var commits []Commit
	for rec := range strings.SplitSeq(string(out), "\x1e") {
		head, rest, _ := strings.Cut(rec, "\n")
		fields := strings.Split(head, "\x1f")
		if len(fields) != 4 || !revision.MatchString(fields[0]) {
			continue
		}
		c := Commit{Hash: fields[0], Author: clip(fields[1], maxSubjectBytes), Subject: clip(fields[3], maxSubjectBytes)}
		if sec, err := strconv.ParseInt(fields[2], 10, 64); err == nil {
			c.Time = time.Unix(sec, 0).UTC()
		}
		if files {
			for l := range strings.SplitSeq(rest, "\n") {
				if l = strings.TrimSpace(l); l != "" {
					c.Files = append(c.Files, l)
				}
			}
		}
		commits = append(commits, c)
	}
	return commits
}

// checkPath refuses a path git could misread: absolute, leading out of
// the directory, an option, or holding control characters.
func checkPath(p string) error {
	bad := p == "" || strings.HasPrefix(p, "/") || strings.HasPrefix(p, "-") || strings.HasPrefix(p, ":")
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			bad = true
		}
	}
	if strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		bad = true
	}
	if bad {
		return fmt.Errorf("%q: %w", p, ErrBadPath)
	}
	return nil
}

// run runs git in the directory, without a shell, a terminal, a pager or
// the repository's own commands (external diff, text conversion, fsmonitor),
// within the timeout, and returns at most maxOutput bytes of its output.
func (r *Repo) run(ctx context.Context, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	full := []string{
		"--no-pager",
		"-C", r.dir,
		// The codebase is mounted from the host, owned by another user;
		// the operator chose to trust it by mounting it.
		"-c", "safe.directory=*",
		"-c", "core.fsmonitor=false",
		"-c", "core.quotePath=false",
		"-c", "log.showSignature=false",
		args[0],
	}
	if args[0] == "log" {
		full = append(full, "--no-color", "--no-ext-diff", "--no-textconv")
	}
	full = append(full, args[1:]...)
	cmd := exec.CommandContext(ctx, r.bin, full...)
	cmd.Env = append(os.Environ(),
		"GIT_TERMINAL_PROMPT=0",
		"GIT_OPTIONAL_LOCKS=0", // the mount may be read-only
		"GIT_PAGER=cat",
		"LC_ALL=C",
	)
	cmd.WaitDelay = time.Second
	var stdout limitedBuffer
	var stderr limitedBuffer
	stdout.limit, stderr.limit = maxOutput, 4<<10
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("git %s: %w", args[0], ctx.Err())
	}
	if err != nil && !stdout.full {
		msg := strings.TrimSpace(stderr.buf.String())
		if i := strings.IndexByte(msg, '\n'); i >= 0 {
			msg = msg[:i]
		}
		return nil, fmt.Errorf("git %s: %w: %s", args[0], err, msg)
	}
	return stdout.buf.Bytes(), nil
}

// limitedBuffer keeps the first limit bytes written to it and then
// refuses more, which closes git's pipe and stops it.
type limitedBuffer struct {
	buf   bytes.Buffer
	limit int
	full  bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	room := b.limit - b.buf.Len()
	if len(p) > room {
		b.buf.Write(p[:max(room, 0)])
		b.full = true
		return max(room, 0), errors.New("output limit reached")
	}
	return b.buf.Write(p)
}

func clip(s string, n int) string {
	s = strings.ToValidUTF8(strings.TrimSpace(s), "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n] + "…"
}
