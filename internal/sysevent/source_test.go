package sysevent_test

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/internal/event"
	"github.com/vigilsec/vigil/internal/sysevent"
)

func TestSourceIdentity(t *testing.T) {
	var src event.Source = sysevent.Source{}
	if got := src.Name(); got != "syscall" {
		t.Errorf("Name() = %q, want syscall", got)
	}
	if got := src.TypeField(); got != "evt.type" {
		t.Errorf("TypeField() = %q, want evt.type", got)
	}
	if _, ok := event.Lookup(src.Fields(), src.TypeField()); !ok {
		t.Errorf("TypeField %q is not in Fields()", src.TypeField())
	}
}

func TestEventTypes(t *testing.T) {
	src := sysevent.Source{}
	types := src.EventTypes()
	if len(types) == 0 || types[0] != "unknown" {
		t.Fatalf("EventTypes()[0] = %q, want unknown", types[:min(1, len(types))])
	}
	seen := map[string]bool{}
	for i, n := range types {
		if seen[n] {
			t.Errorf("duplicate event type %q", n)
		}
		seen[n] = true
		if n == "" || strings.TrimSpace(n) != n {
			t.Errorf("bad event type name %q", n)
		}
		code, ok := src.TypeCode(n)
		if !ok || code != i {
			t.Errorf("TypeCode(%q) = %d, %v; want %d, true", n, code, ok, i)
		}
	}
	// A caller changing its copy must not change the source's table.
	cp := src.EventTypes()
	cp[1] = "changed"
	if src.EventTypes()[1] == "changed" {
		t.Error("EventTypes returns the shared table, not a copy")
	}

	tests := []struct {
		name string
		want bool
	}{
		{"open", true}, {"openat", true}, {"openat2", true}, {"creat", true},
		{"execve", true}, {"execveat", true}, {"clone", true}, {"clone3", true},
		{"fork", true}, {"vfork", true}, {"connect", true}, {"accept", true},
		{"accept4", true}, {"listen", true}, {"sendto", true}, {"recvmsg", true},
		{"ptrace", true}, {"setns", true}, {"unshare", true}, {"bpf", true},
		{"init_module", true}, {"finit_module", true}, {"userfaultfd", true},
		{"memfd_create", true}, {"io_uring_setup", true}, {"pidfd_getfd", true},
		{"process_vm_writev", true}, {"mount", true}, {"umount2", true},
		{"rseq", true}, {"mseal", true}, {"newfstatat", true},
		{"procexit", true}, {"container", true}, {"switch", true},
		{"signaldeliver", true}, {"pluginevent", true}, {"asyncevent", true},
		{"pread", true}, {"prlimit", true}, {"umount", true}, {"socketcall", true},
		{"unknown", true},
		{"Open", false}, {"tuxcall", false}, {"", false}, {"evt.type", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, ok := src.TypeCode(tt.name)
			if ok != tt.want {
				t.Fatalf("TypeCode(%q) ok = %v, want %v", tt.name, ok, tt.want)
			}
			if ok && types[code] != tt.name {
				t.Errorf("EventTypes()[%d] = %q, want %q", code, types[code], tt.name)
			}
			if !ok && code != 0 {
				t.Errorf("TypeCode(%q) = %d for an unknown name, want 0", tt.name, code)
			}
		})
	}
	if len(types) < 400 {
		t.Errorf("%d event types, want the 360-odd x86_64 syscalls and Falco's events (400+)", len(types))
	}
}

var fieldNameRE = regexp.MustCompile(`^[a-z0-9_]+(\.[a-z0-9_]+)+$`)

