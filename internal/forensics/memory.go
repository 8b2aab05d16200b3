package forensics

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// MemRange is one mapping copied (or not) into memory/PID.bin.
type MemRange struct {
	Start  string `json:"start"`
	End    string `json:"end"`
	Perms  string `json:"perms"`
	Path   string `json:"path,omitempty"`
	Offset int64  `json:"file_offset"` // where its bytes start in memory/PID.bin
	Length int64  `json:"length"`      // bytes copied
	Error  string `json:"error,omitempty"`
}

// dumpMemory copies the readable mappings of pid, in address order, into
// memory/PID.bin, at most limit bytes, and lists them in
// memory/PID.ranges.json. It never stops the process.
func dumpMemory(b *bundleWriter, procRoot string, pid int, limit int64) error {
	dir := filepath.Join(procRoot, strconv.Itoa(pid))
	maps, err := os.Open(filepath.Join(dir, "maps"))
	if err != nil {
		return fmt.Errorf("memory of pid %d: %w", pid, err)
	}
	defer maps.Close()
	mem, err := os.Open(filepath.Join(dir, "mem"))
	if err != nil {
		return fmt.Errorf("memory of pid %d: %w", pid, err)
	}
	defer mem.Close()
	out, err := b.create(fmt.Sprintf("memory/%d.bin", pid))
	if err != nil {
		return err
	}
	var ranges []MemRange
	var total int64
	buf := make([]byte, 1<<20)
	sc := bufio.NewScanner(maps)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 5 {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		r := MemRange{Start: lo, End: hi, Perms: f[1], Offset: total}
		if len(f) > 5 {
			r.Path = strings.Join(f[5:], " ")
		}
		switch {
		case !strings.HasPrefix(f[1], "r"):
			r.Error = "not readable"
		case r.Path == "[vvar]" || r.Path == "[vsyscall]" || r.Path == "[vvar_vclock]":
			r.Error = "kernel page, skipped"
		case total >= limit:
			r.Error = fmt.Sprintf("memory limit %d bytes reached", limit)
		default:
			want := int64(end - start)
			if total+want > limit {
				want = limit - total
				r.Error = fmt.Sprintf("truncated at memory limit %d bytes", limit)
			}
			for r.Length < want {
				n := int64(len(buf))
				if n > want-r.Length {
					n = want - r.Length
				}
				// Offsets above 2^63 do not occur in user space mappings.
				got, err := mem.ReadAt(buf[:n], int64(start)+r.Length)
				if got > 0 {
					if _, werr := out.Write(buf[:got]); werr != nil {
						out.f.Close()
						return fmt.Errorf("write memory of pid %d: %w", pid, werr)
					}
					r.Length += int64(got)
				}
				if err != nil {
					r.Error = "read: " + err.Error()
					break
				}
			}
			total += r.Length
		}
		ranges = append(ranges, r)
	}
	if err := out.Close(); err != nil {
		return err
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("memory maps of pid %d: %w", pid, err)
	}
	return b.writeJSON(fmt.Sprintf("memory/%d.ranges.json", pid), ranges)
}
