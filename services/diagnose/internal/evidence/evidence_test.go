package evidence_test

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/diagnose/internal/codebase"
	"github.com/rounds-dev/rounds/services/diagnose/internal/evidence"
	"github.com/rounds-dev/rounds/services/diagnose/internal/git"
	"github.com/rounds-dev/rounds/services/diagnose/internal/git/gittest"
)

// shop is a repository of four commits:
//
//	c1 Alice: the cart, its test, CODEOWNERS
//	c2 Carol: the readme only
//	c3 Bob:   line 17 of cart.go (the bug)
//	c4 Dave:  the readme only
type shop struct {
	repo           *gittest.Repo
	tree           *codebase.Tree
	c1, c2, c3, c4 string
}

func newShop(t *testing.T) shop {
	t.Helper()
	r := gittest.New(t)
	s := shop{repo: r}
	s.c1 = r.Commit("Alice", "Add the cart", map[string]string{
		"pkg/cart/cart.go":      gittest.Lines(20, map[int]string{17: "return total"}),
		"pkg/cart/cart_test.go": gittest.Lines(15, map[int]string{12: "t.Fatalf(\"total = %d\", got)"}),
		".github/CODEOWNERS":    "* @acme/everyone\n/pkg/cart/ @acme/cart @alice\n*_test.go @acme/qa\n",
		"README.md":             "shop\n",
	})
	s.c2 = r.Commit("Carol", "Document the shop", map[string]string{"README.md": "shop\n\nSells things.\n"})
	s.c3 = r.Commit("Bob", "Round totals down", map[string]string{
		"pkg/cart/cart.go": gittest.Lines(20, map[int]string{17: "return total / 100 * 100"}),
	})
	s.c4 = r.Commit("Dave", "Fix a typo", map[string]string{"README.md": "shop\n\nSells things!\n"})
	tree, err := codebase.Open(r.Dir)
	if err != nil {
		t.Fatal(err)
	}
	s.tree = tree
	return s
}

func (s shop) sources(t *testing.T) []codebase.Snippet {
	t.Helper()
	var out []codebase.Snippet
	for _, at := range []struct {
		file string
		line int
	}{{"pkg/cart/cart.go", 17}, {"pkg/cart/cart_test.go", 12}} {
		sn, err := s.tree.Snippet(at.file, at.line, 3)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, sn)
	}
	return out
}

func openRepo(t *testing.T, dir string) *git.Repo {
	t.Helper()
	r, err := git.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func hashes(cs []git.Commit) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Hash)
	}
	return out
}