func TestFieldsRegistry(t *testing.T) {
	src := sysevent.Source{}
	fields := src.Fields()
	seen := map[string]bool{}
	classes := map[string]int{}
	for _, f := range fields {
		if seen[f.Name] {
			t.Errorf("duplicate field %s", f.Name)
		}
		seen[f.Name] = true
		if !fieldNameRE.MatchString(f.Name) {
			t.Errorf("field %q: bad name", f.Name)
		}
		if f.Type.String() == "unknown" {
			t.Errorf("field %s: no type", f.Name)
		}
		if f.Desc == "" {
			t.Errorf("field %s: no description", f.Name)
		}
		if f.ArgRequired && f.Arg == event.ArgNone {
			t.Errorf("field %s: argument required but none allowed", f.Name)
		}
		classes[strings.SplitN(f.Name, ".", 2)[0]]++
	}
	for _, c := range []string{"evt", "proc", "thread", "user", "group", "fd", "fs", "container", "k8s", "syscall"} {
		if classes[c] == 0 {
			t.Errorf("no field of class %s", c)
		}
	}
	fields[0].Name = "changed"
	if src.Fields()[0].Name == "changed" {
		t.Error("Fields returns the shared registry, not a copy")
	}

	tests := []event.Field{
		{Name: "evt.type", Type: event.TypeString},
		{Name: "evt.arg", Type: event.TypeString, Arg: event.ArgKey, ArgRequired: true},
		{Name: "evt.rawarg", Type: event.TypeString, Arg: event.ArgKey, ArgRequired: true},
		{Name: "evt.rawres", Type: event.TypeInt},
		{Name: "evt.around", Type: event.TypeUint, Arg: event.ArgIndex, ArgRequired: true},
		{Name: "evt.buffer", Type: event.TypeBytes},
		{Name: "evt.rawtime", Type: event.TypeAbsTime},
		{Name: "evt.deltatime", Type: event.TypeRelTime},
		{Name: "evt.dir", Type: event.TypeString, Deprecated: true},
		{Name: "syscall.type", Type: event.TypeString},
		{Name: "proc.aname", Type: event.TypeString, Arg: event.ArgIndex},
		{Name: "proc.apid", Type: event.TypeInt, Arg: event.ArgIndex},
		{Name: "proc.env", Type: event.TypeString, Arg: event.ArgKey},
		{Name: "proc.exepath", Type: event.TypePath},
		{Name: "proc.cwd", Type: event.TypePath},
		{Name: "proc.tty", Type: event.TypeUint},
		{Name: "thread.cgroup", Type: event.TypeString, Arg: event.ArgKey, ArgRequired: true},
		{Name: "user.loginuid", Type: event.TypeInt},
		{Name: "group.gid", Type: event.TypeUint},
		{Name: "fd.num", Type: event.TypeInt},
		{Name: "fd.cip", Type: event.TypeIPAddr},
		{Name: "fd.rnet", Type: event.TypeIPNet},
		{Name: "fd.lport", Type: event.TypePort},
		{Name: "fd.types", Type: event.TypeString, List: true, Arg: event.ArgIndex},
		{Name: "fs.path.name", Type: event.TypePath},
		{Name: "container.mount.dest", Type: event.TypeString, Arg: event.ArgKey, ArgRequired: true},
		{Name: "container.privileged", Type: event.TypeBool},
		{Name: "container.start_ts", Type: event.TypeAbsTime},
		{Name: "k8s.pod.label", Type: event.TypeString, Arg: event.ArgKey, ArgRequired: true},
		{Name: "k8s.deployment.name", Type: event.TypeString, Deprecated: true},
	}
	for _, want := range tests {
		t.Run(want.Name, func(t *testing.T) {
			got, ok := event.Lookup(fields, want.Name)
			if !ok {
				t.Fatalf("field %s missing", want.Name)
			}
			got.Desc = ""
			if got != want {
				t.Errorf("got %+v, want %+v", got, want)
			}
		})
	}
}

