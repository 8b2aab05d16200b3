// Package gobinary lists the Go modules compiled into Go executables, from
// the build information the linker embeds (debug/buildinfo).
package gobinary

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"runtime/debug"
	"strings"

	"github.com/vigilsec/vigil/internal/scan/analyzer"
)

// MaxSize bounds the executables read into memory; larger ones are an error.
const MaxSize = 512 << 20

// ErrTooLarge is returned for executables over MaxSize.
var ErrTooLarge = errors.New("executable too large")

// Analyzer reads executable regular files.
type Analyzer struct{}

// New returns the Go binary analyzer.
func New() Analyzer { return Analyzer{} }

// Type implements analyzer.Analyzer.
func (Analyzer) Type() analyzer.Type { return analyzer.TypeGoBinary }

// Version implements analyzer.Analyzer.
func (Analyzer) Version() int { return 1 }

// Wanted implements analyzer.Analyzer: regular files with an execute bit.
func (Analyzer) Wanted(_ string, mode fs.FileMode) bool {
	return mode.IsRegular() && mode.Perm()&0o111 != 0
}

var magics = [][]byte{
	[]byte("\x7fELF"),
	[]byte("MZ"),
	{0xfe, 0xed, 0xfa, 0xce}, {0xfe, 0xed, 0xfa, 0xcf}, {0xce, 0xfa, 0xed, 0xfe}, {0xcf, 0xfa, 0xed, 0xfe}, // Mach-O
}

// Analyze implements analyzer.Analyzer. Files that are not executables, or
// executables not built by Go, give an empty result; a Go executable whose
// build information cannot be read gives an error.
func (Analyzer) Analyze(_ context.Context, in analyzer.Input) (analyzer.Result, error) {
	var head [4]byte
	n, err := io.ReadFull(in.Content, head[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return analyzer.Result{}, fmt.Errorf("analyze %s: %w", in.Path, err)
	}
	known := false
	for _, m := range magics {
		known = known || bytes.HasPrefix(head[:n], m)
	}
	if !known {
		return analyzer.Result{}, nil
	}
	var content io.ReaderAt
	if ra, ok := in.Content.(io.ReaderAt); ok && in.Size > 0 {
		// The content is already in memory (or a file): read the build
		// information in place rather than copying the executable.
		if in.Size > MaxSize {
			return analyzer.Result{}, fmt.Errorf("analyze %s: %w", in.Path, ErrTooLarge)
		}
		content = io.NewSectionReader(ra, 0, in.Size)
	} else {
		// bytes.MinRead of slack: ReadFrom grows the buffer when less is free.
		buf := bytes.NewBuffer(make([]byte, 0, max(in.Size, 4)+bytes.MinRead))
		buf.Write(head[:n])
		if _, err := io.Copy(buf, io.LimitReader(in.Content, MaxSize-int64(n)+1)); err != nil {
			return analyzer.Result{}, fmt.Errorf("analyze %s: %w", in.Path, err)
		}
		if buf.Len() > MaxSize {
			return analyzer.Result{}, fmt.Errorf("analyze %s: %w", in.Path, ErrTooLarge)
		}
		content = bytes.NewReader(buf.Bytes())
	}
	bi, err := buildinfo.Read(content)
	if err != nil {
		if strings.Contains(err.Error(), "not a Go executable") {
			return analyzer.Result{}, nil
		}
		return analyzer.Result{}, fmt.Errorf("analyze %s: read build info: %w", in.Path, err)
	}
	return analyzer.Result{Packages: Packages(bi, in.Path)}, nil
}

// Packages converts build information into packages: the main module, every
// dependency (its replacement when replaced) and the Go standard library.
func Packages(bi *buildinfo.BuildInfo, file string) []analyzer.Package {
	var pkgs []analyzer.Package
	add := func(p, v string, indirect bool) {
		pkgs = append(pkgs, analyzer.Package{
			Type: analyzer.TypeGoBinary, Name: p, Version: v, Indirect: indirect,
			FilePath: file, PURL: purl(p, v),
		})
	}
	if bi.Main.Path != "" {
		v := bi.Main.Version
		if v == "(devel)" {
			v = ""
		}
		add(bi.Main.Path, v, false)
	}
	for _, d := range bi.Deps {
		if r := d.Replace; r != nil {
			if r.Version == "" { // replaced by a local directory: version unknown
				r = &debug.Module{Path: d.Path}
			}
			d = r
		}
		add(d.Path, d.Version, true)
	}
	if gv := strings.Fields(bi.GoVersion); len(gv) > 0 && strings.HasPrefix(gv[0], "go") {
		add("stdlib", "v"+strings.TrimPrefix(gv[0], "go"), true)
	}
	return pkgs
}

func purl(modPath, version string) string {
	ns, name := path.Split(modPath)
	return analyzer.PURL("golang", strings.TrimSuffix(ns, "/"), name, version, nil)
}
