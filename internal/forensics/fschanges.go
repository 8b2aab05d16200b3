package forensics

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Change is one entry of the container's writable layer.
type Change struct {
	Path     string `json:"path"` // as seen in the container, e.g. /tmp/x
	Kind     string `json:"kind"` // added, modified, deleted, opaque-dir
	Type     string `json:"type"` // file, dir, symlink, other
	Mode     string `json:"mode"`
	Size     int64  `json:"size"`
	UID      int    `json:"uid"`
	GID      int    `json:"gid"`
	MTime    int64  `json:"mtime_ns"`
	Link     string `json:"link,omitempty"`
	SHA256   string `json:"sha256,omitempty"`
	Captured string `json:"captured,omitempty"` // bundle path of the copy
	Skipped  string `json:"skipped,omitempty"`  // why the content was not copied
}

// Overlay is the root filesystem's overlay mount of a process.
type Overlay struct {
	Upper string   `json:"upper"`
	Lower []string `json:"lower"`
}

// findOverlay reads /proc/PID/mountinfo and returns the overlay mounted at
// the process's root.
func findOverlay(procRoot string, pid int) (*Overlay, error) {
	f, err := os.Open(filepath.Join(procRoot, strconv.Itoa(pid), "mountinfo"))
	if err != nil {
		return nil, fmt.Errorf("read mountinfo of pid %d: %w", pid, err)
	}
	defer f.Close()
	var ov *Overlay
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// id parent maj:min root mountpoint opts [optional...] - fstype source superopts
		left, right, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		lf, rf := strings.Fields(left), strings.Fields(right)
		if len(lf) < 5 || len(rf) < 3 || lf[4] != "/" {
			continue
		}
		if rf[0] != "overlay" {
			ov = nil // a later mount over / hides an earlier overlay
			continue
		}
		o := &Overlay{}
		for _, opt := range strings.Split(rf[2], ",") {
			k, v, _ := strings.Cut(opt, "=")
			switch k {
			case "upperdir":
				o.Upper = unescapeMount(v)
			case "lowerdir":
				for _, l := range splitLower(v) {
					o.Lower = append(o.Lower, unescapeMount(l))
				}
			case "lowerdir+", "datadir+":
				o.Lower = append(o.Lower, unescapeMount(v))
			}
		}
		ov = o
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mountinfo of pid %d: %w", pid, err)
	}
	if ov == nil {
		return nil, fmt.Errorf("pid %d: root is not an overlay mount", pid)
	}
	if ov.Upper == "" {
		return nil, fmt.Errorf("pid %d: root overlay has no upper (writable) dir", pid)
	}
	return ov, nil
}

// splitLower splits overlay's lowerdir at ':' not escaped with '\'.
func splitLower(s string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s) && s[i+1] == ':':
			cur.WriteByte(':')
			i++
		case s[i] == ':':
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(s[i])
		}
	}
	return append(out, cur.String())
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// diffLimits bound what a capture copies out of the writable layer.
type diffLimits struct {
	maxFile  int64 // largest file copied
	maxTotal int64 // total bytes copied
	maxFiles int   // entries listed
}

// collectChanges walks the upper dir; changed regular files go into the
// bundle under fs/upper/PATH within the limits.
func collectChanges(b *bundleWriter, ov *Overlay, lim diffLimits) ([]Change, error) {
	var out []Change
	var total int64
	err := filepath.WalkDir(ov.Upper, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == ov.Upper {
				return err
			}
			out = append(out, Change{Path: "/" + filepath.ToSlash(rel(ov.Upper, p)), Kind: "unreadable", Skipped: err.Error()})
			return nil
		}
		if p == ov.Upper {
			return nil
		}
		if len(out) >= lim.maxFiles {
			return fmt.Errorf("more than %d changed entries: %w", lim.maxFiles, errTooMany)
		}
		r := filepath.ToSlash(rel(ov.Upper, p))
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			out = append(out, Change{Path: "/" + r, Kind: "unreadable", Skipped: err.Error()})
			return nil
		}
		c := Change{Path: "/" + r, Mode: fs.FileMode(st.Mode & 0o7777).String(), Size: st.Size,
			UID: int(st.Uid), GID: int(st.Gid), MTime: st.Mtim.Nano()}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFCHR:
			if st.Rdev == 0 {
				c.Kind, c.Type = "deleted", "whiteout"
				out = append(out, c)
				return nil
			}
			c.Type = "chardev"
		case unix.S_IFDIR:
			c.Type = "dir"
		case unix.S_IFLNK:
			c.Type = "symlink"
			c.Link, _ = os.Readlink(p)
		case unix.S_IFREG:
			c.Type = "file"
		default:
			c.Type = "other"
		}
		c.Kind = "added"
		if inLower(ov.Lower, r) {
			c.Kind = "modified"
		}
		if c.Type == "dir" {
			if v, err := getxattr(p, "trusted.overlay.opaque"); err == nil && v == "y" {
				c.Kind = "opaque-dir"
			}
			if c.Kind == "modified" {
				return nil // a directory copied up only because something in it changed
			}
		}
		if c.Type == "file" {
			switch {
			case st.Size > lim.maxFile:
				c.Skipped = fmt.Sprintf("larger than %d bytes", lim.maxFile)
			case total+st.Size > lim.maxTotal:
				c.Skipped = fmt.Sprintf("total copy limit %d bytes reached", lim.maxTotal)
			default:
				name := path.Join("fs/upper", r)
				sum, n, err := copyInto(b, name, p)
				if err != nil {
					c.Skipped = err.Error()
				} else {
					c.SHA256, c.Captured, c.Size = sum, name, n
					total += n
				}
			}
		}
		out = append(out, c)
		return nil
	})
	return out, err
}

var errTooMany = errors.New("too many changes")

func rel(base, p string) string {
	r, err := filepath.Rel(base, p)
	if err != nil {
		return p
	}
	return r
}

func inLower(lower []string, r string) bool {
	for _, l := range lower {
		if _, err := os.Lstat(filepath.Join(l, r)); err == nil {
			return true
		}
	}
	return false
}

func getxattr(p, name string) (string, error) {
	buf := make([]byte, 16)
	n, err := unix.Lgetxattr(p, name, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// copyInto copies the regular file src into the bundle without following
// a symlink swapped in meanwhile.
func copyInto(b *bundleWriter, name, src string) (string, int64, error) {
	f, err := os.OpenFile(src, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return "", 0, fmt.Errorf("open: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return "", 0, fmt.Errorf("not a regular file any more")
	}
	w, err := b.create(name)
	if err != nil {
		return "", 0, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), f)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", n, fmt.Errorf("copy: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