func TestGatherFindsTheSuspectCommitTheLineHistoryAndTheOwners(t *testing.T) {
	s := newShop(t)
	g := evidence.New(s.tree, openRepo(t, s.repo.Dir), nil)
	sig := contract.Signature{ID: "s1", Project: "shop", FirstCommit: s.c3}

	tests := []struct {
		name         string
		first        string // the first failing commit
		lastPassing  string
		wantPassing  string
		assumed      bool
		wantSuspects []string
		changedFiles bool
	}{
		{
			name:  "the first failing commit's parent is taken as the last passing one",
			first: s.c3, wantPassing: s.c2, assumed: true,
			wantSuspects: []string{s.c3}, changedFiles: true,
		},
		{
			name:  "a known last passing commit bounds the suspects, of which only those changing the failing files count",
			first: s.c4, lastPassing: s.c1, wantPassing: s.c1,
			wantSuspects: []string{s.c3}, changedFiles: true,
		},
		{
			name:  "when no commit changed the failing files, all the commits between are listed",
			first: s.c2, wantPassing: s.c1, assumed: true,
			wantSuspects: []string{s.c2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig.FirstCommit = tt.first
			set := g.Gather(context.Background(), evidence.Request{Signature: sig, Sources: s.sources(t), At: tt.first, LastPassing: tt.lastPassing})

			if set.FirstFailing == nil || set.FirstFailing.Hash != tt.first {
				t.Fatalf("FirstFailing = %+v, want %s", set.FirstFailing, tt.first)
			}
			if set.LastPassing == nil || set.LastPassing.Hash != tt.wantPassing || set.LastPassingAssumed != tt.assumed {
				t.Errorf("LastPassing = %+v (assumed %v), want %s (assumed %v)", set.LastPassing, set.LastPassingAssumed, tt.wantPassing, tt.assumed)
			}
			if got := hashes(set.Suspects); !reflect.DeepEqual(got, tt.wantSuspects) || set.SuspectsChangedFiles != tt.changedFiles {
				t.Errorf("Suspects = %v (changed files %v), want %v (%v)", got, set.SuspectsChangedFiles, tt.wantSuspects, tt.changedFiles)
			}
			if c, ok := set.Suspect(); !ok || c.Hash != tt.wantSuspects[0] {
				t.Errorf("Suspect = %+v, %v; want %s", c, ok, tt.wantSuspects[0])
			}
			if len(set.Notes) != 0 {
				t.Errorf("Notes = %q, want none", set.Notes)
			}
		})
	}

	sig.FirstCommit = s.c3
	set := g.Gather(context.Background(), evidence.Request{Signature: sig, Sources: s.sources(t), At: s.c3})
	if len(set.Lines) != 2 {
		t.Fatalf("Lines = %+v, want the history of both quoted lines", set.Lines)
	}
	if l := set.Lines[0]; l.File != "pkg/cart/cart.go" || l.Line != 17 || !reflect.DeepEqual(hashes(l.Commits), []string{s.c3, s.c1}) {
		t.Errorf("history of cart.go:17 = %+v, want c3 then c1", l)
	}
	if l := set.Lines[1]; !reflect.DeepEqual(hashes(l.Commits), []string{s.c1}) {
		t.Errorf("history of cart_test.go:12 = %+v, want c1", l)
	}
	wantOwners := []evidence.FileOwners{
		{File: "pkg/cart/cart.go", Owners: []string{"@acme/cart", "@alice"}},
		{File: "pkg/cart/cart_test.go", Owners: []string{"@acme/qa"}},
	}
	if !reflect.DeepEqual(set.Owners, wantOwners) || set.OwnersFile != ".github/CODEOWNERS" {
		t.Errorf("Owners = %+v per %q, want %+v per .github/CODEOWNERS", set.Owners, set.OwnersFile, wantOwners)
	}
	if file, who := set.FailingOwners(); file != "pkg/cart/cart.go" || len(who) != 2 {
		t.Errorf("FailingOwners = %s %v, want cart.go's", file, who)
	}

	items := set.Items()
	kinds := map[string]int{}
	for _, e := range items {
		kinds[e.Kind]++
	}
	// 2 sources; last passing, the suspect (the first failing commit, not
	// listed twice), 3 line commits; 2 owner notes.
	if want := map[string]int{"source": 2, "commit": 5, "note": 2}; !reflect.DeepEqual(kinds, want) {
		t.Errorf("evidence kinds %v, want %v:\n%+v", kinds, want, items)
	}
	var summaries []string
	for _, e := range items {
		summaries = append(summaries, e.Summary)
	}
	all := strings.Join(summaries, "\n")
	for _, want := range []string{
		"Suspect commit " + s.c3[:12] + " (2026-03-01, Bob): \"Round totals down\", the first seen failing, changed pkg/cart/cart.go",
		"Taken as the last passing commit, as no passing run is known: " + s.c2[:12],
		"Line 17 of pkg/cart/cart.go was last changed by commit " + s.c3[:12],
		"Owners of pkg/cart/cart.go per .github/CODEOWNERS: @acme/cart, @alice",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("evidence lacks %q:\n%s", want, all)
		}
	}
}

func TestGatherSaysWhatItCannotKnow(t *testing.T) {
	s := newShop(t)
	repo := openRepo(t, s.repo.Dir)

	unknown := evidence.New(s.tree, repo, nil).Gather(context.Background(), evidence.Request{
		Signature: contract.Signature{ID: "s1", Project: "shop", FirstCommit: "0123456789abcdef0123"},
		Sources:   s.sources(t),
		At:        "0123456789abcdef0123",
	})
	if unknown.FirstFailing != nil || len(unknown.Suspects) != 0 {
		t.Errorf("with an unknown first commit: first failing %+v, suspects %v; want none", unknown.FirstFailing, hashes(unknown.Suspects))
	}
	if len(unknown.Notes) != 1 || !strings.Contains(unknown.Notes[0], "0123456789ab is not in the codebase's git history") {
		t.Errorf("Notes = %q, want one on the unknown commit", unknown.Notes)
	}
	if len(unknown.Lines) != 2 {
		t.Errorf("Lines = %+v; want the lines followed from HEAD when the failing commit is unknown", unknown.Lines)
	}

	root := evidence.New(s.tree, repo, nil).Gather(context.Background(), evidence.Request{
		Signature: contract.Signature{ID: "s1", Project: "shop", FirstCommit: s.c1},
		Sources:   s.sources(t),
	})
	if root.FirstFailing == nil || root.LastPassing != nil || len(root.Notes) != 1 || !strings.Contains(root.Notes[0], "parent of the first failing commit") {
		t.Errorf("failing since the first commit: %+v; want a note that its parent is unknown", root)
	}

	dir := filepath.Join(t.TempDir(), "shallow")
	s.repo.Git("clone", "-q", "--depth", "1", "file://"+s.repo.Dir, dir)
	tree, err := codebase.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	shallow := evidence.New(tree, openRepo(t, dir), nil).Gather(context.Background(), evidence.Request{
		Signature: contract.Signature{ID: "s1", Project: "shop", FirstCommit: s.c4},
		Sources:   s.sources(t),
	})
	if shallow.FirstFailing == nil || shallow.LastPassing != nil || len(shallow.Suspects) != 0 || len(shallow.Notes) != 1 {
		t.Errorf("in a shallow clone: %+v; want the first failing commit and a note that its parent is unknown", shallow)
	}

	noGit := evidence.New(s.tree, nil, nil).Gather(context.Background(), evidence.Request{
		Signature: contract.Signature{ID: "s1", Project: "shop", FirstCommit: s.c3},
		Sources:   s.sources(t),
	})
	if noGit.FirstFailing != nil || len(noGit.Lines) != 0 || len(noGit.Notes) != 0 || len(noGit.Owners) != 2 || len(noGit.Sources) != 2 {
		t.Errorf("without git: %+v; want sources and owners, and no history", noGit)
	}

	var nothing *evidence.Gatherer
	if set := nothing.Gather(context.Background(), evidence.Request{Signature: contract.Signature{ID: "s1"}}); set == nil || len(set.Items()) != 0 {
		t.Errorf("a nil gatherer gathered %+v", set)
	}
}

