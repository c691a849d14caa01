package codebase

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzResolve checks that whatever a frame path says, Resolve only ever
// answers with a clean relative path inside the tree.
func FuzzResolve(f *testing.F) {
	for _, p := range []string{"/ci/app/main.go", "../../etc/passwd", `C:\a\..\main.go`, "file:///main.go", "main.go", "a//b/./main.go"} {
		f.Add(p)
	}
	root := writeTree(f, map[string]string{"main.go": "package main\n", "pkg/a/a.go": "package a\n"})
	tree, err := Open(root)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, p string) {
		rel, err := tree.Resolve(p)
		if err != nil {
			if !errors.Is(err, ErrFileNotFound) && !errors.Is(err, ErrOutsideTree) {
				t.Fatalf("Resolve(%q) error %v is neither not-found nor outside", p, err)
			}
			return
		}
		if !filepath.IsLocal(filepath.FromSlash(rel)) || strings.Contains(rel, "..") {
			t.Fatalf("Resolve(%q) = %q, not a local path", p, rel)
		}
	})
}
