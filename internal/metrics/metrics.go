// Package metrics defines AxTract's Prometheus metrics and the HTTP
// endpoints of axtract serve: /healthz, /readyz and /metrics.
package metrics

import (
	"context"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/axtract/axtract/internal/extract"
)

// Metrics holds the collectors of one process.
type Metrics struct {
	Registry  *prometheus.Registry
	runs      *prometheus.CounterVec
	rows      prometheus.Counter
	bytes     prometheus.Counter
	durations prometheus.Histogram
}

// New registers AxTract's collectors, plus Go and process collectors, on a
// new registry.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "axtract_runs_total", Help: "Feed runs finished by this process, by outcome.",
		}, []string{"outcome"}),
		rows: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "axtract_rows_delivered_total", Help: "Rows delivered to partners.",
		}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "axtract_bytes_delivered_total", Help: "Bytes delivered to partners, after compression and encryption.",
		}),
		durations: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "axtract_run_duration_seconds", Help: "Duration of delivered runs.",
			Buckets: prometheus.ExponentialBuckets(0.1, 2, 14),
		}),
	}
	m.Registry.MustRegister(m.runs, m.rows, m.bytes, m.durations,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Delivered records a delivered run.
func (m *Metrics) Delivered(res *extract.Result) {
	m.runs.WithLabelValues("delivered").Inc()
	m.rows.Add(float64(res.Rows))
	m.bytes.Add(float64(res.Bytes))
	m.durations.Observe(res.Duration.Seconds())
}

// Handler serves /healthz (the process is up), /readyz (the database
// answers) and /metrics.
func (m *Metrics) Handler(pool *pgxpool.Pool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := pool.Ping(ctx); err != nil {
			http.Error(w, "database unreachable", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	return mux
}
