// Package evidence gathers what a diagnosis rests on before any
// diagnoser runs: the source around the project's top frames, the git
// history of those lines and files (who changed the failing lines, which
// commits came between the last passing and the first failing run), their
// owners per CODEOWNERS, and related signatures. What cannot be known (no
// codebase, no git, a shallow clone) is just left out, or said in a note.
package evidence

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/diagnose/internal/codebase"
	"github.com/rounds-dev/rounds/services/diagnose/internal/git"
	"github.com/rounds-dev/rounds/services/diagnose/internal/owners"
)

// Bounds on what is gathered, so that evidence stays readable and small
// enough to travel in every diagnosis event.
const (
	// MaxSources is how many frames' source is quoted.
	MaxSources = 3
	// maxLineCommits is how many commits are listed per failing line.
	maxLineCommits = 3
	// maxSuspects is how many commits between the last passing and the
	// first failing one are listed.
	maxSuspects = 5
	// maxRelated is how many related signatures are listed.
	maxRelated = 3
	// gatherTimeout bounds the whole gathering, git commands included.
	gatherTimeout = 20 * time.Second
	// minSimilarity is how alike two message templates must be, as the
	// share of their words they have in common, to call them related.
	minSimilarity = 0.6
)

// Set is the evidence gathered for one diagnosis.
type Set struct {
	// Sources are the lines around the project's top frames, the failing
	// one first.
	Sources []codebase.Snippet
	// Lines are the commits that changed each quoted line, latest first.
	Lines []LineHistory
	// FirstFailing is the commit the signature was first seen failing at.
	FirstFailing *git.Commit
	// LastPassing is the commit it was last seen passing at; when no
	// passing run is known (LastPassingAssumed), the parent of FirstFailing.
	LastPassing        *git.Commit
	LastPassingAssumed bool
	// Suspects are the commits after LastPassing up to FirstFailing, latest
	// first: those that changed the quoted files when any did
	// (SuspectsChangedFiles), else all of them. MoreSuspects says the list
	// was cut.
	Suspects             []git.Commit
	SuspectsChangedFiles bool
	MoreSuspects         bool
	// Owners are the owners of the quoted files, per OwnersFile.
	Owners     []FileOwners
	OwnersFile string
	// Related are signatures seen before that look like this one.
	Related []Related
	// Notes say what could not be known, and why.
	Notes []string
}

// LineHistory is the commits that changed one line.
type LineHistory struct {
	File    string
	Line    int
	Commits []git.Commit
}

// FileOwners is who owns a file.
type FileOwners struct {
	File   string
	Owners []string
}

// Related is a signature like the one diagnosed, and why it is related.
type Related struct {
	Signature contract.Signature
	Why       string
}

// Suspect returns the commit that most likely introduced the failure: the
// only commit after the last passing one up to the first failing one, or
// the only one of them that changed the failing files.
func (s *Set) Suspect() (git.Commit, bool) {
	if s == nil || len(s.Suspects) != 1 || s.MoreSuspects {
		return git.Commit{}, false
	}
	return s.Suspects[0], true
}

// FailingOwners returns the owners of the first quoted file that has any.
func (s *Set) FailingOwners() (file string, who []string) {
	if s == nil {
		return "", nil
	}
	for _, o := range s.Owners {
		if len(o.Owners) > 0 {
			return o.File, o.Owners
		}
	}
	return "", nil
}

// Request is what evidence is gathered for.
type Request struct {
	Signature contract.Signature
	// Sources are the snippets of the project's top frames, the failing one
	// first.
	Sources []codebase.Snippet
	// At is the commit the frames' line numbers refer to: the latest
	// occurrence's. Empty or unknown, the lines are followed from HEAD.
	At string
	// LastPassing is the commit the signature was last seen passing at;
	// empty when unknown, and then the first failing commit's parent.
	LastPassing string
	// Known are the signatures seen before, to find related ones among.
	Known []contract.Signature
}

