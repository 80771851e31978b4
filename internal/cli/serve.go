package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/axtract/axtract/graph"
	"github.com/axtract/axtract/internal/auth"
	"github.com/axtract/axtract/internal/extract"
	"github.com/axtract/axtract/internal/metrics"
	"github.com/axtract/axtract/internal/notify"
	"github.com/axtract/axtract/internal/opsui"
	"github.com/axtract/axtract/internal/pullapi"
	"github.com/axtract/axtract/internal/web"
	"github.com/axtract/axtract/worker"
)

// serveFlags are the flags of axtract serve that shape its HTTP server.
type serveFlags struct {
	addr        string
	tlsCert     string
	tlsKey      string
	linkKeyFile string
}

func runServe(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "serve", "serve [flags]")
	var hf serveFlags
	fs.StringVar(&hf.addr, "http-addr", envOr(env, "AXTRACT_HTTP_ADDR", "127.0.0.1:8480"), "address of the portal, the APIs and the health and metrics endpoints (env AXTRACT_HTTP_ADDR)")
	fs.StringVar(&hf.tlsCert, "tls-cert", env.Getenv("AXTRACT_TLS_CERT"), "PEM certificate chain; with --tls-key, serve HTTPS (env AXTRACT_TLS_CERT)")
	fs.StringVar(&hf.tlsKey, "tls-key", env.Getenv("AXTRACT_TLS_KEY"), "PEM private key of --tls-cert (env AXTRACT_TLS_KEY)")
	fs.StringVar(&hf.linkKeyFile, "link-key-file", env.Getenv("AXTRACT_LINK_KEY_FILE"), "file of at least 32 random bytes that signs download links; empty uses the key migrate stored in the database (env AXTRACT_LINK_KEY_FILE)")
	workers := fs.Int("workers", 4, "jobs run at once by this process")
	tick := fs.Duration("tick", 30*time.Second, "how often the scheduler looks for due slots")
	guard := fs.Duration("guard-interval", 10*time.Second, "how often the session guard enforces partner logins' limits")
	retryBase := fs.Duration("retry-base", 10*time.Second, "wait before the second attempt of a failed run; doubles each attempt")
	smtpCfg := notify.BindFlags(fs, env.Getenv)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *workers < 1 {
		return usagef("--workers must be at least 1")
	}
	if *guard <= 0 {
		return usagef("--guard-interval must be positive")
	}
	if (hf.tlsCert == "") != (hf.tlsKey == "") {
		return usagef("--tls-cert and --tls-key go together: give both to serve HTTPS, or neither for plain HTTP")
	}
	var tlsConfig *tls.Config
	if hf.tlsCert != "" {
		cfg, err := pullapi.TLSConfig(hf.tlsCert, hf.tlsKey)
		if err != nil {
			return err
		}
		tlsConfig = cfg
	}
	if smtpCfg.Enabled() {
		if err := smtpCfg.Validate(); err != nil {
			return usagef("%v", err)
		}
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	s, err := g.open(ctx, env, true)
	if err != nil {
		return err
	}
	defer s.Close()

	// Without a mail server, notices wait in the outbox until a serve
	// process with one drains it.
	var channels worker.ChannelConfig
	if smtpCfg.Enabled() {
		channels.Email = &notify.EmailSender{Pool: s.pool, SMTP: smtpCfg, Logger: s.logger}
	}

	m := metrics.New()
	client, err := worker.NewClient(worker.Config{
		Pool: s.pool, Logger: s.logger, Workers: *workers, TickInterval: *tick, GuardInterval: *guard, RetryBase: *retryBase,
		Runner:      &extract.Runner{Pool: s.pool, Logger: s.logger},
		OnDelivered: m.Delivered,
		Channels:    channels,
	})
	if err != nil {
		return err
	}

	handler, err := serverHandler(ctx, s.pool, client, s.logger, m, hf.linkKeyFile)
	if err != nil {
		return err
	}
	listener, err := net.Listen("tcp", hf.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w; choose another with --http-addr", hf.addr, err)
	}
	srv := pullapi.NewServer(hf.addr, handler, tlsConfig)
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
	} else if !isLoopback(listener.Addr()) {
		s.logger.Warn("serving plain HTTP on a non-loopback address; sign-in passwords and session cookies cross the network in clear, so give --tls-cert and --tls-key", "http_addr", listener.Addr().String())
	}
	go func() {
		var err error
		if tlsConfig != nil {
			err = srv.ServeTLS(listener, "", "")
		} else {
			err = srv.Serve(listener)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logger.Error("HTTP server stopped", "error", err)
		}
	}()

	if err := client.Start(ctx); err != nil {
		return fmt.Errorf("start workers: %w", err)
	}
	s.logger.Info("serving", "url", scheme+"://"+listener.Addr().String(), "workers", *workers, "tick", tick.String(), "guard_interval", guard.String())
	fmt.Fprintf(env.Stdout, "axtract serve: portal, APIs, health and metrics on %s://%s\n", scheme, listener.Addr())

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

// serverHandler assembles the portal and every API on one handler. The
// River UI's background services run until ctx is done.
func serverHandler(ctx context.Context, pool *pgxpool.Pool, client *river.Client[pgx.Tx], logger *slog.Logger, m *metrics.Metrics, linkKeyFile string) (http.Handler, error) {
	accounts := auth.NewService(pool, auth.Options{Logger: logger})
	files := pullapi.NewHandler(pool, pullapi.Options{Logger: logger, LinkKeyFile: linkKeyFile})
	jobs, err := opsui.Handler(ctx, client, logger)
	if err != nil {
		return nil, fmt.Errorf("start the River UI: %w", err)
	}
	return web.New(web.Deps{
		GraphQL: graph.NewHandler(pool, graph.Options{
			Logger:      logger,
			DownloadURL: web.DownloadLinks(pool, linkKeyFile, web.DefaultLinkTTL),
		}),
		Auth:     accounts.Routes(),
		Session:  accounts.Middleware,
		RiverUI:  jobs,
		PullAPI:  files,
		Download: files,
		Health:   m.Handler(pool),
	})
}

func isLoopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}
