package proctree

import "strings"

// AtFDCWD is AT_FDCWD, the dirfd meaning "the working directory".
const AtFDCWD = -100

// Resolve returns the absolute, lexically cleaned path that path names for
// process tgid: an absolute path is cleaned; a relative one is joined to
// the working directory (dirfd AtFDCWD) or to the path of directory
// descriptor dirfd (openat and friends); an empty path names dirfd itself
// (AT_EMPTY_PATH). When the base is unknown the path is returned as given.
// Symbolic links and ".." across them are not followed, as in Falco. An
// absolute path that is already clean is returned without allocating;
// otherwise the result costs one allocation.
func (t *Table) Resolve(tgid, dirfd int64, path string) string {
	if len(path) > 0 && path[0] == '/' {
		if isCleanAbs(path) {
			return path
		}
		t.path = append(t.path[:0], path...)
		return string(cleanAbs(t.path))
	}
	p := t.procs[tgid]
	if p == nil {
		if p = t.lazyProc(tgid); p == nil {
			return path
		}
	}
	var base string
	if dirfd == AtFDCWD {
		base = p.Cwd
	} else if f := p.FDs[dirfd]; f != nil {
		base = f.Name
	}
	if len(base) == 0 || base[0] != '/' {
		return path
	}
	t.path = append(t.path[:0], base...)
	if path != "" {
		t.path = append(t.path, '/')
		t.path = append(t.path, path...)
	}
	return string(cleanAbs(t.path))
}

// isCleanAbs reports whether p is an absolute path that cleanAbs leaves
// unchanged.
func isCleanAbs(p string) bool {
	if len(p) == 0 || p[0] != '/' {
		return false
	}
	if len(p) > 1 && p[len(p)-1] == '/' {
		return false
	}
	return !strings.Contains(p, "//") && !strings.Contains(p, "/./") && !strings.Contains(p, "/../") &&
		!strings.HasSuffix(p, "/.") && !strings.HasSuffix(p, "/..")
}

// cleanAbs cleans the absolute path b in place, as path.Clean does: one
// slash between elements, no "." elements, ".." removing the element
// before it (and nothing at the root), no trailing slash.
func cleanAbs(b []byte) []byte {
	n := len(b)
	r, w := 1, 1 // b[0] is '/'
	for r < n {
		switch {
		case b[r] == '/':
			r++
		case b[r] == '.' && (r+1 == n || b[r+1] == '/'):
			r++
		case b[r] == '.' && b[r+1] == '.' && (r+2 == n || b[r+2] == '/'):
			r += 2
			if w > 1 {
				w--
				for w > 1 && b[w] != '/' {
					w--
				}
			}
		default:
			if w != 1 {
				b[w] = '/'
				w++
			}
			for ; r < n && b[r] != '/'; r++ {
				b[w] = b[r]
				w++
			}
		}
	}
	return b[:w]
}
