package forensics

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Process is what a capture records of one process.
type Process struct {
	PID        int               `json:"pid"`
	PPID       int               `json:"ppid"`
	StartTime  uint64            `json:"start_time"` // clock ticks since boot (/proc/PID/stat field 22)
	Comm       string            `json:"comm"`
	State      string            `json:"state"`
	Exe        string            `json:"exe"`
	Cmdline    []string          `json:"cmdline"`
	Env        []string          `json:"env"`
	Cwd        string            `json:"cwd"`
	Root       string            `json:"root"`
	UIDs       []string          `json:"uids"` // real, effective, saved, filesystem
	GIDs       []string          `json:"gids"`
	Groups     []string          `json:"groups"`
	CapEff     string            `json:"cap_eff"`
	CapPrm     string            `json:"cap_prm"`
	CapBnd     string            `json:"cap_bnd"`
	NoNewPrivs string            `json:"no_new_privs"`
	Seccomp    string            `json:"seccomp"`
	Threads    int               `json:"threads"`
	Namespaces map[string]string `json:"namespaces"`
	Cgroup     []string          `json:"cgroup"`
	FDs        []FD              `json:"fds"`
	// Errors lists what could not be read (e.g. the process exited).
	Errors []string `json:"errors,omitempty"`
}

// FD is one open file descriptor.
type FD struct {
	FD     int     `json:"fd"`
	Target string  `json:"target"`
	Flags  string  `json:"flags,omitempty"`
	Pos    string  `json:"pos,omitempty"`
	Socket *Socket `json:"socket,omitempty"`
}

// Socket is a socket found in the process's network namespace tables.
type Socket struct {
	Proto  string `json:"proto"` // tcp, tcp6, udp, udp6, raw, raw6, unix
	Local  string `json:"local"`
	Remote string `json:"remote,omitempty"`
	State  string `json:"state,omitempty"`
	Inode  uint64 `json:"inode"`
	UID    int    `json:"uid"`
	Path   string `json:"path,omitempty"` // unix sockets
}

var tcpStates = map[string]string{
	"01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1", "05": "FIN_WAIT2",
	"06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT", "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING",
}

// readProcess reads /proc/PID; what cannot be read is noted in Errors.
func readProcess(procRoot string, pid int, socks map[uint64]*Socket) *Process {
	dir := filepath.Join(procRoot, strconv.Itoa(pid))
	p := &Process{PID: pid, Namespaces: map[string]string{}}
	note := func(what string, err error) {
		p.Errors = append(p.Errors, fmt.Sprintf("%s: %v", what, err))
	}
	if b, err := os.ReadFile(filepath.Join(dir, "cmdline")); err == nil {
		p.Cmdline = splitNul(b)
	} else {
		note("cmdline", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "environ")); err == nil {
		p.Env = splitNul(b)
	} else {
		note("environ", err)
	}
	var err error
	if p.Exe, err = os.Readlink(filepath.Join(dir, "exe")); err != nil {
		note("exe", err)
	}
	if p.Cwd, err = os.Readlink(filepath.Join(dir, "cwd")); err != nil {
		note("cwd", err)
	}
	if p.Root, err = os.Readlink(filepath.Join(dir, "root")); err != nil {
		note("root", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "status")); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			v = strings.TrimSpace(v)
			switch k {
			case "Name":
				p.Comm = v
			case "State":
				p.State = v
			case "PPid":
				p.PPID, _ = strconv.Atoi(v)
			case "Uid":
				p.UIDs = strings.Fields(v)
			case "Gid":
				p.GIDs = strings.Fields(v)
			case "Groups":
				p.Groups = strings.Fields(v)
			case "CapEff":
				p.CapEff = v
			case "CapPrm":
				p.CapPrm = v
			case "CapBnd":
				p.CapBnd = v
			case "NoNewPrivs":
				p.NoNewPrivs = v
			case "Seccomp":
				p.Seccomp = v
			case "Threads":
				p.Threads, _ = strconv.Atoi(v)
			}
		}
	} else {
		note("status", err)
	}
	if ents, err := os.ReadDir(filepath.Join(dir, "ns")); err == nil {
		for _, e := range ents {
			if l, err := os.Readlink(filepath.Join(dir, "ns", e.Name())); err == nil {
				p.Namespaces[e.Name()] = l
			}
		}
	} else {
		note("ns", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "cgroup")); err == nil {
		p.Cgroup = strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	} else {
		note("cgroup", err)
	}
	ents, err := os.ReadDir(filepath.Join(dir, "fd"))
	if err != nil {
		note("fd", err)
	}
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		l, err := os.Readlink(filepath.Join(dir, "fd", e.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		fd := FD{FD: n, Target: l}
		if b, err := os.ReadFile(filepath.Join(dir, "fdinfo", e.Name())); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				k, v, _ := strings.Cut(line, ":")
				switch k {
				case "pos":
					fd.Pos = strings.TrimSpace(v)
				case "flags":
					fd.Flags = strings.TrimSpace(v)
				}
			}
		}
		if ino, ok := strings.CutPrefix(l, "socket:["); ok {
			if i, err := strconv.ParseUint(strings.TrimSuffix(ino, "]"), 10, 64); err == nil {
				fd.Socket = socks[i]
			}
		}
		p.FDs = append(p.FDs, fd)
	}
	sort.Slice(p.FDs, func(i, j int) bool { return p.FDs[i].FD < p.FDs[j].FD })
	return p
}

