package rpm

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/url"

	_ "modernc.org/sqlite" // rpmdb.sqlite
)

// ErrFormat is wrapped by errors about a file that is not an rpm database
// in a known format, or is corrupt.
var ErrFormat = errors.New("not a readable rpm database")

// format of an rpm database, detected from its first bytes.
type format int

const (
	formatUnknown format = iota
	formatSQLite
	formatNDB
	formatBDB
)

func (f format) String() string {
	return [...]string{"unknown", "sqlite", "ndb", "bdb"}[f]
}

const (
	ndbMagic   = 'R' | 'p'<<8 | 'm'<<16 | 'P'<<24
	ndbSlot    = 'S' | 'l'<<8 | 'o'<<16 | 't'<<24
	ndbBlob    = 'B' | 'l'<<8 | 'b'<<16 | 'S'<<24
	ndbPage    = 4096
	bdbHash    = 0x061561
	bdbHashPg  = 13 // P_HASH
	bdbHashOld = 2  // P_HASH_UNSORTED (RHEL 5)
	bdbOvPg    = 7  // P_OVERFLOW
	bdbOffPage = 3  // H_OFFPAGE item
	bdbPageHdr = 26
)

func detect(head []byte) format {
	switch {
	case len(head) >= 16 && string(head[:16]) == "SQLite format 3\x00":
		return formatSQLite
	case len(head) >= 4 && binary.LittleEndian.Uint32(head) == ndbMagic:
		return formatNDB
	case len(head) >= 16 && (binary.LittleEndian.Uint32(head[12:]) == bdbHash || binary.BigEndian.Uint32(head[12:]) == bdbHash):
		return formatBDB
	}
	return formatUnknown
}

// blobs calls fn with each package header blob of the database at path,
// of size bytes, in format f.
func blobs(ctx context.Context, path string, f format, r io.ReaderAt, size int64, fn func([]byte) error) error {
	switch f {
	case formatSQLite:
		return sqliteBlobs(ctx, path, fn)
	case formatNDB:
		return ndbBlobs(r, size, fn)
	case formatBDB:
		return bdbBlobs(ctx, r, size, fn)
	}
	return fmt.Errorf("%w: unknown format", ErrFormat)
}

func sqliteBlobs(ctx context.Context, path string, fn func([]byte) error) error {
	u := url.URL{Scheme: "file", Path: path, RawQuery: "mode=ro&immutable=1"}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return fmt.Errorf("%w: sqlite: %v", ErrFormat, err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SELECT blob FROM Packages")
	if err != nil {
		return fmt.Errorf("%w: sqlite: %v", ErrFormat, err)
	}
	defer rows.Close()
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return fmt.Errorf("%w: sqlite: %v", ErrFormat, err)
		}
		if err := fn(b); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%w: sqlite: %v", ErrFormat, err)
	}
	return nil
}

// ndbBlobs reads rpm's "ndb" Packages.db: a 32-byte header (magic, version,
// generation, number of slot pages), 16-byte slots (magic, package index,
// block offset, block count) filling the slot pages, and blobs at block
// offset × 16 with a 16-byte head (magic, package index, generation,
// length). All little-endian.
func ndbBlobs(r io.ReaderAt, size int64, fn func([]byte) error) error {
	var hdr [32]byte
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		return fmt.Errorf("%w: ndb header: %v", ErrFormat, err)
	}
	le := binary.LittleEndian
	if v := le.Uint32(hdr[4:]); v != 0 {
		return fmt.Errorf("%w: ndb version %d", ErrFormat, v)
	}
	npages := int64(le.Uint32(hdr[12:]))
	if npages == 0 || npages*ndbPage > size {
		return fmt.Errorf("%w: ndb: %d slot pages in a %d-byte file", ErrFormat, npages, size)
	}
	slots := make([]byte, npages*ndbPage)
	if _, err := r.ReadAt(slots, 0); err != nil {
		return fmt.Errorf("%w: ndb slots: %v", ErrFormat, err)
	}
	var bh [16]byte
	for off := 32; off+16 <= len(slots); off += 16 {
		s := slots[off:]
		if le.Uint32(s) != ndbSlot {
			return fmt.Errorf("%w: ndb slot at byte %d: bad magic", ErrFormat, off)
		}
		idx, blk := le.Uint32(s[4:]), int64(le.Uint32(s[8:]))
		if idx == 0 {
			continue
		}
		pos := blk * 16
		if _, err := r.ReadAt(bh[:], pos); err != nil {
			return fmt.Errorf("%w: ndb blob of package %d at byte %d: %v", ErrFormat, idx, pos, err)
		}
		n := int64(le.Uint32(bh[12:]))
		if le.Uint32(bh[:]) != ndbBlob || le.Uint32(bh[4:]) != idx || n > maxHeaderData || pos+16+n > size {
			return fmt.Errorf("%w: ndb blob of package %d at byte %d: bad head", ErrFormat, idx, pos)
		}
		b := make([]byte, n)
		if _, err := r.ReadAt(b, pos+16); err != nil {
			return fmt.Errorf("%w: ndb blob of package %d: %v", ErrFormat, idx, err)
		}
		if err := fn(b); err != nil {
			return err
		}
	}
	return nil
}

