// Package secret finds credentials in file contents: a built-in rule set
// (cloud keys, service tokens, private keys, JWTs, passwords in config
// files, database URLs, Docker registry auths) and rules loaded from
// gitleaks TOML configurations.
//
// A keyword prefilter (one pass of an Aho-Corasick automaton) selects the
// rules whose regular expressions run on a file. Binary files are skipped
// and reads stop at a size cap. Every Finding is redacted: the raw secret
// never leaves this package.
package secret

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
)

// Severity of a finding.
type Severity string

// Severities, highest first.
const (
	Critical Severity = "CRITICAL"
	High     Severity = "HIGH"
	Medium   Severity = "MEDIUM"
	Low      Severity = "LOW"
)

// DefaultMaxSize is the default cap on the bytes of a file scanned.
const DefaultMaxSize = 10 << 20

// ErrTruncated is wrapped by Scan's error when a file is larger than the
// cap: only its first MaxSize bytes were scanned.
var ErrTruncated = errors.New("file larger than the scan cap; scanned its beginning")

// Finding is one secret found in a file. Secret and Match are redacted.
type Finding struct {
	RuleID      string   `json:"rule_id"`
	Description string   `json:"description"`
	Severity    Severity `json:"severity"`
	File        string   `json:"file"`
	Line        int      `json:"line"`   // 1-based
	Column      int      `json:"column"` // 1-based, in bytes, of the secret
	Secret      string   `json:"secret"` // redacted secret
	Match       string   `json:"match"`  // context before the secret on its line, then the redacted secret
}

// RegexTarget says what an allowlist's regexes are matched against.
type RegexTarget string

// Regex targets of gitleaks allowlists.
const (
	TargetSecret RegexTarget = "secret"
	TargetMatch  RegexTarget = "match"
	TargetLine   RegexTarget = "line"
)

// Allowlist suppresses findings. With And, every criterion given must
// hold; otherwise any one suffices.
type Allowlist struct {
	Description string
	And         bool
	Target      RegexTarget
	Regexes     []*regexp.Regexp
	Paths       []*regexp.Regexp
	StopWords   []string // lowercase; allowed when the secret contains one
	TargetRules []string // global allowlists only: the rules it applies to (all when empty)
}

// Rule describes one kind of secret.
type Rule struct {
	ID          string
	Description string
	Severity    Severity
	Regex       *regexp.Regexp // nil for a path-only rule
	SecretGroup int            // capture group holding the secret; 0: the first non-empty group, or the whole match
	Entropy     float64        // minimum Shannon entropy (bits per byte) of the secret; 0: none
	Keywords    []string       // lowercase; the rule runs only on files containing one (none: always)
	Path        *regexp.Regexp // the rule applies only to matching paths
	Allowlists  []Allowlist
}

// Scanner runs a rule set. It is safe for concurrent use.
type Scanner struct {
	rules   []*Rule
	global  []Allowlist
	maxSize int64
	kw      *matcher
	ruleKW  [][]int32 // per rule, its keyword indexes
	reach   []int     // per rule, the window reach around a keyword hit; 0: whole file
	nkw     int
	kwLen   []int     // per keyword, its length
	state   sync.Pool // *scanState, reused across files
}

// scanState is the per-file scratch space of ScanBytes.
type scanState struct {
	pos [][]int32 // per keyword, the end offsets (exclusive) of its hits
	win []window
}

// window is a byte range of a file a rule's regex runs on.
type window struct{ start, end int }

// Option configures a Scanner.
type Option func(*Scanner)

// WithMaxSize sets the cap on the bytes scanned per file.
func WithMaxSize(n int64) Option { return func(s *Scanner) { s.maxSize = n } }

// WithAllowlists adds global allowlists, such as those of a gitleaks
// configuration.
func WithAllowlists(a ...Allowlist) Option {
	return func(s *Scanner) { s.global = append(s.global, a...) }
}