func splitNul(b []byte) []string {
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return []string{}
	}
	parts := bytes.Split(b, []byte{0})
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = string(p)
	}
	return out
}

// readSockets parses the socket tables of pid's network namespace
// (/proc/PID/net/{tcp,tcp6,udp,udp6,raw,raw6,unix}) into sockets by inode.
func readSockets(procRoot string, pid int, into map[uint64]*Socket) error {
	dir := filepath.Join(procRoot, strconv.Itoa(pid), "net")
	for _, proto := range []string{"tcp", "tcp6", "udp", "udp6", "raw", "raw6"} {
		f, err := os.Open(filepath.Join(dir, proto))
		if err != nil {
			if os.IsNotExist(err) {
				continue
			}
			return fmt.Errorf("read %s sockets of pid %d: %w", proto, pid, err)
		}
		err = parseInet(proto, f, into)
		f.Close()
		if err != nil {
			return fmt.Errorf("read %s sockets of pid %d: %w", proto, pid, err)
		}
	}
	f, err := os.Open(filepath.Join(dir, "unix"))
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return fmt.Errorf("read unix sockets of pid %d: %w", pid, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		// Num RefCount Protocol Flags Type St Inode Path
		fl := strings.Fields(sc.Text())
		if len(fl) < 7 {
			continue
		}
		ino, err := strconv.ParseUint(fl[6], 10, 64)
		if err != nil {
			continue
		}
		s := &Socket{Proto: "unix", Inode: ino, UID: -1}
		if len(fl) > 7 {
			s.Path = fl[7]
		}
		switch fl[5] {
		case "01":
			s.State = "UNCONNECTED"
		case "03":
			s.State = "CONNECTED"
		}
		if fl[3] == "00010000" {
			s.State = "LISTEN"
		}
		into[ino] = s
	}
	return sc.Err()
}

func parseInet(proto string, f *os.File, into map[uint64]*Socket) error {
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
		fl := strings.Fields(sc.Text())
		if len(fl) < 10 {
			continue
		}
		ino, err := strconv.ParseUint(fl[9], 10, 64)
		if err != nil || ino == 0 {
			continue
		}
		uid, _ := strconv.Atoi(fl[7])
		s := &Socket{Proto: proto, Local: hexAddr(fl[1]), Remote: hexAddr(fl[2]), Inode: ino, UID: uid}
		if strings.HasPrefix(proto, "tcp") {
			s.State = tcpStates[fl[3]]
		}
		into[ino] = s
	}
	return sc.Err()
}

// hexAddr turns /proc/net's "0100007F:1F90" into "127.0.0.1:8080".
func hexAddr(s string) string {
	h, p, ok := strings.Cut(s, ":")
	if !ok {
		return s
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return s
	}
	raw, err := hex.DecodeString(h)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return s
	}
	// The kernel prints each 32-bit word in host (little-endian) order.
	ip := make(net.IP, len(raw))
	for i := 0; i < len(raw); i += 4 {
		binary.BigEndian.PutUint32(ip[i:], binary.LittleEndian.Uint32(raw[i:]))
	}
	return net.JoinHostPort(ip.String(), strconv.FormatUint(port, 10))
}
