//go:build unix

package commitgraph

import (
	"fmt"
	"os"
	"syscall"
)

// mapRange maps length bytes of f at off read-only. The pages are shared
// with the page cache, so a graph costs the process address space rather
// than heap, however many repositories are open at once. mmap wants a
// page-aligned offset, so the mapping starts at the page holding off.
func mapRange(f *os.File, off, length int64) ([]byte, func() error, error) {
	if length == 0 {
		return nil, func() error { return nil }, nil
	}
	page := int64(os.Getpagesize())
	start := off &^ (page - 1)
	size := off - start + length
	if int64(int(size)) != size {
		return nil, nil, corruptf("chunk too large to map")
	}
	b, err := syscall.Mmap(int(f.Fd()), start, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, fmt.Errorf("commitgraph: mmap %s: %w", f.Name(), err)
	}
	return b[off-start:], func() error { return syscall.Munmap(b) }, nil
}
