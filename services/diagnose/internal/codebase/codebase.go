// Package codebase gives read-only access to the source tree of the project
// under diagnosis, mounted at a root directory.
//
// Stack frames name files as they were on the machine that ran the code: an
// absolute CI path, a path relative to some working directory, a Windows
// path or only a base name. A Tree maps such a path onto a file inside its
// root and never hands out anything outside it, because frame paths come
// from untrusted failure reports.
package codebase

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
)

// Errors returned, wrapped, by Open, Resolve and Snippet.
var (
	// ErrNoCodebase means no source tree is mounted.
	ErrNoCodebase = errors.New("no codebase mounted")
	// ErrOutsideTree means a path leads out of the root, by ".." or by a
	// symbolic link.
	ErrOutsideTree = errors.New("path is outside the codebase")
	// ErrFileNotFound means no regular file inside the root matches a path.
	ErrFileNotFound = errors.New("file not found in the codebase")
	// ErrFileTooLarge means a file is larger than MaxFileSize.
	ErrFileTooLarge = errors.New("file too large to quote")
	// ErrBinaryFile means a file does not look like text.
	ErrBinaryFile = errors.New("file is binary")
	// ErrLineOutOfRange means a line number is not in the file, which
	// usually means the tree is not at the commit that failed.
	ErrLineOutOfRange = errors.New("line is not in the file")
)

const (
	// MaxFileSize is the largest file Snippet reads; anything larger is
	// generated code or data, not source worth quoting.
	MaxFileSize = 2 << 20
	// maxIndexedFiles bounds the walk that finds files by base name, so that
	// a huge mount costs a bounded amount of time once.
	maxIndexedFiles = 50_000
	// maxPathBytes and maxDepth bound the work one frame path can cause: no
	// file path is longer than PATH_MAX, and no source file in a project is
	// nested deeper.
	maxPathBytes = 4096
	maxDepth     = 64
)

// Tree is a source tree mounted at a root directory. It is safe for
// concurrent use.
type Tree struct {
	// root is absolute with symbolic links resolved, so that containment can
	// be checked on resolved paths.
	root string
	// given is the absolute root as configured, before resolving links; a
	// frame path on this machine may be written against either.
	given string

	indexOnce sync.Once
	// index maps a base name to the slash-separated paths, relative to root,
	// of the files with that name. It is built on first need only, because
	// most frames resolve by suffix without it.
	index map[string][]string
}

