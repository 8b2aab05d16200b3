package respond

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// BlockListFile is the block list's name in the data directory.
const BlockListFile = "blocklist.json"

// BlockList is the persisted list of files whose execution is denied.
type BlockList struct {
	Paths  []string `json:"paths"`  // absolute paths, as the kernel names the file
	SHA256 []string `json:"sha256"` // lowercase hex digests of the file's content
}

// ParseBlockEntry says whether s is a SHA-256 digest (64 hex characters,
// optionally prefixed "sha256:") or an absolute path.
func ParseBlockEntry(s string) (sha bool, v string, err error) {
	h := strings.ToLower(strings.TrimPrefix(s, "sha256:"))
	if len(h) == 64 {
		if _, err := hex.DecodeString(h); err == nil {
			return true, h, nil
		}
	}
	if !filepath.IsAbs(s) {
		return false, "", fmt.Errorf("block-exec %q: neither an absolute path nor a SHA-256 digest", s)
	}
	return false, filepath.Clean(s), nil
}

// LoadBlockList reads the block list of dataDir; a missing file is an
// empty list.
func LoadBlockList(dataDir string) (BlockList, error) {
	var l BlockList
	b, err := os.ReadFile(filepath.Join(dataDir, BlockListFile))
	if errors.Is(err, os.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		return l, fmt.Errorf("read block list: %w", err)
	}
	if err := json.Unmarshal(b, &l); err != nil {
		return l, fmt.Errorf("read block list %s: %w", filepath.Join(dataDir, BlockListFile), err)
	}
	return l, nil
}

func saveBlockList(dataDir string, l BlockList) error {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("write block list: %w", err)
	}
	b, _ := json.MarshalIndent(l, "", "  ")
	tmp := filepath.Join(dataDir, "."+BlockListFile+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write block list: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dataDir, BlockListFile)); err != nil {
		return fmt.Errorf("write block list: %w", err)
	}
	return nil
}

// BlockExec adds entry (an absolute path or a SHA-256) to the block list
// of the data directory; running blockers pick it up within a second.
func (r *Responder) BlockExec(_ context.Context, entry string) (*Outcome, error) {
	return r.run(ActionBlockExec, entry, func(o *Outcome) error { return r.editBlock(entry, o, true) })
}

// UnblockExec removes entry from the block list.
func (r *Responder) UnblockExec(_ context.Context, entry string) (*Outcome, error) {
	return r.run(ActionUnblockExec, entry, func(o *Outcome) error { return r.editBlock(entry, o, false) })
}

func (r *Responder) editBlock(entry string, o *Outcome, add bool) error {
	if r.cfg.DataDir == "" {
		return fmt.Errorf("block-exec needs a data directory")
	}
	sha, v, err := ParseBlockEntry(entry)
	if err != nil {
		return err
	}
	o.Resolved = v
	o.Method = "block list " + filepath.Join(r.cfg.DataDir, BlockListFile)
	l, err := LoadBlockList(r.cfg.DataDir)
	if err != nil {
		return err
	}
	list := &l.Paths
	if sha {
		list = &l.SHA256
	}
	i := slices.Index(*list, v)
	switch {
	case add && i >= 0:
		o.Detail = "already blocked"
		return nil
	case add:
		*list = append(*list, v)
	case i < 0:
		o.Detail = "was not blocked"
		return nil
	default:
		*list = slices.Delete(*list, i, i+1)
	}
	return saveBlockList(r.cfg.DataDir, l)
}

// BlockEvent is one denied execution.
type BlockEvent struct {
	Time   time.Time `json:"time"`
	PID    int       `json:"pid"`
	Path   string    `json:"path"`
	SHA256 string    `json:"sha256,omitempty"`
	Reason string    `json:"reason"` // path or sha256
}

// Blocker denies the execution of the files of a data directory's block
// list: it marks filesystems for fanotify FAN_OPEN_EXEC_PERM and answers
// FAN_DENY (the exec fails with EPERM) when the file's path, or its
// SHA-256, is listed. Run it in one process per host.
type Blocker struct {
	DataDir string
	// Roots are paths whose filesystems are marked. Empty: every
	// filesystem mounted on the host plus the root filesystem of every
	// mount namespace (containers), rescanned every Rescan.
	Roots  []string
	Rescan time.Duration // 2 s
	// MaxHashBytes bounds the files hashed for SHA-256 entries; larger
	// files are matched by path only. 512 MiB.
	MaxHashBytes int64
	Logger       *slog.Logger
	// OnBlock, when set, is called for each denied execution.
	OnBlock func(BlockEvent)

	list    atomic.Pointer[blockSet]
	cacheMu sync.Mutex
	cache   map[fileKey]string // file identity -> sha256
	marked  map[uint64]bool    // st_dev of marked filesystems
	denied  atomic.Uint64
	allowed atomic.Uint64
}