// New returns a scanner for rules.
func New(rules []*Rule, opts ...Option) *Scanner {
	s := &Scanner{rules: rules, maxSize: DefaultMaxSize}
	for _, o := range opts {
		o(s)
	}
	index := map[string]int32{}
	var words []string
	s.ruleKW = make([][]int32, len(rules))
	for i, r := range rules {
		for _, k := range r.Keywords {
			k = strings.ToLower(k)
			id, ok := index[k]
			if !ok {
				id = int32(len(words))
				index[k] = id
				words = append(words, k)
			}
			s.ruleKW[i] = append(s.ruleKW[i], id)
		}
	}
	s.kw = newMatcher(words)
	s.nkw = len(words)
	s.kwLen = make([]int, len(words))
	for i, w := range words {
		s.kwLen[i] = len(w)
	}
	s.reach = make([]int, len(rules))
	for i, r := range rules {
		if r.Regex == nil || len(s.ruleKW[i]) == 0 {
			continue
		}
		s.reach[i] = windowReach(r.Regex)
	}
	s.state.New = func() any { return &scanState{pos: make([][]int32, len(words))} }
	return s
}

// skipExt are extensions of files that never hold text secrets worth a read.
var skipExt = map[string]bool{
	".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".ico": true, ".webp": true, ".bmp": true, ".tif": true, ".tiff": true,
	".woff": true, ".woff2": true, ".ttf": true, ".otf": true, ".eot": true,
	".gz": true, ".xz": true, ".bz2": true, ".zst": true, ".zip": true, ".jar": true, ".war": true, ".whl": true,
	".so": true, ".a": true, ".o": true, ".pyc": true, ".class": true, ".mo": true, ".wasm": true,
	".mp3": true, ".mp4": true, ".ogg": true, ".pdf": true,
}

// Wanted reports whether the file at path should be scanned: a regular
// file, not excluded by a path-only global allowlist, without an extension
// of images, fonts, archives or object code. It only looks at the path.
func (s *Scanner) Wanted(p string, mode fs.FileMode) bool {
	if !mode.IsRegular() {
		return false
	}
	if i := strings.LastIndexByte(p, '.'); i >= 0 && i > strings.LastIndexByte(p, '/') && skipExt[strings.ToLower(p[i:])] {
		return false
	}
	for i := range s.global {
		if a := &s.global[i]; len(a.TargetRules) == 0 && a.pathOnly() && a.allowsPath(p) {
			return false
		}
	}
	return true
}

// Rules returns the scanner's rules.
func (s *Scanner) Rules() []*Rule { return s.rules }

// Scan reads at most the size cap of r, the content of file, and returns
// its findings sorted by line and column. A binary file (a NUL byte in its
// first 8 KiB) gives no findings. Beyond the cap, the findings of the
// scanned part are returned with an error wrapping ErrTruncated.
func (s *Scanner) Scan(ctx context.Context, file string, r io.Reader) ([]Finding, error) {
	data, err := io.ReadAll(io.LimitReader(r, s.maxSize+1))
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", file, err)
	}
	var trunc error
	if int64(len(data)) > s.maxSize {
		data = data[:s.maxSize]
		trunc = fmt.Errorf("scan %s: %w (%d bytes)", file, ErrTruncated, s.maxSize)
	}
	f, err := s.ScanBytes(ctx, file, data)
	if err != nil {
		return f, err
	}
	return f, trunc
}

// IsBinary reports whether data looks binary: a NUL byte in its first 8 KiB.
func IsBinary(data []byte) bool {
	return bytes.IndexByte(data[:min(len(data), 8<<10)], 0) >= 0
}