// Open returns the tree rooted at root, which must be an existing directory.
// An empty root means no codebase is mounted and yields ErrNoCodebase.
func Open(root string) (*Tree, error) {
	if root == "" {
		return nil, ErrNoCodebase
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("open codebase %q: %w", root, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("open codebase %q: %w", root, err)
	}
	info, err := os.Stat(real)
	if err != nil {
		return nil, fmt.Errorf("open codebase %q: %w", root, err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("open codebase %q: not a directory", root)
	}
	return &Tree{root: real, given: abs}, nil
}

// Root returns the absolute path of the tree's root, symbolic links resolved.
func (t *Tree) Root() string {
	if t == nil {
		return ""
	}
	return t.root
}

// Resolve maps a frame's file path to the slash-separated path, relative to
// the root, of a regular file inside the tree.
//
// It tries the path itself (an absolute path on this machine that lies in
// the root, then the path as relative to the root), then ever shorter
// suffixes of it, so that /home/runner/work/app/app/pkg/cart/cart.go finds
// pkg/cart/cart.go. A path still unresolved, such as a JVM frame's bare
// Cart.java, is looked up among the files whose path ends with it; only a
// unique match counts. Paths with ".." components and files whose links
// lead out of the root yield ErrOutsideTree; a nil Tree yields ErrNoCodebase.
//
// The by-name lookup walks the tree once, on first need, skipping version
// control, dependency and build directories and stopping after 50,000
// files; files added after that walk are found by suffix only.
func (t *Tree) Resolve(framePath string) (string, error) {
	rel, _, err := t.resolve(framePath)
	if err != nil {
		return "", fmt.Errorf("resolve frame path %q: %w", framePath, err)
	}
	return rel, nil
}

// resolve is Resolve returning also the file's real path, which is what
// must be opened: it is the one that was checked to be inside the root.
func (t *Tree) resolve(framePath string) (rel, real string, err error) {
	if t == nil {
		return "", "", ErrNoCodebase
	}
	parts, err := splitFramePath(framePath)
	if err != nil {
		return "", "", err
	}

	outside := false
	try := func(rel string) (string, bool) {
		real, err := t.check(rel)
		if errors.Is(err, ErrOutsideTree) {
			outside = true
		}
		return real, err == nil
	}

	// A path on this very machine under the root is exact; the suffix search
	// below could otherwise stop at a longer, wrong suffix first.
	if filepath.IsAbs(framePath) {
		for _, base := range []string{t.root, t.given} {
			r, err := filepath.Rel(base, filepath.Clean(framePath))
			if err != nil || !local(r) {
				continue
			}
			r = filepath.ToSlash(r)
			if real, ok := try(r); ok {
				return r, real, nil
			}
		}
	}
	for i := range parts {
		r := path.Join(parts[i:]...)
		if real, ok := try(r); ok {
			return r, real, nil
		}
	}
	if r, ok := t.lookup(parts); ok {
		if real, ok := try(r); ok {
			return r, real, nil
		}
	}
	if outside {
		return "", "", ErrOutsideTree
	}
	return "", "", ErrFileNotFound
}

// splitFramePath turns a frame path from any platform into its
// slash-separated components, without empty or "." ones.
func splitFramePath(p string) ([]string, error) {
	p = strings.TrimSpace(p)
	if len(p) > maxPathBytes {
		return nil, ErrFileNotFound
	}
	// V8 and webpack print module URLs (file:///app/x.js, webpack:///./x.js).
	if i := strings.Index(p, "://"); i > 0 && isLetters(p[:i]) {
		p = p[i+len("://"):]
	}
	p = strings.ReplaceAll(p, `\`, "/")
	if len(p) >= 2 && p[1] == ':' && isLetters(p[:1]) {
		p = p[2:] // Windows drive letter
	}
	if strings.ContainsRune(p, 0) {
		return nil, ErrFileNotFound
	}
	var parts []string
	for _, c := range strings.Split(p, "/") {
		switch c {
		case "", ".":
		case "..":
			return nil, ErrOutsideTree
		default:
			parts = append(parts, c)
		}
	}
	if len(parts) == 0 {
		return nil, ErrFileNotFound
	}
	return parts[max(0, len(parts)-maxDepth):], nil
}

// check returns the real path of the regular file at rel, a clean
// slash-separated path relative to the root, after following links and
// making sure the target is still inside the root.
func (t *Tree) check(rel string) (string, error) {
	real, err := filepath.EvalSymlinks(filepath.Join(t.root, filepath.FromSlash(rel)))
	if err != nil {
		// Missing, a dangling link or a component that is not a directory:
		// for a suffix search all of these mean "not here".
		return "", ErrFileNotFound
	}
	if r, err := filepath.Rel(t.root, real); err != nil || !local(r) {
		return "", ErrOutsideTree
	}
	info, err := os.Stat(real)
	if err != nil || !info.Mode().IsRegular() {
		return "", ErrFileNotFound
	}
	return real, nil
}

// lookup finds the unique indexed file whose path ends with all of parts.
func (t *Tree) lookup(parts []string) (string, bool) {
	t.indexOnce.Do(t.buildIndex)
	suffix := path.Join(parts...)
	match, n := "", 0
	for _, c := range t.index[parts[len(parts)-1]] {
		if c == suffix || strings.HasSuffix(c, "/"+suffix) {
			match = c
			n++
		}
	}
	return match, n == 1
}

// buildIndex walks the tree once to map base names to files. Unreadable
// directories are skipped: the index is a best effort.
func (t *Tree) buildIndex() {
	index := make(map[string][]string)
	files := 0
	_ = filepath.WalkDir(t.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d == nil {
			return nil
		}
		if d.IsDir() {
			if p != t.root && skipDir(d.Name()) {
				return fs.SkipDir
			}
			return nil
		}
		if files++; files > maxIndexedFiles {
			return fs.SkipAll
		}
		rel, err := filepath.Rel(t.root, p)
		if err != nil {
			return nil
		}
		index[d.Name()] = append(index[d.Name()], filepath.ToSlash(rel))
		return nil
	})
	t.index = index
}

// skipDir reports whether a directory holds version control data,
// dependencies or build output rather than the project's own source.
func skipDir(name string) bool {
	if strings.HasPrefix(name, ".") {
		return true // .git, .venv, .gradle, .idea and the like
	}
	switch name {
	case "node_modules", "vendor", "build", "dist", "target", "out", "bin", "obj",
		"__pycache__", "venv", "site-packages", "coverage", "bower_components":
		return true
	}
	return false
}

// local reports whether rel, the result of filepath.Rel, stays inside its base.
func local(rel string) bool {
	return rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

func isLetters(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}
