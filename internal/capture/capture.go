// Package capture turns the eBPF sensor's kernel records into syscall
// events the rules engine evaluates: it keeps the process table current
// (forks, execs, exits, file descriptors, working directories) and gives
// each event its thread, process, file descriptor and container.
//
// One Capture runs on one goroutine: the sensor's reader. Events are built
// in one reused sysevent.Event; nothing is allocated per system call on
// the hot path (execs allocate their argv and environment strings, which
// the process table keeps).
package capture

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/vigilsec/vigil/internal/proctree"
	"github.com/vigilsec/vigil/internal/rules"
	"github.com/vigilsec/vigil/internal/sensor"
	"github.com/vigilsec/vigil/internal/sysevent"
)

// baseSyscalls are captured whatever the rules: they keep the process
// table's working directories right, so that relative paths resolve.
var baseSyscalls = []string{"chdir", "fchdir"}

// eventAliases maps Falco event names that differ from the system call's
// name to the system calls that produce them.
var eventAliases = map[string][]string{
	"pread":  {"pread64"},
	"pwrite": {"pwrite64"},
	"umount": {"umount2"},
}

// Selection is what a ruleset needs the sensor to capture.
type Selection struct {
	// Syscalls are the system calls to capture, sorted.
	Syscalls []string
	// Unsupported are event types rules use that Vigil cannot produce
	// (their rules never fire on them), sorted.
	Unsupported []string
	// Procexit reports whether a rule uses procexit events.
	Procexit bool
	// All reports whether some rule constrains no event type, which
	// forces capturing every supported system call.
	All bool
}

// Select decides what to capture for the syscall rules of rs.
func Select(rs *rules.Ruleset) Selection {
	var src sysevent.Source
	types := src.EventTypes()
	codes := rs.EventTypes(sysevent.SourceName)
	var sel Selection
	want := map[string]bool{}
	for _, s := range baseSyscalls {
		want[s] = true
	}
	if len(codes) >= len(types)-1 && len(rs.Enabled(sysevent.SourceName)) > 0 {
		sel.All = true
	}
	for _, code := range codes {
		name := types[code]
		switch {
		case name == "procexit":
			sel.Procexit = true
		case sensor.Supported(name):
			want[name] = true
		case eventAliases[name] != nil:
			for _, s := range eventAliases[name] {
				want[s] = true
			}
		case sel.All:
			// Every type: only the supported ones matter.
		default:
			sel.Unsupported = append(sel.Unsupported, name)
		}
	}
	for name := range want {
		sel.Syscalls = append(sel.Syscalls, name)
	}
	slices.Sort(sel.Syscalls)
	slices.Sort(sel.Unsupported)
	return sel
}

// Config configures New.
type Config struct {
	Sensor   sensor.Config
	Table    *proctree.Table
	Hostname string
	// Procexit makes process exits events (for rules on procexit).
	Procexit bool
	Logger   *slog.Logger
}

// Stats counts what a Capture did.
type Stats struct {
	Records uint64 // kernel records read
	Events  uint64 // events handed to the callback
}

// Capture reads the sensor and builds events.
type Capture struct {
	s        *sensor.Sensor
	t        *proctree.Table
	log      *slog.Logger
	hostname string
	procexit bool
	start    int64
	prev     int64
	ev       sysevent.Event
	tmpFD    sysevent.FD      // fd of an event that is not in the table (failed open)
	codes    []int            // syscall number → event type code
	fills    [][]resolvedFill // syscall number → params copied from its arguments
	execve   int
	execveat int
	exit     int

	records  atomic.Uint64
	events   atomic.Uint64
	lastReap int64
}

