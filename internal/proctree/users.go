package proctree

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/internal/sysevent"
)

// Account files are resolved per root directory: a container's users are
// those of its own /etc/passwd, read through /proc/PID/root. One userDB is
// kept per root directory (device and inode of the root as the process sees
// it), shared by every process with that root.

// rootKey identifies a root directory.
type rootKey struct{ dev, ino uint64 }

// fileStamp tells whether a file changed.
type fileStamp struct {
	ino, size uint64
	mtime     int64
	ok        bool
}

// userDB is the users and groups of one root directory.
type userDB struct {
	key rootKey
	// dir is a path of the root directory: HostRoot, a directory given to
	// LookupUser, or /proc/PID/root of the last process seen with this
	// root (updated as processes come and go).
	dir       string
	host      bool
	passwd    fileStamp
	group     fileStamp
	users     map[uint32]*sysevent.User
	groups    map[uint32]*sysevent.Group
	checkedAt int64 // event clock of the last freshness check
	unknown   int   // placeholders cached for ids absent from the files
	loaded    bool
	// readable reports whether the last load found an /etc/passwd; when
	// not, lookups fall back to the host's accounts.
	readable bool
}

// userCache keeps the userDBs.
type userCache struct {
	cfg  *Config
	dbs  map[rootKey]*userDB
	host *userDB
}

// Bounds of account resolution.
const (
	maxAccountBytes = 4 << 20 // larger account files are cut (Stats.Truncated)
	maxAccountDBs   = 1024    // root directories cached; beyond, the cache restarts
	maxUnknownIDs   = 4096    // placeholders for ids absent from the files, per db
)

func (c *userCache) init(cfg *Config) {
	c.cfg = cfg
	c.dbs = make(map[rootKey]*userDB)
}

// hostDB returns the host's accounts (under HostRoot).
func (c *userCache) hostDB() *userDB {
	if c.host == nil {
		c.host = &userDB{dir: c.cfg.HostRoot, host: true}
		var st unix.Stat_t
		if unix.Stat(c.cfg.HostRoot, &st) == nil {
			c.host.key = rootKey{st.Dev, st.Ino}
			c.dbs[c.host.key] = c.host
		}
	}
	return c.host
}

// forDir returns the db of root directory dir; nil when dir cannot be
// stat'ed (the process is gone).
func (c *userCache) forDir(dir string) *userDB {
	var st unix.Stat_t
	if unix.Stat(dir, &st) != nil {
		return nil
	}
	host := c.hostDB()
	key := rootKey{st.Dev, st.Ino}
	if key == host.key {
		return host
	}
	db := c.dbs[key]
	if db == nil {
		if len(c.dbs) >= maxAccountDBs {
			clear(c.dbs)
			c.dbs[host.key] = host
		}
		db = &userDB{key: key}
		c.dbs[key] = db
	}
	if !db.host {
		db.dir = dir
	}
	return db
}

// user returns the account of uid in db (or the host's when db has no
// readable /etc/passwd). A uid absent from the file gets a placeholder
// User with an empty Name.
func (t *Table) user(db *userDB, pid int64, uid uint32) *sysevent.User {
	db = t.freshDB(db, pid)
	if u := db.users[uid]; u != nil {
		return u
	}
	if !db.readable && !db.host {
		if u := t.freshDB(t.users.hostDB(), 0).users[uid]; u != nil {
			return u
		}
	}
	u := &sysevent.User{UID: uid}
	if db.unknown < maxUnknownIDs {
		db.unknown++
		db.users[uid] = u
	}
	return u
}

// group returns the group gid in db, as user does.
func (t *Table) group(db *userDB, pid int64, gid uint32) *sysevent.Group {
	db = t.freshDB(db, pid)
	if g := db.groups[gid]; g != nil {
		return g
	}
	if !db.readable && !db.host {
		if g := t.freshDB(t.users.hostDB(), 0).groups[gid]; g != nil {
			return g
		}
	}
	g := &sysevent.Group{GID: gid}
	if db.unknown < maxUnknownIDs {
		db.unknown++
		db.groups[gid] = g
	}
	return g
}

// freshDB loads db the first time and reloads it when its files changed,
// checking at most once per UserRefresh of the event clock. The bound on
// the event path is two stat calls per refresh period and, when a file
// changed, one read of at most maxAccountBytes per file. A nil db is the
// host's. pid is a process with db's root (0 for none), through which the
// root is reached when the process it was first reached through is gone.
func (t *Table) freshDB(db *userDB, pid int64) *userDB {
	if db == nil {
		db = t.users.hostDB()
	}
	if db.loaded && t.now-db.checkedAt < int64(t.cfg.UserRefresh) {
		return db
	}
	db.checkedAt = t.now
	pw := stampOf(filepath.Join(db.dir, "etc/passwd"))
	gr := stampOf(filepath.Join(db.dir, "etc/group"))
	if db.loaded && (!pw.ok && !gr.ok) && !db.host && pid > 0 {
		// The process the root was reached through may have exited:
		// reach it through this one, if it has the same root.
		dir := t.pidPath(pid, "root")
		var st unix.Stat_t
		if dir != db.dir && unix.Stat(dir, &st) == nil && (rootKey{st.Dev, st.Ino}) == db.key {
			db.dir = dir
			pw = stampOf(filepath.Join(db.dir, "etc/passwd"))
			gr = stampOf(filepath.Join(db.dir, "etc/group"))
		}
	}
	if db.loaded && (!pw.ok && !gr.ok) && !db.host {
		// The root is not reachable any more: keep what was read.
		return db
	}
	if db.loaded && pw == db.passwd && gr == db.group {
		return db
	}
	t.loadAccounts(db, pw, gr)
	return db
}

