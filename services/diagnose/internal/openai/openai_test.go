package openai_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/diagnose/internal/heuristic"
	"github.com/rounds-dev/rounds/services/diagnose/internal/openai"
	"github.com/rounds-dev/rounds/services/diagnose/internal/prompt"
)

const answer = `{"root_cause": "Total indexes items[0] of an empty cart.", "evidence": [{"kind": "frame", "summary": "Total fails", "file": "cart/cart.go", "line": 4}], "suggested_fix": "Return 0 for an empty cart.", "confidence": 0.8, "category": "index-out-of-range"}`

// secrets are planted in the failure; none may reach the endpoint.
var secrets = []string{"ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", "hunter2", "jane@example.com"}

func input() heuristic.Input {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	return heuristic.Input{
		Signature: contract.Signature{ID: "sig_1", Project: "shop", Title: "TestTotal: index out of range", Kind: contract.KindTest, Occurrences: 1, FirstSeen: t0, LastSeen: t0},
		Occurrences: []contract.Failure{{
			Schema: contract.SchemaFailure, ID: "f1", Project: "shop", Time: t0, Kind: contract.KindTest,
			Test: &contract.TestIdentity{Name: "TestTotal"},
			Error: contract.ErrorInfo{
				Type:    "runtime.Error",
				Message: "panic: runtime error: index out of range [0] with length 0 (token=ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789, owner jane@example.com)",
				Stack:   "goroutine 7 [running]:\nexample.com/shop/cart.(*Cart).Total()\n\t/ci/shop/cart/cart.go:4 +0x1c\n",
			},
			Run:        contract.RunInfo{ID: "1", Commit: "abc123"},
			Attributes: map[string]string{"PASSWORD": "hunter2"},
		}},
	}
}

// recorded is what the fake endpoint saw of the last request.
type recorded struct {
	mu     sync.Mutex
	method string
	path   string
	auth   string
	body   map[string]any
	raw    string
}

func (r *recorded) get() recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return recorded{method: r.method, path: r.path, auth: r.auth, body: r.body, raw: r.raw}
}

