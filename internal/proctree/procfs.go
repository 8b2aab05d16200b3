package proctree

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/internal/sysevent"
)

// reader reads small /proc files into one reusable buffer.
type reader struct {
	buf []byte
}

// read returns up to max bytes of the file at path. The result aliases the
// reader's buffer and is valid until the next call. truncated reports that
// the file was longer than max.
func (r *reader) read(path string, max int) (data []byte, truncated bool, err error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, false, &pathError{op: "open", path: path, err: err}
	}
	defer unix.Close(fd)
	if cap(r.buf) < 4096 {
		r.buf = make([]byte, 4096)
	}
	r.buf = r.buf[:cap(r.buf)]
	n := 0
	for {
		if n == len(r.buf) {
			if n >= max {
				// Probe for one more byte to tell truncation.
				var one [1]byte
				m, _ := unix.Read(fd, one[:])
				return r.buf[:max], m > 0, nil
			}
			grown := make([]byte, min(2*len(r.buf), max))
			copy(grown, r.buf[:n])
			r.buf = grown
		}
		m, err := unix.Read(fd, r.buf[n:min(len(r.buf), max)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, false, &pathError{op: "read", path: path, err: err}
		}
		if m == 0 {
			return r.buf[:n], false, nil
		}
		n += m
		if n >= max {
			var one [1]byte
			m, _ := unix.Read(fd, one[:])
			return r.buf[:max], m > 0, nil
		}
	}
}

// pathError is an error of one file operation, wrapping the errno so that
// errors.Is(err, unix.ENOENT) works.
type pathError struct {
	op, path string
	err      error
}

func (e *pathError) Error() string { return e.op + " " + e.path + ": " + e.err.Error() }
func (e *pathError) Unwrap() error { return e.err }

// gone reports whether err means the process or file no longer exists.
func gone(err error) bool {
	return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH)
}

// readlink returns the target of a symbolic link.
func readlink(path string) (string, error) {
	var buf [unix.PathMax]byte
	n, err := unix.Readlink(path, buf[:])
	if err != nil {
		return "", &pathError{op: "readlink", path: path, err: err}
	}
	return string(buf[:n]), nil
}

// statFields are the fields of /proc/PID/stat the table uses.
type statFields struct {
	comm      string
	state     byte
	ppid      int64
	pgrp      int64
	session   int64
	ttyNr     uint32
	startTime uint64 // clock ticks since boot
}

// parseStat parses /proc/PID/stat. The comm may contain spaces and
// parentheses, so it is delimited by the first '(' and the last ')'.
func parseStat(b []byte) (statFields, error) {
	var s statFields
	open := bytes.IndexByte(b, '(')
	closing := bytes.LastIndexByte(b, ')')
	if open < 0 || closing < open {
		return s, fmt.Errorf("no (comm) in %.40q", b)
	}
	s.comm = string(b[open+1 : closing])
	rest := b[closing+1:]
	// Fields after the comm, numbered from 3 (state).
	field := 3
	for len(rest) > 0 {
		rest = bytes.TrimLeft(rest, " ")
		end := bytes.IndexByte(rest, ' ')
		if end < 0 {
			end = len(rest)
		}
		v := bytes.TrimSpace(rest[:end])
		rest = rest[end:]
		var err error
		switch field {
		case 3:
			if len(v) > 0 {
				s.state = v[0]
			}
		case 4:
			s.ppid, err = strconv.ParseInt(string(v), 10, 64)
		case 5:
			s.pgrp, err = strconv.ParseInt(string(v), 10, 64)
		case 6:
			s.session, err = strconv.ParseInt(string(v), 10, 64)
		case 7:
			var n int64
			n, err = strconv.ParseInt(string(v), 10, 64)
			s.ttyNr = uint32(n)
		case 22:
			s.startTime, err = strconv.ParseUint(string(v), 10, 64)
			return s, err
		}
		if err != nil {
			return s, fmt.Errorf("stat field %d %q: %w", field, v, err)
		}
		field++
	}
	return s, fmt.Errorf("stat has %d fields, want at least 22", field-1)
}

