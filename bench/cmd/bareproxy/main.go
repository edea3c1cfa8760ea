// Command bareproxy is the benchmark's baseline reverse proxy: a bare httputil.ReverseProxy
// whose Rewrite only calls SetURL, so the gateway's overhead is measured against the cost of
// proxying itself. With -buffer-pool it also recycles its 32 KiB copy buffers (the one
// allocation-saving option the gateway's proxy uses), making it the baseline for what the
// gateway's authorization alone costs.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/server"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9302", "address to listen on")
	upstream := flag.String("upstream", "http://127.0.0.1:9301", "upstream URL")
	pool := flag.Bool("buffer-pool", false, "recycle the proxy's copy buffers (ReverseProxy.BufferPool)")
	flag.Parse()
	target, err := url.Parse(*upstream)
	if err != nil || target.Host == "" {
		fmt.Fprintf(os.Stderr, "bareproxy: -upstream %q: not a URL\n", *upstream)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, *listen, newProxy(target, *pool)); err != nil {
		fmt.Fprintln(os.Stderr, "bareproxy:", err)
		os.Exit(1)
	}
}

func newProxy(target *url.URL, pool bool) *httputil.ReverseProxy {
	// The default transport keeps 2 idle connections per host, which makes a proxy under 32
	// concurrent requests open and close connections all the time; a gateway would not.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	rp := &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(target) },
		Transport: tr,
	}
	if pool {
		rp.BufferPool = &bufferPool{p: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}
	}
	return rp
}

// bufferPool recycles ReverseProxy's copy buffers.
type bufferPool struct{ p sync.Pool }

func (bp *bufferPool) Get() []byte  { return *bp.p.Get().(*[]byte) }
func (bp *bufferPool) Put(b []byte) { bp.p.Put(&b) }

// serve runs h on addr until ctx ends, with the same server settings as gatehouse itself.
func serve(ctx context.Context, addr string, h http.Handler) error {
	g, err := server.Bind(slog.Default(), []server.Listener{{Name: "bareproxy", Addr: addr, Handler: h}})
	if err != nil {
		return err
	}
	return g.Serve(ctx, 2*time.Second)
}
