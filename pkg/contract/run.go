package contract

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// SchemaRun is the schema version of a run report (RunReported).
const SchemaRun = "rounds.run.v1"

// Limits on a run report.
const (
	// MaxRunBytes is the largest encoded run report consumers accept.
	MaxRunBytes = 1 << 20
	// RunChunkBytes is the size RunReported.Chunks cuts a run report to:
	// well below both MaxRunBytes and the default NATS max payload (1 MiB).
	RunChunkBytes = 512 << 10
	// MaxTestRefBytes bounds the suite and the name of a listed test.
	MaxTestRefBytes = 64 << 10
	// MaxRunChunks bounds the chunks of one run report, so that a chunk id
	// is at most len(id)+7 bytes.
	MaxRunChunks = 100_000
)

// TestRef names a test: its suite (class, package or enclosing suites; empty
// when it has none) and its name, as in TestIdentity.
type TestRef struct {
	Suite string `json:"suite,omitempty"`
	Name  string `json:"name"`
}

// TestsBySuite lists test names by suite, the suite "" holding tests that
// have none: the compact form of a list of tests on the wire, where a suite
// is written once rather than once per test.
type TestsBySuite map[string][]string

// GroupTests groups refs by suite, keeping their order within a suite. It
// returns nil when refs is empty.
func GroupTests(refs []TestRef) TestsBySuite {
	if len(refs) == 0 {
		return nil
	}
	t := make(TestsBySuite)
	for _, r := range refs {
		t[r.Suite] = append(t[r.Suite], r.Name)
	}
	return t
}

// Len returns the number of tests listed.
func (t TestsBySuite) Len() int {
	n := 0
	for _, names := range t {
		n += len(names)
	}
	return n
}

// Refs lists the tests by suite in byte order of the suite names (the order
// of the JSON encoding), then in their order within a suite.
func (t TestsBySuite) Refs() []TestRef {
	refs := make([]TestRef, 0, t.Len())
	for _, suite := range t.suites() {
		for _, name := range t[suite] {
			refs = append(refs, TestRef{Suite: suite, Name: name})
		}
	}
	return refs
}

func (t TestsBySuite) suites() []string {
	suites := make([]string, 0, len(t))
	for s := range t {
		suites = append(suites, s)
	}
	slices.Sort(suites)
	return suites
}

// Chunk places one message of a run report among the messages it was cut
// into.
type Chunk struct {
	// Index is 0-based.
	Index int `json:"index"`
	Count int `json:"count"`
}

// RunReported says which tests of one report file of a CI run passed, and
// how many there were (rounds.run.v1), on rounds.runs.<project>. Failed
// tests are published as failures (rounds.failure.v1) with the same run;
// with both, ingest sees a test that failed and passed on the same commit,
// or passed on a retry within one run.
//
// A report of many tests is cut into chunks (see Chunks) of at most
// RunChunkBytes each; every chunk repeats the header (project, run, source
// and counts), lists a share of the tests, and has the report's id followed
// by "." and its index as its own id.
type RunReported struct {
	Schema string `json:"schema"`
	// ID is the idempotency id of this message, also its Nats-Msg-Id: the
	// report's id followed by "." and the chunk index.
	ID      string    `json:"id"`
	Project string    `json:"project"`
	Time    time.Time `json:"time"`
	Run     RunInfo   `json:"run"`
	// Source names the report file within the run: its base name, or
	// "stdin". The chunks of one report share their id up to its last
	// "."; two files of the same name in one run are two reports.
	Source string `json:"source"`
	// Framework is the format or runner the report came from, such as
	// "junit" or "go".
	Framework string `json:"framework,omitempty"`
	// Passed lists the tests that passed, by suite; this chunk's share.
	Passed TestsBySuite `json:"passed,omitempty"`
	// PassedOnRetry lists the tests that passed after failed attempts in
	// this run (their failed attempts are published as failures with
	// run.attempt set); this chunk's share. Each is also in Passed.
	PassedOnRetry TestsBySuite `json:"passed_on_retry,omitempty"`
	// Total counts the tests of the whole report: passed, failed and
	// skipped. Every chunk carries the counts of the whole report.
	Total   int   `json:"total"`
	Failed  int   `json:"failed"`
	Skipped int   `json:"skipped"`
	Chunk   Chunk `json:"chunk"`
}

