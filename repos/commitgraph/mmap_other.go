//go:build !unix

package commitgraph

import (
	"fmt"
	"io"
	"os"
)

// mapRange reads length bytes of f at off into memory where mmap is not
// available.
func mapRange(f *os.File, off, length int64) ([]byte, func() error, error) {
	if int64(int(length)) != length {
		return nil, nil, corruptf("chunk too large to read")
	}
	b := make([]byte, length)
	if _, err := io.ReadFull(io.NewSectionReader(f, off, length), b); err != nil {
		return nil, nil, fmt.Errorf("commitgraph: read %s: %w", f.Name(), err)
	}
	return b, func() error { return nil }, nil
}