// ScanBytes scans data, the content of file; see Scan.
func (s *Scanner) ScanBytes(ctx context.Context, file string, data []byte) ([]Finding, error) {
	if IsBinary(data) {
		return nil, nil
	}
	for _, a := range s.global {
		if len(a.TargetRules) == 0 && a.pathOnly() && a.allowsPath(file) {
			return nil, nil
		}
	}
	st := s.state.Get().(*scanState)
	defer s.state.Put(st)
	if s.nkw > 0 {
		for i := range st.pos {
			st.pos[i] = st.pos[i][:0]
		}
		s.kw.scanPos(data, st.pos)
	}
	var (
		out   []Finding
		spans []span // secret spans of out: overlapping secrets are reported once
		lines []int  // offsets of line starts, computed on the first finding
	)
	for i, r := range s.rules {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if r.Path != nil && !r.Path.MatchString(file) {
			continue
		}
		if len(s.ruleKW[i]) > 0 {
			found := false
			for _, k := range s.ruleKW[i] {
				found = found || len(st.pos[k]) > 0
			}
			if !found {
				continue
			}
		}
		if r.Regex == nil { // path-only rule: the file itself is the finding
			if !s.allowed(r, file, "", "", "") {
				out = append(out, Finding{RuleID: r.ID, Description: r.Description, Severity: r.Severity, File: file, Line: 1, Column: 1})
			}
			continue
		}
		st.win = s.windows(st.win[:0], i, st.pos, data)
		for _, w := range st.win {
			for _, m := range r.Regex.FindAllSubmatchIndex(data[w.start:w.end], -1) {
				for j := range m {
					if m[j] >= 0 {
						m[j] += w.start
					}
				}
				ss, se := secretSpan(r, m)
				if ss < 0 {
					continue
				}
				dup := -1
				for j, sp := range spans {
					if ss < sp.end && sp.start < se {
						dup = j
						break
					}
				}
				if dup >= 0 && !(len(r.Keywords) > 0 && len(r.Keywords) < spans[dup].keywords) {
					continue // an earlier, at least as specific rule found it
				}
				sec := data[ss:se]
				if r.Entropy > 0 && entropy(sec) < r.Entropy {
					continue
				}
				if lines == nil {
					lines = lineStarts(data)
				}
				ln := sort.SearchInts(lines, ss+1) // lines[ln-1] <= ss
				ls := lines[ln-1]
				le := bytes.IndexByte(data[ss:], '\n')
				if le < 0 {
					le = len(data)
				} else {
					le += ss
				}
				if s.allowed(r, file, string(sec), string(data[m[0]:m[1]]), string(data[ls:le])) {
					continue
				}
				ctxStart := max(m[0], ls, ss-48)
				for ctxStart < ss && !utf8.RuneStart(data[ctxStart]) {
					ctxStart++
				}
				red := Redact(string(sec))
				f := Finding{
					RuleID: r.ID, Description: r.Description, Severity: r.Severity,
					File: file, Line: ln, Column: ss - ls + 1,
					Secret: red,
					Match:  string(data[ctxStart:ss]) + red,
				}
				sp := span{ss, se, len(r.Keywords)}
				if sp.keywords == 0 {
					sp.keywords = math.MaxInt
				}
				if dup >= 0 { // a more specific rule (fewer keywords) replaces a generic one
					out[dup], spans[dup] = f, sp
					continue
				}
				spans = append(spans, sp)
				out = append(out, f)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Line != out[j].Line {
			return out[i].Line < out[j].Line
		}
		return out[i].Column < out[j].Column
	})
	return out, nil
}

// windows appends to dst the ranges of data rule i runs on: the whole file
// for a rule without keywords or reach, else the merged ranges of reach
// bytes around each hit of its keywords, widened to line boundaries close
// by. When the windows cover most of the file it is scanned whole.
func (s *Scanner) windows(dst []window, i int, pos [][]int32, data []byte) []window {
	r := s.reach[i]
	if r == 0 {
		return append(dst, window{0, len(data)})
	}
	for _, k := range s.ruleKW[i] {
		n := s.kwLen[k]
		for _, e := range pos[k] {
			dst = append(dst, window{max(0, int(e)-n-r), min(len(data), int(e)+r)})
		}
	}
	if len(dst) > 1 {
		slices.SortFunc(dst, func(a, b window) int { return a.start - b.start })
	}
	out := dst[:0]
	covered := 0
	for _, w := range dst {
		w.start = lineStart(data, w.start)
		w.end = lineEnd(data, w.end)
		if k := len(out) - 1; k >= 0 && w.start <= out[k].end {
			if w.end > out[k].end {
				covered += w.end - out[k].end
				out[k].end = w.end
			}
			continue
		}
		covered += w.end - w.start
		out = append(out, w)
	}
	if covered > len(data)*9/10 {
		return append(out[:0], window{0, len(data)})
	}
	return out
}

// lineSnap is how far a window is widened to reach a line boundary.
const lineSnap = 256

func lineStart(data []byte, i int) int {
	lo := max(0, i-lineSnap)
	if j := bytes.LastIndexByte(data[lo:i], '\n'); j >= 0 {
		return lo + j + 1
	}
	if lo == 0 {
		return 0
	}
	return i
}

func lineEnd(data []byte, i int) int {
	hi := min(len(data), i+lineSnap)
	if j := bytes.IndexByte(data[i:hi], '\n'); j >= 0 {
		return i + j + 1
	}
	if hi == len(data) {
		return hi
	}
	return i
}

// secretSpan returns the byte span of the secret in a match m.
func secretSpan(r *Rule, m []int) (int, int) {
	if g := r.SecretGroup; g > 0 {
		if 2*g+1 >= len(m) || m[2*g] < 0 {
			return -1, -1
		}
		return m[2*g], m[2*g+1]
	}
	for g := 1; 2*g+1 < len(m); g++ {
		if m[2*g] >= 0 && m[2*g+1] > m[2*g] {
			return m[2*g], m[2*g+1]
		}
	}
	return m[0], m[1]
}

// span is the byte range of a reported secret and the keyword count of
// the rule that reported it (fewer keywords: a more specific rule).
type span struct{ start, end, keywords int }

func lineStarts(data []byte) []int {
	starts := []int{0}
	for i, c := range data {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// allowed reports whether a rule's or a global allowlist suppresses a
// finding.
func (s *Scanner) allowed(r *Rule, file, sec, match, line string) bool {
	for i := range r.Allowlists {
		if r.Allowlists[i].allows(file, sec, match, line) {
			return true
		}
	}
	for i := range s.global {
		a := &s.global[i]
		if len(a.TargetRules) > 0 && !contains(a.TargetRules, r.ID) {
			continue
		}
		if a.allows(file, sec, match, line) {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (a *Allowlist) pathOnly() bool {
	return len(a.Paths) > 0 && len(a.Regexes) == 0 && len(a.StopWords) == 0
}

func (a *Allowlist) allowsPath(file string) bool {
	for _, p := range a.Paths {
		if p.MatchString(file) {
			return true
		}
	}
	return false
}

func (a *Allowlist) allows(file, sec, match, line string) bool {
	var results []bool
	if len(a.Paths) > 0 {
		results = append(results, a.allowsPath(file))
	}
	if len(a.Regexes) > 0 {
		target := sec
		switch a.Target {
		case TargetMatch:
			target = match
		case TargetLine:
			target = line
		}
		ok := false
		for _, re := range a.Regexes {
			if re.MatchString(target) {
				ok = true
				break
			}
		}
		results = append(results, ok)
	}
	if len(a.StopWords) > 0 {
		ls := strings.ToLower(sec)
		ok := false
		for _, w := range a.StopWords {
			if strings.Contains(ls, w) {
				ok = true
				break
			}
		}
		results = append(results, ok)
	}
	if len(results) == 0 {
		return false
	}
	for _, ok := range results {
		if ok && !a.And {
			return true
		}
		if !ok && a.And {
			return false
		}
	}
	return a.And
}

// Redact keeps the first four characters of a secret of 16 or more bytes
// and replaces the rest with "****"; shorter secrets become "****".
func Redact(secret string) string {
	if len(secret) < 16 {
		return "****"
	}
	n := 0
	for i := range secret {
		if n == 4 {
			return secret[:i] + "****"
		}
		n++
	}
	return "****"
}

// entropy returns the Shannon entropy of b in bits per byte.
func entropy(b []byte) float64 {
	if len(b) == 0 {
		return 0
	}
	var counts [256]int
	for _, c := range b {
		counts[c]++
	}
	e, n := 0.0, float64(len(b))
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			e -= p * math.Log2(p)
		}
	}
	return e
}
