package git_test

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/rounds-dev/rounds/services/diagnose/internal/git"
	"github.com/rounds-dev/rounds/services/diagnose/internal/git/gittest"
)

// history is a repository of four commits:
//
//	c1 Alice: cart.go and readme
//	c2 Bob:   changes line 5 of cart.go (the bug)
//	c3 Carol: changes the readme only
//	c4 Bob:   changes line 9 of cart.go
type history struct {
	repo           *gittest.Repo
	c1, c2, c3, c4 string
}

func newHistory(t *testing.T) history {
	t.Helper()
	r := gittest.New(t)
	h := history{repo: r}
	h.c1 = r.Commit("Alice", "Add the cart", map[string]string{
		"pkg/cart/cart.go": gittest.Lines(12, nil),
		"README.md":        "shop\n",
	})
	h.c2 = r.Commit("Bob", "Round totals down", map[string]string{
		"pkg/cart/cart.go": gittest.Lines(12, map[int]string{5: "return total / 100 * 100"}),
	})
	h.c3 = r.Commit("Carol", "Document the cart", map[string]string{"README.md": "shop\n\nA cart.\n"})
	h.c4 = r.Commit("Bob", "Rename a variable", map[string]string{
		"pkg/cart/cart.go": gittest.Lines(12, map[int]string{5: "return total / 100 * 100", 9: "var sum int"}),
	})
	return h
}

func open(t *testing.T, dir string) *git.Repo {
	t.Helper()
	r, err := git.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func hashes(cs []git.Commit) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Hash
	}
	return out
}

func TestOpenTellsWhatIsMissing(t *testing.T) {
	h := newHistory(t)
	if _, err := git.Open(context.Background(), t.TempDir()); !errors.Is(err, git.ErrNotRepository) {
		t.Errorf("Open(a plain directory) = %v, want %v", err, git.ErrNotRepository)
	}
	if _, err := git.Open(context.Background(), filepath.Join(h.repo.Dir, "pkg")); err != nil {
		t.Errorf("Open(a directory inside the work tree) = %v", err)
	}
	t.Setenv("PATH", t.TempDir())
	if _, err := git.Open(context.Background(), h.repo.Dir); !errors.Is(err, git.ErrNoGit) {
		t.Errorf("Open without git in PATH = %v, want %v", err, git.ErrNoGit)
	}
}

func TestCommitLooksUpIdsAndRefusesAnythingElse(t *testing.T) {
	h := newHistory(t)
	r := open(t, h.repo.Dir)
	ctx := context.Background()

	c, err := r.Commit(ctx, h.c2[:8])
	if err != nil {
		t.Fatal(err)
	}
	if c.Hash != h.c2 || c.Author != "Bob" || c.Subject != "Round totals down" || !c.Time.Equal(gittest.Epoch.Add(3600e9)) {
		t.Errorf("Commit(c2) = %+v", c)
	}
	if head, err := r.Commit(ctx, "HEAD"); err != nil || head.Hash != h.c4 {
		t.Errorf("Commit(HEAD) = %+v, %v; want c4", head, err)
	}
	for _, id := range []string{"0123456789abcdef0123456789abcdef01234567", "main", "HEAD~1", "--output=/tmp/x", "-n1", "c0ffee^{tree}", ""} {
		if _, err := r.Commit(ctx, id); !errors.Is(err, git.ErrUnknownCommit) {
			t.Errorf("Commit(%q) = %v, want %v", id, err, git.ErrUnknownCommit)
		}
	}
}

func TestParentIsTheFirstParentAndTheRootHasNone(t *testing.T) {
	h := newHistory(t)
	r := open(t, h.repo.Dir)
	if p, err := r.Parent(context.Background(), h.c2); err != nil || p.Hash != h.c1 {
		t.Errorf("Parent(c2) = %+v, %v; want c1", p, err)
	}
	if _, err := r.Parent(context.Background(), h.c1); !errors.Is(err, git.ErrUnknownCommit) {
		t.Errorf("Parent(c1) = %v, want %v", err, git.ErrUnknownCommit)
	}
}

