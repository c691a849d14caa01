package codebase

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"
)

const (
	// sniffSize is how much of a file is searched for a NUL byte to tell
	// binary files from text, as git and grep do.
	sniffSize = 8 << 10
	// maxLineBytes cuts long lines (minified code) so that a snippet stays
	// readable and small enough to travel in an event.
	maxLineBytes = 400
)

// Snippet is a few lines of a source file around a failing line.
type Snippet struct {
	// File is the slash-separated path relative to the tree's root.
	File string
	// Start is the number of the first line in Lines, from 1.
	Start int
	// Line is the number of the failing line.
	Line int
	// Lines are the lines shown, without line endings, made valid UTF-8 and
	// cut to a few hundred bytes each.
	Lines []string
}

// Snippet returns the lines line-context to line+context of the file a
// frame path resolves to (see Resolve), clamped to the file. Files larger
// than MaxFileSize (ErrFileTooLarge) or with a NUL byte in their first
// 8 KiB (ErrBinaryFile) are refused, as is a line past the end of the file
// (ErrLineOutOfRange).
func (t *Tree) Snippet(framePath string, line, context int) (Snippet, error) {
	if line < 1 {
		return Snippet{}, fmt.Errorf("snippet of %q at line %d: %w", framePath, line, ErrLineOutOfRange)
	}
	context = max(context, 0)
	rel, real, err := t.resolve(framePath)
	if err != nil {
		return Snippet{}, fmt.Errorf("snippet of %q: resolve frame path: %w", framePath, err)
	}
	data, err := readText(real)
	if err != nil {
		return Snippet{}, fmt.Errorf("snippet of %q: read %s: %w", framePath, rel, err)
	}

	s := Snippet{File: rel, Start: max(1, line-context), Line: line}
	last := line + context
	n := 0
	for len(data) > 0 && n < last {
		var l []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			l, data = data[:i], data[i+1:]
		} else {
			l, data = data, nil
		}
		n++
		if n >= s.Start {
			s.Lines = append(s.Lines, cleanLine(l))
		}
	}
	if n < line {
		return Snippet{}, fmt.Errorf("snippet of %q: %s has %d lines, not %d: %w", framePath, rel, n, line, ErrLineOutOfRange)
	}
	return s, nil
}

// readText reads a whole file that is small enough and looks like text.
func readText(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if info, err := f.Stat(); err != nil {
		return nil, err
	} else if info.Size() > MaxFileSize {
		return nil, ErrFileTooLarge
	}
	// The file may grow between Stat and ReadAll; the limit still holds.
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, ErrFileTooLarge
	}
	if bytes.IndexByte(data[:min(len(data), sniffSize)], 0) >= 0 {
		return nil, ErrBinaryFile
	}
	return data, nil
}

// cleanLine drops a CR line ending, replaces invalid UTF-8 and cuts the
// line at a rune boundary.
func cleanLine(l []byte) string {
	s := strings.ToValidUTF8(string(bytes.TrimSuffix(l, []byte("\r"))), "\uFFFD")
	if len(s) <= maxLineBytes {
		return s
	}
	cut := maxLineBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// End returns the number of the last line shown.
func (s Snippet) End() int {
	return s.Start + len(s.Lines) - 1
}

// String returns the lines prefixed with right-aligned line numbers, the
// failing line marked with ">":
//
//	  16 | func (c *Cart) Total() int {
//	> 17 | 	return c.items[0].Price
//	  18 | }
func (s Snippet) String() string {
	width := len(strconv.Itoa(s.End()))
	var b strings.Builder
	for i, l := range s.Lines {
		n := s.Start + i
		if i > 0 {
			b.WriteByte('\n')
		}
		marker := "  "
		if n == s.Line {
			marker = "> "
		}
		fmt.Fprintf(&b, "%s%*d |", marker, width, n)
		if l != "" {
			b.WriteByte(' ')
			b.WriteString(l)
		}
	}
	return b.String()
}

// ReadFile reads the file at rel, a slash-separated path relative to the
// root taken exactly as it is (no suffix search), with the limits of
// Snippet: ErrFileNotFound when no regular file is there, ErrOutsideTree
// when it leads out of the root, ErrFileTooLarge or ErrBinaryFile.
func (t *Tree) ReadFile(rel string) ([]byte, error) {
	if t == nil {
		return nil, fmt.Errorf("read %q: %w", rel, ErrNoCodebase)
	}
	parts, err := splitFramePath(rel)
	if err != nil {
		return nil, fmt.Errorf("read %q: %w", rel, err)
	}
	clean := strings.Join(parts, "/")
	if clean != strings.Trim(strings.ReplaceAll(rel, `\`, "/"), "/") {
		// splitFramePath forgives what a frame path may carry (a scheme, a
		// drive letter); a path meant exactly must not need it.
		return nil, fmt.Errorf("read %q: %w", rel, ErrFileNotFound)
	}
	real, err := t.check(clean)
	if err != nil {
		return nil, fmt.Errorf("read %q: %w", rel, err)
	}
	data, err := readText(real)
	if err != nil {
		return nil, fmt.Errorf("read %q: %w", rel, err)
	}
	return data, nil
}
