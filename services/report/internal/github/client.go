// Package github is the GitHub issues sink: one issue per signature, a
// comment on each new diagnosis and lifecycle change, closed when the
// signature is resolved or muted and reopened when it regresses. Its
// client speaks the REST API (github.com or GitHub Enterprise) and waits
// out rate limits.
package github

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rounds-dev/rounds/pkg/backoff"
	"github.com/rounds-dev/rounds/services/report/internal/sink"
)

// DefaultURL is github.com's API.
const DefaultURL = "https://api.github.com"

// ClientConfig configures a client.
type ClientConfig struct {
	// BaseURL is the API root: https://api.github.com, or
	// https://HOST/api/v3 for GitHub Enterprise Server.
	BaseURL string
	// Repo is "owner/name".
	Repo string
	// Token authenticates; it is sent in the Authorization header only.
	Token string
	// Attempts bounds the tries of one request; MaxWait is the longest
	// rate-limit wait taken in place (a longer one fails the request, and
	// the outbox tries again later).
	Attempts int
	MaxWait  time.Duration
	// Backoff is the wait after the n-th failed try of a 5xx or a network
	// error; Now and Sleep are the clock, replaced in tests.
	Backoff func(n int) time.Duration
	Now     func() time.Time
	Sleep   func(ctx context.Context, d time.Duration) error
	HTTP    *http.Client
}

// Client calls the issues API of one repository.
type Client struct {
	cfg  ClientConfig
	base *url.URL
}

// ValidRepo reports whether repo is "owner/name".
func ValidRepo(repo string) bool {
	owner, name, ok := strings.Cut(repo, "/")
	return ok && owner != "" && name != "" && !strings.ContainsAny(name, "/?#") && !strings.ContainsAny(owner, "?#") && owner != ".." && name != ".."
}

// NewClient checks cfg and fills unset retry settings with defaults.
func NewClient(cfg ClientConfig) (*Client, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultURL
	}
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, fmt.Errorf("github: base url %q is not an http(s) URL", cfg.BaseURL)
	}
	if !ValidRepo(cfg.Repo) {
		return nil, fmt.Errorf("github: repo %q is not owner/name", cfg.Repo)
	}
	if cfg.Token == "" {
		return nil, errors.New("github: token is required (ROUNDS_GITHUB_TOKEN or GITHUB_TOKEN)")
	}
	if cfg.Attempts < 1 {
		cfg.Attempts = 5
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = 15 * time.Minute
	}
	if cfg.Backoff == nil {
		cfg.Backoff = func(n int) time.Duration { return time.Duration(1<<min(n-1, 6)) * time.Second }
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = backoff.Sleep
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{cfg: cfg, base: base}, nil
}

// Issue is the part of GitHub's issue the sink reads.
type Issue struct {
	Number  int    `json:"number"`
	HTMLURL string `json:"html_url"`
	State   string `json:"state"`
}

// CreateIssue opens an issue.
func (c *Client) CreateIssue(ctx context.Context, title, body string, labels []string) (Issue, error) {
	var is Issue
	req := map[string]any{"title": title, "body": body, "labels": labels}
	err := c.do(ctx, http.MethodPost, "/issues", req, &is)
	if err == nil && is.Number == 0 {
		err = errors.New("github: created issue has no number")
	}
	return is, err
}

// Comment comments on issue n.
func (c *Client) Comment(ctx context.Context, n int, body string) error {
	return c.do(ctx, http.MethodPost, "/issues/"+strconv.Itoa(n)+"/comments", map[string]any{"body": body}, nil)
}

// SetState opens ("open") or closes ("closed") issue n; reason is GitHub's
// state_reason ("completed", "not_planned", "reopened"), empty for none.
func (c *Client) SetState(ctx context.Context, n int, state, reason string) error {
	req := map[string]any{"state": state}
	if reason != "" {
		req["state_reason"] = reason
	}
	return c.do(ctx, http.MethodPatch, "/issues/"+strconv.Itoa(n), req, nil)
}

// AddLabels adds labels to issue n, keeping the ones it has.
func (c *Client) AddLabels(ctx context.Context, n int, labels ...string) error {
	return c.do(ctx, http.MethodPost, "/issues/"+strconv.Itoa(n)+"/labels", map[string]any{"labels": labels}, nil)
}

