package mapfile

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestMap maps ranges at offsets aligned and not aligned to a page and
// compares them with the file.
func TestMap(t *testing.T) {
	data := make([]byte, 3*os.Getpagesize()+123)
	for i := range data {
		data[i] = byte(i * 7)
	}
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	page := int64(os.Getpagesize())
	for _, r := range [][2]int64{{0, int64(len(data))}, {page, page}, {page + 5, 1000}, {17, 0}, {int64(len(data)) - 3, 3}} {
		b, unmap, err := Map(f, r[0], r[1])
		if err != nil {
			t.Fatalf("Map(%d, %d): %v", r[0], r[1], err)
		}
		if !bytes.Equal(b, data[r[0]:r[0]+r[1]]) {
			t.Errorf("Map(%d, %d) differs from the file", r[0], r[1])
		}
		if err := unmap(); err != nil {
			t.Errorf("unmap: %v", err)
		}
	}
	if _, _, err := Map(f, -1, 10); err == nil {
		t.Error("Map at a negative offset succeeded")
	}
}
