package rpm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/vigilsec/vigil/internal/scan/analyzer"
)

// Header tags and types read from a package header (rpm's rpmtag.h).
const (
	tagName            = 1000
	tagVersion         = 1001
	tagRelease         = 1002
	tagEpoch           = 1003
	tagArch            = 1022
	tagSourceRPM       = 1044
	tagModularityLabel = 5096

	typeInt32       = 4
	typeString      = 6
	typeI18NString  = 9
	maxIndexEntries = 1 << 16
	maxHeaderData   = 256 << 20
)

var errHeader = errors.New("corrupt package header")

// Package fields of one header; Epoch is -1 when absent.
type header struct {
	Name, Version, Release, Arch, SourceRPM, Modularity string
	Epoch                                               int64
}

// parseHeader decodes the header blob stored in an rpm database: a count
// of index entries and a data length (big-endian), the 16-byte entries
// (tag, type, offset, count), then the data.
func parseHeader(b []byte) (header, error) {
	h := header{Epoch: -1}
	if len(b) < 8 {
		return h, fmt.Errorf("%w: %d bytes", errHeader, len(b))
	}
	il, dl := binary.BigEndian.Uint32(b), binary.BigEndian.Uint32(b[4:])
	if il == 0 || il > maxIndexEntries || dl > maxHeaderData || uint64(len(b)) < 8+uint64(il)*16+uint64(dl) {
		return h, fmt.Errorf("%w: %d entries, %d data bytes in a %d-byte blob", errHeader, il, dl, len(b))
	}
	index, data := b[8:8+il*16], b[8+il*16:8+il*16+dl]
	for i := uint32(0); i < il; i++ {
		e := index[i*16:]
		tag, typ, off, count := binary.BigEndian.Uint32(e), binary.BigEndian.Uint32(e[4:]), binary.BigEndian.Uint32(e[8:]), binary.BigEndian.Uint32(e[12:])
		var dst *string
		switch tag {
		case tagName:
			dst = &h.Name
		case tagVersion:
			dst = &h.Version
		case tagRelease:
			dst = &h.Release
		case tagArch:
			dst = &h.Arch
		case tagSourceRPM:
			dst = &h.SourceRPM
		case tagModularityLabel:
			dst = &h.Modularity
		case tagEpoch:
			if typ != typeInt32 || count < 1 || uint64(off)+4 > uint64(len(data)) {
				return h, fmt.Errorf("%w: epoch entry", errHeader)
			}
			h.Epoch = int64(binary.BigEndian.Uint32(data[off:]))
			continue
		default:
			continue
		}
		if typ != typeString && typ != typeI18NString {
			return h, fmt.Errorf("%w: tag %d has type %d, want a string", errHeader, tag, typ)
		}
		if uint64(off) >= uint64(len(data)) {
			return h, fmt.Errorf("%w: tag %d offset %d beyond %d data bytes", errHeader, tag, off, len(data))
		}
		end := bytes.IndexByte(data[off:], 0)
		if end < 0 {
			return h, fmt.Errorf("%w: tag %d string not terminated", errHeader, tag)
		}
		*dst = string(data[off : off+uint32(end)])
	}
	if h.Name == "" || h.Version == "" {
		return h, fmt.Errorf("%w: no name or version", errHeader)
	}
	return h, nil
}

// toPackage converts a header; the source package name and version come
// from the source RPM file name, name-version-release.src.rpm.
func (h header) toPackage() analyzer.Package {
	p := analyzer.Package{Type: analyzer.TypeRPM, Name: h.Name, Version: h.Version, Arch: h.Arch}
	if h.Release != "" {
		p.Version += "-" + h.Release
	}
	if h.Epoch > 0 {
		p.Version = fmt.Sprintf("%d:%s", h.Epoch, p.Version)
	}
	p.SourceName, p.SourceVersion = p.Name, p.Version
	if src, ok := strings.CutSuffix(h.SourceRPM, ".rpm"); ok {
		src = src[:max(0, strings.LastIndexByte(src, '.'))] // drop .src / .nosrc
		if i := strings.LastIndexByte(src, '-'); i > 0 {
			if j := strings.LastIndexByte(src[:i], '-'); j > 0 {
				p.SourceName, p.SourceVersion = src[:j], src[j+1:]
				if h.Epoch > 0 {
					p.SourceVersion = fmt.Sprintf("%d:%s", h.Epoch, p.SourceVersion)
				}
			}
		}
	}
	p.PURL = PURL(p, h.Epoch, "", "")
	return p
}

// PURL returns the package URL of an RPM package: the version without
// epoch, the epoch as a qualifier, and the distribution namespace ("redhat",
// "rocky", "opensuse") and distro qualifier when known.
func PURL(p analyzer.Package, epoch int64, namespace, distro string) string {
	v := p.Version
	q := map[string]string{"arch": p.Arch, "distro": distro}
	if e, rest, ok := strings.Cut(v, ":"); ok && !strings.ContainsAny(e, "-.") {
		v = rest
		q["epoch"] = e
	} else if epoch > 0 {
		q["epoch"] = fmt.Sprint(epoch)
	}
	return analyzer.PURL("rpm", namespace, p.Name, v, q)
}
