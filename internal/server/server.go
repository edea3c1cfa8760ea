// Package server runs Gatehouse's HTTP listeners with sane limits and drains them on shutdown.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Listener is one HTTP endpoint to serve.
type Listener struct {
	Name    string // for logs: "gateway", "admin", "idp", "forward-auth"
	Addr    string
	Handler http.Handler
	// TLS, when set, serves HTTPS (with HTTP/2).
	TLS *tls.Config
}

// Group is a set of bound listeners.
type Group struct {
	logger  *slog.Logger
	servers []*http.Server
	lns     []net.Listener
	names   []string
}

// Bind opens every listener before any starts serving, so a port clash fails the start
// instead of leaving a half-running process.
func Bind(logger *slog.Logger, ls []Listener) (*Group, error) {
	g := &Group{logger: logger}
	for _, l := range ls {
		ln, err := net.Listen("tcp", l.Addr)
		if err != nil {
			g.closeListeners()
			return nil, fmt.Errorf("%s listener on %s: %w", l.Name, l.Addr, err)
		}
		srv := &http.Server{
			Handler:           l.Handler,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       60 * time.Second,
			IdleTimeout:       120 * time.Second,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		}
		if l.TLS != nil {
			// ServeTLS (not a tls.Listener) so net/http sets up HTTP/2.
			srv.TLSConfig = l.TLS
		}
		g.servers = append(g.servers, srv)
		g.lns = append(g.lns, ln)
		g.names = append(g.names, l.Name)
	}
	return g, nil
}

func (g *Group) closeListeners() {
	for _, ln := range g.lns {
		ln.Close()
	}
}

// Addr returns the bound address of the named listener ("" if none).
func (g *Group) Addr(name string) string {
	for i, n := range g.names {
		if n == name {
			return g.lns[i].Addr().String()
		}
	}
	return ""
}

// Serve serves until ctx is done, then stops accepting, waits up to drain for in-flight
// requests and returns. A listener failing early stops the others.
func (g *Group) Serve(ctx context.Context, drain time.Duration) error {
	errc := make(chan error, len(g.servers))
	var wg sync.WaitGroup
	for i, srv := range g.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.logger.Info("listening", "listener", g.names[i], "addr", g.lns[i].Addr().String())
			var err error
			if srv.TLSConfig != nil {
				err = srv.ServeTLS(g.lns[i], "", "")
			} else {
				err = srv.Serve(g.lns[i])
			}
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("%s listener: %w", g.names[i], err)
			}
		}()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	for i, srv := range g.servers {
		if e := srv.Shutdown(sctx); e != nil {
			g.logger.Warn("shutdown did not drain", "listener", g.names[i], "err", e)
			srv.Close()
		}
	}
	wg.Wait()
	return err
}
