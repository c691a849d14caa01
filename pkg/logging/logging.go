// Package logging builds the one *slog.Logger a Rounds process uses: tint's
// coloured text on a terminal, JSON otherwise.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/lmittmann/tint"
	"golang.org/x/term"
)

// Formats accepted by New.
const (
	FormatAuto = "auto"
	FormatText = "text"
	FormatJSON = "json"
)

// Config says how to log.
type Config struct {
	// Format is "auto" (text on a terminal, JSON otherwise), "text" or "json".
	Format string
	// Level is debug, info, warn or error.
	Level string
}

// Validate reports a format or level that New would not accept.
func (c Config) Validate() error {
	switch c.Format {
	case "", FormatAuto, FormatText, FormatJSON:
	default:
		return fmt.Errorf("log format %q: want auto, text or json", c.Format)
	}
	if _, err := ParseLevel(c.Level); err != nil {
		return err
	}
	return nil
}

// ParseLevel turns debug, info, warn or error into a slog.Level.
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if s == "" {
		return slog.LevelInfo, nil
	}
	if err := l.UnmarshalText([]byte(strings.ToUpper(s))); err != nil {
		return 0, fmt.Errorf("log level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// New returns a logger writing to w.
func New(w io.Writer, cfg Config) (*slog.Logger, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	level, _ := ParseLevel(cfg.Level)
	format := cfg.Format
	tty := isTerminal(w)
	if format == "" || format == FormatAuto {
		format = FormatJSON
		if tty {
			format = FormatText
		}
	}
	if format == FormatJSON {
		return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})), nil
	}
	return slog.New(tint.NewHandler(w, &tint.Options{
		Level:      level,
		TimeFormat: time.TimeOnly,
		NoColor:    !tty,
	})), nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Discard returns a logger that drops everything; for tests and benchmarks.
func Discard() *slog.Logger {
	return slog.New(slog.DiscardHandler)
}