// New opens the sensor. The caller must Close the Capture.
func New(ctx context.Context, cfg Config) (*Capture, error) {
	if cfg.Table == nil {
		return nil, fmt.Errorf("capture: no process table")
	}
	s, err := sensor.Open(ctx, cfg.Sensor)
	if err != nil {
		return nil, err
	}
	c := &Capture{
		s: s, t: cfg.Table, log: cfg.Logger, hostname: cfg.Hostname,
		procexit: cfg.Procexit, start: time.Now().UnixNano(),
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	var src sysevent.Source
	c.execve, _ = src.TypeCode("execve")
	c.execveat, _ = src.TypeCode("execveat")
	c.exit, _ = src.TypeCode("procexit")
	for _, name := range sensor.Syscalls() {
		nr, _ := sensor.SyscallNumber(name)
		for len(c.codes) <= nr {
			c.codes = append(c.codes, 0)
		}
		code, ok := src.TypeCode(name)
		if ok {
			c.codes[nr] = code
		}
	}
	c.fills = make([][]resolvedFill, len(c.codes))
	for name, fs := range argFills {
		if nr, ok := sensor.SyscallNumber(name); ok && c.codes[nr] != 0 {
			c.fills[nr] = resolveFills(fs, c.codes[nr])
		}
	}
	return c, nil
}

// Sensor returns the underlying sensor (for its counters and Ignore).
func (c *Capture) Sensor() *sensor.Sensor { return c.s }

// Stats returns the counters.
func (c *Capture) Stats() Stats { return Stats{Records: c.records.Load(), Events: c.events.Load()} }

// Close closes the sensor.
func (c *Capture) Close() error { return c.s.Close() }

// Run reads records until ctx is done or the sensor is closed, calling fn
// with each event. The event is reused: fn must not keep it.
func (c *Capture) Run(ctx context.Context, fn func(*sysevent.Event)) error {
	return c.s.Read(ctx, func(r *sensor.Record) error {
		c.records.Add(1)
		if c.handle(r) {
			c.events.Add(1)
			fn(&c.ev)
			c.prev = c.ev.Time
		}
		c.afterEvent(r)
		return nil
	})
}

// begin resets the event for a record at time ts by thread tid.
func (c *Capture) begin(code int, ts int64, tid int64) bool {
	th := c.t.Thread(tid)
	if th == nil {
		return false
	}
	ev := &c.ev
	ev.Reset()
	ev.SetType(code)
	ev.Num = c.records.Load()
	ev.Time = ts
	ev.Thread = th
	ev.Procs = c.t
	ev.Hostname = c.hostname
	ev.CaptureStart = c.start
	ev.PrevTime = c.prev
	return true
}

// handle updates the tables and builds the event; it reports whether the
// record is an event for the rules.
func (c *Capture) handle(r *sensor.Record) bool {
	switch r.Kind {
	case sensor.KindFork:
		f := &r.Fork
		c.t.Fork(int64(f.TID()), int64(f.ChildTID()), int64(f.ChildTGID()), f.IsThread(), f.Time())
		return false
	case sensor.KindExit:
		f := &r.Fork
		if !c.procexit {
			return false
		}
		if !c.begin(c.exit, f.Time(), int64(f.TID())) {
			return false
		}
		c.setNum("status", uint64(f.ExitStatus()))
		c.setNum("ret", uint64(f.ExitCode()))
		c.setNum("sig", uint64(f.Signal()))
		return true
	case sensor.KindExec:
		return c.handleExec(&r.Exec)
	case sensor.KindSyscall:
		return c.handleSyscall(&r.Syscall)
	}
	return false
}

// afterEvent applies the table changes that must wait until the event was
// evaluated (a closed fd, an exited thread).
func (c *Capture) afterEvent(r *sensor.Record) {
	switch r.Kind {
	case sensor.KindExit:
		c.t.Exit(int64(r.Fork.TID()), r.Fork.Time())
		if now := r.Fork.Time(); now-c.lastReap > int64(time.Second) {
			c.t.Reap(now)
			c.lastReap = now
		}
	case sensor.KindSyscall:
		s := &r.Syscall
		if s.Name() == "close" && s.Ret() == 0 {
			c.t.CloseFD(int64(s.TGID()), int64(int32(s.Arg(0))))
		}
	}
}

func (c *Capture) param(name string) *sysevent.Param { return c.ev.Param(name) }

func (c *Capture) setNum(name string, v uint64) {
	if p := c.param(name); p != nil {
		p.Num = v
	}
}

func (c *Capture) setStr(name, v string) {
	if p := c.param(name); p != nil {
		p.Str = v
	}
}

func (c *Capture) setBytes(name string, v []byte) {
	if p := c.param(name); p != nil {
		p.Bytes = append(p.Bytes[:0], v...)
	}
}
