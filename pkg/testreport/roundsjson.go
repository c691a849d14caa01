package testreport

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/rounds-dev/rounds/pkg/contract"
)

// maxLineBytes is what the scanner may buffer for one line: a failure of the
// largest size that consumers accept, and its "\r\n".
const maxLineBytes = contract.MaxFailureBytes + len("\r\n")

// ParseRoundsJSON parses Rounds JSON lines: one contract.Failure object per
// line, blank lines skipped. What a line leaves out is filled in: the schema,
// the project and the run from opts, the time from opts.Time, the kind from
// whether test or service is set, and an id derived from the project, the run
// id, the base name of name, the line number, the line itself and the CI
// attempt when opts has one. A line
// whose schema is not contract.SchemaFailure, or whose project is not
// opts.Project, is an error, as is any failure that does not then pass
// Validate.
//
// name is used in errors and ids. Every error about the input is a
// *ParseError; on error the slice is nil.
func ParseRoundsJSON(name string, r io.Reader, opts Options) ([]contract.Failure, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	rep, err := parseRoundsJSON(name, r, opts)
	if err != nil {
		return nil, err
	}
	return rep.Failures, nil
}

// parseRoundsJSON is ParseRoundsJSON returning a Report, which lists no
// tests: Rounds JSON lines hold failures only.
func parseRoundsJSON(name string, r io.Reader, opts Options) (Report, error) {
	base := baseName(name)
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, maxLineBytes)
	var failures []contract.Failure
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := sc.Bytes()
		offset := 0 // bytes cut from the start of line, for columns
		if lineNo == 1 && bytes.HasPrefix(line, []byte(utf8BOM)) {
			line = line[len(utf8BOM):]
			offset = len(utf8BOM)
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		f, col, err := parseLine(line, lineNo, base, opts)
		if err != nil {
			if col > 0 {
				col += offset
			}
			return Report{}, &ParseError{Name: name, Line: lineNo, Column: col, Err: err}
		}
		failures = append(failures, f)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return Report{}, &ParseError{Name: name, Line: lineNo + 1, Err: fmt.Errorf("line is longer than %d bytes", contract.MaxFailureBytes)}
		}
		return Report{}, &ParseError{Name: name, Line: lineNo, Err: fmt.Errorf("read Rounds JSON lines: %w", err)}
	}
	var t tally
	return t.report(FormatRoundsJSON, "", name, failures, opts), nil
}

// parseLine decodes one non-blank line, fills in its defaults and validates
// it. On error it returns the 1-based byte column of the problem, or 0.
func parseLine(line []byte, lineNo int, base string, opts Options) (contract.Failure, int, error) {
	if len(line) > contract.MaxFailureBytes {
		return contract.Failure{}, 0, fmt.Errorf("line is longer than %d bytes", contract.MaxFailureBytes)
	}
	// encoding/json would quietly turn invalid UTF-8 into U+FFFD.
	if !utf8.Valid(line) {
		return contract.Failure{}, invalidUTF8Column(line), errors.New("line is not valid UTF-8")
	}
	var f contract.Failure
	if err := json.Unmarshal(line, &f); err != nil {
		return contract.Failure{}, jsonErrorColumn(err, len(line)), fmt.Errorf("decode failure: %w", err)
	}
	if err := fillDefaults(&f, opts); err != nil {
		return contract.Failure{}, 0, err
	}
	if f.ID == "" {
		fields := []string{roundsJSONIDTag, f.Project, f.Run.ID, base, strconv.Itoa(lineNo), string(bytes.TrimSpace(line))}
		if opts.Attempt > 0 {
			fields = append(fields, "ci-attempt", strconv.Itoa(opts.Attempt))
		}
		f.ID = deriveID(fields...)
	}
	if err := checkFailure(&f); err != nil {
		return contract.Failure{}, 0, err
	}
	return f, 0, nil
}

// fillDefaults fills in what a Rounds JSON line left out, except the id, and
// refuses what contradicts opts.
func fillDefaults(f *contract.Failure, opts Options) error {
	switch f.Schema {
	case "":
		f.Schema = contract.SchemaFailure
	case contract.SchemaFailure:
	default:
		return fmt.Errorf("%w: unknown schema %q, want %q", contract.ErrInvalidEvent, f.Schema, contract.SchemaFailure)
	}
	switch f.Project {
	case "":
		f.Project = opts.Project
	case opts.Project:
	default:
		// The caller vouches for the project (the CLI's --project, an API
		// key's project); a file must not publish into another one.
		return fmt.Errorf("%w: project %q is not %q", contract.ErrInvalidEvent, f.Project, opts.Project)
	}
	if f.Run.ID == "" {
		f.Run.ID = opts.RunID
	}
	if f.Run.Commit == "" {
		f.Run.Commit = opts.Commit
	}
	if f.Run.Branch == "" {
		f.Run.Branch = opts.Branch
	}
	if f.Run.CIURL == "" {
		f.Run.CIURL = opts.CIURL
	}
	if f.Run.Attempt == 0 {
		f.Run.Attempt = opts.Attempt
	}
	if f.Time.IsZero() {
		f.Time = opts.Time
	}
	if f.Kind == "" {
		switch {
		case f.Test != nil && f.Service != nil:
			return fmt.Errorf("%w: kind is required when both test and service are set", contract.ErrInvalidEvent)
		case f.Test != nil:
			f.Kind = contract.KindTest
		case f.Service != nil:
			f.Kind = contract.KindRuntime
		}
	}
	return nil
}

// invalidUTF8Column returns the 1-based byte column of the first byte of line
// that is not valid UTF-8.
func invalidUTF8Column(line []byte) int {
	for i := 0; i < len(line); {
		r, size := utf8.DecodeRune(line[i:])
		if r == utf8.RuneError && size <= 1 {
			return i + 1
		}
		i += size
	}
	return 0
}

// jsonErrorColumn returns the 1-based byte column that a decoding error
// points at, or 0 if it does not say. encoding/json's Offset counts the bytes
// read up to and including the offending one.
func jsonErrorColumn(err error, lineLen int) int {
	var off int64
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntaxErr):
		off = syntaxErr.Offset
	case errors.As(err, &typeErr):
		off = typeErr.Offset
	}
	if off <= 0 || off > int64(lineLen) {
		return 0
	}
	return int(off)
}
