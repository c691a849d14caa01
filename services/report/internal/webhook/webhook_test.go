package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/report/internal/sink"
	"github.com/rounds-dev/rounds/services/report/internal/webhook"
)

var secret = []byte("shared-secret")

// receiver verifies each POST's signature as a receiver would, and answers
// with the statuses queued, then 204.
type receiver struct {
	mu       sync.Mutex
	statuses []int
	got      []received
}

type received struct {
	verified        bool
	event, delivery string
	body            []byte
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.got = append(rc.got, received{
		verified: r.Method == http.MethodPost && r.Header.Get("Content-Type") == "application/json" && webhook.Verify(secret, body, r.Header.Get(webhook.HeaderSignature)),
		event:    r.Header.Get(webhook.HeaderEvent), delivery: r.Header.Get(webhook.HeaderDelivery), body: body,
	})
	status := http.StatusNoContent
	if len(rc.statuses) > 0 {
		status, rc.statuses = rc.statuses[0], rc.statuses[1:]
	}
	w.WriteHeader(status)
}

func (rc *receiver) received() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

func newSink(t *testing.T, url string, slept *[]time.Duration) *webhook.Sink {
	t.Helper()
	s, err := webhook.New(webhook.Config{URL: url, Secret: secret, Sleep: func(_ context.Context, d time.Duration) error {
		*slept = append(*slept, d)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func report() *sink.Delivery {
	r := &contract.ReportPublished{Schema: contract.SchemaReport, ID: "report.d1", Time: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		Signature: contract.Signature{ID: "s1", Project: "shop"}, Diagnosis: contract.Diagnosis{RootCause: "x"}}
	return &sink.Delivery{Key: "d1", Kind: sink.KindReport, SignatureID: "s1", Report: r}
}

func TestTheWebhookPostsTheSignedEvent(t *testing.T) {
	tests := []struct {
		name          string
		statuses      []int
		wantErr       bool
		wantPermanent bool
		wantPosts     int
		wantSlept     int
	}{
		{name: "a 2xx answer delivers", wantPosts: 1},
		{name: "5xx and 429 answers are retried", statuses: []int{502, 429}, wantPosts: 3, wantSlept: 2},
		{name: "three 5xx answers fail the delivery, to be tried again later", statuses: []int{500, 500, 500}, wantErr: true, wantPosts: 3, wantSlept: 2},
		{name: "another 4xx answer is permanent", statuses: []int{410}, wantErr: true, wantPermanent: true, wantPosts: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := &receiver{statuses: tt.statuses}
			srv := httptest.NewServer(rc)
			t.Cleanup(srv.Close)
			var slept []time.Duration
			d := report()

			err := newSink(t, srv.URL, &slept).Deliver(context.Background(), d)

			if (err != nil) != tt.wantErr || errors.Is(err, sink.ErrPermanent) != tt.wantPermanent {
				t.Fatalf("Deliver = %v; want error %v, permanent %v", err, tt.wantErr, tt.wantPermanent)
			}
			got := rc.received()
			if len(got) != tt.wantPosts || len(slept) != tt.wantSlept {
				t.Fatalf("%d posts after %d waits, want %d after %d", len(got), len(slept), tt.wantPosts, tt.wantSlept)
			}
			for _, g := range got {
				var ev contract.ReportPublished
				if !g.verified || g.event != contract.SchemaReport || g.delivery != "d1" || json.Unmarshal(g.body, &ev) != nil || ev.ID != "report.d1" {
					t.Errorf("received %+v; want the report event, verified, with its delivery id", g)
				}
			}
		})
	}
}

func TestASignatureMadeWithAnotherSecretDoesNotVerify(t *testing.T) {
	body := []byte(`{"id":"x"}`)
	if webhook.Verify(secret, body, webhook.Sign([]byte("other"), body)) {
		t.Error("a signature with another secret verified")
	}
	if webhook.Verify(secret, []byte(`{"id":"y"}`), webhook.Sign(secret, body)) {
		t.Error("a signature of another body verified")
	}
	if got := webhook.Sign([]byte("key"), []byte("The quick brown fox jumps over the lazy dog")); got != "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8" {
		t.Errorf("Sign = %s, want the well-known HMAC-SHA256 of this example", got)
	}
}

func TestNewRefusesAWebhookWithoutURLOrSecret(t *testing.T) {
	if _, err := webhook.New(webhook.Config{Secret: secret}); err == nil {
		t.Error("no URL accepted")
	}
	if _, err := webhook.New(webhook.Config{URL: "http://example.com"}); err == nil {
		t.Error("no secret accepted")
	}
}

func TestAnUnreachableWebhookIsRetriedWithoutShowingItsURL(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/hooks/T0KEN-IN-PATH"
	srv.Close() // nothing listens any more
	var slept []time.Duration
	err := newSink(t, url, &slept).Deliver(context.Background(), report())
	if err == nil || errors.Is(err, sink.ErrPermanent) || len(slept) != 2 {
		t.Fatalf("Deliver = %v after %d waits; want a transient error after 3 tries", err, len(slept))
	}
	if strings.Contains(err.Error(), "T0KEN-IN-PATH") {
		t.Errorf("the error shows the URL: %v", err)
	}
}
