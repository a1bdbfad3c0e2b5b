//go:build unix

package repos

import (
	"io/fs"
	"syscall"
)

// inode identifies the directory fi describes, so that a directory
// replaced by another with the same modification time is read again.
func inode(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}
