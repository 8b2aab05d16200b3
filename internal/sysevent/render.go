package sysevent

import (
	"net/netip"
	"strconv"
	"unsafe"
)

// text returns the scratch bytes from start as a string. The bytes are
// never written again until the event is reset, so the string stays valid.
func (e *Event) text(start int) string {
	if len(e.scratch) == start {
		return ""
	}
	return unsafe.String(&e.scratch[start], len(e.scratch)-start)
}

// proc returns the process of the event's thread, or nil.
func (e *Event) proc() *Process {
	if e.Thread == nil {
		return nil
	}
	return e.Thread.Proc
}

// parentOf returns p's parent process, or nil.
func (e *Event) parentOf(p *Process) *Process {
	if p == nil || e.Procs == nil || p.PPID <= 0 || p.PPID == p.PID {
		return nil
	}
	return e.Procs.Process(p.PPID)
}

// maxAncestry bounds ancestry walks, against loops in a corrupt table.
const maxAncestry = 64

// ancestor returns the process n levels above the event's (0: itself).
func (e *Event) ancestor(n int) *Process {
	p := e.proc()
	for i := 0; i < n && p != nil && i < maxAncestry; i++ {
		p = e.parentOf(p)
	}
	return p
}

// lookupFD finds descriptor n of the event's process.
func (e *Event) lookupFD(n int64) *FD {
	if e.FD != nil && e.FD.Num == n {
		return e.FD
	}
	if e.FD2 != nil && e.FD2.Num == n {
		return e.FD2
	}
	if p := e.proc(); p != nil && p.FDs != nil {
		return p.FDs[n]
	}
	return nil
}

// atFDCWD is the dirfd value meaning the current working directory.
const atFDCWD = -100

// appendParamRaw renders param i as Falco's raw text.
func (e *Event) appendParamRaw(b []byte, i int) []byte {
	pr := &e.Params[i]
	switch pr.Kind {
	case ParamInt, ParamErrno, ParamFD, ParamPID:
		return strconv.AppendInt(b, int64(pr.Num), 10)
	case ParamUint, ParamFlags, ParamEnum, ParamUID, ParamGID, ParamSigType:
		return strconv.AppendUint(b, pr.Num, 10)
	case ParamHex:
		return appendUpperHex(b, pr.Num)
	case ParamMode:
		if pr.Num == 0 {
			return append(b, '0')
		}
		return strconv.AppendUint(append(b, '0'), pr.Num, 8)
	case ParamPath, ParamRelPath, ParamString:
		return append(b, pr.Str...)
	case ParamBytes:
		return appendPrintable(b, pr.Bytes)
	case ParamSockaddr:
		if pr.Addr.IsValid() {
			return appendAddrPort(b, pr.Addr, pr.Port)
		}
		return append(b, pr.Str...)
	case ParamSockTuple:
		return e.appendTuple(b)
	}
	return b
}

// appendParamResolved renders what Falco shows in parentheses after param
// i's raw text (the fd's name, flag names, the errno, the absolute path,
// ...); it appends nothing when there is none.
func (e *Event) appendParamResolved(b []byte, i int) []byte {
	pr := &e.Params[i]
	switch pr.Kind {
	case ParamErrno:
		if v := int64(pr.Num); v < 0 {
			return append(b, ErrnoName(uint64(-v))...)
		}
	case ParamFD:
		v := int64(pr.Num)
		switch {
		case v == atFDCWD:
			return append(b, "AT_FDCWD"...)
		case v < 0:
			return append(b, ErrnoName(uint64(-v))...)
		}
		if fd := e.lookupFD(v); fd != nil {
			return append(append(append(b, '<'), fd.Type), '>')
		}
	case ParamPID:
		if e.Procs != nil && int64(pr.Num) > 0 {
			if p := e.Procs.Process(int64(pr.Num)); p != nil {
				return append(b, p.Comm...)
			}
		}
	case ParamUID:
		if p := e.proc(); p != nil && p.User != nil && uint64(p.User.UID) == pr.Num {
			return append(b, p.User.Name...)
		}
	case ParamGID:
		if p := e.proc(); p != nil && p.Group != nil && uint64(p.Group.GID) == pr.Num {
			return append(b, p.Group.Name...)
		}
	case ParamFlags, ParamMode:
		if pr.Flags != nil {
			return appendFlagNames(b, pr.Flags, pr.Num)
		}
	case ParamEnum:
		for _, f := range pr.Flags {
			if f.Value == pr.Num {
				return append(b, f.Name...)
			}
		}
	case ParamSigType:
		return append(b, SignalName(pr.Num)...)
	case ParamPath:
		if pr.Str != "" && pr.Str[0] != '/' {
			if p := e.proc(); p != nil && p.Cwd != "" {
				return appendJoinClean(b, p.Cwd, pr.Str)
			}
		}
	case ParamRelPath:
		return e.appendRelPath(b, i)
	}
	return b
}

// appendParamResolvedFD is appendParamResolved for fds, with the name.
func (e *Event) appendFDResolved(b []byte, i int) []byte {
	start := len(b)
	b = e.appendParamResolved(b, i)
	if e.Params[i].Kind == ParamFD && len(b) > start && b[start] == '<' {
		if fd := e.lookupFD(int64(e.Params[i].Num)); fd != nil {
			b = append(b, fd.Name...)
		}
	}
	return b
}