// statusFields are the fields of /proc/PID/status the table uses.
type statusFields struct {
	tgid, ppid                int64
	uid, euid, gid, egid      uint32
	nsPID, nsTGID, nsPGID     int64 // innermost namespace ids (0 when absent)
	capInh, capPrm, capEff    uint64
	vmSize, vmRSS, vmSwap     uint64
	threads                   int64
	nsDepth                   int // number of NSpid entries
	haveUIDs, haveGIDs, haveT bool
}

// nsInode returns the inode of a namespace link such as /proc/PID/ns/pid
// ("pid:[4026531836]").
func nsInode(path string) (uint64, error) {
	l, err := readlink(path)
	if err != nil {
		return 0, err
	}
	open := strings.IndexByte(l, '[')
	if open < 0 || !strings.HasSuffix(l, "]") {
		return 0, fmt.Errorf("namespace link %s: unexpected %q", path, l)
	}
	v, err := strconv.ParseUint(l[open+1:len(l)-1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("namespace link %s: %w", path, err)
	}
	return v, nil
}

// parseStatus parses /proc/PID/status.
func parseStatus(b []byte) (statusFields, error) {
	var s statusFields
	for len(b) > 0 {
		nl := bytes.IndexByte(b, '\n')
		var line []byte
		if nl < 0 {
			line, b = b, nil
		} else {
			line, b = b[:nl], b[nl+1:]
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			continue
		}
		key, val := string(line[:colon]), bytes.TrimSpace(line[colon+1:])
		var err error
		switch key {
		case "Tgid":
			s.tgid, err = parseInt(val)
			s.haveT = true
		case "PPid":
			s.ppid, err = parseInt(val)
		case "Uid":
			s.uid, s.euid, err = twoIDs(val)
			s.haveUIDs = true
		case "Gid":
			s.gid, s.egid, err = twoIDs(val)
			s.haveGIDs = true
		case "NSpid":
			s.nsPID, s.nsDepth, err = lastInt(val)
		case "NStgid":
			s.nsTGID, _, err = lastInt(val)
		case "NSpgid":
			s.nsPGID, _, err = lastInt(val)
		case "CapInh":
			s.capInh, err = strconv.ParseUint(string(val), 16, 64)
		case "CapPrm":
			s.capPrm, err = strconv.ParseUint(string(val), 16, 64)
		case "CapEff":
			s.capEff, err = strconv.ParseUint(string(val), 16, 64)
		case "VmSize":
			s.vmSize, err = kib(val)
		case "VmRSS":
			s.vmRSS, err = kib(val)
		case "VmSwap":
			s.vmSwap, err = kib(val)
		case "Threads":
			s.threads, err = parseInt(val)
		}
		if err != nil {
			return s, fmt.Errorf("status %s %q: %w", key, val, err)
		}
	}
	if !s.haveT || !s.haveUIDs || !s.haveGIDs {
		return s, errors.New("status lacks Tgid, Uid or Gid")
	}
	return s, nil
}

func parseInt(b []byte) (int64, error) { return strconv.ParseInt(string(b), 10, 64) }

// twoIDs returns the first two of the tab-separated ids (real, effective).
func twoIDs(b []byte) (uint32, uint32, error) {
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0, 0, errors.New("want 4 ids")
	}
	r, err := strconv.ParseUint(string(f[0]), 10, 32)
	if err != nil {
		return 0, 0, err
	}
	e, err := strconv.ParseUint(string(f[1]), 10, 32)
	return uint32(r), uint32(e), err
}

// lastInt returns the last of the whitespace-separated integers and their
// count.
func lastInt(b []byte) (int64, int, error) {
	f := bytes.Fields(b)
	if len(f) == 0 {
		return 0, 0, nil
	}
	v, err := strconv.ParseInt(string(f[len(f)-1]), 10, 64)
	return v, len(f), err
}

// kib parses "1234 kB".
func kib(b []byte) (uint64, error) {
	b = bytes.TrimSuffix(b, []byte(" kB"))
	return strconv.ParseUint(string(bytes.TrimSpace(b)), 10, 64)
}

