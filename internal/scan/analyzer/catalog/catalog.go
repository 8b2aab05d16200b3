// Package catalog lists Vigil's analyzers explicitly and runs them over an
// image's visible files.
package catalog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/vigilsec/vigil/internal/scan/analyzer"
	"github.com/vigilsec/vigil/internal/scan/analyzer/apk"
	"github.com/vigilsec/vigil/internal/scan/analyzer/cargo"
	"github.com/vigilsec/vigil/internal/scan/analyzer/dpkg"
	"github.com/vigilsec/vigil/internal/scan/analyzer/gobinary"
	"github.com/vigilsec/vigil/internal/scan/analyzer/gomod"
	"github.com/vigilsec/vigil/internal/scan/analyzer/java"
	"github.com/vigilsec/vigil/internal/scan/analyzer/npm"
	"github.com/vigilsec/vigil/internal/scan/analyzer/osrelease"
	"github.com/vigilsec/vigil/internal/scan/analyzer/php"
	"github.com/vigilsec/vigil/internal/scan/analyzer/python"
	"github.com/vigilsec/vigil/internal/scan/analyzer/rpm"
	"github.com/vigilsec/vigil/internal/scan/analyzer/ruby"
	"github.com/vigilsec/vigil/internal/scan/image"
)

// All returns every analyzer, in a fixed order.
func All() []analyzer.Analyzer {
	return []analyzer.Analyzer{
		osrelease.New(), dpkg.New(), apk.New(), rpm.New(), gobinary.New(),
		gomod.New(), npm.New(), python.New(), java.New(), ruby.New(), php.New(), cargo.New(),
	}
}

// Findings is the merged output of the analyzers over one image.
type Findings struct {
	OS       *analyzer.OS
	Packages []analyzer.Package
	Walk     *image.Report // escaping entries and unreadable layers
	Errors   []error       // analyzer errors, each naming its file
}

// Err joins the analyzer and layer errors.
func (f *Findings) Err() error {
	errs := append([]error{}, f.Errors...)
	if f.Walk != nil {
		errs = append(errs, f.Walk.Err())
	}
	return errors.Join(errs...)
}

// AnalyzeImage walks img once and feeds each visible file to the analyzers
// that want it. Analyzer and layer errors are collected in the findings;
// the returned error is only for failures that stop the walk.
func AnalyzeImage(ctx context.Context, img v1.Image, analyzers []analyzer.Analyzer) (*Findings, error) {
	f := &Findings{}
	var osPath string
	var want []analyzer.Analyzer
	wanted := func(p string, mode fs.FileMode) bool {
		for _, a := range analyzers {
			if a.Wanted(p, mode) {
				return true
			}
		}
		return false
	}
	rep, err := image.Walk(ctx, img, wanted, func(l image.LayerInfo, fi image.FileInfo, r io.Reader) error {
		want = want[:0]
		for _, a := range analyzers {
			if a.Wanted(fi.Path, fi.Mode) {
				want = append(want, a)
			}
		}
		var data []byte
		if len(want) > 1 {
			var err error
			if data, err = io.ReadAll(r); err != nil {
				return err
			}
		}
		for _, a := range want {
			in := analyzer.Input{Path: fi.Path, Mode: fi.Mode, Size: fi.Size, Content: r}
			if data != nil {
				in.Content = bytes.NewReader(data)
			}
			res, err := a.Analyze(ctx, in)
			if err != nil {
				f.Errors = append(f.Errors, fmt.Errorf("layer %s: %w", l.Digest, err))
			}
			if res.OS != nil && (f.OS == nil || fi.Path == "etc/os-release" && osPath != fi.Path) {
				f.OS, osPath = res.OS, fi.Path
			}
			for _, p := range res.Packages {
				p.Layer = l.Digest.String()
				f.Packages = append(f.Packages, p)
			}
		}
		return nil
	})
	f.Walk = rep
	if err != nil {
		return f, err
	}
	if f.OS != nil {
		for i, p := range f.Packages {
			switch {
			case p.Type == analyzer.TypeDpkg && (f.OS.ID == "debian" || f.OS.ID == "ubuntu"):
				f.Packages[i].PURL = dpkg.PURL(p, f.OS.ID, f.OS.ID+"-"+f.OS.VersionID)
			case p.Type == analyzer.TypeApk && f.OS.ID == "alpine":
				f.Packages[i].PURL = apk.PURL(p, "alpine-"+f.OS.VersionID)
			case p.Type == analyzer.TypeRPM:
				f.Packages[i].PURL = rpm.PURL(p, 0, rpm.Namespace(f.OS.ID), f.OS.ID+"-"+f.OS.VersionID)
			}
		}
	}
	return f, nil
}
