package httpserver

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestServerServesUntilTheContextEnds(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	srv, err := Listen(cfg, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	url := "http://" + srv.Addr().String() + "/"
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello" {
		t.Fatalf("body %q, want the handler's answer", body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve = %v, want nil after the context ended", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Serve did not return within 30s of the context ending")
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	if resp, err := client.Get(url); err == nil {
		resp.Body.Close()
		t.Fatal("the server still answers after it stopped")
	}
}

func TestListenRefusesWhatItCannotUse(t *testing.T) {
	first, err := Listen(Config{Listen: "127.0.0.1:0", ReadTimeout: time.Second, WriteTimeout: time.Second, ShutdownTimeout: time.Second}, http.NotFoundHandler())
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	ok := DefaultConfig()
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{name: "an address without a port", cfg: Config{Listen: "localhost", ReadTimeout: ok.ReadTimeout, WriteTimeout: ok.WriteTimeout, ShutdownTimeout: ok.ShutdownTimeout}, wantErr: "missing port"},
		{name: "an address in use", cfg: Config{Listen: first.Addr().String(), ReadTimeout: ok.ReadTimeout, WriteTimeout: ok.WriteTimeout, ShutdownTimeout: ok.ShutdownTimeout}, wantErr: "address already in use"},
		{name: "a timeout of zero", cfg: Config{Listen: "127.0.0.1:0"}, wantErr: "timeouts must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := Listen(tt.cfg, http.NotFoundHandler())
			if err == nil {
				srv.Close()
				t.Fatalf("Listen succeeded, want an error mentioning %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Listen = %v, want an error mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func TestIsLoopback(t *testing.T) {
	tests := []struct {
		listen string
		want   bool
	}{
		{"127.0.0.1:8080", true},
		{"127.1.2.3:0", true},
		{"[::1]:8080", true},
		{"localhost:8080", true},
		{"0.0.0.0:8080", false},
		{"[::]:8080", false},
		{":8080", false},
		{"10.0.0.5:8080", false},
		{"rounds.example.com:8080", false},
		{"127.0.0.1", false}, // no port: not an address at all
	}
	for _, tt := range tests {
		if got := IsLoopback(tt.listen); got != tt.want {
			t.Errorf("IsLoopback(%q) = %v, want %v", tt.listen, got, tt.want)
		}
	}
}