// splitNUL splits NUL-terminated strings (cmdline, environ). A missing
// final NUL (truncated read) keeps the partial last string.
func splitNUL(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	b = bytes.TrimSuffix(b, []byte{0})
	n := bytes.Count(b, []byte{0}) + 1
	out := make([]string, 0, n)
	// One allocation for the text, sliced into the strings.
	s := string(b)
	for {
		i := strings.IndexByte(s, 0)
		if i < 0 {
			return append(out, s)
		}
		out = append(out, s[:i])
		s = s[i+1:]
	}
}

// parseCgroups parses /proc/PID/cgroup: "ID:CONTROLLERS:PATH" lines. A v1
// line with several controllers ("cpu,cpuacct") gives one entry each;
// named hierarchies keep their "name=" prefix; v2 has Controller "".
func parseCgroups(b []byte) ([]sysevent.Cgroup, error) {
	var out []sysevent.Cgroup
	for lineNo := 1; len(b) > 0; lineNo++ {
		nl := bytes.IndexByte(b, '\n')
		var line []byte
		if nl < 0 {
			line, b = b, nil
		} else {
			line, b = b[:nl], b[nl+1:]
		}
		if len(line) == 0 {
			continue
		}
		first := bytes.IndexByte(line, ':')
		second := -1
		if first >= 0 {
			second = bytes.IndexByte(line[first+1:], ':')
		}
		if second < 0 {
			return out, fmt.Errorf("cgroup line %d %q: want ID:CONTROLLERS:PATH", lineNo, line)
		}
		second += first + 1
		ctrls, path := string(line[first+1:second]), string(line[second+1:])
		if ctrls == "" {
			out = append(out, sysevent.Cgroup{Path: path})
			continue
		}
		for c := range strings.SplitSeq(ctrls, ",") {
			out = append(out, sysevent.Cgroup{Controller: c, Path: path})
		}
	}
	return out, nil
}

// mountInfo is one line of /proc/PID/mountinfo.
type mountInfo struct {
	id         int64
	root       string // path of the mount's root within its file system
	mountPoint string // relative to the reading process's root
	fsType     string
	super      string // super block options
}

// findMount returns the line of mountinfo b with mount id id.
func findMount(b []byte, id int64) (mountInfo, bool) {
	for len(b) > 0 {
		nl := bytes.IndexByte(b, '\n')
		var line []byte
		if nl < 0 {
			line, b = b, nil
		} else {
			line, b = b[:nl], b[nl+1:]
		}
		sp := bytes.IndexByte(line, ' ')
		if sp < 0 {
			continue
		}
		if v, err := strconv.ParseInt(string(line[:sp]), 10, 64); err != nil || v != id {
			continue
		}
		// id parent major:minor root mountpoint options [optional...] - fstype source super
		f := strings.Fields(string(line))
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if len(f) < 5 || sep < 0 || sep+3 >= len(f) {
			return mountInfo{}, false
		}
		return mountInfo{id: id, root: unescapeMount(f[3]), mountPoint: unescapeMount(f[4]),
			fsType: f[sep+1], super: f[sep+3]}, true
	}
	return mountInfo{}, false
}

// unescapeMount undoes the octal escapes (\040 for space, \011, \012,
// \134) of mountinfo paths.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// superOption returns the value of key=value in a comma-separated super
// block option list. Overlay escapes commas in paths as "\,".
func superOption(opts, key string) (string, bool) {
	for len(opts) > 0 {
		end := 0
		for end < len(opts) && opts[end] != ',' {
			if opts[end] == '\\' && end+1 < len(opts) {
				end++
			}
			end++
		}
		opt := opts[:end]
		if end < len(opts) {
			opts = opts[end+1:]
		} else {
			opts = ""
		}
		if v, ok := strings.CutPrefix(opt, key+"="); ok {
			return strings.ReplaceAll(v, `\,`, ","), true
		}
	}
	return "", false
}