// Gatherer gathers evidence. It is safe for concurrent use.
type Gatherer struct {
	tree *codebase.Tree
	repo *git.Repo
	log  *slog.Logger
}

// New returns a gatherer reading the codebase at tree and its git history
// in repo; either may be nil when there is none.
func New(tree *codebase.Tree, repo *git.Repo, log *slog.Logger) *Gatherer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Gatherer{tree: tree, repo: repo, log: log}
}

// Tree returns the codebase, nil when none is mounted.
func (g *Gatherer) Tree() *codebase.Tree {
	if g == nil {
		return nil
	}
	return g.tree
}

// Gather gathers the evidence for req. It never fails: what it cannot
// learn within its time is left out.
func (g *Gatherer) Gather(ctx context.Context, req Request) *Set {
	ctx, cancel := context.WithTimeout(ctx, gatherTimeout)
	defer cancel()
	set := &Set{Sources: req.Sources}
	var files []string
	for _, s := range req.Sources {
		if !slices.Contains(files, s.File) {
			files = append(files, s.File)
		}
	}
	if g != nil && g.repo != nil {
		g.history(ctx, req, files, set)
	}
	if g != nil && g.tree != nil {
		g.owners(files, set)
	}
	set.Related = RelatedTo(req.Signature, req.Known, maxRelated)
	return set
}

// history adds what git knows: the commits that changed each quoted line,
// the first failing and last passing commits and those between them.
func (g *Gatherer) history(ctx context.Context, req Request, files []string, set *Set) {
	log := g.log.With("signature_id", req.Signature.ID)
	at := ""
	if req.At != "" {
		if _, err := g.repo.Commit(ctx, req.At); err == nil {
			at = req.At
		}
	}
	for _, s := range req.Sources {
		commits, err := g.repo.LineHistory(ctx, at, s.File, s.Line, maxLineCommits)
		if err != nil {
			log.Debug("no history of a line", "file", s.File, "line", s.Line, "err", err)
			continue
		}
		if len(commits) > 0 {
			set.Lines = append(set.Lines, LineHistory{File: s.File, Line: s.Line, Commits: commits})
		}
	}

	first := req.Signature.FirstCommit
	if first == "" {
		return
	}
	ff, err := g.repo.Commit(ctx, first)
	if err != nil {
		if errors.Is(err, git.ErrUnknownCommit) {
			set.Notes = append(set.Notes, fmt.Sprintf("The first failing commit %s is not in the codebase's git history (a shallow clone, or another repository), so the commits that led to the failure are unknown.", git.Short(first)))
		}
		log.Debug("first failing commit unknown", "commit", first, "err", err)
		return
	}
	set.FirstFailing = &ff

	if req.LastPassing != "" {
		lp, err := g.repo.Commit(ctx, req.LastPassing)
		if err == nil {
			set.LastPassing = &lp
		} else {
			set.Notes = append(set.Notes, fmt.Sprintf("The last passing commit %s is not in the codebase's git history.", git.Short(req.LastPassing)))
		}
	}
	if set.LastPassing == nil {
		p, err := g.repo.Parent(ctx, ff.Hash)
		if err != nil {
			set.Notes = append(set.Notes, fmt.Sprintf("The parent of the first failing commit %s is not in the codebase's git history (the first commit, or a shallow clone), so the commits that led to the failure are unknown.", ff.Short()))
			return
		}
		set.LastPassing, set.LastPassingAssumed = &p, true
	}

	if len(files) > 0 {
		commits, more, err := g.repo.Between(ctx, set.LastPassing.Hash, ff.Hash, files, maxSuspects)
		if err != nil {
			log.Debug("no commits between passing and failing", "err", err)
			return
		}
		if len(commits) > 0 {
			set.Suspects, set.SuspectsChangedFiles, set.MoreSuspects = commits, true, more
			return
		}
	}
	commits, more, err := g.repo.Between(ctx, set.LastPassing.Hash, ff.Hash, nil, maxSuspects)
	if err != nil {
		log.Debug("no commits between passing and failing", "err", err)
		return
	}
	set.Suspects, set.MoreSuspects = commits, more
}

