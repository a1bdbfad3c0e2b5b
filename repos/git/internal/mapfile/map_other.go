//go:build !unix

package mapfile

import (
	"fmt"
	"io"
	"os"
)

// CanMap reports whether Map maps files (true) or reads them into memory.
const CanMap = false

// Map reads length bytes of f at off into memory where mmap is not
// available.
func Map(f *os.File, off, length int64) ([]byte, func() error, error) {
	if off < 0 || length < 0 || int64(int(length)) != length {
		return nil, nil, fmt.Errorf("mapfile: %s: cannot read %d bytes at %d", f.Name(), length, off)
	}
	b := make([]byte, length)
	if _, err := io.ReadFull(io.NewSectionReader(f, off, length), b); err != nil {
		return nil, nil, fmt.Errorf("mapfile: read %s: %w", f.Name(), err)
	}
	return b, func() error { return nil }, nil
}