type blockSet struct {
	paths map[string]bool
	sha   map[string]bool
	mtime time.Time
}

type fileKey struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64
}

// Stats returns how many executions were denied and allowed.
func (b *Blocker) Stats() (denied, allowed uint64) { return b.denied.Load(), b.allowed.Load() }

func (b *Blocker) reload() error {
	p := filepath.Join(b.DataDir, BlockListFile)
	st, err := os.Stat(p)
	var mtime time.Time
	if err == nil {
		mtime = st.ModTime()
	}
	if cur := b.list.Load(); cur != nil && cur.mtime.Equal(mtime) {
		return nil
	}
	l, err := LoadBlockList(b.DataDir)
	if err != nil {
		return err
	}
	s := &blockSet{paths: map[string]bool{}, sha: map[string]bool{}, mtime: mtime}
	for _, v := range l.Paths {
		s.paths[v] = true
	}
	for _, v := range l.SHA256 {
		s.sha[v] = true
	}
	b.list.Store(s)
	b.Logger.Info("block list loaded", "component", "respond", "paths", len(s.paths), "sha256", len(s.sha))
	return nil
}

// pseudo filesystems hold no executables worth an exec permission check.
var pseudoFS = map[string]bool{"proc": true, "sysfs": true, "cgroup": true, "cgroup2": true, "devpts": true,
	"mqueue": true, "securityfs": true, "debugfs": true, "tracefs": true, "bpf": true, "pstore": true,
	"configfs": true, "fusectl": true, "hugetlbfs": true, "autofs": true, "binfmt_misc": true, "nsfs": true,
	"efivarfs": true, "rpc_pipefs": true}

// roots lists what to mark: the explicit roots, or every mount point of
// our mount namespace and /proc/PID/root of each other mount namespace.
func (b *Blocker) roots() []string {
	if len(b.Roots) > 0 {
		return b.Roots
	}
	var out []string
	if f, err := os.Open("/proc/self/mountinfo"); err == nil {
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			left, right, ok := strings.Cut(sc.Text(), " - ")
			lf, rf := strings.Fields(left), strings.Fields(right)
			if !ok || len(lf) < 5 || len(rf) < 1 || pseudoFS[rf[0]] {
				continue
			}
			out = append(out, lf[4])
		}
		f.Close()
	}
	self, _ := os.Readlink("/proc/self/ns/mnt")
	seen := map[string]bool{self: true}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil || e.Name() == "1" {
			continue
		}
		ns, err := os.Readlink("/proc/" + e.Name() + "/ns/mnt")
		if err != nil || seen[ns] {
			continue
		}
		seen[ns] = true
		out = append(out, "/proc/"+e.Name()+"/root")
	}
	return out
}

func (b *Blocker) mark(fd int) {
	for _, r := range b.roots() {
		var st unix.Stat_t
		if err := unix.Stat(r, &st); err != nil || b.marked[st.Dev] {
			continue
		}
		err := unix.FanotifyMark(fd, unix.FAN_MARK_ADD|unix.FAN_MARK_FILESYSTEM, unix.FAN_OPEN_EXEC_PERM, unix.AT_FDCWD, r)
		if err != nil {
			b.Logger.Debug("fanotify mark", "component", "respond", "path", r, "error", err)
			continue
		}
		b.marked[st.Dev] = true
	}
}