// server starts a fake Chat Completions endpoint that records each request
// and answers with respond.
func server(t *testing.T, respond func(w http.ResponseWriter, r *http.Request)) (*httptest.Server, *recorded) {
	t.Helper()
	rec := &recorded{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(raw, &body)
		rec.mu.Lock()
		rec.method, rec.path, rec.auth, rec.body, rec.raw = r.Method, r.URL.Path, r.Header.Get("Authorization"), body, string(raw)
		rec.mu.Unlock()
		respond(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, rec
}

// completion answers like the API, with content as the message.
func completion(content string, usage bool) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		resp := map[string]any{
			"id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini-2024-07-18",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": content}}},
		}
		if usage {
			resp["usage"] = map[string]any{"prompt_tokens": 2000, "completion_tokens": 500, "total_tokens": 2500}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(resp)
	}
}

func status(code int, header map[string]string, body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
}

func diagnoser(t *testing.T, baseURL string, edit func(*openai.Config)) *openai.Diagnoser {
	t.Helper()
	cfg := openai.DefaultConfig()
	cfg.BaseURL = baseURL
	cfg.Model = "gpt-4o-mini"
	cfg.InputUSDPerMTok = 0.15
	cfg.OutputUSDPerMTok = 0.60
	cfg.Timeout = 5 * time.Second
	if edit != nil {
		edit(&cfg)
	}
	d, err := openai.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestASuccessfulCallGivesTheDiagnosisAndItsCost(t *testing.T) {
	srv, rec := server(t, completion(answer, true))
	d := diagnoser(t, srv.URL+"/v1/", func(c *openai.Config) {
		c.APIKey = "sk-test-0123456789abcdefghij"
		c.Hint = heuristic.New()
	})
	got, err := d.Diagnose(context.Background(), input())
	if err != nil {
		t.Fatal(err)
	}
	wantCost := (2000*0.15 + 500*0.60) / 1e6
	if got.Diagnoser != "openai" || got.Model != "gpt-4o-mini-2024-07-18" || math.Abs(got.CostUSD-wantCost) > 1e-12 {
		t.Errorf("diagnoser %q, model %q, cost %v; want openai, gpt-4o-mini-2024-07-18 (from the response), %v", got.Diagnoser, got.Model, got.CostUSD, wantCost)
	}
	if got.Category != "index-out-of-range" || got.Confidence != 0.8 || len(got.Evidence) != 1 {
		t.Errorf("the answer was not taken: %+v", got)
	}

	req := rec.get()
	if req.method != http.MethodPost || req.path != "/v1/chat/completions" {
		t.Errorf("the request was %s %s, want POST /v1/chat/completions", req.method, req.path)
	}
	if req.auth != "Bearer sk-test-0123456789abcdefghij" {
		t.Errorf("Authorization = %q, want the key as a bearer token", req.auth)
	}
	if req.body["model"] != "gpt-4o-mini" || req.body["temperature"] != 0.0 {
		t.Errorf("model %v, temperature %v; want gpt-4o-mini and 0", req.body["model"], req.body["temperature"])
	}
	if rf, _ := req.body["response_format"].(map[string]any); rf["type"] != "json_object" {
		t.Errorf("response_format = %v, want json_object", req.body["response_format"])
	}
	msgs, _ := req.body["messages"].([]any)
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want a system and a user message", len(msgs))
	}
	for i, role := range []string{"system", "user"} {
		if m, _ := msgs[i].(map[string]any); m["role"] != role {
			t.Errorf("message %d has role %v, want %s", i, m["role"], role)
		}
	}
	user, _ := msgs[1].(map[string]any)["content"].(string)
	for _, want := range []string{"index out of range [0] with length 0", "offline rule-based diagnoser", `"root_cause"`, "cannot read the repository"} {
		if !strings.Contains(user, want) {
			t.Errorf("the user message lacks %q", want)
		}
	}
	for _, s := range secrets {
		if strings.Contains(req.raw, s) {
			t.Errorf("the request leaks %q", s)
		}
	}
}

func TestTheKeyIsSentOnlyWhenSet(t *testing.T) {
	srv, rec := server(t, completion(answer, true))
	if _, err := diagnoser(t, srv.URL, nil).Diagnose(context.Background(), input()); err != nil {
		t.Fatal(err)
	}
	if auth := rec.get().auth; auth != "" {
		t.Errorf("Authorization = %q without a key, want none", auth)
	}
}

func TestANegativeTemperatureIsNotSent(t *testing.T) {
	srv, rec := server(t, completion(answer, true))
	if _, err := diagnoser(t, srv.URL, func(c *openai.Config) { c.Temperature = -1 }).Diagnose(context.Background(), input()); err != nil {
		t.Fatal(err)
	}
	if _, ok := rec.get().body["temperature"]; ok {
		t.Errorf("temperature was sent: %v", rec.get().body["temperature"])
	}
}

func TestALocalServerWithoutUsageIsFree(t *testing.T) {
	srv, _ := server(t, completion(answer, false))
	got, err := diagnoser(t, srv.URL, func(c *openai.Config) {
		c.InputUSDPerMTok, c.OutputUSDPerMTok = 0, 0
		c.Model = "llama3.1"
	}).Diagnose(context.Background(), input())
	if err != nil {
		t.Fatal(err)
	}
	if got.CostUSD != 0 {
		t.Errorf("cost = %v, want 0", got.CostUSD)
	}
}

func TestFailedCalls(t *testing.T) {
	tests := []struct {
		name           string
		respond        func(http.ResponseWriter, *http.Request)
		edit           func(*openai.Config)
		wantKind       prompt.Kind
		wantErr        error
		wantText       string
		wantRetryAfter time.Duration
		wantCost       float64
		costKnown      bool
	}{
		{
			name:     "a rate limit is transient and its Retry-After is honoured",
			respond:  status(429, map[string]string{"Retry-After": "7"}, `{"error":{"message":"Rate limit reached for gpt-4o-mini","type":"requests","code":"rate_limit_exceeded"}}`),
			wantKind: prompt.Transient, wantErr: openai.ErrRateLimited, wantText: "rate_limit_exceeded: Rate limit reached", wantRetryAfter: 7 * time.Second, costKnown: true,
		},
		{
			name:     "an exhausted quota is permanent",
			respond:  status(429, nil, `{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}`),
			wantKind: prompt.Permanent, wantErr: openai.ErrRateLimited, wantText: "exceeded your current quota", costKnown: true,
		},
		{
			name:     "a server error is transient",
			respond:  status(500, nil, `{"error":{"message":"The server had an error"}}`),
			wantKind: prompt.Transient, wantErr: openai.ErrServer, wantText: "500 Internal Server Error", costKnown: true,
		},
		{
			name:     "an overloaded server with a Retry-After date is transient",
			respond:  status(503, map[string]string{"Retry-After": time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)}, "upstream overloaded"),
			wantKind: prompt.Transient, wantErr: openai.ErrServer, wantText: "upstream overloaded", wantRetryAfter: time.Hour, costKnown: true,
		},
		{
			name:     "a rejected key is permanent and not quoted",
			respond:  status(401, nil, `{"error":{"message":"Incorrect API key provided: sk-proj-abcdefghijklmnopqrstuvwx1234","type":"invalid_request_error","code":"invalid_api_key"}}`),
			wantKind: prompt.Permanent, wantErr: openai.ErrRejected, wantText: "API key provided: [REDACTED]", costKnown: true,
		},
		{
			name:     "an unknown model is permanent",
			respond:  status(404, nil, `{"error":{"message":"model 'llama9' not found"}}`),
			wantKind: prompt.Permanent, wantErr: openai.ErrRejected, wantText: "model 'llama9' not found", costKnown: true,
		},
		{
			name:     "a body that is not JSON is malformed and transient",
			respond:  status(200, nil, "<html>Bad gateway</html>"),
			wantKind: prompt.Transient, wantErr: openai.ErrMalformed, wantText: "<html>Bad gateway",
		},
		{
			name:     "a response without choices is malformed",
			respond:  status(200, nil, `{"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":0}}`),
			wantKind: prompt.Transient, wantErr: openai.ErrMalformed, wantText: "no message", wantCost: 10 * 0.15 / 1e6, costKnown: true,
		},
		{
			name:     "content that is not the JSON asked for is transient and keeps its cost",
			respond:  completion("I believe the cart is empty.", true),
			wantKind: prompt.Transient, wantErr: prompt.ErrInvalidAnswer, wantCost: (2000*0.15 + 500*0.60) / 1e6, costKnown: true,
		},
		{
			name:     "content that fails validation is transient",
			respond:  completion(`{"root_cause": "x", "suggested_fix": "y", "confidence": 7}`, true),
			wantKind: prompt.Transient, wantErr: prompt.ErrInvalidAnswer, wantText: "not between 0 and 1", wantCost: (2000*0.15 + 500*0.60) / 1e6, costKnown: true,
		},
		{
			name:     "a response larger than the bound is malformed",
			respond:  completion(strings.Repeat("x", 2000), true),
			edit:     func(c *openai.Config) { c.MaxResponseBytes = 1000 },
			wantKind: prompt.Transient, wantErr: openai.ErrMalformed, wantText: "larger than 1000 bytes",
		},
		{
			name: "a slow server is cut off at the timeout",
			respond: func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-r.Context().Done():
				case <-time.After(10 * time.Second):
				}
			},
			edit:     func(c *openai.Config) { c.Timeout = 200 * time.Millisecond },
			wantKind: prompt.Transient, wantErr: openai.ErrTimeout, wantText: "limit 200ms",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := server(t, tt.respond)
			_, err := diagnoser(t, srv.URL, tt.edit).Diagnose(context.Background(), input())
			var ce *prompt.CallError
			if !errors.As(err, &ce) {
				t.Fatalf("Diagnose() error = %v, want a *prompt.CallError", err)
			}
			if ce.Kind != tt.wantKind || !errors.Is(err, tt.wantErr) {
				t.Errorf("Diagnose() error = %v (%v), want %v wrapping %v", err, ce.Kind, tt.wantKind, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "openai: ") || !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("Diagnose() error = %q, want it to start with openai and say %q", err, tt.wantText)
			}
			if d := ce.RetryAfter - tt.wantRetryAfter; d < -2*time.Second || d > 2*time.Second {
				t.Errorf("RetryAfter = %v, want about %v", ce.RetryAfter, tt.wantRetryAfter)
			}
			if math.Abs(ce.CostUSD-tt.wantCost) > 1e-12 || ce.CostKnown != tt.costKnown {
				t.Errorf("cost = %v (known %v), want %v (known %v)", ce.CostUSD, ce.CostKnown, tt.wantCost, tt.costKnown)
			}
		})
	}
}

