package markdown

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

func TestWriteRefusesUnsafePaths(t *testing.T) {
	tests := []struct {
		name string
		rel  string
	}{
		{"an empty path is refused", ""},
		{"the reports directory itself is refused", "."},
		{"an absolute path is refused", "/etc/passwd"},
		{"a parent directory is refused", "../report.md"},
		{"a parent directory hidden in the middle is refused", "2024-05-17/../../report.md"},
		{"a parent directory that stays inside is still refused", "2024-05-17/../report.md"},
		{"a path that is only a parent directory is refused", ".."},
		{"a backslash parent directory is refused", `..\report.md`},
		{"a leading backslash is refused", `\report.md`},
		{"a NUL byte is refused", "2024-05-17/report\x00.md"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "reports")
			got, err := Write(dir, tt.rel, []byte("x"))
			if !errors.Is(err, ErrUnsafePath) {
				t.Fatalf("Write(%q) = %q, %v; want ErrUnsafePath", tt.rel, got, err)
			}
			if entries := list(t, parent); !slices.Equal(entries, nil) {
				t.Errorf("Write(%q) left files behind: %q", tt.rel, entries)
			}
		})
	}
}

func TestWrite(t *testing.T) {
	tests := []struct {
		name  string
		rel   string
		files []string
	}{
		{"a report lands in its date directory", "2024-05-17/09-04-03_shop_E_s1.md",
			[]string{"2024-05-17", "2024-05-17/09-04-03_shop_E_s1.md"}},
		{"a report at the top of the directory needs no date directory", "report.md",
			[]string{"report.md"}},
		{"a path with redundant elements is cleaned", "./2024-05-17//report.md",
			[]string{"2024-05-17", "2024-05-17/report.md"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The reports directory does not exist yet: Write creates it.
			dir := filepath.Join(t.TempDir(), "reports")
			got, err := Write(dir, tt.rel, []byte("# Report\n"))
			if err != nil {
				t.Fatalf("Write: %v", err)
			}
			if want := filepath.Join(dir, filepath.Clean(tt.rel)); got != want || !filepath.IsAbs(got) {
				t.Errorf("Write returned %q, want %q", got, want)
			}
			assertFile(t, got, "# Report\n")
			if files := list(t, dir); !slices.Equal(files, tt.files) {
				t.Errorf("reports directory holds %q, want %q (no temporary files)", files, tt.files)
			}
		})
	}
}

func TestWriteReturnsAnAbsolutePathForARelativeDirectory(t *testing.T) {
	t.Chdir(t.TempDir())
	got, err := Write("reports", "2024-05-17/report.md", []byte("x"))
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if !filepath.IsAbs(got) {
		t.Errorf("Write returned %q, want an absolute path", got)
	}
	assertFile(t, got, "x")
}

func TestWriteOverwritesInPlace(t *testing.T) {
	dir := t.TempDir()
	rel := "2024-05-17/report.md"
	if _, err := Write(dir, rel, []byte("first version, which is longer\n")); err != nil {
		t.Fatalf("first Write: %v", err)
	}
	got, err := Write(dir, rel, []byte("second\n"))
	if err != nil {
		t.Fatalf("second Write: %v", err)
	}
	assertFile(t, got, "second\n")
	if files := list(t, dir); !slices.Equal(files, []string{"2024-05-17", rel}) {
		t.Errorf("reports directory holds %q, want only the report", files)
	}
}

func TestWriteFromManyGoroutinesLeavesOneWholeReport(t *testing.T) {
	dir := t.TempDir()
	rel := "2024-05-17/report.md"
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			if _, err := Write(dir, rel, fmt.Appendf(nil, "version %02d\n", i)); err != nil {
				t.Errorf("Write %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	data, err := os.ReadFile(filepath.Join(dir, rel))
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if _, err := fmt.Sscanf(string(data), "version %02d\n", &n); err != nil || len(data) != len("version 00\n") {
		t.Errorf("report holds %q, want one whole version", data)
	}
	if files := list(t, dir); !slices.Equal(files, []string{"2024-05-17", rel}) {
		t.Errorf("reports directory holds %q, want only the report", files)
	}
}

func TestWriteThatFailsLeavesNoTemporaryFile(t *testing.T) {
	dir := t.TempDir()
	// A directory where the report should go makes the rename fail after
	// the temporary file was written.
	if err := os.MkdirAll(filepath.Join(dir, "2024-05-17", "report.md", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(dir, "2024-05-17/report.md", []byte("x")); err == nil {
		t.Fatal("Write over a directory succeeded")
	}
	want := []string{"2024-05-17", "2024-05-17/report.md", "2024-05-17/report.md/x"}
	if files := list(t, dir); !slices.Equal(files, want) {
		t.Errorf("reports directory holds %q, want %q", files, want)
	}
}

func TestWriteDoesNotFollowSymlinksOutOfTheDirectory(t *testing.T) {
	parent := t.TempDir()
	dir, outside := filepath.Join(parent, "reports"), filepath.Join(parent, "outside")
	for _, d := range []string{dir, outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(dir, "2024-05-17")); err != nil {
		t.Skipf("cannot create a symlink: %v", err)
	}
	if _, err := Write(dir, "2024-05-17/report.md", []byte("x")); err == nil {
		t.Fatal("Write through a symlink leading out of the reports directory succeeded")
	}
	if files := list(t, outside); len(files) != 0 {
		t.Errorf("Write put %q outside the reports directory", files)
	}
}

func TestWriteRefusesAnEmptyDirectory(t *testing.T) {
	if _, err := Write("", "report.md", []byte("x")); err == nil {
		t.Fatal("Write with no reports directory succeeded")
	}
}

// list returns every path under dir, relative to it and slash-separated,
// in lexical order; nil when dir is empty.
func list(t *testing.T, dir string) []string {
	t.Helper()
	var paths []string
	err := filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			paths = append(paths, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("list %s: %v", dir, err)
	}
	return paths
}

func assertFile(t *testing.T, path, want string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read report: %v", err)
	}
	if string(got) != want {
		t.Errorf("report holds %q, want %q", got, want)
	}
}
