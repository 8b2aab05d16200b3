package app

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/vigilsec/vigil/internal/container"
	"github.com/vigilsec/vigil/internal/store"
	"github.com/vigilsec/vigil/web"
)

// consoleHandler returns the web console (package web), served at /.
func consoleHandler() http.Handler { return web.Handler() }

// asyncWriters batch the assets and exec records the sources report into
// the store, off the event path: a full queue drops (and counts) items
// rather than block capture.
type asyncWriters struct {
	db     store.AlertAPI
	log    *slog.Logger
	assets chan store.Asset
	execs  chan store.ExecRecord
	done   chan struct{}
	wg     sync.WaitGroup
}

func startAsyncWriters(db store.AlertAPI, log *slog.Logger) *asyncWriters {
	w := &asyncWriters{db: db, log: log, assets: make(chan store.Asset, 1024), execs: make(chan store.ExecRecord, 1024), done: make(chan struct{})}
	w.wg.Add(1)
	go w.run()
	return w
}

func (w *asyncWriters) hooks() sourceHooks {
	return sourceHooks{
		onContainer: func(c *container.Info) {
			for _, a := range containerAssets(c, time.Now()) {
				select {
				case w.assets <- a:
				default:
					w.log.Warn("asset queue full: asset update dropped", "component", "run", "kind", a.Kind, "id", a.ID)
				}
			}
		},
		recordExec: func(r store.ExecRecord) {
			select {
			case w.execs <- r:
			default:
				w.log.Warn("exec record queue full: child process not recorded", "component", "run", "pid", r.Proc.PID)
			}
		},
	}
}

func (w *asyncWriters) run() {
	defer w.wg.Done()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	var assets []store.Asset
	var execs []store.ExecRecord
	flush := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := w.db.UpsertAssets(ctx, assets); err != nil {
			w.log.Error("store assets", "component", "run", "err", err)
		}
		if err := w.db.RecordExecs(ctx, execs); err != nil {
			w.log.Error("store exec records", "component", "run", "err", err)
		}
		assets, execs = assets[:0], execs[:0]
	}
	for {
		select {
		case a := <-w.assets:
			assets = append(assets, a)
		case e := <-w.execs:
			execs = append(execs, e)
		case <-tick.C:
			flush()
		case <-w.done:
			for {
				select {
				case a := <-w.assets:
					assets = append(assets, a)
				case e := <-w.execs:
					execs = append(execs, e)
				default:
					flush()
					return
				}
			}
		}
	}
}

func (w *asyncWriters) stop() {
	close(w.done)
	w.wg.Wait()
}