// Validate reports the first reason the event cannot be processed, wrapped
// around ErrInvalidEvent. It does not encode the event: DecodeRunReported
// checks the size of what it is given, and Chunks of what it makes.
func (e *RunReported) Validate() error {
	invalid := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidEvent, fmt.Sprintf(format, args...))
	}
	if err := e.validateHeader(); err != nil {
		return err
	}
	switch {
	case e.Chunk.Count < 1 || e.Chunk.Count > MaxRunChunks:
		return invalid("chunk.count %d is not 1 to %d", e.Chunk.Count, MaxRunChunks)
	case e.Chunk.Index < 0 || e.Chunk.Index >= e.Chunk.Count:
		return invalid("chunk.index %d is not 0 to %d", e.Chunk.Index, e.Chunk.Count-1)
	}
	return nil
}

// validateHeader checks everything but the chunk.
func (e *RunReported) validateHeader() error {
	invalid := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidEvent, fmt.Sprintf(format, args...))
	}
	switch {
	case e.Schema != SchemaRun:
		return invalid("schema %q is not %q", e.Schema, SchemaRun)
	case e.ID == "":
		return invalid("id is required")
	case len(e.ID) > MaxIDLen:
		return invalid("id is %d bytes, more than %d", len(e.ID), MaxIDLen)
	case !ValidToken(e.Project):
		return invalid("project %q is not a subject token (1-64 of A-Z a-z 0-9 - _)", e.Project)
	case e.Time.IsZero():
		return invalid("time is required")
	case e.Source == "":
		return invalid("source is required")
	case len(e.Source) > MaxTestRefBytes:
		return invalid("source is %d bytes, more than %d", len(e.Source), MaxTestRefBytes)
	case e.Run.Attempt < 0:
		return invalid("run.attempt %d is negative", e.Run.Attempt)
	case e.Total < 0 || e.Failed < 0 || e.Skipped < 0:
		return invalid("total %d, failed %d and skipped %d must not be negative", e.Total, e.Failed, e.Skipped)
	case e.Failed+e.Skipped > e.Total:
		return invalid("failed %d and skipped %d are more than the total %d", e.Failed, e.Skipped, e.Total)
	}
	for field, tests := range map[string]TestsBySuite{"passed": e.Passed, "passed_on_retry": e.PassedOnRetry} {
		for suite, names := range tests {
			if len(suite) > MaxTestRefBytes {
				return invalid("%s: suite is %d bytes, more than %d", field, len(suite), MaxTestRefBytes)
			}
			if len(names) == 0 {
				return invalid("%s: suite %q lists no test", field, suite)
			}
			for _, name := range names {
				if name == "" {
					return invalid("%s: suite %q lists a test with an empty name", field, suite)
				}
				if len(name) > MaxTestRefBytes {
					return invalid("%s: suite %q lists a test name of %d bytes, more than %d", field, suite, len(name), MaxTestRefBytes)
				}
			}
		}
	}
	return nil
}

// ChunkID is the id of chunk index of the run report id.
func ChunkID(id string, index int) string {
	return id + "." + strconv.Itoa(index)
}

