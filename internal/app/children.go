package app

import (
	"time"

	"github.com/vigilsec/vigil/internal/container"
	"github.com/vigilsec/vigil/internal/store"
	"github.com/vigilsec/vigil/internal/sysevent"
)

// sourceHooks are callbacks of the syscall source into run's wiring.
type sourceHooks struct {
	// onContainer is called with container metadata updates (assets).
	onContainer func(*container.Info)
	// recordExec keeps a process start whose parent raised an alert (the
	// "children" of the alert's provenance). It must not block.
	recordExec func(store.ExecRecord)
}

// Bounds of the child watch.
const (
	maxWatched = 1024
	watchTTL   = 10 * time.Minute
)

// childWatch remembers the processes that raised alerts for a while and
// records the programs their children execute, so that an alert's detail
// can list them. It is used from the capture goroutine only. The cost on
// events that are not execs is one comparison; on an exec, one map lookup.
type childWatch struct {
	host    string
	record  func(store.ExecRecord)
	watched map[int64]int64 // pid -> start time ns of the watched process
	until   map[int64]time.Time
	execs   [2]int // event codes of execve and execveat
}

func newChildWatch(host string, record func(store.ExecRecord)) *childWatch {
	w := &childWatch{host: host, record: record, watched: map[int64]int64{}, until: map[int64]time.Time{}, execs: [2]int{-1, -1}}
	var src sysevent.Source
	if c, ok := src.TypeCode("execve"); ok {
		w.execs[0] = c
	}
	if c, ok := src.TypeCode("execveat"); ok {
		w.execs[1] = c
	}
	return w
}

// watch starts watching the process of ev, which raised an alert at t.
func (w *childWatch) watch(ev *sysevent.Event, t time.Time) {
	if w.record == nil || ev == nil || ev.Thread == nil || ev.Thread.Proc == nil {
		return
	}
	if len(w.watched) >= maxWatched {
		w.expire(time.Now(), true)
	}
	p := ev.Thread.Proc
	w.watched[p.PID] = p.StartTime
	w.until[p.PID] = t.Add(watchTTL)
}

// expire drops watches past their time; with force, when none expired, an
// arbitrary half is dropped to make room.
func (w *childWatch) expire(now time.Time, force bool) {
	for pid, u := range w.until {
		if now.After(u) {
			delete(w.watched, pid)
			delete(w.until, pid)
		}
	}
	if force && len(w.watched) >= maxWatched {
		n := 0
		for pid := range w.watched {
			delete(w.watched, pid)
			delete(w.until, pid)
			if n++; n >= maxWatched/2 {
				break
			}
		}
	}
}

// observe records ev when it is a successful exec by a child of a watched
// process.
func (w *childWatch) observe(ev *sysevent.Event) {
	if len(w.watched) == 0 || (ev.Code != w.execs[0] && ev.Code != w.execs[1]) || ev.Res != 0 || ev.Thread == nil || ev.Thread.Proc == nil {
		return
	}
	p := ev.Thread.Proc
	start, ok := w.watched[p.PPID]
	if !ok || (p.StartTime != 0 && p.StartTime < start) {
		return
	}
	if t := time.Unix(0, ev.Time); t.After(w.until[p.PPID]) {
		delete(w.watched, p.PPID)
		delete(w.until, p.PPID)
		return
	}
	w.record(store.ExecRecord{Host: w.host, Proc: procOf(p)})
}
