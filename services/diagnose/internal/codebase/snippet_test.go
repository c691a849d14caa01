package codebase

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestSnippet(t *testing.T) {
	var ten strings.Builder
	for i := 1; i <= 10; i++ {
		fmt.Fprintf(&ten, "line %d\n", i)
	}
	root := writeTree(t, map[string]string{
		"ten.txt":    ten.String(),
		"crlf.cs":    "a\r\nb\r\nc\r\n",
		"no_eol.py":  "first\nlast",
		"long.js":    strings.Repeat("x", 1000) + "\n",
		"latin1.txt": "caf\xe9\n",
	})
	tree := openTree(t, root)

	lines := func(from, to int) []string {
		var l []string
		for i := from; i <= to; i++ {
			l = append(l, fmt.Sprintf("line %d", i))
		}
		return l
	}
	tests := []struct {
		name    string
		path    string
		line    int
		context int
		want    Snippet
	}{
		{name: "lines around the failing one are shown", path: "/ci/ten.txt", line: 5, context: 2, want: Snippet{File: "ten.txt", Start: 3, Line: 5, Lines: lines(3, 7)}},
		{name: "context is clamped at the start of the file", path: "ten.txt", line: 2, context: 3, want: Snippet{File: "ten.txt", Start: 1, Line: 2, Lines: lines(1, 5)}},
		{name: "context is clamped at the end of the file", path: "ten.txt", line: 9, context: 3, want: Snippet{File: "ten.txt", Start: 6, Line: 9, Lines: lines(6, 10)}},
		{name: "the last line can fail", path: "ten.txt", line: 10, context: 0, want: Snippet{File: "ten.txt", Start: 10, Line: 10, Lines: lines(10, 10)}},
		{name: "a negative context shows the failing line only", path: "ten.txt", line: 4, context: -3, want: Snippet{File: "ten.txt", Start: 4, Line: 4, Lines: lines(4, 4)}},
		{name: "CRLF line endings are dropped", path: `C:\src\crlf.cs`, line: 2, context: 1, want: Snippet{File: "crlf.cs", Start: 1, Line: 2, Lines: []string{"a", "b", "c"}}},
		{name: "a last line without newline is read", path: "no_eol.py", line: 2, context: 5, want: Snippet{File: "no_eol.py", Start: 1, Line: 2, Lines: []string{"first", "last"}}},
		{name: "long lines are cut", path: "long.js", line: 1, context: 0, want: Snippet{File: "long.js", Start: 1, Line: 1, Lines: []string{strings.Repeat("x", maxLineBytes) + "…"}}},
		{name: "invalid UTF-8 is replaced", path: "latin1.txt", line: 1, context: 0, want: Snippet{File: "latin1.txt", Start: 1, Line: 1, Lines: []string{"caf\uFFFD"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tree.Snippet(tt.path, tt.line, tt.context)
			if err != nil {
				t.Fatalf("Snippet(%q, %d, %d): %v", tt.path, tt.line, tt.context, err)
			}
			if got.File != tt.want.File || got.Start != tt.want.Start || got.Line != tt.want.Line || !slices.Equal(got.Lines, tt.want.Lines) {
				t.Fatalf("Snippet(%q, %d, %d) = %+v, want %+v", tt.path, tt.line, tt.context, got, tt.want)
			}
		})
	}
}

func TestSnippetRefusals(t *testing.T) {
	root := writeTree(t, map[string]string{
		"short.go":  "package short\n",
		"image.png": "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
	})
	big := filepath.Join(root, "big.js")
	if err := os.WriteFile(big, []byte(strings.Repeat("a", MaxFileSize+1)), 0o644); err != nil {
		t.Fatal(err)
	}
	tree := openTree(t, root)

	tests := []struct {
		name    string
		path    string
		line    int
		wantErr error
	}{
		{name: "a binary file is refused", path: "image.png", line: 1, wantErr: ErrBinaryFile},
		{name: "a file over the size limit is refused", path: "big.js", line: 1, wantErr: ErrFileTooLarge},
		{name: "a line past the end of the file is refused", path: "short.go", line: 2, wantErr: ErrLineOutOfRange},
		{name: "line zero is refused", path: "short.go", line: 0, wantErr: ErrLineOutOfRange},
		{name: "a traversal is refused", path: "../../etc/passwd", line: 1, wantErr: ErrOutsideTree},
		{name: "a missing file is not found", path: "missing.go", line: 1, wantErr: ErrFileNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tree.Snippet(tt.path, tt.line, 2)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Snippet(%q, %d, 2) = %+v, %v; want error %v", tt.path, tt.line, got, err, tt.wantErr)
			}
		})
	}
}

func TestSnippetString(t *testing.T) {
	tests := []struct {
		name    string
		snippet Snippet
		want    string
	}{
		{
			name:    "numbers are right-aligned and the failing line is marked",
			snippet: Snippet{File: "cart.go", Start: 8, Line: 10, Lines: []string{"func (c *Cart) Total() int {", "", "\treturn c.items[0].Price", "}"}},
			want: "   8 | func (c *Cart) Total() int {\n" +
				"   9 |\n" +
				"> 10 | \treturn c.items[0].Price\n" +
				"  11 | }",
		},
		{
			name:    "a single line is marked",
			snippet: Snippet{File: "a.py", Start: 3, Line: 3, Lines: []string{"assert total == 10"}},
			want:    "> 3 | assert total == 10",
		},
		{
			name:    "an empty snippet prints nothing",
			snippet: Snippet{},
			want:    "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.snippet.String(); got != tt.want {
				t.Fatalf("String() =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestReadFileTakesThePathExactly(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	write := func(dir, name, text string) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(root, "vendor/lib/CODEOWNERS", "* @lib\n")
	write(root, "docs/CODEOWNERS", "* @docs\n")
	write(outside, "secret", "s3cret\n")
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, "CODEOWNERS")); err != nil {
		t.Fatal(err)
	}
	tree, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}

	if data, err := tree.ReadFile("docs/CODEOWNERS"); err != nil || string(data) != "* @docs\n" {
		t.Errorf("ReadFile(docs/CODEOWNERS) = %q, %v", data, err)
	}
	tests := []struct {
		path string
		want error
	}{
		{"CODEOWNERS", ErrOutsideTree},          // a link out of the root
		{".github/CODEOWNERS", ErrFileNotFound}, // not found by suffix elsewhere
		{"lib/CODEOWNERS", ErrFileNotFound},     // a suffix of vendor/lib/CODEOWNERS
		{"../" + filepath.Base(outside) + "/secret", ErrOutsideTree},
		{"docs", ErrFileNotFound},                    // a directory
		{"file:///docs/CODEOWNERS", ErrFileNotFound}, // not a plain path
	}
	for _, tt := range tests {
		if data, err := tree.ReadFile(tt.path); !errors.Is(err, tt.want) {
			t.Errorf("ReadFile(%q) = %q, %v; want %v", tt.path, data, err, tt.want)
		}
	}
	if _, err := (*Tree)(nil).ReadFile("CODEOWNERS"); !errors.Is(err, ErrNoCodebase) {
		t.Errorf("ReadFile on no codebase = %v, want %v", err, ErrNoCodebase)
	}
}
