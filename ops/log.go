package ops

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Log formats of NewLogger.
const (
	LogText = "text"
	LogJSON = "json"
)

// NewLogger returns a logger writing to w in format (LogText or LogJSON)
// the records at level or above: "debug", "info", "warn" or "error" (any
// case; slog's offsets such as "warn+2" too). Unknown values are errors.
//
// What reaches it is the server's business to keep clean: request lines
// carry route kinds and ids, never paths, tokens, bodies or personal data
// (see graphapi.Config.AccessLog).
func NewLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch strings.ToLower(format) {
	case LogText:
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case LogJSON:
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", format)
}
