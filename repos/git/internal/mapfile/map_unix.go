//go:build unix

package mapfile

import (
	"fmt"
	"os"
	"syscall"
)

// CanMap reports whether Map maps files (true) or reads them into memory.
const CanMap = true

// Map maps length bytes of f at off read-only and returns them with the
// function that unmaps them. The pages are shared with the page cache:
// an index or graph costs the process address space rather than heap,
// however many repositories are open. mmap wants a page-aligned offset,
// so the mapping starts at the page holding off.
func Map(f *os.File, off, length int64) ([]byte, func() error, error) {
	if length == 0 {
		return nil, func() error { return nil }, nil
	}
	page := int64(os.Getpagesize())
	start := off &^ (page - 1)
	size := off - start + length
	if off < 0 || length < 0 || int64(int(size)) != size {
		return nil, nil, fmt.Errorf("mapfile: %s: cannot map %d bytes at %d", f.Name(), length, off)
	}
	b, err := syscall.Mmap(int(f.Fd()), start, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, fmt.Errorf("mapfile: mmap %s: %w", f.Name(), err)
	}
	return b[off-start:], func() error { return syscall.Munmap(b) }, nil
}