// RemoveLabel removes a label from issue n; a label the issue does not
// have is not an error.
func (c *Client) RemoveLabel(ctx context.Context, n int, label string) error {
	err := c.do(ctx, http.MethodDelete, "/issues/"+strconv.Itoa(n)+"/labels/"+url.PathEscape(label), nil, nil)
	if ae := (*answerError)(nil); errors.As(err, &ae) && ae.code == http.StatusNotFound {
		return nil
	}
	return err
}

// do sends one API request under /repos/{owner}/{repo}, retrying rate
// limits, 5xx answers and network errors, and decodes a 2xx answer into
// out. Any other answer is permanent.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("%w: encode github request: %v", sink.ErrPermanent, err)
		}
	}
	u := c.base.JoinPath("repos", c.cfg.Repo, path).String()
	what := method + " " + strings.TrimPrefix(u, c.base.String())
	for n := 1; ; n++ {
		wait, err := c.once(ctx, method, u, body, out)
		if err == nil || wait < 0 {
			if err != nil {
				err = fmt.Errorf("github %s: %w", what, err)
			}
			return err
		}
		if n >= c.cfg.Attempts {
			return fmt.Errorf("github %s: %d attempts: %w", what, n, err)
		}
		if wait > c.cfg.MaxWait {
			return fmt.Errorf("github %s: rate limited for %s more: %w", what, wait.Round(time.Second), err)
		}
		if wait == 0 {
			wait = c.cfg.Backoff(n)
		}
		if err := c.cfg.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// once sends the request once. On failure it returns how long to wait
// before the next try: 0 for the usual backoff, a rate limit's wait, or -1
// when trying again cannot help.
func (c *Client) once(ctx context.Context, method, u string, body []byte, out any) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return -1, fmt.Errorf("%w: %v", sink.ErrPermanent, err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "rounds-report")
	req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	resp, err := c.cfg.HTTP.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return -1, ctx.Err()
		}
		return 0, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		if out == nil {
			return 0, nil
		}
		if err := json.Unmarshal(data, out); err != nil {
			return -1, fmt.Errorf("decode answer: %w", err)
		}
		return 0, nil
	case code == http.StatusForbidden || code == http.StatusTooManyRequests:
		if wait, limited := c.rateLimit(resp.Header); limited {
			return wait, fmt.Errorf("rate limited: %s: %s", resp.Status, message(data))
		}
		if code == http.StatusTooManyRequests {
			return 0, fmt.Errorf("%s: %s", resp.Status, message(data))
		}
		return -1, fmt.Errorf("%w: %s: %s", sink.ErrPermanent, resp.Status, message(data))
	case code >= 500:
		return 0, fmt.Errorf("%s: %s", resp.Status, message(data))
	default:
		return -1, &answerError{code: code, status: resp.Status, message: message(data)}
	}
}

// answerError is an answer GitHub will give again to the same request: a
// permanent failure, whose code a caller may expect (404 for a label the
// issue does not have).
type answerError struct {
	code            int
	status, message string
}

func (e *answerError) Error() string {
	return fmt.Sprintf("%s: %s: %s", sink.ErrPermanent, e.status, e.message)
}
func (e *answerError) Unwrap() error { return sink.ErrPermanent }

// rateLimit reads GitHub's rate-limit headers: Retry-After (seconds, for
// secondary limits) or, when X-RateLimit-Remaining is 0, X-RateLimit-Reset
// (Unix seconds). It reports whether the answer was a rate limit.
func (c *Client) rateLimit(h http.Header) (time.Duration, bool) {
	if s := h.Get("Retry-After"); s != "" {
		if secs, err := strconv.Atoi(s); err == nil && secs >= 0 {
			return max(time.Duration(secs)*time.Second, time.Second), true
		}
	}
	if h.Get("X-RateLimit-Remaining") == "0" {
		if reset, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			// A second more, as GitHub's clock and ours differ.
			return max(time.Unix(reset, 0).Sub(c.cfg.Now())+time.Second, time.Second), true
		}
		return time.Minute, true
	}
	return 0, false
}

// message returns GitHub's error message, or the start of the body.
func message(data []byte) string {
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(data, &e) == nil && e.Message != "" {
		return e.Message
	}
	s := strings.TrimSpace(string(data))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return strconv.Quote(s)
}
