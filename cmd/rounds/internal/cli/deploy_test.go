package cli

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rounds-dev/rounds/pkg/contract"
)

// The commands the images and the compose file rely on: healthcheck for
// HEALTHCHECK, --http-listen on the services, signatures export for the
// deploy test's counts.

func TestHealthcheck(t *testing.T) {
	ready := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(`{"ready":true}`))
	}))
	defer ready.Close()
	notReady := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"ready":false,"checks":{"nats":"ingest: not connected yet"}}`, http.StatusServiceUnavailable)
	}))
	defer notReady.Close()
	_, readyPort, _ := net.SplitHostPort(ready.Listener.Addr().String())
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := l.Addr().String()
	l.Close()

	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "a ready process passes", args: []string{"--url", ready.URL + "/readyz"}, wantStdout: "ok: " + ready.URL + "/readyz"},
		{name: "a process that is not ready fails with its reason", args: []string{"--url", notReady.URL + "/readyz"}, wantCode: 1, wantStderr: "ingest: not connected yet"},
		{name: "nothing listening fails", args: []string{"--url", "http://" + closed + "/readyz", "--timeout", "2s"}, wantCode: 1, wantStderr: "connection refused"},
		{
			name:       "without --url it asks /readyz on loopback where the process listens on every address",
			env:        map[string]string{"ROUNDS_HTTP_LISTEN": "0.0.0.0:" + readyPort},
			wantStdout: "ok: http://127.0.0.1:" + readyPort + "/readyz",
		},
		{name: "a listen address without a port is a usage error", args: []string{"--http-listen", "localhost"}, wantCode: 2, wantStderr: "--http-listen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := rounds(t, context.Background(), "", tt.env, append([]string{"healthcheck"}, tt.args...)...)
			if res.code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", res.code, tt.wantCode, res.stdout, res.stderr)
			}
			if !strings.Contains(res.stdout, tt.wantStdout) || !strings.Contains(res.stderr, tt.wantStderr) {
				t.Errorf("stdout %q, stderr %q; want %q and %q in them", res.stdout, res.stderr, tt.wantStdout, tt.wantStderr)
			}
		})
	}
}

func TestRunServesHealthOnceItsServicesAreConnected(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, Env{Args: []string{"run", "--nats-listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0",
			"--data-dir", filepath.Join(dir, "data"), "--reports-dir", filepath.Join(dir, "reports"), "--log-format", "json"},
			Stdout: &out, Stderr: &errOut, Lookup: func(string) (string, bool) { return "", false }})
	}()
	addr := regexp.MustCompile(`HTTP at http://([0-9.:]+): /healthz`)
	deadline := time.Now().Add(20 * time.Second)
	for !addr.MatchString(out.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("run did not say where health is served: stdout %q stderr %q", out.String(), errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	url := "http://" + addr.FindStringSubmatch(out.String())[1] + "/readyz"
	for {
		res := rounds(t, context.Background(), "", nil, "healthcheck", "--url", url)
		if res.code == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never ready: last healthcheck exit %d, stderr %q", res.code, res.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Checks map[string]string `json:"checks"`
	}
	json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if st.Checks["nats"] != "ok" {
		t.Errorf("readyz checks %v, want nats ok", st.Checks)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d after interrupt, want 0; stderr %q", code, errOut.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop within 30s of the interrupt")
	}
}

