// Command devserver serves the built console (web/dist, through
// web.Handler) with the FAKE API of test/console/fakeapi, for developing
// the console without `vigil run`:
//
//	go run ./test/console/devserver -addr 127.0.0.1:9780 -live 10s
//
// Users: admin/admin and viewer/viewer. With -live a made-up alert arrives
// on the stream every interval.
package main

import (
	"context"
	"flag"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/vigilsec/vigil/test/console/fakeapi"
	"github.com/vigilsec/vigil/web"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9780", "listen address")
	live := flag.Duration("live", 0, "add a made-up alert every interval (0: never)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("component", "devserver")

	api := fakeapi.New(map[string][2]string{"admin": {"admin", "admin"}, "viewer": {"viewer", "viewer"}}, true)
	mux := http.NewServeMux()
	mux.Handle("/api/", api)
	mux.Handle("/", web.Handler())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *live > 0 {
		go func() {
			t := time.NewTicker(*live)
			defer t.Stop()
			for i := 0; ; i++ {
				select {
				case <-ctx.Done():
					return
				case now := <-t.C:
					api.Add(fakeapi.Sample(i, now))
				}
			}
		}()
	}
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Shutdown(context.Background())
	}()
	log.Info("serving the console with the FAKE API", "addr", "http://"+*addr)
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		log.Error("serve", "err", err)
		os.Exit(1)
	}
}
