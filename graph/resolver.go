package graph

import (
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Resolver holds what every resolver needs. One Resolver serves all
// requests; per-request state lives in the request's context.
type Resolver struct {
	pool   *pgxpool.Pool
	opts   Options
	logger *slog.Logger

	dashboardCache dashboardCache
	// previews holds a token per view preview running in the database.
	previews chan struct{}
}