func TestSignaturesExport(t *testing.T) {
	url, js := jetStreamWithStreams(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	lines := `{"id":"f1","kind":"test","test":{"name":"TestAdd"},"error":{"message":"expected 3, got 4"}}
{"id":"f2","kind":"test","test":{"name":"TestAdd"},"error":{"message":"expected 3, got 4"}}
{"id":"f3","kind":"runtime","service":{"name":"api"},"error":{"type":"*net.OpError","message":"connection refused"}}
`
	if res := rounds(t, context.Background(), lines, nil, "publish", "--nats-url", url, "--project", "shop", "-"); res.code != 0 {
		t.Fatalf("publish: exit %d, stderr %q", res.code, res.stderr)
	}

	// Ingest counts them, then stops: its state is read directly.
	ctx, cancel := context.WithCancel(context.Background())
	var errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, Env{Args: []string{"ingest", "--nats-url", url, "--data-dir", dataDir, "--log-format", "json"},
			Stdout: &syncBuffer{}, Stderr: &errOut, Lookup: func(string) (string, bool) { return "", false }})
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !allAcked(t, js, 3) {
		if time.Now().After(deadline) {
			t.Fatalf("ingest did not ack 3 failures; stderr %q", errOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	locked := rounds(t, context.Background(), "", nil, "signatures", "export", "--data-dir", dataDir)
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("ingest exit %d; stderr %q", code, errOut.String())
	}

	t.Run("while ingest runs it fails and says why it may", func(t *testing.T) {
		if locked.code != 1 || !strings.Contains(locked.stderr, "is ingest still running") {
			t.Fatalf("exit %d, stderr %q; want 1 and a hint", locked.code, locked.stderr)
		}
	})
	t.Run("it prints every signature with its occurrences", func(t *testing.T) {
		res := rounds(t, context.Background(), "", nil, "signatures", "export", "--data-dir", dataDir)
		if res.code != 0 {
			t.Fatalf("exit %d, stderr %q", res.code, res.stderr)
		}
		var sigs []contract.ExportedSignature
		if err := json.Unmarshal([]byte(res.stdout), &sigs); err != nil {
			t.Fatalf("stdout %q: %v", res.stdout, err)
		}
		got := map[string]int64{}
		for _, s := range sigs {
			if s.ID == "" || s.Fingerprint == "" || s.Project != "shop" || s.Status == "" {
				t.Errorf("signature %+v lacks an id, fingerprint, project or status", s)
			}
			got[s.Title] = s.Count
			if int64(len(s.Occurrences)) != s.Count {
				t.Errorf("signature %s: count %d, %d occurrences listed", s.ID, s.Count, len(s.Occurrences))
			}
			for _, o := range s.Occurrences {
				if o.EventID == "" || o.Time.IsZero() {
					t.Errorf("occurrence %+v lacks an event id or a time", o)
				}
			}
		}
		if len(sigs) != 2 || sumOccurrences(sigs) != 3 {
			t.Fatalf("signatures %+v; want 2 with 3 occurrences in all", got)
		}
	})

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{name: "a data dir with no ingest state is an error", args: []string{"export", "--data-dir", filepath.Join(t.TempDir(), "none")}, wantCode: 1, wantStderr: "ingest"},
		{name: "an unknown subcommand is a usage error", args: []string{"delete"}, wantCode: 2, wantStderr: "unknown command \"delete\""},
		{name: "no subcommand is a usage error", wantCode: 2, wantStderr: "a command is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := rounds(t, context.Background(), "", nil, append([]string{"signatures"}, tt.args...)...)
			if res.code != tt.wantCode || !strings.Contains(res.stderr, tt.wantStderr) {
				t.Fatalf("exit %d, stderr %q; want %d and %q in it", res.code, res.stderr, tt.wantCode, tt.wantStderr)
			}
		})
	}
}

func TestUsageListsTheManagementCommands(t *testing.T) {
	res := rounds(t, context.Background(), "", nil, "help")
	if !strings.Contains(res.stdout, "healthcheck") || !strings.Contains(res.stdout, "signatures") || !strings.Contains(res.stdout, "status") {
		t.Fatalf("usage %q: want healthcheck, signatures and status listed", res.stdout)
	}
}

// allAcked reports whether ingest's consumer has acked n messages and holds
// none pending.
func allAcked(t *testing.T, js jetstream.JetStream, n uint64) bool {
	t.Helper()
	c, err := js.Consumer(context.Background(), contract.StreamFailures, "ingest")
	if err != nil {
		return false
	}
	info, err := c.Info(context.Background())
	if err != nil {
		return false
	}
	return info.AckFloor.Stream >= n && info.NumAckPending == 0 && info.NumPending == 0
}

func sumOccurrences(sigs []contract.ExportedSignature) int64 {
	var n int64
	for _, s := range sigs {
		n += s.Count
	}
	return n
}
