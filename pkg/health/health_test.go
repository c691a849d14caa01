package health

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHandler(t *testing.T) {
	notYet := errors.New("not connected yet")
	tests := []struct {
		name       string
		checks     map[string]Check
		path       string
		wantCode   int
		wantChecks map[string]string // for /readyz
	}{
		{
			name:     "healthz answers 200 while the process runs, whatever the checks say",
			checks:   map[string]Check{"nats": func(context.Context) error { return notYet }},
			path:     PathLive,
			wantCode: http.StatusOK,
		},
		{
			name:       "readyz answers 200 with no checks registered",
			path:       PathReady,
			wantCode:   http.StatusOK,
			wantChecks: map[string]string{},
		},
		{
			name:       "readyz answers 200 when every check passes",
			checks:     map[string]Check{"nats": func(context.Context) error { return nil }, "store": func(context.Context) error { return nil }},
			path:       PathReady,
			wantCode:   http.StatusOK,
			wantChecks: map[string]string{"nats": "ok", "store": "ok"},
		},
		{
			name:       "readyz answers 503 and names the reason when one check fails",
			checks:     map[string]Check{"nats": func(context.Context) error { return notYet }, "store": func(context.Context) error { return nil }},
			path:       PathReady,
			wantCode:   http.StatusServiceUnavailable,
			wantChecks: map[string]string{"nats": "not connected yet", "store": "ok"},
		},
		{
			name: "a check that hangs is cut off by the timeout and fails",
			checks: map[string]Check{"slow": func(ctx context.Context) error {
				<-ctx.Done()
				return ctx.Err()
			}},
			path:       PathReady,
			wantCode:   http.StatusServiceUnavailable,
			wantChecks: map[string]string{"slow": context.DeadlineExceeded.Error()},
		},
		{
			name:     "another path is not found",
			path:     "/metrics",
			wantCode: http.StatusNotFound,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var checks Checks
			for n, c := range tt.checks {
				checks.Add(n, c)
			}
			srv := httptest.NewServer(Handler(&checks, 50*time.Millisecond))
			defer srv.Close()
			resp, err := http.Get(srv.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantCode {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tt.wantCode, body)
			}
			if tt.wantChecks == nil {
				return
			}
			var st Status
			if err := json.Unmarshal(body, &st); err != nil {
				t.Fatalf("body %s: %v", body, err)
			}
			if st.Ready != (tt.wantCode == http.StatusOK) || len(st.Checks) != len(tt.wantChecks) {
				t.Fatalf("status %+v, want checks %v", st, tt.wantChecks)
			}
			for n, want := range tt.wantChecks {
				if st.Checks[n] != want {
					t.Errorf("check %s = %q, want %q", n, st.Checks[n], want)
				}
			}
		})
	}
}

func TestProbe(t *testing.T) {
	var ready Checks
	var notReady Checks
	notReady.Add("nats", func(context.Context) error { return errors.New("disconnected") })
	up := httptest.NewServer(Handler(&ready, time.Second))
	defer up.Close()
	down := httptest.NewServer(Handler(&notReady, time.Second))
	defer down.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	tests := []struct {
		name    string
		url     string
		wantErr string // empty: no error
	}{
		{name: "a ready server passes", url: up.URL + PathReady},
		{name: "a live server passes healthz even when not ready", url: down.URL + PathLive},
		{name: "a server that is not ready fails with its reason", url: down.URL + PathReady, wantErr: "disconnected"},
		{name: "a server that does not answer fails", url: closedURL + PathReady, wantErr: "connect"},
		{name: "a malformed url fails", url: "http://[::1", wantErr: "probe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Probe(context.Background(), tt.url, 2*time.Second)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Probe = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Probe = %v, want an error mentioning %q", err, tt.wantErr)
			}
		})
	}
}
