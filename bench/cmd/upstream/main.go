// Command upstream is the benchmark's backend: it answers every request with 200 and a small
// JSON body, doing as little as possible so a benchmark measures what sits in front of it.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/server"
)

var body = []byte(`{"pets":[{"id":1,"type":"dog","price":249.99},{"id":2,"type":"cat","price":124.99}]}` + "\n")

func main() {
	listen := flag.String("listen", "127.0.0.1:9301", "address to listen on")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, *listen, handler()); err != nil {
		fmt.Fprintln(os.Stderr, "upstream:", err)
		os.Exit(1)
	}
}

func handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
}

// serve runs h on addr until ctx ends, with the same server settings as gatehouse itself.
func serve(ctx context.Context, addr string, h http.Handler) error {
	g, err := server.Bind(slog.Default(), []server.Listener{{Name: "upstream", Addr: addr, Handler: h}})
	if err != nil {
		return err
	}
	return g.Serve(ctx, 2*time.Second)
}
