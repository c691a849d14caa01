// Package openai is the openai diagnoser: it asks any OpenAI-compatible
// Chat Completions endpoint (OpenAI, Ollama, vLLM, LM Studio, a gateway)
// for a diagnosis in JSON, and prices the call from the tokens it used.
package openai

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

	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/diagnose/internal/heuristic"
	"github.com/rounds-dev/rounds/services/diagnose/internal/prompt"
)

// Name is the diagnoser's name, in Diagnosis.Diagnoser.
const Name = "openai"

// Errors wrapped in the *prompt.CallError that Diagnose returns.
var (
	// ErrTimeout means no answer came within the timeout (transient).
	ErrTimeout = errors.New("timed out")
	// ErrUnreachable means the request could not be sent or its answer
	// not read (transient).
	ErrUnreachable = errors.New("endpoint unreachable")
	// ErrRateLimited means the server answered 429 (transient, unless the
	// account is out of quota: permanent).
	ErrRateLimited = errors.New("rate limited")
	// ErrServer means the server answered 5xx, 408 or 409 (transient).
	ErrServer = errors.New("server error")
	// ErrRejected means the server refused the request with another 4xx,
	// such as a bad key or an unknown model (permanent).
	ErrRejected = errors.New("request rejected")
	// ErrMalformed means the response is not a Chat Completions response
	// (transient).
	ErrMalformed = errors.New("malformed response")
)

// quotedBodyBytes is how much of an error response an error quotes.
const quotedBodyBytes = 300

// Hinter gives a first diagnosis to quote in the prompt as a hint: the
// heuristic diagnoser.
type Hinter interface {
	Diagnose(ctx context.Context, in heuristic.Input) (contract.Diagnosis, error)
}

// Config configures the diagnoser.
type Config struct {
	// BaseURL is the API's base, up to and without /chat/completions:
	// https://api.openai.com/v1, http://localhost:11434/v1 for Ollama.
	BaseURL string
	// Model is the model asked.
	Model string
	// APIKey is sent as a bearer token when set; local servers need none.
	APIKey string
	// InputUSDPerMTok and OutputUSDPerMTok price a million prompt and
	// completion tokens; 0 for a free local model.
	InputUSDPerMTok  float64
	OutputUSDPerMTok float64
	// Temperature is sent as is; a negative one is not sent, for models
	// that accept only their default.
	Temperature float64
	// Timeout bounds one call.
	Timeout time.Duration
	// MaxResponseBytes bounds the response read.
	MaxResponseBytes int64
	// Client makes the calls; nil means a client of its own.
	Client *http.Client
	// Hint, when set, gives the diagnosis quoted in the prompt as a hint.
	Hint Hinter
}

// DefaultConfig returns the defaults: OpenAI's endpoint, temperature 0, a
// two-minute timeout. The model and prices are left to the caller.
func DefaultConfig() Config {
	return Config{
		BaseURL:          "https://api.openai.com/v1",
		Temperature:      0,
		Timeout:          2 * time.Minute,
		MaxResponseBytes: 4 << 20,
	}
}

// Validate reports a setting the diagnoser cannot run with.
func (c Config) Validate() error {
	u, err := url.Parse(c.BaseURL)
	switch {
	case c.BaseURL == "":
		return errors.New("openai: base URL is required")
	case err != nil:
		return fmt.Errorf("openai: base URL: %w", err)
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		return fmt.Errorf("openai: base URL %q is not an http(s) URL", prompt.Scrub(c.BaseURL))
	case u.User != nil:
		return errors.New("openai: base URL must not carry credentials; set the API key instead")
	case strings.TrimSpace(c.Model) == "":
		return errors.New("openai: model is required")
	case c.InputUSDPerMTok < 0 || c.OutputUSDPerMTok < 0:
		return errors.New("openai: token prices must not be negative")
	case c.Timeout <= 0:
		return fmt.Errorf("openai: timeout must be positive, got %v", c.Timeout)
	case c.MaxResponseBytes < 1:
		return fmt.Errorf("openai: max response bytes must be positive, got %d", c.MaxResponseBytes)
	}
	return nil
}

// Diagnoser is the openai diagnoser. It is safe for concurrent use.
type Diagnoser struct {
	cfg      Config
	endpoint string
	client   *http.Client
}