// owners adds the owners of the quoted files from the first CODEOWNERS
// file found.
func (g *Gatherer) owners(files []string, set *Set) {
	if len(files) == 0 {
		return
	}
	for _, name := range owners.Files {
		data, err := g.tree.ReadFile(name)
		if err != nil {
			continue
		}
		rules := owners.Parse(data)
		set.OwnersFile = name
		for _, f := range files {
			if who, _ := rules.Owners(f); len(who) > 0 {
				set.Owners = append(set.Owners, FileOwners{File: f, Owners: who})
			}
		}
		return
	}
}

// RelatedTo returns up to limit signatures among known that look like sig:
// the same test first, then those whose message template is most alike
// with the same error type.
func RelatedTo(sig contract.Signature, known []contract.Signature, limit int) []Related {
	type scored struct {
		Related
		score float64
	}
	var found []scored
	words := templateWords(sig.MessageTemplate)
	for _, k := range known {
		if k.ID == sig.ID || k.Project != sig.Project {
			continue
		}
		score, why := 0.0, ""
		if sameTest(sig.Test, k.Test) {
			score, why = 2, "same test"
		}
		if k.ErrorType == sig.ErrorType {
			if sim := similarity(words, templateWords(k.MessageTemplate)); sim >= minSimilarity {
				score += sim
				alike := fmt.Sprintf("similar message (%.0f%% of words alike)", 100*sim)
				if why == "" {
					why = alike
				} else {
					why += ", " + alike
				}
			}
		}
		if why != "" {
			found = append(found, scored{Related{Signature: k, Why: why}, score})
		}
	}
	slices.SortStableFunc(found, func(a, b scored) int {
		switch {
		case a.score != b.score:
			if a.score > b.score {
				return -1
			}
			return 1
		case a.Signature.Occurrences != b.Signature.Occurrences:
			if a.Signature.Occurrences > b.Signature.Occurrences {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Signature.ID, b.Signature.ID)
	})
	var out []Related
	for i := 0; i < len(found) && i < limit; i++ {
		out = append(out, found[i].Related)
	}
	return out
}

func sameTest(a, b *contract.TestIdentity) bool {
	return a != nil && b != nil && a.Name != "" && a.Name == b.Name && a.Suite == b.Suite
}

// templateWords are the distinct words of a message template.
func templateWords(t string) map[string]bool {
	words := map[string]bool{}
	for w := range strings.FieldsFuncSeq(strings.ToLower(t), func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == ':' || r == ',' || r == ';' || r == '(' || r == ')' || r == '"' || r == '\''
	}) {
		words[w] = true
	}
	return words
}

// similarity is the Jaccard index of two word sets; 0 unless both have at
// least two words, which one-word messages are too short to judge by.
func similarity(a, b map[string]bool) float64 {
	if len(a) < 2 || len(b) < 2 {
		return 0
	}
	common := 0
	for w := range a {
		if b[w] {
			common++
		}
	}
	return float64(common) / float64(len(a)+len(b)-common)
}

