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
	"sync/atomic"
	"time"
)

// Listener is one HTTP endpoint to serve.
type Listener struct {
	Name    string // for logs: "gateway", "admin", "idp", "forward-auth"
	Addr    string
	Handler http.Handler
	// TLS, when set, serves HTTPS (with HTTP/2).
	TLS *tls.Config
	// H2C, without TLS, also serves HTTP/2 with prior knowledge (gRPC clients such as Envoy's
	// speak it on plaintext connections) beside HTTP/1.1.
	H2C bool
}

// Group is a set of bound listeners.
type Group struct {
	logger  *slog.Logger
	servers []*http.Server
	lns     []net.Listener
	names   []string

	// closing is set by CloseAfterResponses.
	closing atomic.Bool

	mu sync.Mutex
	// unread holds the connections accepted but not yet read from.
	unread map[net.Conn]struct{}
}

// Bind opens every listener before any starts serving, so a port clash fails the start
// instead of leaving a half-running process.
func Bind(logger *slog.Logger, ls []Listener) (*Group, error) {
	g := &Group{logger: logger, unread: map[net.Conn]struct{}{}}
	for _, l := range ls {
		ln, err := net.Listen("tcp", l.Addr)
		if err != nil {
			g.closeListeners()
			return nil, fmt.Errorf("%s listener on %s: %w", l.Name, l.Addr, err)
		}
		srv := &http.Server{
			Handler:           g.wrap(l.Handler),
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       60 * time.Second,
			IdleTimeout:       120 * time.Second,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
			ConnState:         g.connState,
		}
		if l.TLS != nil {
			// ServeTLS (not a tls.Listener) so net/http sets up HTTP/2.
			srv.TLSConfig = l.TLS
		} else if l.H2C {
			srv.Protocols = new(http.Protocols)
			srv.Protocols.SetHTTP1(true)
			srv.Protocols.SetUnencryptedHTTP2(true)
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

func (g *Group) connState(c net.Conn, s http.ConnState) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if s == http.StateNew {
		g.unread[c] = struct{}{}
	} else {
		delete(g.unread, c)
	}
}

// awaitUnread waits until every accepted connection has sent its first request, at most max.
func (g *Group) awaitUnread(ctx context.Context, max time.Duration) {
	t := time.NewTimer(max)
	defer t.Stop()
	for {
		g.mu.Lock()
		n := len(g.unread)
		g.mu.Unlock()
		if n == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// CloseAfterResponses makes every listener answer from now on with Connection: close (a
// GOAWAY on HTTP/2), so clients holding connections open move them elsewhere before shutdown
// closes them. Unlike http.Server.SetKeepAlivesEnabled it closes no idle connection, which
// would race a request the client is sending on it.
func (g *Group) CloseAfterResponses() { g.closing.Store(true) }

func (g *Group) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.closing.Load() {
			w.Header().Set("Connection", "close")
		}
		h.ServeHTTP(w, r)
	})
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
			if err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
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
	// http.Server.Shutdown closes, without an answer, a connection it accepted but had not
	// read its first request from yet. So stop accepting first, answer what was accepted
	// (with Connection: close), and only then shut down.
	for _, srv := range g.servers {
		srv.SetKeepAlivesEnabled(false)
	}
	g.closeListeners()
	// Serve returns once its listener is closed (Shutdown has not started), and it registers
	// each accepted connection before accepting the next: after this wait no connection can
	// appear that awaitUnread would miss.
	wg.Wait()
	g.awaitUnread(sctx, time.Second)
	for i, srv := range g.servers {
		if e := srv.Shutdown(sctx); e != nil && !errors.Is(e, net.ErrClosed) {
			g.logger.Warn("shutdown did not drain", "listener", g.names[i], "err", e)
			srv.Close()
		}
	}
	return err
}
