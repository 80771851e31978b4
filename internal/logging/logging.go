// Package logging holds slog helpers shared by AxTract's commands.
package logging

import (
	"context"
	"log/slog"
)

// WarnOnly returns a logger that passes on only records at warn level and
// above to logger's handler. Libraries that log routine work at info, such
// as River's producer and migrator, get this one.
func WarnOnly(logger *slog.Logger) *slog.Logger {
	return slog.New(warnOnly{logger.Handler()})
}

type warnOnly struct{ slog.Handler }

func (h warnOnly) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= slog.LevelWarn && h.Handler.Enabled(ctx, level)
}

func (h warnOnly) WithAttrs(attrs []slog.Attr) slog.Handler {
	return warnOnly{h.Handler.WithAttrs(attrs)}
}

func (h warnOnly) WithGroup(name string) slog.Handler {
	return warnOnly{h.Handler.WithGroup(name)}
}
