package passwd

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
)

// Finding IDs.
const (
	IDEmptyPassword      = "VGL-PWD-001"
	IDDictionaryPassword = "VGL-PWD-002"
	IDExtraUID0          = "VGL-PWD-003"
)

// Finding is one weak account. Hash is redacted (scheme and salt prefix);
// Password is set only when the checker was asked to show passwords.
type Finding struct {
	ID        string `json:"id"`
	Severity  string `json:"severity"`
	Title     string `json:"title"`
	User      string `json:"user"`
	Path      string `json:"path"`
	Line      int    `json:"line"`
	Algorithm string `json:"algorithm,omitempty"`
	Hash      string `json:"hash,omitempty"`
	Password  string `json:"password,omitempty"`
}

//go:embed dictionary.txt
var dictionaryText string

// Dictionary returns the bundled list of common and default passwords, one
// per entry, most common first.
func Dictionary() []string {
	var out []string
	for _, l := range strings.Split(dictionaryText, "\n") {
		if l = strings.TrimRight(l, "\r"); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// Checker checks account files. The zero value uses the bundled dictionary
// and as many workers as CPUs.
type Checker struct {
	Words         []string // candidate passwords; nil means Dictionary()
	ShowPasswords bool     // put the matched password in findings
	Workers       int      // parallel hash computations; 0 means GOMAXPROCS
}

// entry is one parsed account line.
type entry struct {
	user, hash string
	line       int
}

// ParseShadow splits a shadow(5) file into user and hash fields. Lines that
// have fewer than two fields are reported with their line number; the other
// lines are still returned.
func parseShadow(path string, data []byte) ([]entry, error) {
	var out []entry
	var errs []error
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			continue
		}
		f := strings.Split(l, ":")
		if len(f) < 2 || f[0] == "" {
			errs = append(errs, fmt.Errorf("%s:%d: not a shadow entry (want name:hash:...)", path, n))
			continue
		}
		out = append(out, entry{user: f[0], hash: f[1], line: n})
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", path, err))
	}
	return out, errors.Join(errs...)
}

// CheckShadow checks the accounts of a shadow file (path is only used in
// findings and errors): an empty hash field lets anyone log in, and a hash
// that matches a dictionary word is a weak password. Locked accounts
// ("!", "*" or "!" before a hash) are skipped. Hash schemes that cannot be
// checked are reported as errors naming the user and line.
func (c *Checker) CheckShadow(ctx context.Context, path string, data []byte) ([]Finding, error) {
	entries, perr := parseShadow(path, data)
	errs := []error{perr}
	var out []Finding
	type job struct {
		e    entry
		algo string
	}
	var jobs []job
	for _, e := range entries {
		switch {
		case e.hash == "":
			out = append(out, Finding{ID: IDEmptyPassword, Severity: "CRITICAL", User: e.user, Path: path, Line: e.line,
				Title: "account " + e.user + " has an empty password: anyone can log in"})
		case strings.HasPrefix(e.hash, "!") || strings.HasPrefix(e.hash, "*") || e.hash == "x":
			// locked or no password login
		default:
			algo := Algorithm(e.hash)
			if algo == "" {
				errs = append(errs, fmt.Errorf("%s:%d: user %s: %w %s", path, e.line, e.user, ErrUnsupported, Redact(e.hash)))
				continue
			}
			jobs = append(jobs, job{e, algo})
		}
	}
	words := c.Words
	if words == nil {
		words = Dictionary()
	}
	for _, j := range jobs {
		word, err := c.crack(ctx, j.e.hash, words)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: user %s: %w", path, j.e.line, j.e.user, err))
			continue
		}
		if word == nil {
			continue
		}
		f := Finding{ID: IDDictionaryPassword, Severity: "HIGH", User: j.e.user, Path: path, Line: j.e.line,
			Algorithm: j.algo, Hash: Redact(j.e.hash),
			Title: "account " + j.e.user + " has a weak password that matches a dictionary password"}
		if c.ShowPasswords {
			f.Password = *word
		}
		out = append(out, f)
	}
	return out, errors.Join(errs...)
}

// crack tries words against h in parallel and returns the matching one.
func (c *Checker) crack(ctx context.Context, h string, words []string) (*string, error) {
	workers := c.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	// Check the hash parses before spending CPU on it.
	if _, err := Verify("", h); err != nil {
		return nil, err
	}
	var (
		mu    sync.Mutex
		found *string
		next  int
		wg    sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for {
				mu.Lock()
				if found != nil || next >= len(words) || ctx.Err() != nil {
					mu.Unlock()
					return
				}
				w := words[next]
				next++
				mu.Unlock()
				if ok, _ := Verify(w, h); ok {
					mu.Lock()
					if found == nil {
						found = &w
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	if found == nil {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return found, nil
}

// CheckPasswd reports accounts of a passwd(5) file with UID 0 other than
// root, and accounts whose password field is empty (no shadow entry needed
// to log in).
func CheckPasswd(path string, data []byte) ([]Finding, error) {
	var out []Finding
	var errs []error
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, "+") || strings.HasPrefix(l, "-") {
			continue
		}
		f := strings.Split(l, ":")
		if len(f) < 7 {
			errs = append(errs, fmt.Errorf("%s:%d: not a passwd entry (want 7 fields, got %d)", path, n, len(f)))
			continue
		}
		uid, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: user %s: uid %q is not a number", path, n, f[0], f[2]))
			continue
		}
		if uid == 0 && f[0] != "root" {
			out = append(out, Finding{ID: IDExtraUID0, Severity: "HIGH", User: f[0], Path: path, Line: n,
				Title: "account " + f[0] + " has UID 0 (root privileges) but is not root"})
		}
		if f[1] == "" {
			out = append(out, Finding{ID: IDEmptyPassword, Severity: "CRITICAL", User: f[0], Path: path, Line: n,
				Title: "account " + f[0] + " has an empty password field in passwd: anyone can log in"})
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", path, err))
	}
	return out, errors.Join(errs...)
}
