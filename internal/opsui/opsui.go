// Package opsui mounts the River UI, River's web console of jobs and
// queues, at /riverui/ for operators and admins.
package opsui

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"riverqueue.com/riverui"

	"github.com/axtract/axtract/internal/auth"
)

// Prefix is the path the River UI is served under.
const Prefix = "/riverui/"

// Handler returns the River UI on client's database, for mounting at
// Prefix behind auth.Service.Middleware. It lets through only principals
// that may take auth.ActionOpsUI (admins and operators): a request without
// one gets 401 and any other role 403. The UI's background services run
// until ctx is done.
//
// The River UI can cancel, retry and delete jobs and pause queues, so it
// is an operator's tool; job arguments are hidden by default.
func Handler(ctx context.Context, client *river.Client[pgx.Tx], logger *slog.Logger) (http.Handler, error) {
	if client == nil {
		return nil, errors.New("mount the River UI: the River client is required")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ui, err := riverui.NewHandler(&riverui.HandlerOpts{
		Endpoints:                riverui.NewEndpoints(client, nil),
		JobListHideArgsByDefault: true,
		Logger:                   logger,
		Prefix:                   Prefix,
	})
	if err != nil {
		return nil, fmt.Errorf("create River UI: %w", err)
	}
	if err := ui.Start(ctx); err != nil {
		return nil, fmt.Errorf("start River UI: %w", err)
	}
	return requireOps(ui), nil
}

func requireOps(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := auth.FromContext(r.Context())
		if p == nil {
			auth.WriteError(w, http.StatusUnauthorized, auth.CodeUnauthenticated, "not signed in; sign in to the portal first")
			return
		}
		if !auth.Can(p, auth.ActionOpsUI) {
			auth.WriteError(w, http.StatusForbidden, auth.CodeForbidden, "the River UI is for admins and operators")
			return
		}
		next.ServeHTTP(w, r)
	})
}
