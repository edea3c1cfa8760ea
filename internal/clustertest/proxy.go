// Package clustertest holds the tests that run several real `gatehouse serve` processes:
// convergence across nodes on one PostgreSQL, surviving a store outage, crash consistency
// under kill -9, and graceful shutdown. This file is its one piece of non-test code: a TCP
// proxy the tests cut to simulate losing the database.
package clustertest

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// Proxy forwards TCP connections from a loopback port to a target address until it is cut.
// While cut it closes every forwarded connection and accepts-then-closes new ones, which is
// what a client sees when the database host drops off the network and comes back. While
// black-holed it keeps every connection open but delivers nothing either way, and accepts new
// ones without ever answering: what a client sees when a firewall drops the packets.
type Proxy struct {
	ln     net.Listener
	target string

	mu        sync.Mutex
	cut       bool
	blackhole bool
	closed    bool
	conns     map[net.Conn]struct{}
	wg        sync.WaitGroup
}

// NewProxy listens on 127.0.0.1:0 and forwards to target.
func NewProxy(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the proxy's listening address (host:port).
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Cut closes every open connection and makes new ones fail until Resume.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// Blackhole stops delivering bytes on every connection, open or new, until Resume.
func (p *Proxy) Blackhole() {
	p.mu.Lock()
	p.blackhole = true
	p.mu.Unlock()
}

// Resume forwards new connections again. Connections open across a black hole are closed:
// their sessions lost bytes and cannot carry on.
func (p *Proxy) Resume() {
	p.mu.Lock()
	wasBlackhole := p.blackhole
	p.cut, p.blackhole = false, false
	p.mu.Unlock()
	if wasBlackhole {
		p.mu.Lock()
		for c := range p.conns {
			c.Close()
			delete(p.conns, c)
		}
		p.mu.Unlock()
	}
}

func (p *Proxy) blackholed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.blackhole
}

// Close stops the proxy and closes every connection.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.Cut()
	err := p.ln.Close()
	p.wg.Wait()
	return err
}

// track registers c unless the proxy is cut or closed.
func (p *Proxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut || p.closed {
		return false
	}
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *Proxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
	}
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		p.wg.Add(1)
		go p.forward(c)
	}
}

func (p *Proxy) forward(client net.Conn) {
	defer p.wg.Done()
	if !p.track(client) {
		client.Close()
		return
	}
	if p.blackholed() {
		// Hold the connection and answer nothing until it is closed (by Resume or Close).
		_, _ = io.Copy(io.Discard, client)
		client.Close()
		p.untrack(client)
		return
	}
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil || !p.track(server) {
		if server != nil {
			server.Close()
		}
		client.Close()
		p.untrack(client)
		return
	}
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 && !p.blackholed() {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		// Either direction ending ends the connection: a half-open database session is
		// not something the tests want to reason about.
		dst.Close()
		src.Close()
		done <- struct{}{}
	}
	go pipe(server, client)
	go pipe(client, server)
	<-done
	<-done
	p.untrack(client, server)
}