func TestRelatedTo(t *testing.T) {
	test := func(suite, name string) *contract.TestIdentity {
		return &contract.TestIdentity{Suite: suite, Name: name}
	}
	sig := contract.Signature{ID: "me", Project: "shop", Test: test("cart", "TestTotal"), ErrorType: "AssertionError", MessageTemplate: "total = <*>, want <*> for cart <*>"}
	known := []contract.Signature{
		sig, // itself
		{ID: "same-test", Project: "shop", Test: test("cart", "TestTotal"), ErrorType: "panic", MessageTemplate: "nil map", Occurrences: 2},
		{ID: "similar", Project: "shop", Test: test("cart", "TestSum"), ErrorType: "AssertionError", MessageTemplate: "total = <*>, want <*> for order <*>", Occurrences: 9},
		{ID: "similar-other-type", Project: "shop", ErrorType: "ValueError", MessageTemplate: "total = <*>, want <*> for cart <*>"},
		{ID: "unlike", Project: "shop", ErrorType: "AssertionError", MessageTemplate: "expected a list"},
		{ID: "other-project", Project: "billing", Test: test("cart", "TestTotal")},
		{ID: "same-name-other-suite", Project: "shop", Test: test("checkout", "TestTotal")},
	}
	got := evidence.RelatedTo(sig, known, 3)
	var ids, whys []string
	for _, r := range got {
		ids = append(ids, r.Signature.ID)
		whys = append(whys, r.Why)
	}
	if want := []string{"same-test", "similar"}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("RelatedTo = %v (%q), want %v", ids, whys, want)
	}
	if whys[0] != "same test" || !strings.HasPrefix(whys[1], "similar message (") {
		t.Errorf("reasons %q", whys)
	}
	if got := evidence.RelatedTo(sig, known, 1); len(got) != 1 || got[0].Signature.ID != "same-test" {
		t.Errorf("RelatedTo limited to 1 = %+v", got)
	}
}

func TestMergeKeepsWhatIsNew(t *testing.T) {
	base := []contract.Evidence{
		{Kind: "frame", Summary: "First project frame", File: "a.go", Line: 3},
		{Kind: "source", Summary: "Source of a.go around line 3", File: "a.go", Line: 3, Snippet: "x"},
		{Kind: "note", Summary: "flaky"},
	}
	extra := []contract.Evidence{
		{Kind: "source", Summary: "Source of a.go around line 3", File: "a.go", Line: 3, Snippet: "longer"},
		{Kind: "source", Summary: "Source of b.go around line 9", File: "b.go", Line: 9},
		{Kind: "note", Summary: "flaky"},
		{Kind: "commit", Summary: "Suspect commit abc"},
		{Kind: "commit", Summary: "Suspect commit abc"},
	}
	got := evidence.Merge(base, extra)
	var summaries []string
	for _, e := range got {
		summaries = append(summaries, e.Kind+": "+e.Summary)
	}
	want := []string{"frame: First project frame", "source: Source of a.go around line 3", "note: flaky", "source: Source of b.go around line 9", "commit: Suspect commit abc"}
	if !reflect.DeepEqual(summaries, want) {
		t.Errorf("Merge = %q, want %q", summaries, want)
	}
}