func TestAnUnreachableEndpointIsTransient(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := diagnoser(t, url, nil).Diagnose(context.Background(), input())
	var ce *prompt.CallError
	if !errors.As(err, &ce) || ce.Kind != prompt.Transient || !errors.Is(err, openai.ErrUnreachable) || ce.CostKnown {
		t.Errorf("Diagnose() error = %v, want a transient ErrUnreachable with an unknown cost", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(*openai.Config)
		wantOK bool
	}{
		{name: "a model on the default endpoint is valid", edit: func(*openai.Config) {}, wantOK: true},
		{name: "a local Ollama endpoint without a key is valid", edit: func(c *openai.Config) { c.BaseURL = "http://localhost:11434/v1" }, wantOK: true},
		{name: "a missing model is refused", edit: func(c *openai.Config) { c.Model = "" }},
		{name: "an endpoint that is not http is refused", edit: func(c *openai.Config) { c.BaseURL = "ftp://example.com" }},
		{name: "an endpoint with credentials is refused", edit: func(c *openai.Config) { c.BaseURL = "https://user:pass@example.com/v1" }},
		{name: "a negative price is refused", edit: func(c *openai.Config) { c.OutputUSDPerMTok = -1 }},
		{name: "a zero timeout is refused", edit: func(c *openai.Config) { c.Timeout = 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := openai.DefaultConfig()
			cfg.Model = "gpt-4o-mini"
			tt.edit(&cfg)
			if err := cfg.Validate(); (err == nil) != tt.wantOK {
				t.Errorf("Validate() = %v, want ok %v", err, tt.wantOK)
			}
		})
	}
}

func TestNoKeyIsQuotedInErrors(t *testing.T) {
	srv, _ := server(t, status(401, nil, `{"error":{"message":"Incorrect API key provided: sk-proj-abcdefghijklmnopqrstuvwx1234"}}`))
	_, err := diagnoser(t, srv.URL, nil).Diagnose(context.Background(), input())
	if err == nil || strings.Contains(err.Error(), "sk-proj") {
		t.Errorf("Diagnose() error = %v, want one that does not quote the key", err)
	}
}
