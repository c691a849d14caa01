package natsserver

import (
	"net"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/rounds-dev/rounds/pkg/logging"
)

func TestStart(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{name: "a free port is served with JetStream", cfg: Config{Listen: "127.0.0.1:0"}},
		{name: "a taken port is refused at once, saying so", cfg: Config{Listen: taken.Addr().String()}, wantErr: "address already in use"},
		{name: "a listen address without a port is refused", cfg: Config{Listen: "localhost"}, wantErr: "nats listen address"},
		{name: "a missing store dir is refused", cfg: Config{Listen: "127.0.0.1:0"}, wantErr: "store dir is required"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if i != len(tests)-1 {
				tt.cfg.StoreDir = t.TempDir()
			}
			srv, err := Start(tt.cfg, logging.Discard())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Shutdown()
			nc, err := nats.Connect(srv.ClientURL())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			if nc.MaxPayload() != DefaultMaxPayload {
				t.Errorf("max payload %d, want %d", nc.MaxPayload(), DefaultMaxPayload)
			}
			js, err := nc.JetStream()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := js.AccountInfo(); err != nil {
				t.Fatalf("JetStream is not enabled: %v", err)
			}
		})
	}
}