// New returns a diagnoser.
func New(cfg Config) (*Diagnoser, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	client := cfg.Client
	if client == nil {
		client = &http.Client{}
	}
	return &Diagnoser{cfg: cfg, endpoint: strings.TrimRight(cfg.BaseURL, "/") + "/chat/completions", client: client}, nil
}

type message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type request struct {
	Model          string         `json:"model"`
	Messages       []message      `json:"messages"`
	ResponseFormat responseFormat `json:"response_format"`
	Temperature    *float64       `json:"temperature,omitempty"`
}

type responseFormat struct {
	Type string `json:"type"`
}

type response struct {
	Model   string `json:"model"`
	Choices []struct {
		Message struct {
			Content *string `json:"content"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int64 `json:"prompt_tokens"`
		CompletionTokens int64 `json:"completion_tokens"`
	} `json:"usage"`
}

type errorResponse struct {
	Error struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Code    any    `json:"code"`
	} `json:"error"`
}

// Diagnose asks the model about a signature. A failure is a
// *prompt.CallError that says whether trying again may help, what the
// call cost and how long the server asked to wait.
func (d *Diagnoser) Diagnose(ctx context.Context, in heuristic.Input) (contract.Diagnosis, error) {
	var hint *contract.Diagnosis
	if d.cfg.Hint != nil {
		if h, err := d.cfg.Hint.Diagnose(ctx, in); err == nil {
			hint = &h
		}
	}
	req := request{
		Model: d.cfg.Model,
		Messages: []message{
			{Role: "system", Content: prompt.System},
			{Role: "user", Content: prompt.Build(in, hint, prompt.Options{})},
		},
		ResponseFormat: responseFormat{Type: "json_object"},
	}
	if d.cfg.Temperature >= 0 {
		temp := d.cfg.Temperature
		req.Temperature = &temp
	}
	body, err := json.Marshal(req)
	if err != nil {
		return contract.Diagnosis{}, d.fail(prompt.Permanent, fmt.Errorf("encode the request: %w", err))
	}

	callCtx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	httpReq, err := http.NewRequestWithContext(callCtx, http.MethodPost, d.endpoint, bytes.NewReader(body))
	if err != nil {
		return contract.Diagnosis{}, d.fail(prompt.Permanent, fmt.Errorf("make the request: %w", err))
	}
	httpReq.Header.Set("Content-Type", "application/json")
	httpReq.Header.Set("Accept", "application/json")
	if d.cfg.APIKey != "" {
		httpReq.Header.Set("Authorization", "Bearer "+d.cfg.APIKey)
	}

	started := time.Now()
	resp, err := d.client.Do(httpReq)
	if err != nil {
		return contract.Diagnosis{}, d.transportError(ctx, callCtx, started, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, d.cfg.MaxResponseBytes+1))
	if err != nil {
		return contract.Diagnosis{}, d.transportError(ctx, callCtx, started, err)
	}
	if int64(len(data)) > d.cfg.MaxResponseBytes {
		return contract.Diagnosis{}, d.fail(prompt.Transient, fmt.Errorf("%w: larger than %d bytes", ErrMalformed, d.cfg.MaxResponseBytes))
	}
	if resp.StatusCode != http.StatusOK {
		return contract.Diagnosis{}, statusError(resp, data, time.Now())
	}

	var r response
	if err := json.Unmarshal(data, &r); err != nil {
		return contract.Diagnosis{}, d.fail(prompt.Transient, fmt.Errorf("%w: decode: %v (body starts %q)", ErrMalformed, err, quote(data)))
	}
	cost, costKnown := d.cost(r)
	if len(r.Choices) == 0 || r.Choices[0].Message.Content == nil {
		return contract.Diagnosis{}, &prompt.CallError{Diagnoser: Name, Kind: prompt.Transient, CostUSD: cost, CostKnown: costKnown,
			Err: fmt.Errorf("%w: no message in the response", ErrMalformed)}
	}
	diag, err := prompt.ParseAnswer(*r.Choices[0].Message.Content)
	if err != nil {
		if fr := r.Choices[0].FinishReason; fr != "" && fr != "stop" {
			err = fmt.Errorf("%w (finish reason %q)", err, fr)
		}
		return contract.Diagnosis{}, &prompt.CallError{Diagnoser: Name, Kind: prompt.Transient, CostUSD: cost, CostKnown: costKnown, Err: err}
	}
	prompt.AttachSource(diag.Evidence, in.Tree)
	diag.Diagnoser = Name
	diag.Model = r.Model
	if diag.Model == "" {
		diag.Model = d.cfg.Model
	}
	diag.CostUSD = cost
	return diag, nil
}

// cost prices the tokens a response used. Without usage, which some local
// servers omit, the cost is known only when tokens are free.
func (d *Diagnoser) cost(r response) (float64, bool) {
	if r.Usage == nil {
		return 0, d.cfg.InputUSDPerMTok == 0 && d.cfg.OutputUSDPerMTok == 0
	}
	return (float64(r.Usage.PromptTokens)*d.cfg.InputUSDPerMTok + float64(r.Usage.CompletionTokens)*d.cfg.OutputUSDPerMTok) / 1e6, true
}

// transportError classifies a failure to send the request or read the
// response. The server may have charged for a call whose answer was lost,
// so the cost is unknown.
func (d *Diagnoser) transportError(ctx, callCtx context.Context, started time.Time, err error) error {
	switch {
	case ctx.Err() != nil:
		return d.fail(prompt.Transient, fmt.Errorf("call %s: %w", d.host(), ctx.Err()))
	case callCtx.Err() != nil:
		return d.fail(prompt.Transient, fmt.Errorf("%w after %v (limit %v)", ErrTimeout, time.Since(started).Round(time.Millisecond), d.cfg.Timeout))
	}
	// The URL in a *url.Error is ours and already known; the rest says
	// what went wrong.
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	return d.fail(prompt.Transient, fmt.Errorf("%w: %s: %s", ErrUnreachable, d.host(), prompt.Quote(err.Error(), quotedBodyBytes)))
}

// statusError classifies an answer other than 200 OK: 408, 409, 429 and
// 5xx are worth another try, after Retry-After when given; other 4xx are
// not, and neither is a 429 that says the account is out of quota. The
// server charges nothing for a refused call.
func statusError(resp *http.Response, body []byte, now time.Time) error {
	var er errorResponse
	detail := string(body)
	if json.Unmarshal(body, &er) == nil && er.Error.Message != "" {
		detail = er.Error.Message
		if code, ok := er.Error.Code.(string); ok && code != "" {
			detail = code + ": " + detail
		}
	}
	if detail = prompt.Quote(detail, quotedBodyBytes); detail != "" {
		detail = fmt.Sprintf(": %q", detail)
	}
	status := resp.Status
	if status == "" {
		status = strconv.Itoa(resp.StatusCode)
	}
	ce := &prompt.CallError{Diagnoser: Name, CostKnown: true, RetryAfter: retryAfter(resp.Header.Get("Retry-After"), now)}
	kind, sentinel := prompt.Permanent, ErrRejected
	switch code := resp.StatusCode; {
	case code == http.StatusTooManyRequests && (er.Error.Code == "insufficient_quota" || er.Error.Type == "insufficient_quota"):
		kind, sentinel = prompt.Permanent, ErrRateLimited
	case code == http.StatusTooManyRequests:
		kind, sentinel = prompt.Transient, ErrRateLimited
	case code >= 500, code == http.StatusRequestTimeout, code == http.StatusConflict:
		kind, sentinel = prompt.Transient, ErrServer
	}
	ce.Kind, ce.Err = kind, fmt.Errorf("%w: %s%s", sentinel, status, detail)
	return ce
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s <= 0 || s > 1e6 {
			return 0
		}
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

func (d *Diagnoser) fail(kind prompt.Kind, err error) *prompt.CallError {
	return &prompt.CallError{Diagnoser: Name, Kind: kind, Err: err}
}

// host names the endpoint in errors without its path or query.
func (d *Diagnoser) host() string {
	u, err := url.Parse(d.endpoint)
	if err != nil {
		return "the endpoint"
	}
	return u.Host
}

func quote(data []byte) string {
	return prompt.Quote(string(data[:min(len(data), 64<<10)]), 120)
}
