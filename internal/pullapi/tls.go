package pullapi

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"time"
)

// TLSConfig returns a server TLS configuration for the certificate chain and
// private key in the PEM files certFile and keyFile, with TLS 1.2 as the
// minimum version. The key file is read once; restart the server to load a
// renewed certificate.
func TLSConfig(certFile, keyFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load TLS certificate %s and key %s: %w", certFile, keyFile, err)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
	}, nil
}

// NewServer returns an HTTPS server for handler on addr with cfg, ready for
// ListenAndServeTLS("", "") or ServeTLS(listener, "", ""). Its timeouts bound
// slow clients without cutting off large downloads: reading headers and
// waiting between requests are limited, writing a response is not.
func NewServer(addr string, handler http.Handler, cfg *tls.Config) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           handler,
		TLSConfig:         cfg,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}