// bdbBlobs reads a Berkeley DB hash database (rpm's legacy Packages): the
// metadata page gives the page size and last page; hash pages list
// key/value items, and each package header is an off-page value stored in
// a chain of overflow pages. Byte order follows the metadata magic.
func bdbBlobs(ctx context.Context, r io.ReaderAt, size int64, fn func([]byte) error) error {
	var meta [72]byte
	if _, err := r.ReadAt(meta[:], 0); err != nil {
		return fmt.Errorf("%w: bdb metadata: %v", ErrFormat, err)
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if binary.BigEndian.Uint32(meta[12:]) == bdbHash {
		bo = binary.BigEndian
	}
	psize := int64(bo.Uint32(meta[20:]))
	last := int64(bo.Uint32(meta[32:]))
	if psize < 512 || psize > 65536 || psize&(psize-1) != 0 {
		return fmt.Errorf("%w: bdb page size %d", ErrFormat, psize)
	}
	if (last+1)*psize > size {
		return fmt.Errorf("%w: bdb: last page %d beyond the %d-byte file", ErrFormat, last, size)
	}
	page := make([]byte, psize)
	hashPages := 0
	ov := make([]byte, psize)
	for pg := int64(1); pg <= last; pg++ {
		if pg%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if _, err := r.ReadAt(page, pg*psize); err != nil {
			return fmt.Errorf("%w: bdb page %d: %v", ErrFormat, pg, err)
		}
		if t := page[25]; t != bdbHashPg && t != bdbHashOld {
			continue
		}
		hashPages++
		n := int(bo.Uint16(page[20:]))
		if bdbPageHdr+2*n > len(page) {
			return fmt.Errorf("%w: bdb page %d: %d entries", ErrFormat, pg, n)
		}
		for i := 1; i < n; i += 2 { // keys at even, values at odd indexes
			off := int(bo.Uint16(page[bdbPageHdr+2*i:]))
			if off >= len(page) || page[off] != bdbOffPage {
				continue // an inline value: the header-instance counter
			}
			if off+12 > len(page) {
				return fmt.Errorf("%w: bdb page %d item %d at %d", ErrFormat, pg, i, off)
			}
			next, total := int64(bo.Uint32(page[off+4:])), int64(bo.Uint32(page[off+8:]))
			if total > maxHeaderData || total > size {
				return fmt.Errorf("%w: bdb page %d item %d: %d bytes", ErrFormat, pg, i, total)
			}
			b := make([]byte, 0, total)
			for hops := int64(0); next != 0 && int64(len(b)) < total; hops++ {
				if next > last || hops > last {
					return fmt.Errorf("%w: bdb overflow chain from page %d reaches page %d", ErrFormat, pg, next)
				}
				if _, err := r.ReadAt(ov, next*psize); err != nil {
					return fmt.Errorf("%w: bdb page %d: %v", ErrFormat, next, err)
				}
				used := int64(bo.Uint16(ov[22:]))
				if ov[25] != bdbOvPg || bdbPageHdr+used > psize || int64(len(b))+used > total {
					return fmt.Errorf("%w: bdb overflow page %d", ErrFormat, next)
				}
				b = append(b, ov[bdbPageHdr:bdbPageHdr+used]...)
				next = int64(bo.Uint32(ov[16:]))
			}
			if int64(len(b)) != total {
				return fmt.Errorf("%w: bdb value on page %d: %d of %d bytes", ErrFormat, pg, len(b), total)
			}
			if err := fn(b); err != nil {
				return err
			}
		}
	}
	if hashPages == 0 && last > 0 {
		return fmt.Errorf("%w: bdb: none of %d pages is a hash page", ErrFormat, last)
	}
	return nil
}
