package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/rounds-dev/rounds/pkg/client"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/testreport"
)

// PublishedReport is the answer to a report that was published.
type PublishedReport struct {
	Project string `json:"project"`
	RunID   string `json:"run_id"`
	// Format is what the body was read as: junit, go-test-json or
	// rounds-json.
	Format string `json:"format"`
	// Failures counts the failures published; FailuresDuplicate those
	// JetStream already had (the same report published again in the same
	// run), and dropped.
	Failures          int `json:"failures"`
	FailuresDuplicate int `json:"failures_duplicate"`
	// Passed counts the tests reported passed (JUnit and go test -json
	// only); RunChunks the messages of the run report published,
	// RunChunksDuplicate those already published.
	Passed             int `json:"passed"`
	RunChunks          int `json:"run_chunks"`
	RunChunksDuplicate int `json:"run_chunks_duplicate"`
	// Warning says what was not published although the failures were.
	Warning string `json:"warning,omitempty"`
}

// postReport serves POST /v1/reports (any format rounds publish reads, and
// a JSON array of failures) and, with onlyFailures, POST /v1/failures
// (Rounds JSON only: one failure, a JSON array of them, or one per line).
func (a *API) postReport(onlyFailures bool) func(w http.ResponseWriter, r *http.Request) (int, error) {
	return func(w http.ResponseWriter, r *http.Request) (int, error) {
		opts, name, err := a.options(r)
		if err != nil {
			return writeError(w, http.StatusBadRequest, err)
		}
		body := &limitedBody{r: r.Body}
		rep, err := parseBody(name, body, opts)
		if body.tooLarge {
			return writeError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("request body is more than the limit of %d bytes (--http-max-body-bytes)", a.cfg.MaxBodyBytes))
		}
		if err != nil {
			return writeError(w, http.StatusBadRequest, fmt.Errorf("%w (nothing was published)", err))
		}
		if onlyFailures && rep.Format != testreport.FormatRoundsJSON {
			return writeError(w, http.StatusUnsupportedMediaType, fmt.Errorf("%s takes Rounds JSON failures; this body reads as %s: post it to %s", PathFailures, rep.Format, PathReports))
		}
		return a.publish(w, r.Context(), opts, rep)
	}
}

// options reads the query parameters, those of rounds publish's flags.
func (a *API) options(r *http.Request) (testreport.Options, string, error) {
	q := r.URL.Query()
	opts := testreport.Options{
		Project: q.Get("project"),
		RunID:   q.Get("run_id"),
		Commit:  q.Get("commit"),
		Branch:  q.Get("branch"),
		CIURL:   q.Get("ci_url"),
		Time:    a.cfg.Now().UTC(),
	}
	switch {
	case opts.Project == "":
		return opts, "", errors.New("query parameter project is required")
	case !contract.ValidToken(opts.Project):
		return opts, "", fmt.Errorf("project %q: use 1-64 of A-Z a-z 0-9 - _", opts.Project)
	}
	if s := q.Get("attempt"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return opts, "", fmt.Errorf("attempt %q: use 1 or more, or 0 for unknown", s)
		}
		opts.Attempt = n
	}
	if opts.RunID == "" {
		opts.RunID = newRunID(opts.Time)
	}
	// The name is part of every derived id, as the file name is for
	// rounds publish: the same name in the same run is a repeat.
	name := q.Get("name")
	if name == "" {
		name = "request-body"
	}
	return opts, name, nil
}

// publish publishes the failures, then the run report, as rounds publish
// does, and answers what was published.
func (a *API) publish(w http.ResponseWriter, ctx context.Context, opts testreport.Options, rep testreport.Report) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.PublishTimeout)
	defer cancel()
	out := PublishedReport{Project: opts.Project, RunID: opts.RunID, Format: string(rep.Format)}
	res, err := a.cfg.Publisher.PublishFailures(ctx, rep.Failures)
	if err != nil {
		return writeError(w, publishStatus(err), fmt.Errorf("publish failures: %w", err))
	}
	a.count("failure", res)
	out.Failures, out.FailuresDuplicate = res.Published, res.Duplicates
	if rep.ListsTests() {
		rr, err := a.cfg.Publisher.PublishRun(ctx, rep.RunReported())
		switch {
		case errors.Is(err, client.ErrRunsNotProvisioned):
			// The failures are what matters, as for rounds publish.
			out.Warning = "the passed tests were not published: " + err.Error()
		case err != nil:
			return writeError(w, publishStatus(err), fmt.Errorf("publish run report (the %d failures were published): %w", res.Published+res.Duplicates, err))
		default:
			a.count("run_chunk", rr)
			out.Passed, out.RunChunks, out.RunChunksDuplicate = len(rep.Passed), rr.Published, rr.Duplicates
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) count(kind string, res client.PublishResult) {
	a.published.WithLabelValues(kind, "published").Add(float64(res.Published))
	a.published.WithLabelValues(kind, "duplicate").Add(float64(res.Duplicates))
}

// publishStatus is the status of a publication that failed: 503 when
// Rounds or NATS is not there (yet), for the caller to try again; 500
// otherwise.
func publishStatus(err error) int {
	if errors.Is(err, ErrNotConnected) || errors.Is(err, client.ErrRoundsNotRunning) || errors.Is(err, context.DeadlineExceeded) {
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// limitedBody notes when the body went over the limit of the
// http.MaxBytesReader it reads, whatever the parser then makes of the
// error.
type limitedBody struct {
	r        io.Reader
	tooLarge bool
}

func (l *limitedBody) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		l.tooLarge = true
	}
	return n, err
}

// parseBody parses a report with testreport.ParseReport, which tells the
// format by the content. A JSON array, which ParseReport does not read, is
// taken for Rounds JSON failures: each element becomes one line.
func parseBody(name string, r io.Reader, opts testreport.Options) (testreport.Report, error) {
	br := bufio.NewReader(r)
	if !startsArray(br) {
		return testreport.ParseReport(name, br, opts)
	}
	var elems []json.RawMessage
	dec := json.NewDecoder(br)
	if err := dec.Decode(&elems); err != nil {
		return testreport.Report{}, fmt.Errorf("%s: read JSON array of failures: %w", name, err)
	}
	if dec.More() {
		return testreport.Report{}, fmt.Errorf("%s: more after the JSON array of failures", name)
	}
	var lines bytes.Buffer
	for _, e := range elems {
		if err := json.Compact(&lines, e); err != nil {
			return testreport.Report{}, fmt.Errorf("%s: %w", name, err)
		}
		lines.WriteByte('\n')
	}
	rep, err := testreport.ParseReport(name, &lines, opts)
	if pe := (*testreport.ParseError)(nil); errors.As(err, &pe) && pe.Line > 0 {
		// Lines are elements here: name the element rather than a line
		// the caller never wrote.
		return rep, fmt.Errorf("%s: element %d of the JSON array: %w", name, pe.Line, pe.Err)
	}
	if err == nil && len(elems) == 0 {
		rep.Format = testreport.FormatRoundsJSON
	}
	return rep, err
}

// startsArray reports whether the first byte that is not white space is
// '[' (after an optional UTF-8 byte order mark, skipped).
func startsArray(br *bufio.Reader) bool {
	if b, _ := br.Peek(3); string(b) == "\xEF\xBB\xBF" {
		br.Discard(3)
	}
	for i := 1; ; i++ {
		b, err := br.Peek(i)
		if len(b) < i {
			_ = err
			return false
		}
		switch b[i-1] {
		case ' ', '\t', '\r', '\n':
			continue
		case '[':
			return true
		default:
			return false
		}
	}
}
