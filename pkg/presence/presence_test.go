package presence

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/logging"
	"github.com/rounds-dev/rounds/pkg/messaging"
	"github.com/rounds-dev/rounds/pkg/natstest"
)

func TestMicroVersion(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0.1.0", "0.1.0"},
		{"v1.2.3", "1.2.3"},
		{"0.1.0-rolling-update-test", "0.1.0-rolling-update-test"},
		{"1.0.0+build.5", "1.0.0+build.5"},
		{"dev", "0.0.0-dev"},
		{"abc123 dirty", "0.0.0-abc123-dirty"},
		{"1.2", "0.0.0-1-2"},
		{"", "0.0.0-unknown"},
		{"007", "0.0.0-unknown"},
	}
	for _, tt := range tests {
		if got := MicroVersion(tt.in); got != tt.want {
			t.Errorf("MicroVersion(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestServeAnswersStatusAndStatsWithReadiness(t *testing.T) {
	url := natstest.Start(t)
	nc, _ := natstest.Connect(t, url)
	var notReady atomic.Bool
	at := time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)
	svc, err := Serve(nc, Config{
		Service: "diagnose", Version: "dev", Now: func() time.Time { return at },
		Ready: func(context.Context) error {
			if notReady.Load() {
				return errors.New("state not open yet")
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Stop() })

	status := func() contract.ServiceStatus {
		t.Helper()
		msg, err := nc.Request(contract.ServiceStatusSubject("diagnose"), nil, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var st contract.ServiceStatus
		if err := json.Unmarshal(msg.Data, &st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	want := contract.ServiceStatus{Service: "diagnose", Version: "dev", Ready: true, Started: at}
	if got := status(); got != want {
		t.Errorf("status %+v, want %+v", got, want)
	}
	notReady.Store(true)
	want.Ready, want.Problem = false, "state not open yet"
	if got := status(); got != want {
		t.Errorf("status when not ready %+v, want %+v", got, want)
	}

	// Discovery: the info names the service, and the stats of every
	// instance carry its status.
	msg, err := nc.Request("$SRV.INFO."+contract.ServiceName("diagnose"), nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var info micro.Info
	if err := json.Unmarshal(msg.Data, &info); err != nil {
		t.Fatal(err)
	}
	if info.Name != "rounds-diagnose" || info.Version != "0.0.0-dev" || info.Metadata["rounds_version"] != "dev" || info.Metadata["service"] != "diagnose" ||
		len(info.Endpoints) != 1 || info.Endpoints[0].Subject != "rounds.services.diagnose.status" {
		t.Errorf("info %+v", info)
	}
	msg, err = nc.Request("$SRV.STATS."+contract.ServiceName("diagnose"), nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var stats micro.Stats
	if err := json.Unmarshal(msg.Data, &stats); err != nil {
		t.Fatal(err)
	}
	if len(stats.Endpoints) != 1 {
		t.Fatalf("stats %+v", stats)
	}
	var inStats contract.ServiceStatus
	if err := json.Unmarshal(stats.Endpoints[0].Data, &inStats); err != nil || inStats != want {
		t.Errorf("stats data %s (%v), want %+v", stats.Endpoints[0].Data, err, want)
	}
}

func TestAnAnnouncerDeregistersWhenItStops(t *testing.T) {
	url := natstest.Start(t)
	nc, _ := natstest.Connect(t, url)
	a := New(Config{Service: "report", Version: "0.1.0"}, messaging.URLDialer(url, 5*time.Second, logging.Discard()), logging.Discard())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var answered bool
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err := nc.Request(contract.ServiceStatusSubject("report"), nil, time.Second); err == nil {
			answered = true
			break
		}
	}
	if !answered {
		t.Fatal("the announced service never answered")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run returned %v after its context ended", err)
	}
	if _, err := nc.Request(contract.ServiceStatusSubject("report"), nil, 200*time.Millisecond); !errors.Is(err, nats.ErrNoResponders) && !errors.Is(err, nats.ErrTimeout) {
		t.Errorf("after stopping, a status request got %v; want no responders", err)
	}
}

func TestAnAnnouncerThatCannotDialFailsWithTheService(t *testing.T) {
	dial := func(context.Context, string) (*nats.Conn, error) { return nil, errors.New("connection refused") }
	err := New(Config{Service: "ingest"}, dial, logging.Discard()).Run(context.Background())
	if err == nil || err.Error() != "presence of ingest: connection refused" {
		t.Errorf("Run = %v, want the dial error naming the service", err)
	}
}
