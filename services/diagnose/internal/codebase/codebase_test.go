package codebase

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeTree creates files (slash-separated path => content) under a new
// temporary directory and returns it.
func writeTree(t testing.TB, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func openTree(t *testing.T, root string) *Tree {
	t.Helper()
	tree, err := Open(root)
	if err != nil {
		t.Fatalf("Open(%q): %v", root, err)
	}
	return tree
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file.txt")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		root    string
		wantErr error
		anyErr  bool
	}{
		{name: "an existing directory opens", root: dir},
		{name: "an empty root means no codebase is mounted", root: "", wantErr: ErrNoCodebase},
		{name: "a missing directory is refused", root: filepath.Join(dir, "missing"), wantErr: os.ErrNotExist},
		{name: "a regular file is refused", root: file, anyErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree, err := Open(tt.root)
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Open(%q) error = %v, want %v", tt.root, err, tt.wantErr)
				}
			case tt.anyErr:
				if err == nil {
					t.Fatalf("Open(%q) succeeded, want an error", tt.root)
				}
			case err != nil:
				t.Fatalf("Open(%q): %v", tt.root, err)
			case tree.Root() == "":
				t.Fatal("Root() is empty")
			}
		})
	}
}

func TestResolve(t *testing.T) {
	root := writeTree(t, map[string]string{
		"main.go":                                  "package main\n",
		"pkg/cart/cart.go":                         "package cart\n",
		"pkg/cart/cart_test.go":                    "package cart\n",
		"tests/test_cart.py":                       "def test_total(): pass\n",
		"src/App/Cart.cs":                          "class Cart {}\n",
		"src/cart.js":                              "module.exports = {}\n",
		"src/main/java/com/acme/cart/Cart.java":    "class Cart {}\n",
		"src/main/java/com/acme/util/Strings.java": "class Strings {}\n",
		"src/test/java/com/acme/text/Strings.java": "class Strings {}\n",
		"node_modules/lib/Hidden.java":             "class Hidden {}\n",
	})
	tree := openTree(t, root)

	tests := []struct {
		name    string
		path    string
		want    string
		wantErr error
	}{
		{name: "an absolute CI path resolves by dropping leading components", path: "/home/runner/work/app/app/pkg/cart/cart.go", want: "pkg/cart/cart.go"},
		{name: "a deep CI path resolves to a file at the root", path: "/home/runner/work/app/app/main.go", want: "main.go"},
		{name: "a path relative to the root resolves as is", path: "tests/test_cart.py", want: "tests/test_cart.py"},
		{name: "a path with dot components resolves", path: "./pkg/./cart/cart.go", want: "pkg/cart/cart.go"},
		{name: "a Windows path with backslashes resolves", path: `D:\a\app\app\src\App\Cart.cs`, want: "src/App/Cart.cs"},
		{name: "a file URL from a V8 frame resolves", path: "file:///home/runner/work/app/app/src/cart.js", want: "src/cart.js"},
		{name: "an absolute path on this machine inside the root resolves", path: filepath.Join(root, "pkg", "cart", "cart_test.go"), want: "pkg/cart/cart_test.go"},
		{name: "a JVM base name resolves to the only file with that name", path: "Cart.java", want: "src/main/java/com/acme/cart/Cart.java"},
		{name: "a package path picks one of two files with the same name", path: "com/acme/util/Strings.java", want: "src/main/java/com/acme/util/Strings.java"},
		{name: "a base name shared by two files is not guessed", path: "Strings.java", wantErr: ErrFileNotFound},
		{name: "files in dependency directories are not found by name", path: "Hidden.java", wantErr: ErrFileNotFound},
		{name: "a path deeper than any project keeps its tail", path: strings.Repeat("x/", 100) + "pkg/cart/cart.go", want: "pkg/cart/cart.go"},
		{name: "a path longer than PATH_MAX is not a file", path: strings.Repeat("x", maxPathBytes) + "/main.go", wantErr: ErrFileNotFound},
		{name: "a directory is not a file", path: "/ci/app/pkg/cart", wantErr: ErrFileNotFound},
		{name: "a file missing from the tree is not found", path: "/home/runner/work/app/app/pkg/cart/missing.go", wantErr: ErrFileNotFound},
		{name: "an empty path is not found", path: "", wantErr: ErrFileNotFound},
		{name: "a relative path climbing out of the root is refused", path: "../../etc/passwd", wantErr: ErrOutsideTree},
		{name: "a path climbing out from inside is refused", path: "pkg/../../../etc/passwd", wantErr: ErrOutsideTree},
		{name: "a Windows path climbing out is refused", path: `..\..\Windows\win.ini`, wantErr: ErrOutsideTree},
		{name: "an absolute path outside the root is only looked for inside it", path: "/etc/passwd", wantErr: ErrFileNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tree.Resolve(tt.path)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Resolve(%q) = %q, %v; want error %v", tt.path, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve(%q): %v", tt.path, err)
			}
			if got != tt.want {
				t.Fatalf("Resolve(%q) = %q, want %q", tt.path, got, tt.want)
			}
		})
	}
}

func TestResolveSymlinks(t *testing.T) {
	outside := writeTree(t, map[string]string{"secret.go": "package secret\n"})
	root := writeTree(t, map[string]string{"main.go": "package main\n"})
	links := map[string]string{
		"pkg/secret.go": filepath.Join(outside, "secret.go"),
		"linked":        outside,
		"alias.go":      filepath.Join(root, "main.go"),
	}
	for name, target := range links {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Skipf("symbolic links unsupported: %v", err)
		}
	}
	tree := openTree(t, root)

	tests := []struct {
		name    string
		path    string
		want    string
		wantErr error
	}{
		{name: "a file linking outside the root is refused", path: "/ci/app/pkg/secret.go", wantErr: ErrOutsideTree},
		{name: "a directory linking outside the root is refused", path: "linked/secret.go", wantErr: ErrOutsideTree},
		{name: "a link to a file inside the root resolves", path: "alias.go", want: "alias.go"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tree.Resolve(tt.path)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Resolve(%q) = %q, %v; want error %v", tt.path, got, err, tt.wantErr)
				}
				if _, err := tree.Snippet(tt.path, 1, 1); !errors.Is(err, tt.wantErr) {
					t.Fatalf("Snippet(%q) error = %v, want %v", tt.path, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Resolve(%q) = %q, %v; want %q", tt.path, got, err, tt.want)
			}
		})
	}
}

func TestResolveOnNilTreeReportsNoCodebase(t *testing.T) {
	var tree *Tree
	if _, err := tree.Resolve("main.go"); !errors.Is(err, ErrNoCodebase) {
		t.Fatalf("Resolve on nil tree: %v, want %v", err, ErrNoCodebase)
	}
	if _, err := tree.Snippet("main.go", 1, 1); !errors.Is(err, ErrNoCodebase) {
		t.Fatalf("Snippet on nil tree: %v, want %v", err, ErrNoCodebase)
	}
}

func TestResolveErrorNamesThePath(t *testing.T) {
	tree := openTree(t, t.TempDir())
	_, err := tree.Resolve("/ci/app/missing.go")
	if err == nil || !strings.Contains(err.Error(), `"/ci/app/missing.go"`) {
		t.Fatalf("Resolve error = %v, want it to name the frame path", err)
	}
}