// Run marks the filesystems and answers exec permission events until ctx
// is cancelled. It returns an error when fanotify is unavailable.
func (b *Blocker) Run(ctx context.Context) error {
	if b.Logger == nil {
		b.Logger = slog.New(slog.DiscardHandler)
	}
	if b.Rescan <= 0 {
		b.Rescan = 2 * time.Second
	}
	if b.MaxHashBytes <= 0 {
		b.MaxHashBytes = 512 << 20
	}
	b.cache = map[fileKey]string{}
	b.marked = map[uint64]bool{}
	if err := b.reload(); err != nil {
		return err
	}
	fd, err := unix.FanotifyInit(unix.FAN_CLASS_CONTENT|unix.FAN_CLOEXEC|unix.FAN_NONBLOCK|unix.FAN_UNLIMITED_QUEUE,
		unix.O_RDONLY|unix.O_LARGEFILE|unix.O_CLOEXEC)
	if err != nil {
		return fmt.Errorf("fanotify_init: %w", err)
	}
	b.mark(fd)
	if len(b.marked) == 0 {
		unix.Close(fd)
		return fmt.Errorf("fanotify: no filesystem could be marked for exec permission events")
	}
	f := os.NewFile(uintptr(fd), "fanotify")
	defer f.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		last := time.Now()
		for {
			select {
			case <-ctx.Done():
				f.Close()
				return
			case <-tick.C:
			}
			if err := b.reload(); err != nil {
				b.Logger.Warn("block list", "component", "respond", "error", err)
			}
			if len(b.Roots) == 0 && time.Since(last) >= b.Rescan {
				last = time.Now()
				b.mark(fd)
			}
		}
	}()
	defer wg.Wait()
	buf := make([]byte, 64<<10)
	for {
		n, err := f.Read(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("fanotify read: %w", err)
		}
		b.handle(f, buf[:n])
	}
}

const metaSize = int(unsafe.Sizeof(unix.FanotifyEventMetadata{}))

func (b *Blocker) handle(f *os.File, buf []byte) {
	for len(buf) >= metaSize {
		m := (*unix.FanotifyEventMetadata)(unsafe.Pointer(&buf[0]))
		if m.Event_len < uint32(metaSize) || int(m.Event_len) > len(buf) {
			return
		}
		if m.Fd >= 0 {
			resp := uint32(unix.FAN_ALLOW)
			if ev, deny := b.decide(int(m.Fd), int(m.Pid)); deny {
				resp = unix.FAN_DENY
				b.denied.Add(1)
				b.Logger.Warn("execution blocked", "component", "respond", "pid", ev.PID, "path", ev.Path, "reason", ev.Reason)
				if b.OnBlock != nil {
					b.OnBlock(ev)
				}
			} else {
				b.allowed.Add(1)
			}
			var out [8]byte
			binary.NativeEndian.PutUint32(out[0:], uint32(m.Fd))
			binary.NativeEndian.PutUint32(out[4:], resp)
			if _, err := f.Write(out[:]); err != nil {
				b.Logger.Error("fanotify response", "component", "respond", "error", err)
			}
			unix.Close(int(m.Fd))
		}
		buf = buf[m.Event_len:]
	}
}

func (b *Blocker) decide(fd, pid int) (BlockEvent, bool) {
	s := b.list.Load()
	if s == nil || len(s.paths)+len(s.sha) == 0 {
		return BlockEvent{}, false
	}
	path, _ := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	ev := BlockEvent{Time: time.Now(), PID: pid, Path: path}
	if s.paths[path] {
		ev.Reason = "path"
		return ev, true
	}
	if len(s.sha) == 0 {
		return ev, false
	}
	sum, err := b.hash(fd)
	if err != nil {
		return ev, false
	}
	if s.sha[sum] {
		ev.SHA256, ev.Reason = sum, "sha256"
		return ev, true
	}
	return ev, false
}

// hash returns the SHA-256 of the file, cached by its identity (device,
// inode, size, modification and change times).
func (b *Blocker) hash(fd int) (string, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return "", err
	}
	if st.Size > b.MaxHashBytes {
		return "", fmt.Errorf("too large to hash")
	}
	k := fileKey{dev: st.Dev, ino: st.Ino, size: st.Size, mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano()}
	b.cacheMu.Lock()
	sum, ok := b.cache[k]
	b.cacheMu.Unlock()
	if ok {
		return sum, nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(fdReaderAt(fd), 0, st.Size)); err != nil {
		return "", err
	}
	sum = hex.EncodeToString(h.Sum(nil))
	b.cacheMu.Lock()
	if len(b.cache) > 100_000 {
		clear(b.cache)
	}
	b.cache[k] = sum
	b.cacheMu.Unlock()
	return sum, nil
}

type fdReaderAt int

func (fd fdReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := unix.Pread(int(fd), p, off)
	if n == 0 && err == nil && len(p) > 0 {
		return 0, io.EOF
	}
	if n < 0 {
		n = 0
	}
	return n, err
}
