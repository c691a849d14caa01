// Package webhook is the webhook sink: each report and lifecycle change is
// POSTed as its event's JSON, signed with HMAC-SHA256 like GitHub's
// X-Hub-Signature-256.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/rounds-dev/rounds/pkg/backoff"
	"github.com/rounds-dev/rounds/services/report/internal/sink"
)

// Headers the sink sets.
const (
	// HeaderSignature is "sha256=" and the hex HMAC-SHA256 of the body
	// keyed with the shared secret.
	HeaderSignature = "X-Rounds-Signature"
	// HeaderEvent is the body's schema: rounds.report.v1 or
	// rounds.signature.v1.
	HeaderEvent = "X-Rounds-Event"
	// HeaderDelivery is the event's id, the same on every retry, so a
	// receiver can drop repeats.
	HeaderDelivery = "X-Rounds-Delivery"
)

// Sign returns the X-Rounds-Signature value of body under secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether header is the signature of body under secret, in
// constant time; receivers written in Go can use it.
func Verify(secret, body []byte, header string) bool {
	return hmac.Equal([]byte(header), []byte(Sign(secret, body)))
}

// Config configures the sink.
type Config struct {
	URL    string
	Secret []byte
	// Attempts bounds the tries of one delivery before it goes back to the
	// outbox; Backoff is the wait after the n-th failed try.
	Attempts int
	Backoff  func(n int) time.Duration
	// Sleep waits; tests make it return at once.
	Sleep  func(ctx context.Context, d time.Duration) error
	Client *http.Client
}

// Sink posts events to a URL.
type Sink struct{ cfg Config }

// New returns the sink, filling unset retry settings with defaults.
func New(cfg Config) (*Sink, error) {
	if cfg.URL == "" {
		return nil, errors.New("webhook: url is required")
	}
	if len(cfg.Secret) == 0 {
		return nil, errors.New("webhook: secret is required (ROUNDS_WEBHOOK_SECRET)")
	}
	if cfg.Attempts < 1 {
		cfg.Attempts = 3
	}
	if cfg.Backoff == nil {
		cfg.Backoff = func(n int) time.Duration { return time.Duration(n) * time.Second }
	}
	if cfg.Sleep == nil {
		cfg.Sleep = backoff.Sleep
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 30 * time.Second}
	}
	return &Sink{cfg: cfg}, nil
}

// Name is "webhook".
func (s *Sink) Name() string { return sink.Webhook }

// Wants reports and lifecycle changes (regressed, flaky, status).
func (s *Sink) Wants(d *sink.Delivery) bool { return d.TellsAPerson() }

// Deliver posts d's event, retrying network errors, 429 and 5xx answers
// up to Attempts times; another 4xx is permanent.
func (s *Sink) Deliver(ctx context.Context, d *sink.Delivery) error {
	var event any
	var schema string
	switch {
	case d.Report != nil:
		event, schema = d.Report, d.Report.Schema
	case d.Change != nil:
		event, schema = d.Change, d.Change.Schema
	default:
		return fmt.Errorf("%w: delivery %s carries nothing", sink.ErrPermanent, d.Key)
	}
	body, err := json.Marshal(event)
	if err != nil {
		return fmt.Errorf("%w: encode event %s: %v", sink.ErrPermanent, d.Key, err)
	}
	sig := Sign(s.cfg.Secret, body)
	for n := 1; ; n++ {
		retry, err := s.post(ctx, body, sig, schema, d.Key)
		if err == nil || !retry {
			return err
		}
		if n >= s.cfg.Attempts {
			return fmt.Errorf("webhook: %d attempts: %w", n, err)
		}
		if err := s.cfg.Sleep(ctx, s.cfg.Backoff(n)); err != nil {
			return err
		}
	}
}

// post posts once and says whether a failure is worth retrying.
func (s *Sink) post(ctx context.Context, body []byte, sig, schema, key string) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("%w: webhook request: %v", sink.ErrPermanent, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "rounds-report")
	req.Header.Set(HeaderSignature, sig)
	req.Header.Set(HeaderEvent, schema)
	req.Header.Set(HeaderDelivery, key)
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		// The URL stays out of the error, hence out of the logs: hook URLs
		// often carry a token in their path.
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			err = ue.Err
		}
		return true, fmt.Errorf("webhook post: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return false, nil
	case code == http.StatusTooManyRequests || code >= 500:
		return true, fmt.Errorf("webhook answered %s", resp.Status)
	default:
		return false, fmt.Errorf("%w: webhook answered %s", sink.ErrPermanent, strconv.Quote(resp.Status))
	}
}
