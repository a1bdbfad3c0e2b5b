package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"github.com/sirupsen/logrus"
)

// certs is the certificate that depot serve presents, read from its
// --tls-cert and --tls-key files and read again on SIGHUP (onHangup). New
// handshakes take the pair current at that moment; connections already
// open keep theirs, so a reload drops nothing.
type certs struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]
}

// loadCerts reads the pair, or returns nil when neither flag is set.
func loadCerts(certFile, keyFile string) (*certs, error) {
	if certFile == "" && keyFile == "" {
		return nil, nil
	}
	if certFile == "" || keyFile == "" {
		return nil, usagef("--tls-cert and --tls-key go together")
	}
	c := &certs{certFile: certFile, keyFile: keyFile}
	if err := c.reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// reload reads the pair again and makes it current. A pair that does not
// load, or whose certificate does not parse, leaves the current one.
func (c *certs) reload() error {
	pair, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("tls: load %s and %s: %w", c.certFile, c.keyFile, err)
	}
	if pair.Leaf == nil {
		if pair.Leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return fmt.Errorf("tls: parse %s: %w", c.certFile, err)
		}
	}
	c.cur.Store(&pair)
	return nil
}

// config is the server's TLS configuration: TLS 1.2 and later, with the
// current certificate at each handshake.
func (c *certs) config() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return c.cur.Load(), nil
		},
	}
}

// onHangup answers each SIGHUP until ctx ends: with certs (HTTPS), it
// reloads the pair, logging what it now serves or why it kept the old
// one; without, it logs that there is nothing to reload. Either way the
// server goes on: a SIGHUP sent by habit (a log rotation, a "reload" of a
// service manager, a terminal closing under nohup-less runs) must not end
// every clone and push in flight, which is what Go does by default.
// It takes the signal before it returns, so that the server never
// listens while a SIGHUP would still end it, and answers in a goroutine.
func onHangup(ctx context.Context, c *certs, log logrus.FieldLogger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go answerHangups(ctx, hup, c, log)
}

func answerHangups(ctx context.Context, hup chan os.Signal, c *certs, log logrus.FieldLogger) {
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		if c == nil {
			log.Info("SIGHUP: nothing to reload (no --tls-cert); still serving")
			continue
		}
		if err := c.reload(); err != nil {
			log.WithError(err).Error("SIGHUP: kept the previous certificate")
			continue
		}
		leaf := c.cur.Load().Leaf
		log.WithFields(logrus.Fields{"subject": leaf.Subject.String(), "not_after": leaf.NotAfter.UTC()}).
			Info("SIGHUP: reloaded the TLS certificate")
	}
}

// withHSTS tells browsers to come back over HTTPS only, for a year, on
// every response served over TLS (RFC 6797).
func withHSTS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil {
			w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}