func stampOf(path string) fileStamp {
	var st unix.Stat_t
	if unix.Stat(path, &st) != nil {
		return fileStamp{}
	}
	return fileStamp{ino: st.Ino, size: uint64(st.Size), mtime: st.Mtim.Nano(), ok: true}
}

// loadAccounts (re)reads db's /etc/passwd and /etc/group.
func (t *Table) loadAccounts(db *userDB, pw, gr fileStamp) {
	db.loaded, db.passwd, db.group = true, pw, gr
	db.users = make(map[uint32]*sysevent.User)
	db.groups = make(map[uint32]*sysevent.Group)
	db.readable, db.unknown = false, 0
	path := filepath.Join(db.dir, "etc/passwd")
	if b, trunc, err := t.rd.read(path, maxAccountBytes); err == nil {
		db.readable = true
		if trunc {
			t.stats.Truncated++
		}
		if err := parsePasswd(b, db.users); err != nil {
			t.cfg.Logger.Warn("parse account file", "component", "proctree", "file", path, "error", err)
		}
	} else if !gone(err) {
		t.cfg.Logger.Warn("read account file", "component", "proctree", "file", path, "error", err)
	}
	path = filepath.Join(db.dir, "etc/group")
	if b, trunc, err := t.rd.read(path, maxAccountBytes); err == nil {
		if trunc {
			t.stats.Truncated++
		}
		if err := parseGroup(b, db.groups); err != nil {
			t.cfg.Logger.Warn("parse account file", "component", "proctree", "file", path, "error", err)
		}
	} else if !gone(err) {
		t.cfg.Logger.Warn("read account file", "component", "proctree", "file", path, "error", err)
	}
}

// parsePasswd parses passwd(5) lines "name:passwd:uid:gid:gecos:home:shell"
// into users (the first line of a uid wins, as getpwuid does). Bad lines
// are skipped and reported together, by line number.
func parsePasswd(b []byte, users map[uint32]*sysevent.User) error {
	var errs []error
	forLines(b, func(n int, line []byte) {
		f := bytes.Split(line, []byte{':'})
		if len(f) != 7 {
			errs = append(errs, fmt.Errorf("line %d: %d fields, want 7", n, len(f)))
			return
		}
		uid, err := strconv.ParseUint(string(f[2]), 10, 32)
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d: uid %q: %w", n, f[2], err))
			return
		}
		if users[uint32(uid)] != nil {
			return
		}
		users[uint32(uid)] = &sysevent.User{UID: uint32(uid), Name: string(f[0]), HomeDir: string(f[5]), Shell: string(f[6])}
	})
	return errors.Join(errs...)
}

// parseGroup parses group(5) lines "name:passwd:gid:members".
func parseGroup(b []byte, groups map[uint32]*sysevent.Group) error {
	var errs []error
	forLines(b, func(n int, line []byte) {
		f := bytes.Split(line, []byte{':'})
		if len(f) != 4 {
			errs = append(errs, fmt.Errorf("line %d: %d fields, want 4", n, len(f)))
			return
		}
		gid, err := strconv.ParseUint(string(f[2]), 10, 32)
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d: gid %q: %w", n, f[2], err))
			return
		}
		if groups[uint32(gid)] != nil {
			return
		}
		groups[uint32(gid)] = &sysevent.Group{GID: uint32(gid), Name: string(f[0])}
	})
	return errors.Join(errs...)
}

// forLines calls fn with each non-empty, non-comment line, numbered from 1.
func forLines(b []byte, fn func(n int, line []byte)) {
	for n := 1; len(b) > 0; n++ {
		nl := bytes.IndexByte(b, '\n')
		var line []byte
		if nl < 0 {
			line, b = b, nil
		} else {
			line, b = b[:nl], b[nl+1:]
		}
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		fn(n, line)
	}
}

// LookupUser returns the account of uid in the /etc/passwd under the root
// directory root (a container's root file system, or "/" for the host),
// with the same caching and fallback as processes get.
func (t *Table) LookupUser(root string, uid uint32) *sysevent.User {
	return t.user(t.users.forDir(root), 0, uid)
}

// LookupGroup returns the group gid in the /etc/group under root.
func (t *Table) LookupGroup(root string, gid uint32) *sysevent.Group {
	return t.group(t.users.forDir(root), 0, gid)
}

// setAccounts resolves p's user (effective uid, as Falco's user.name),
// group (effective gid) and login user (loginuid, nil when unset), all in
// the accounts of the process's root.
func (t *Table) setAccounts(p *proc) {
	p.User = t.user(p.users, p.PID, p.EUID)
	p.Group = t.group(p.users, p.PID, p.EGID)
	t.setLoginUser(p)
}

// unsetLoginUID is the loginuid of processes outside any login session.
const unsetLoginUID = 0xffffffff

func (t *Table) setLoginUser(p *proc) {
	switch {
	case p.LoginUID == unsetLoginUID:
		p.LoginUser = nil
	case p.User != nil && p.User.UID == p.LoginUID:
		p.LoginUser = p.User
	default:
		p.LoginUser = t.user(p.users, p.PID, p.LoginUID)
	}
}
