package scanner

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/scan/analyzer/catalog"
	"github.com/vigilsec/vigil/internal/scan/image"
	"github.com/vigilsec/vigil/internal/scan/passwd"
	"github.com/vigilsec/vigil/internal/scan/scanner/scantest"
)

// TestScanImageParallelSameResult scans the test image (docker archive)
// one layer at a time and with layers read ahead: every finding, package,
// error and count must be the same.
func TestScanImageParallelSameResult(t *testing.T) {
	dir := t.TempDir()
	built := scantest.BuildImage(t, dir)
	db := openDB(t, dir)
	scan := func(parallel int) *Result {
		img, err := image.Open(built.DockerTar)
		require.NoError(t, err)
		var progress []Progress
		res, err := ScanImage(context.Background(), img, "img", Options{Scanners: allKinds(), Analyzers: catalog.All(), DB: db,
			Passwd: &passwd.Checker{Words: []string{scantest.WeakRootPasswd}}, Parallel: parallel,
			Progress: func(p Progress) { progress = append(progress, p) }})
		require.NoError(t, err)
		require.NotEmpty(t, progress, "progress reported")
		return res
	}
	want := scan(1)
	require.NotEmpty(t, want.Packages)
	require.NotEmpty(t, want.Vulnerabilities)
	require.NotEmpty(t, want.Passwords)
	for _, parallel := range []int{2, 3} {
		got := scan(parallel)
		require.Empty(t, cmp.Diff(want, got, cmpopts.EquateEmpty()), "parallel %d", parallel)
		require.Equal(t, want.Stats, got.Stats, "parallel %d", parallel)
	}
}

func TestReadAtMost(t *testing.T) {
	broken := errors.New("broken")
	for _, tc := range []struct {
		name    string
		capHint int
		r       io.Reader
		max     int64
		want    string
		err     error
	}{
		{"fits", 16, strings.NewReader("hello"), 100, "hello", nil},
		{"cut at max", 16, strings.NewReader("hello world"), 5, "hello", nil},
		{"grows past the capacity", 2, strings.NewReader("a file that grew"), 100, "a file that grew", nil},
		{"empty", 0, strings.NewReader(""), 10, "", nil},
		{"read error keeps what came", 8, io.MultiReader(strings.NewReader("part"), iotest.ErrReader(broken)), 100, "part", broken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readAtMost(make([]byte, 0, tc.capHint), iotest.OneByteReader(tc.r), tc.max)
			require.ErrorIs(t, err, tc.err)
			require.Equal(t, tc.want, string(got))
		})
	}
}