func TestLineHistory(t *testing.T) {
	h := newHistory(t)
	tests := []struct {
		name string
		dir  string // relative to the repository
		at   string
		file string
		line int
		want []string
	}{
		{"a line changed twice lists both commits, the latest first", "", "", "pkg/cart/cart.go", 5, []string{h.c2, h.c1}},
		{"a line is followed back from the failing commit", "", h.c1, "pkg/cart/cart.go", 9, []string{h.c1}},
		{"a line is followed from HEAD when no commit is given", "", "", "pkg/cart/cart.go", 9, []string{h.c4, h.c1}},
		{"paths are relative to the directory opened", "pkg", "", "cart/cart.go", 5, []string{h.c2, h.c1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := open(t, filepath.Join(h.repo.Dir, tt.dir))
			got, err := r.LineHistory(context.Background(), tt.at, tt.file, tt.line, 5)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(hashes(got), tt.want) {
				t.Errorf("LineHistory = %v, want %v", hashes(got), tt.want)
			}
		})
	}

	r := open(t, h.repo.Dir)
	if got, err := r.LineHistory(context.Background(), "", "pkg/cart/cart.go", 5, 1); err != nil || len(got) != 1 {
		t.Errorf("LineHistory limited to 1 = %v, %v", hashes(got), err)
	}
	for _, bad := range []struct {
		file string
		line int
	}{
		{"pkg/cart/cart.go", 99},
		{"pkg/cart/missing.go", 1},
		{"../outside.go", 1},
		{"/etc/passwd", 1},
		{"-L1,1:/etc/passwd", 1},
	} {
		if got, err := r.LineHistory(context.Background(), "", bad.file, bad.line, 5); err == nil {
			t.Errorf("LineHistory(%s:%d) = %v, want an error", bad.file, bad.line, hashes(got))
		}
	}
	if _, err := r.LineHistory(context.Background(), "0123456789abcdef", "pkg/cart/cart.go", 5, 5); !errors.Is(err, git.ErrUnknownCommit) {
		t.Errorf("LineHistory at an unknown commit = %v, want %v", err, git.ErrUnknownCommit)
	}
}

func TestBetween(t *testing.T) {
	h := newHistory(t)
	r := open(t, h.repo.Dir)
	ctx := context.Background()

	got, more, err := r.Between(ctx, h.c1, h.c4, []string{"pkg/cart/cart.go"}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{h.c4, h.c2}; !reflect.DeepEqual(hashes(got), want) || more {
		t.Errorf("Between(c1, c4, cart.go) = %v (more %v), want %v", hashes(got), more, want)
	}
	for _, c := range got {
		if !reflect.DeepEqual(c.Files, []string{"pkg/cart/cart.go"}) {
			t.Errorf("commit %s touched %v, want cart.go", c.Short(), c.Files)
		}
	}

	all, more, err := r.Between(ctx, h.c1, h.c4, nil, 2)
	if err != nil || !reflect.DeepEqual(hashes(all), []string{h.c4, h.c3}) || !more {
		t.Errorf("Between(c1, c4) limited to 2 = %v (more %v), %v; want c4, c3 and more", hashes(all), more, err)
	}
	if one, _, err := r.Between(ctx, h.c1, h.c2, nil, 10); err != nil || !reflect.DeepEqual(hashes(one), []string{h.c2}) {
		t.Errorf("Between(c1, c2) = %v, %v; want c2 alone", hashes(one), err)
	}
	if none, _, err := r.Between(ctx, h.c2, h.c3, []string{"pkg/cart/cart.go"}, 10); err != nil || len(none) != 0 {
		t.Errorf("Between(c2, c3, cart.go) = %v, %v; want none", hashes(none), err)
	}

	sub := open(t, filepath.Join(h.repo.Dir, "pkg"))
	got, _, err = sub.Between(ctx, h.c1, h.c4, []string{"cart/cart.go"}, 10)
	if err != nil || len(got) != 2 || !reflect.DeepEqual(got[0].Files, []string{"cart/cart.go"}) {
		t.Errorf("Between from a subdirectory = %+v, %v; want files relative to it", got, err)
	}
	if _, _, err := r.Between(ctx, "0123456789abcdef", h.c4, nil, 10); !errors.Is(err, git.ErrUnknownCommit) {
		t.Errorf("Between from an unknown commit = %v, want %v", err, git.ErrUnknownCommit)
	}
}

func TestAShallowCloneKnowsOnlyItsOwnHistory(t *testing.T) {
	h := newHistory(t)
	dir := filepath.Join(t.TempDir(), "shallow")
	h.repo.Git("clone", "-q", "--depth", "1", "file://"+h.repo.Dir, dir)
	r := open(t, dir)
	ctx := context.Background()

	if !r.Shallow(ctx) {
		t.Error("Shallow = false for a --depth 1 clone")
	}
	if open(t, h.repo.Dir).Shallow(ctx) {
		t.Error("Shallow = true for a full repository")
	}
	if _, err := r.Commit(ctx, h.c2); !errors.Is(err, git.ErrUnknownCommit) {
		t.Errorf("Commit(c2) in a shallow clone = %v, want %v", err, git.ErrUnknownCommit)
	}
	if _, err := r.Parent(ctx, h.c4); !errors.Is(err, git.ErrUnknownCommit) {
		t.Errorf("Parent(c4) in a shallow clone = %v, want %v", err, git.ErrUnknownCommit)
	}
	if got, err := r.LineHistory(ctx, "", "pkg/cart/cart.go", 5, 5); err != nil || !reflect.DeepEqual(hashes(got), []string{h.c4}) {
		t.Errorf("LineHistory in a shallow clone = %v, %v; want the one commit it has", hashes(got), err)
	}
}
