package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"github.com/axtract/axtract/internal/extract"
	"github.com/axtract/axtract/internal/metrics"
	"github.com/axtract/axtract/worker"
)

func runServe(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "serve", "serve [flags]")
	addr := fs.String("http-addr", envOr(env, "AXTRACT_HTTP_ADDR", "127.0.0.1:8480"), "address of the health and metrics endpoints (env AXTRACT_HTTP_ADDR)")
	workers := fs.Int("workers", 4, "jobs run at once by this process")
	tick := fs.Duration("tick", 30*time.Second, "how often the scheduler looks for due slots")
	guard := fs.Duration("guard-interval", 10*time.Second, "how often the session guard enforces partner logins' limits")
	retryBase := fs.Duration("retry-base", 10*time.Second, "wait before the second attempt of a failed run; doubles each attempt")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *workers < 1 {
		return usagef("--workers must be at least 1")
	}
	if *guard <= 0 {
		return usagef("--guard-interval must be positive")
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	s, err := g.open(ctx, env, true)
	if err != nil {
		return err
	}
	defer s.Close()

	m := metrics.New()
	client, err := worker.NewClient(worker.Config{
		Pool: s.pool, Logger: s.logger, Workers: *workers, TickInterval: *tick, GuardInterval: *guard, RetryBase: *retryBase,
		Runner:      &extract.Runner{Pool: s.pool, Logger: s.logger},
		OnDelivered: m.Delivered,
	})
	if err != nil {
		return err
	}

	listener, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w; choose another with --http-addr", *addr, err)
	}
	srv := &http.Server{Handler: m.Handler(s.pool), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logger.Error("metrics server stopped", "error", err)
		}
	}()

	if err := client.Start(ctx); err != nil {
		return fmt.Errorf("start workers: %w", err)
	}
	s.logger.Info("serving", "http_addr", listener.Addr().String(), "workers", *workers, "tick", tick.String(), "guard_interval", guard.String())
	fmt.Fprintf(env.Stdout, "axtract serve: health and metrics on http://%s\n", listener.Addr())

	<-ctx.Done()
	s.logger.Info("shutting down")
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_ = srv.Shutdown(stopCtx)
	if err := client.Stop(stopCtx); err != nil {
		return fmt.Errorf("stop workers: %w", err)
	}
	return nil
}