func TestExtractorResolves(t *testing.T) {
	tests := []struct {
		name     string
		arg      string
		hasArg   bool
		wantName string
		wantArg  string
		wantType event.FieldType
	}{
		{name: "proc.name", wantName: "proc.name", wantType: event.TypeString},
		{name: "proc.aname", wantName: "proc.aname", wantType: event.TypeString},
		{name: "proc.aname", arg: "2", hasArg: true, wantName: "proc.aname", wantArg: "2", wantType: event.TypeString},
		{name: "proc.apid", arg: "0", hasArg: true, wantName: "proc.apid", wantArg: "0", wantType: event.TypeInt},
		{name: "proc.env", arg: "HTTP_PROXY", hasArg: true, wantName: "proc.env", wantArg: "HTTP_PROXY", wantType: event.TypeString},
		{name: "proc.aenv", arg: "3", hasArg: true, wantName: "proc.aenv", wantArg: "3", wantType: event.TypeString},
		{name: "evt.arg.flags", wantName: "evt.arg", wantArg: "flags", wantType: event.TypeString},
		{name: "evt.arg", arg: "0", hasArg: true, wantName: "evt.arg", wantArg: "0", wantType: event.TypeString},
		{name: "evt.arg", arg: "res_or_fd", hasArg: true, wantName: "evt.arg", wantArg: "res_or_fd", wantType: event.TypeString},
		{name: "evt.rawarg.res", wantName: "evt.rawarg", wantArg: "res", wantType: event.TypeInt},
		{name: "evt.rawarg.flags", wantName: "evt.rawarg", wantArg: "flags", wantType: event.TypeUint},
		{name: "evt.rawarg.name", wantName: "evt.rawarg", wantArg: "name", wantType: event.TypePath},
		{name: "evt.rawarg.comm", wantName: "evt.rawarg", wantArg: "comm", wantType: event.TypeString},
		{name: "evt.type.is.open", wantName: "evt.type.is", wantArg: "open", wantType: event.TypeUint},
		{name: "evt.type.is.3", wantName: "evt.type.is", wantArg: "3", wantType: event.TypeUint},
		{name: "evt.around", arg: "1404996934793590564", hasArg: true, wantName: "evt.around", wantArg: "1404996934793590564", wantType: event.TypeUint},
		{name: "evt.abspath.dst", wantName: "evt.abspath.dst", wantType: event.TypePath},
		{name: "thread.cgroup.cpuacct", wantName: "thread.cgroup", wantArg: "cpuacct", wantType: event.TypeString},
		{name: "container.label.maintainer", wantName: "container.label", wantArg: "maintainer", wantType: event.TypeString},
		{name: "k8s.pod.label.app.kubernetes.io", wantName: "k8s.pod.label", wantArg: "app.kubernetes.io", wantType: event.TypeString},
		{name: "k8s.pod.label", arg: "app.kubernetes.io/name", hasArg: true, wantName: "k8s.pod.label", wantArg: "app.kubernetes.io/name", wantType: event.TypeString},
		{name: "k8s.pod.labels", wantName: "k8s.pod.labels", wantType: event.TypeString},
		{name: "container.mount.dest", arg: "/var/run/docker.sock", hasArg: true, wantName: "container.mount.dest", wantArg: "/var/run/docker.sock", wantType: event.TypeString},
		{name: "container.mount", arg: "0", hasArg: true, wantName: "container.mount", wantArg: "0", wantType: event.TypeString},
		{name: "fd.types", wantName: "fd.types", wantType: event.TypeString},
		{name: "fd.types", arg: "1", hasArg: true, wantName: "fd.types", wantArg: "1", wantType: event.TypeString},
	}
	src := sysevent.Source{}
	for _, tt := range tests {
		t.Run(tt.name+"["+tt.arg+"]", func(t *testing.T) {
			x, err := src.Extractor(tt.name, tt.arg, tt.hasArg)
			if err != nil {
				t.Fatal(err)
			}
			c, ok := x.(*sysevent.Compiled)
			if !ok {
				t.Fatalf("extractor is %T, want *sysevent.Compiled", x)
			}
			if info := x.(interface{ FieldInfo() event.Field }).FieldInfo(); info != c.Field {
				t.Errorf("FieldInfo() = %+v, want %+v", info, c.Field)
			}
			wantHas := tt.hasArg || tt.wantArg != ""
			if c.Field.Name != tt.wantName || c.Arg != tt.wantArg || c.HasArg != wantHas || c.Field.Type != tt.wantType {
				t.Errorf("got %s[%s] hasArg=%v type %s, want %s[%s] hasArg=%v type %s",
					c.Field.Name, c.Arg, c.HasArg, c.Field.Type, tt.wantName, tt.wantArg, wantHas, tt.wantType)
			}
		})
	}
}