// Items turns the set into evidence items: sources, commits, then notes
// on owners, related signatures and what could not be known.
func (s *Set) Items() []contract.Evidence {
	if s == nil {
		return nil
	}
	var out []contract.Evidence
	for _, src := range s.Sources {
		out = append(out, SourceItem(src))
	}
	firstIsSuspect := false
	for _, c := range s.Suspects {
		firstIsSuspect = firstIsSuspect || s.FirstFailing != nil && c.Hash == s.FirstFailing.Hash
	}
	if c := s.FirstFailing; c != nil && !firstIsSuspect {
		out = append(out, contract.Evidence{Kind: "commit", Summary: "First seen failing at commit " + Label(*c)})
	}
	if c := s.LastPassing; c != nil {
		if s.LastPassingAssumed {
			out = append(out, contract.Evidence{Kind: "commit", Summary: "Taken as the last passing commit, as no passing run is known: " + Label(*c) + ", the parent of the first failing commit"})
		} else {
			out = append(out, contract.Evidence{Kind: "commit", Summary: "Last seen passing at commit " + Label(*c)})
		}
	}
	for _, c := range s.Suspects {
		e := contract.Evidence{Kind: "commit"}
		first := ""
		if s.FirstFailing != nil && c.Hash == s.FirstFailing.Hash {
			first = ", the first seen failing,"
		}
		if s.SuspectsChangedFiles {
			e.Summary = fmt.Sprintf("Suspect commit %s%s changed %s", Label(c), first, strings.Join(c.Files, ", "))
			if len(c.Files) > 0 {
				e.File = c.Files[0]
			}
		} else {
			e.Summary = fmt.Sprintf("Commit %s%s came after the last passing commit, though it changed none of the failing files", Label(c), first)
		}
		out = append(out, e)
	}
	if s.MoreSuspects {
		out = append(out, contract.Evidence{Kind: "note", Summary: fmt.Sprintf("More commits came between the last passing and the first failing commit; only the latest %d are listed.", len(s.Suspects))})
	}
	for _, l := range s.Lines {
		for i, c := range l.Commits {
			verb := "was last changed by"
			if i > 0 {
				verb = "was changed before by"
			}
			out = append(out, contract.Evidence{Kind: "commit", File: l.File, Line: l.Line, Summary: fmt.Sprintf("Line %d of %s %s commit %s", l.Line, l.File, verb, Label(c))})
		}
	}
	for _, o := range s.Owners {
		out = append(out, contract.Evidence{Kind: "note", File: o.File, Summary: fmt.Sprintf("Owners of %s per %s: %s", o.File, s.OwnersFile, strings.Join(o.Owners, ", "))})
	}
	for _, r := range s.Related {
		sig := r.Signature
		out = append(out, contract.Evidence{Kind: "note", Summary: fmt.Sprintf("Related signature %s (%s; %s, %d occurrences): %s", sig.ID, r.Why, sig.Status, sig.Occurrences, oneLine(sig.Title, 200))})
	}
	for _, n := range s.Notes {
		out = append(out, contract.Evidence{Kind: "note", Summary: n})
	}
	return out
}

// SourceItem is the evidence item quoting a snippet.
func SourceItem(s codebase.Snippet) contract.Evidence {
	return contract.Evidence{
		Kind:    "source",
		Summary: fmt.Sprintf("Source of %s around line %d", s.File, s.Line),
		File:    s.File,
		Line:    s.Line,
		Snippet: s.String(),
	}
}

// Label names a commit for a sentence: `1a2b3c4d5e6f (2026-03-01, Alice):
// "Round totals down"`.
func Label(c git.Commit) string {
	var b strings.Builder
	b.WriteString(c.Short())
	var meta []string
	if !c.Time.IsZero() {
		meta = append(meta, c.Time.UTC().Format(time.DateOnly))
	}
	if c.Author != "" {
		meta = append(meta, c.Author)
	}
	if len(meta) > 0 {
		b.WriteString(" (" + strings.Join(meta, ", ") + ")")
	}
	if c.Subject != "" {
		b.WriteString(fmt.Sprintf(": %q", c.Subject))
	}
	return b.String()
}

// Merge appends to base the items of extra it does not already have: the
// same kind at the same file and line for frames and sources, the same
// kind and summary for the rest.
func Merge(base, extra []contract.Evidence) []contract.Evidence {
	type key struct {
		kind, file string
		line       int
		summary    string
	}
	keyOf := func(e contract.Evidence) key {
		if (e.Kind == "source" || e.Kind == "frame") && e.File != "" {
			return key{kind: e.Kind, file: e.File, line: e.Line}
		}
		return key{kind: e.Kind, file: e.File, line: e.Line, summary: e.Summary}
	}
	seen := make(map[key]bool, len(base)+len(extra))
	for _, e := range base {
		seen[keyOf(e)] = true
	}
	out := base
	for _, e := range extra {
		if k := keyOf(e); !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	return out
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n] + "…"
}