// Chunks cuts the whole run report e into messages of at most maxBytes
// encoded (RunChunkBytes when maxBytes is 0), each a valid event: the header
// repeated, the id made ChunkID(e.ID, index), and a share of the tests,
// PassedOnRetry first, then Passed, suites in byte order and names in their
// order. The cut depends only on e and maxBytes, so the same report always
// gives the same chunks with the same ids. A report with no tests listed is
// one chunk. e.Chunk must be zero: e is a whole report, not a chunk.
func (e *RunReported) Chunks(maxBytes int) ([]RunReported, error) {
	if maxBytes <= 0 {
		maxBytes = RunChunkBytes
	}
	if e.Chunk != (Chunk{}) {
		return nil, fmt.Errorf("%w: run report %s is already chunk %d of %d", ErrInvalidEvent, e.ID, e.Chunk.Index, e.Chunk.Count)
	}
	if err := e.validateHeader(); err != nil {
		return nil, err
	}
	header := *e
	header.Passed, header.PassedOnRetry = nil, nil
	// The longest id and chunk numbers stand in for the real ones, so the
	// header is never larger than measured.
	header.ID = ChunkID(e.ID, MaxRunChunks)
	header.Chunk = Chunk{Index: MaxRunChunks, Count: MaxRunChunks}
	base, err := json.Marshal(&header)
	if err != nil {
		return nil, fmt.Errorf("%w: encode run report %s: %v", ErrInvalidEvent, e.ID, err)
	}
	// Each list costs at most `,"passed_on_retry":{}` when present.
	const listOverhead = len(`,"passed_on_retry":{}`)
	budget := maxBytes - len(base) - 2*listOverhead
	if budget <= 0 {
		return nil, fmt.Errorf("%w: run report %s: the header alone is %d bytes, more than %d", ErrInvalidEvent, e.ID, len(base), maxBytes)
	}

	var chunks []RunReported
	var cur [2]TestsBySuite // PassedOnRetry, Passed
	used := 0
	flush := func() {
		c := *e
		c.PassedOnRetry, c.Passed = cur[0], cur[1]
		chunks = append(chunks, c)
		cur = [2]TestsBySuite{}
		used = 0
	}
	for list, tests := range [2]TestsBySuite{e.PassedOnRetry, e.Passed} {
		for _, suite := range tests.suites() {
			suiteCost := quotedLen(suite) + len(`:[],`)
			for _, name := range tests[suite] {
				cost := quotedLen(name) + len(`,`)
				if _, ok := cur[list][suite]; !ok {
					cost += suiteCost
				}
				if used+cost > budget {
					if used == 0 {
						return nil, fmt.Errorf("%w: run report %s: test %q of suite %q does not fit in %d bytes", ErrInvalidEvent, e.ID, name, suite, maxBytes)
					}
					flush()
					cost = quotedLen(name) + len(`,`) + suiteCost
				}
				if cur[list] == nil {
					cur[list] = make(TestsBySuite)
				}
				cur[list][suite] = append(cur[list][suite], name)
				used += cost
			}
		}
	}
	if used > 0 || len(chunks) == 0 {
		flush()
	}
	if len(chunks) > MaxRunChunks {
		return nil, fmt.Errorf("%w: run report %s needs %d chunks, more than %d", ErrInvalidEvent, e.ID, len(chunks), MaxRunChunks)
	}
	for i := range chunks {
		c := &chunks[i]
		c.ID = ChunkID(e.ID, i)
		c.Chunk = Chunk{Index: i, Count: len(chunks)}
		if err := c.Validate(); err != nil {
			return nil, err
		}
		data, err := json.Marshal(c)
		if err != nil {
			return nil, fmt.Errorf("%w: encode run report %s: %v", ErrInvalidEvent, c.ID, err)
		}
		if len(data) > maxBytes {
			// The accounting above is an upper bound; this cannot happen
			// unless it is wrong.
			return nil, fmt.Errorf("%w: run report chunk %s is %d bytes, more than %d", ErrInvalidEvent, c.ID, len(data), maxBytes)
		}
	}
	return chunks, nil
}

// quotedLen is the length of s encoded as a JSON string, as json.Marshal
// writes it (escaping <, > and & too).
func quotedLen(s string) int {
	data, _ := json.Marshal(s)
	return len(data)
}

// DecodeRunReported decodes and validates one run report message. Every
// error wraps ErrInvalidEvent.
func DecodeRunReported(data []byte) (RunReported, error) {
	var e RunReported
	if err := decodeStrict("run report", data, MaxRunBytes, &e); err != nil {
		return RunReported{}, err
	}
	if err := e.Validate(); err != nil {
		return RunReported{}, err
	}
	return e, nil
}