func TestExtractorErrors(t *testing.T) {
	tests := []struct {
		desc    string
		name    string
		arg     string
		hasArg  bool
		wantErr error
		wantMsg string
	}{
		{desc: "unknown field", name: "proc.nam", wantErr: event.ErrUnknownField, wantMsg: `"proc.nam"`},
		{desc: "unknown class", name: "ka.verb", wantErr: event.ErrUnknownField},
		{desc: "bare class", name: "proc", wantErr: event.ErrUnknownField},
		{desc: "empty name", name: "", wantErr: event.ErrUnknownField},
		{desc: "suffix on a field without dot arguments", name: "proc.name.x", wantErr: event.ErrUnknownField},
		{desc: "suffix on evt.type", name: "evt.type.open", wantErr: event.ErrUnknownField},
		{desc: "double field", name: "evt.args.fd", wantErr: event.ErrUnknownField},
		{desc: "argument to a field taking none", name: "proc.name", arg: "1", hasArg: true, wantErr: sysevent.ErrFieldArg, wantMsg: "takes no argument"},
		{desc: "empty brackets to a field taking none", name: "fd.name", hasArg: true, wantErr: sysevent.ErrFieldArg, wantMsg: "takes no argument"},
		{desc: "missing required bracket argument", name: "container.mount.dest", wantErr: sysevent.ErrFieldArg, wantMsg: "requires an argument"},
		{desc: "missing evt.arg argument", name: "evt.arg", wantErr: sysevent.ErrFieldArg, wantMsg: "evt.arg.NAME"},
		{desc: "missing evt.around argument", name: "evt.around", wantErr: sysevent.ErrFieldArg, wantMsg: "evt.around[0]"},
		{desc: "missing label name", name: "k8s.pod.label", wantErr: sysevent.ErrFieldArg, wantMsg: "requires an argument"},
		{desc: "trailing dot", name: "evt.arg.", wantErr: sysevent.ErrFieldArg, wantMsg: "empty argument"},
		{desc: "empty required argument", name: "thread.cgroup", hasArg: true, wantErr: sysevent.ErrFieldArg, wantMsg: "empty argument"},
		{desc: "non-integer index", name: "proc.aname", arg: "x", hasArg: true, wantErr: sysevent.ErrFieldArg, wantMsg: "not a non-negative integer"},
		{desc: "negative index", name: "proc.apid", arg: "-1", hasArg: true, wantErr: sysevent.ErrFieldArg, wantMsg: "not a non-negative integer"},
		{desc: "signed index", name: "proc.aexe", arg: "+1", hasArg: true, wantErr: sysevent.ErrFieldArg, wantMsg: "not a non-negative integer"},
		{desc: "spaced index", name: "proc.aexepath", arg: " 1", hasArg: true, wantErr: sysevent.ErrFieldArg, wantMsg: "not a non-negative integer"},
		{desc: "empty index", name: "fd.types", hasArg: true, wantErr: sysevent.ErrFieldArg, wantMsg: "empty argument"},
		{desc: "index too large", name: "evt.around", arg: "99999999999999999999", hasArg: true, wantErr: sysevent.ErrFieldArg, wantMsg: "not a non-negative integer"},
		{desc: "both dot and bracket", name: "evt.arg.fd", arg: "0", hasArg: true, wantErr: sysevent.ErrFieldArg, wantMsg: "both"},
		{desc: "rawarg by index", name: "evt.rawarg", arg: "0", hasArg: true, wantErr: sysevent.ErrFieldArg, wantMsg: "not an argument name"},
		{desc: "bad argument name", name: "evt.arg", arg: "a-b", hasArg: true, wantErr: sysevent.ErrFieldArg, wantMsg: "neither an index nor an argument name"},
		{desc: "unknown event type", name: "evt.type.is.nosuchcall", wantErr: sysevent.ErrFieldArg, wantMsg: `unknown event type "nosuchcall"`},
	}
	src := sysevent.Source{}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			x, err := src.Extractor(tt.name, tt.arg, tt.hasArg)
			if err == nil {
				t.Fatalf("Extractor(%q, %q, %v) = %v, want an error", tt.name, tt.arg, tt.hasArg, x)
			}
			if x != nil {
				t.Errorf("got extractor %v with error", x)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("error %q does not wrap %q", err, tt.wantErr)
			}
			other := sysevent.ErrFieldArg
			if tt.wantErr == sysevent.ErrFieldArg {
				other = event.ErrUnknownField
			}
			if errors.Is(err, other) {
				t.Errorf("error %q also wraps %q", err, other)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
		})
	}
}

// every field of the registry compiles with a valid argument, and the bare
// name fails exactly for fields that require one.
func TestExtractorEveryField(t *testing.T) {
	src := sysevent.Source{}
	for _, f := range src.Fields() {
		t.Run(f.Name, func(t *testing.T) {
			_, err := src.Extractor(f.Name, "", false)
			if f.ArgRequired != (err != nil) {
				t.Errorf("bare %s: err = %v, ArgRequired = %v", f.Name, err, f.ArgRequired)
			}
			arg := "1"
			if f.Name == "evt.type.is" {
				arg = "open"
			} else if f.Name == "evt.rawarg" {
				arg = "fd"
			}
			_, err = src.Extractor(f.Name, arg, true)
			if (f.Arg != event.ArgNone) != (err == nil) {
				t.Errorf("%s[%s]: err = %v, Arg = %v", f.Name, arg, err, f.Arg)
			}
		})
	}
}

// testEvent is a syscall event as the sensor will hand it over.
type testEvent struct{ code int }

func (testEvent) Source() string   { return sysevent.SourceName }
func (e testEvent) TypeCode() int  { return e.code }
func (testEvent) Timestamp() int64 { return 1 }

func TestExtractYieldsNothingYet(t *testing.T) {
	src := sysevent.Source{}
	code, _ := src.TypeCode("execve")
	ev := testEvent{code: code}
	buf := make([]event.Value, 1, 8)
	buf[0] = event.Value{Str: "kept"}
	for _, ref := range []struct {
		name, arg string
		hasArg    bool
	}{{"proc.name", "", false}, {"proc.aname", "1", true}, {"evt.arg.flags", "", false}, {"fd.types", "", false}} {
		x, err := src.Extractor(ref.name, ref.arg, ref.hasArg)
		if err != nil {
			t.Fatal(err)
		}
		got := x.Extract(ev, buf)
		if !slices.Equal(got, buf) {
			t.Errorf("%s: Extract appended %v", ref.name, got[len(buf):])
		}
		if allocs := testing.AllocsPerRun(100, func() { x.Extract(ev, buf) }); allocs != 0 {
			t.Errorf("%s: Extract allocates %v times", ref.name, allocs)
		}
	}
}
