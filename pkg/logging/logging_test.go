package logging

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name     string
		cfg      Config
		wantJSON bool
		wantErr  bool
	}{
		{name: "auto on a non-terminal writes JSON", cfg: Config{Format: "auto"}, wantJSON: true},
		{name: "text is written as plain text when not a terminal", cfg: Config{Format: "text"}},
		{name: "json is written as JSON", cfg: Config{Format: "json", Level: "debug"}, wantJSON: true},
		{name: "an unknown format is refused", cfg: Config{Format: "xml"}, wantErr: true},
		{name: "an unknown level is refused", cfg: Config{Level: "loud"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := New(&buf, tt.cfg)
			if tt.wantErr {
				if err == nil {
					t.Fatal("New succeeded, want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			log.Info("hello", "event_id", "e1")
			var m map[string]any
			isJSON := json.Unmarshal(buf.Bytes(), &m) == nil
			if isJSON != tt.wantJSON {
				t.Fatalf("output %q: JSON=%v, want %v", buf.String(), isJSON, tt.wantJSON)
			}
			if !strings.Contains(buf.String(), "e1") || strings.Contains(buf.String(), "\x1b[") {
				t.Fatalf("output %q lacks the attribute or has colour codes", buf.String())
			}
		})
	}
}

func TestLevelFiltersDebug(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(&buf, Config{Format: "json", Level: "warn"})
	if err != nil {
		t.Fatal(err)
	}
	log.Info("quiet")
	log.Warn("loud")
	if strings.Contains(buf.String(), "quiet") || !strings.Contains(buf.String(), "loud") {
		t.Fatalf("level warn wrote %q", buf.String())
	}
}