// appendRelPath resolves the relative path of param i against the
// directory of the nearest fd argument before it.
func (e *Event) appendRelPath(b []byte, i int) []byte {
	rel := e.Params[i].Str
	if rel == "" || rel[0] == '/' {
		return b
	}
	dir := ""
	for j := i - 1; j >= 0; j-- {
		if e.Params[j].Kind != ParamFD {
			continue
		}
		v := int64(e.Params[j].Num)
		if v == atFDCWD {
			if p := e.proc(); p != nil {
				dir = p.Cwd
			}
		} else if fd := e.lookupFD(v); fd != nil {
			dir = fd.Name
		}
		break
	}
	if dir == "" {
		return b
	}
	return appendJoinClean(b, dir, rel)
}

// absParam returns param i's path made absolute (the raw path when it is
// already absolute or cannot be resolved).
func (e *Event) absParam(i int) string {
	start := len(e.scratch)
	e.scratch = e.appendParamResolved(e.scratch, i)
	if len(e.scratch) == start {
		return e.Params[i].Str
	}
	return e.text(start)
}

// appendFlagNames renders val with a flag table as Falco does: names of
// the entries whose bits are all set, in table order, each consuming its
// bits; an entry equal to the whole value ends the walk and is appended.
func appendFlagNames(b []byte, flags []FlagName, val uint64) []byte {
	rem := val
	sep := false
	i := 0
	for ; i < len(flags) && flags[i].Value != val; i++ {
		f := flags[i]
		if (f.Value == 0 && val == 0) || (f.Value != 0 && rem != 0 && rem&f.Value == f.Value) {
			if sep {
				b = append(b, '|')
			}
			b = append(b, f.Name...)
			sep = true
			rem &^= f.Value
		}
	}
	if i < len(flags) {
		if sep {
			b = append(b, '|')
		}
		b = append(b, flags[i].Name...)
	}
	return b
}

// appendArgs renders every argument as Falco's evt.args does:
// name=raw(resolved) separated by spaces.
func (e *Event) appendArgs(b []byte) []byte {
	for i := 0; i < e.NParams; i++ {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, e.Params[i].Name...)
		b = append(b, '=')
		b = e.appendParamRaw(b, i)
		mark := len(b)
		b = append(b, '(')
		b = e.appendFDResolved(b, i)
		if len(b) == mark+1 {
			b = b[:mark]
		} else {
			b = append(b, ')')
		}
	}
	return b
}

// appendTuple renders the connection of the event's descriptor as
// client->server.
func (e *Event) appendTuple(b []byte) []byte {
	fd := e.FD
	if fd == nil {
		return b
	}
	if fd.Type != FDIPv4 && fd.Type != FDIPv6 {
		return append(b, fd.Name...)
	}
	b = appendAddrPort(b, fd.ClientAddr, fd.ClientPort)
	b = append(b, "->"...)
	return appendAddrPort(b, fd.ServerAddr, fd.ServerPort)
}

func appendAddrPort(b []byte, a netip.Addr, port uint16) []byte {
	b = a.AppendTo(b)
	b = append(b, ':')
	return strconv.AppendUint(b, uint64(port), 10)
}

const upperHex = "0123456789ABCDEF"

func appendUpperHex(b []byte, n uint64) []byte {
	var buf [16]byte
	i := len(buf)
	for {
		i--
		buf[i] = upperHex[n&0xf]
		n >>= 4
		if n == 0 {
			break
		}
	}
	return append(b, buf[i:]...)
}

// appendPrintable renders a buffer as Falco's default format does:
// printable ASCII as is, other bytes as '.'.
func appendPrintable(b, data []byte) []byte {
	for _, c := range data {
		if c < 0x20 || c > 0x7e {
			c = '.'
		}
		b = append(b, c)
	}
	return b
}

// appendJoinClean appends dir + "/" + rel, lexically cleaned ("." and
// ".." segments and repeated slashes removed), without allocating.
func appendJoinClean(b []byte, dir, rel string) []byte {
	start := len(b)
	b = append(b, dir...)
	b = append(b, '/')
	b = append(b, rel...)
	n := cleanInPlace(b[start:])
	return b[:start+n]
}

// cleanInPlace cleans the absolute path in p like path.Clean and returns
// its new length.
func cleanInPlace(p []byte) int {
	if len(p) == 0 || p[0] != '/' {
		return len(p)
	}
	w := 1 // write index; p[0] is '/'
	r := 1
	for r < len(p) {
		switch {
		case p[r] == '/':
			r++
		case p[r] == '.' && (r+1 == len(p) || p[r+1] == '/'):
			r++
		case p[r] == '.' && p[r+1] == '.' && (r+2 == len(p) || p[r+2] == '/'):
			r += 2
			// Back up to the previous slash.
			if w > 1 {
				w--
				for w > 1 && p[w-1] != '/' {
					w--
				}
			}
		default:
			if w > 1 && p[w-1] != '/' {
				p[w] = '/'
				w++
			}
			for r < len(p) && p[r] != '/' {
				p[w] = p[r]
				w++
				r++
			}
		}
	}
	if w > 1 && p[w-1] == '/' {
		w--
	}
	return w
}
