package markdown

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrUnsafePath is returned by Write when the relative path could name a
// file outside the reports directory.
var ErrUnsafePath = errors.New("unsafe report path")

// Write writes data to rel under dir atomically and returns the absolute
// path written. It writes a temporary file in the target's directory, syncs
// it, renames it over the target and syncs the directories, so a reader sees
// either the old report or the whole new one, and a crash loses neither.
// Dir and the directories of rel are created as needed.
//
// Rel must be a relative path that stays inside dir: an absolute rel, one
// containing "..", or one whose cleaned join is not inside dir is refused
// with ErrUnsafePath. Symbolic links leading out of dir are refused too.
func Write(dir, rel string, data []byte) (string, error) {
	if dir == "" {
		return "", fmt.Errorf("write report %q: reports directory is not set", rel)
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("write report %q: resolve reports directory %q: %w", rel, dir, err)
	}
	name, err := checkRel(absDir, rel)
	if err != nil {
		return "", fmt.Errorf("write report %q: %w", rel, err)
	}
	if err := os.MkdirAll(absDir, 0o755); err != nil {
		return "", fmt.Errorf("write report %q: create reports directory: %w", rel, err)
	}
	// os.Root resolves every path element, symbolic links included, against
	// the reports directory, so a link planted in it cannot redirect the
	// write elsewhere; the lexical checks above cannot see links.
	root, err := os.OpenRoot(absDir)
	if err != nil {
		return "", fmt.Errorf("write report %q: open reports directory: %w", rel, err)
	}
	defer root.Close()
	if err := writeAtomic(root, name, data); err != nil {
		return "", fmt.Errorf("write report %q: %w", rel, err)
	}
	return filepath.Join(absDir, name), nil
}

// checkRel returns rel cleaned, or an error wrapping ErrUnsafePath when it
// could leave absDir or does not name a file below it.
func checkRel(absDir, rel string) (string, error) {
	switch {
	case rel == "":
		return "", fmt.Errorf("%w: path is empty", ErrUnsafePath)
	case filepath.IsAbs(rel) || strings.HasPrefix(rel, "/") || strings.HasPrefix(rel, `\`):
		return "", fmt.Errorf("%w: path is absolute", ErrUnsafePath)
	case strings.Contains(rel, ".."):
		return "", fmt.Errorf("%w: path contains %q", ErrUnsafePath, "..")
	case strings.ContainsRune(rel, 0):
		return "", fmt.Errorf("%w: path contains a NUL byte", ErrUnsafePath)
	case !filepath.IsLocal(rel):
		return "", fmt.Errorf("%w: path is not local", ErrUnsafePath)
	}
	name := filepath.Clean(rel)
	inside, err := filepath.Rel(absDir, filepath.Join(absDir, name))
	if err != nil || inside != name || name == "." {
		return "", fmt.Errorf("%w: path does not name a file inside the reports directory", ErrUnsafePath)
	}
	return name, nil
}

// writeAtomic writes data to name under root through a temporary file in
// the same directory, so the rename cannot cross file systems.
func writeAtomic(root *os.Root, name string, data []byte) error {
	parent := filepath.Dir(name)
	if err := root.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("create directory %q: %w", parent, err)
	}
	// The temporary name is hidden, so report listings skip it, and random,
	// so concurrent writers of one report do not trample each other.
	tmp := filepath.Join(parent, ".report-"+rand.Text()+".tmp")
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	if err := fill(f, data); err != nil {
		f.Close()
		root.Remove(tmp)
		return err
	}
	if err := root.Rename(tmp, name); err != nil {
		root.Remove(tmp)
		return fmt.Errorf("rename temporary file: %w", err)
	}
	// The rename and any directory just created are only durable once the
	// directories holding them are synced, up to the reports directory.
	for d := parent; ; d = filepath.Dir(d) {
		if err := syncDir(root, d); err != nil {
			return err
		}
		if d == "." {
			return nil
		}
	}
}

// syncDir flushes the entries of directory name under root.
func syncDir(root *os.Root, name string) error {
	d, err := root.Open(name)
	if err != nil {
		return fmt.Errorf("open directory %q to sync: %w", name, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %q: %w", name, err)
	}
	return nil
}

// fill writes data to f, syncs and closes it.
func fill(f *os.File, data []byte) error {
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write temporary file: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync temporary file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close temporary file: %w", err)
	}
	return nil
}
