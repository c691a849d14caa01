// Package testreport turns test report files into Rounds failure events:
// one contract.Failure (rounds.failure.v1) per failed test.
//
// It reads JUnit XML, as written by most test runners, and Rounds JSON lines,
// one contract.Failure object per line. Parse detects which one it was given.
// A report either parses completely or not at all: every parser returns a nil
// slice with its error, so that callers publish nothing from a bad file.
package testreport

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rounds-dev/rounds/pkg/contract"
)

// Options fill in what a report file does not say.
type Options struct {
	// Project is required and must satisfy contract.ValidToken.
	Project string
	// RunID is the CI run id; it is part of every derived idempotency id, so
	// that the same file published again in the same run is de-duplicated
	// while the same file in another run is not.
	RunID  string
	Commit string
	Branch string
	CIURL  string
	// Time is used when the file has no timestamp.
	Time time.Time
}

// check reports why the options cannot be used, before any input is read.
func (o Options) check() error {
	if !contract.ValidToken(o.Project) {
		return fmt.Errorf("check options: project %q: %w (use 1-64 of A-Z a-z 0-9 - _)", o.Project, contract.ErrInvalidToken)
	}
	return nil
}

// Format names a report format.
type Format string

// Formats that Detect recognises.
const (
	FormatJUnit      Format = "junit"
	FormatRoundsJSON Format = "rounds-json"
)

// ErrUnknownFormat is wrapped by the error of Detect, and of Parse, when the
// input is empty or is neither JUnit XML nor Rounds JSON lines, and by the
// error of ParseJUnit when the root element is not a JUnit one.
var ErrUnknownFormat = errors.New("unknown report format")

// ParseError names the input and the position of what could not be parsed.
// Line and Column are 1-based; Column counts bytes and is 0 when unknown, and
// Line is 0 when the error is about the input as a whole.
type ParseError struct {
	Name   string
	Line   int
	Column int
	Err    error
}

// Error returns "name:line:col: message", leaving out the column when it is
// unknown and the line when the error has no position.
func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString(e.Name)
	if e.Line > 0 {
		b.WriteString(":")
		b.WriteString(strconv.Itoa(e.Line))
		if e.Column > 0 {
			b.WriteString(":")
			b.WriteString(strconv.Itoa(e.Column))
		}
	}
	b.WriteString(": ")
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("parse error")
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *ParseError) Unwrap() error { return e.Err }

// utf8BOM is skipped at the start of the input: editors and tools on Windows
// like to write one, and neither encoding/xml nor encoding/json accept it.
const utf8BOM = "\xEF\xBB\xBF"

// Detect peeks, without consuming anything, at the first byte that is not
// white space (after an optional UTF-8 byte order mark): '<' is JUnit XML and
// '{' is Rounds JSON lines. Anything else, an empty input or one that is only
// white space as far as r can peek, is an error wrapping ErrUnknownFormat.
func Detect(r *bufio.Reader) (Format, error) {
	f, _, _, err := detect(r)
	return f, err
}

// detect is Detect that also returns the line and column of the byte it
// looked at, for Parse to report.
func detect(r *bufio.Reader) (format Format, line, col int, err error) {
	line, col = 1, 1
	i := 0
	if b, err := r.Peek(len(utf8BOM)); string(b) == utf8BOM {
		i = len(utf8BOM)
	} else if err != nil && err != io.EOF {
		// Peek forgets the error it returns; report it rather than have the
		// next read see whatever the reader does after failing.
		return "", line, col, fmt.Errorf("detect report format: %w", err)
	}
	for ; ; i++ {
		if i >= r.Size() {
			return "", line, col, fmt.Errorf("%w: the first %d bytes are all white space", ErrUnknownFormat, r.Size())
		}
		buf, err := r.Peek(i + 1)
		if len(buf) <= i {
			if err == io.EOF {
				if i == 0 {
					return "", 0, 0, fmt.Errorf("%w: the input is empty", ErrUnknownFormat)
				}
				return "", 0, 0, fmt.Errorf("%w: the input is only white space", ErrUnknownFormat)
			}
			return "", line, col, fmt.Errorf("detect report format: %w", err)
		}
		switch c := buf[i]; c {
		case ' ', '\t', '\r':
			col++
		case '\n':
			line++
			col = 1
		case '<':
			return FormatJUnit, line, col, nil
		case '{':
			return FormatRoundsJSON, line, col, nil
		default:
			// Peek more to name a character rather than its first byte;
			// near the end of the input Peek returns what there is.
			buf, _ = r.Peek(i + utf8.UTFMax)
			ch, _ := utf8.DecodeRune(buf[i:])
			if ch == utf8.RuneError {
				return "", line, col, fmt.Errorf("%w: starts with byte %#02x, neither '<' (JUnit XML) nor '{' (Rounds JSON lines)", ErrUnknownFormat, c)
			}
			return "", line, col, fmt.Errorf("%w: starts with %q, neither '<' (JUnit XML) nor '{' (Rounds JSON lines)", ErrUnknownFormat, ch)
		}
	}
}

// Parse detects the format of r and parses the whole input. name is used in
// errors and in derived ids: a file path, or "-" or "stdin". Every error
// about the input is a *ParseError; on error the slice is nil.
func Parse(name string, r io.Reader, opts Options) ([]contract.Failure, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	br := bufio.NewReader(r)
	format, line, col, err := detect(br)
	if err != nil {
		return nil, &ParseError{Name: name, Line: line, Column: col, Err: err}
	}
	switch format {
	case FormatJUnit:
		return ParseJUnit(name, br, opts)
	case FormatRoundsJSON:
		return ParseRoundsJSON(name, br, opts)
	}
	// Unreachable unless detect learns a format this switch does not.
	return nil, &ParseError{Name: name, Err: fmt.Errorf("%w: no parser for %q", ErrUnknownFormat, format)}
}

// Domain tags that start every derived id, so that ids derived for different
// formats, or by a future change of derivation, never collide.
const (
	junitIDTag      = "rounds.testreport.junit.v1"
	roundsJSONIDTag = "rounds.testreport.rounds-json.v1"
)

// deriveID hashes fields into a 32 hex character idempotency id. Each field
// is length-prefixed so that no two different field lists hash alike.
func deriveID(fields ...string) string {
	h := sha256.New()
	var n [8]byte
	for _, f := range fields {
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		io.WriteString(h, f)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// baseName is the part of an input name that goes into derived ids: the same
// report published from another checkout directory is still the same report.
func baseName(name string) string {
	return filepath.Base(name)
}

// truncatedSuffix ends text that was cut to fit a limit.
const truncatedSuffix = "… [truncated]"

// truncate returns s if it fits in max bytes, else its longest prefix that
// ends on a rune boundary and, with truncatedSuffix, fits.
func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return cut(s, max)
}

// cut shortens s to end with truncatedSuffix within max bytes, cutting on a
// rune boundary.
func cut(s string, max int) string {
	n := min(len(s), max-len(truncatedSuffix))
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + truncatedSuffix
}

// checkFailure reports why f cannot be published: what Validate says, or an
// encoding larger than consumers accept (contract.DecodeFailure refuses it).
func checkFailure(f *contract.Failure) error {
	if err := f.Validate(); err != nil {
		return err
	}
	data, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("%w: encode failure: %v", contract.ErrInvalidEvent, err)
	}
	if len(data) > contract.MaxFailureBytes {
		return fmt.Errorf("%w: failure is %d bytes encoded, more than %d", contract.ErrInvalidEvent, len(data), contract.MaxFailureBytes)
	}
	return nil
}
