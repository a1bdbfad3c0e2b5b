package receivepack

import (
	"crypto/rand"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// fullDisk is a writer that takes limit bytes and then fails as a write
// to a full file system does.
type fullDisk struct {
	w     io.Writer
	limit int64
}

func (d *fullDisk) Write(p []byte) (int, error) {
	if int64(len(p)) > d.limit {
		n, _ := d.w.Write(p[:d.limit])
		d.limit = 0
		return n, &fs.PathError{Op: "write", Path: "/srv/depot/repos/secret/path.pack", Err: syscall.ENOSPC}
	}
	d.limit -= int64(len(p))
	return d.w.Write(p)
}

// TestPushDiskFull injects a full disk under the received pack (the
// end-to-end TestDiskFull of cmd/depot fills a real tmpfs): the real git
// client is refused with a reason it prints, and neither the quarantine,
// a pack nor a ref is left.
func TestPushDiskFull(t *testing.T) {
	for _, limit := range []int64{0, 100, 20 << 10} {
		e := newEnv(t)
		c1 := e.commit(e.work, "first", map[string]string{"a.txt": "1\n"})
		e.git(e.work, "push", "origin", "main")
		packs, _ := os.ReadDir(filepath.Join(e.bare, "objects", "pack"))

		b := make([]byte, 256<<10)
		rand.Read(b)
		e.commit(e.work, "big", map[string]string{"big": string(b)})
		e.srv.setOptions(Options{packWriter: func(w io.Writer) io.Writer { return &fullDisk{w: w, limit: limit} }})
		out, err := e.gitErr(e.work, "push", "origin", "main")
		if err == nil {
			t.Fatalf("limit %d: push into a full disk succeeded:\n%s", limit, out)
		}
		if !strings.Contains(out, "remote unpack failed: no space left on the server's disk") || strings.Contains(out, "/srv/depot") {
			t.Fatalf("limit %d: git shows\n%s\nwant the reason, without a path of the server", limit, out)
		}
		if got := e.serverRef("refs/heads/main"); got != c1 {
			t.Fatalf("limit %d: main = %s; want %s", limit, got, c1)
		}
		after, _ := os.ReadDir(filepath.Join(e.bare, "objects", "pack"))
		if len(after) != len(packs) {
			t.Fatalf("limit %d: pack directory had %d files, has %d", limit, len(packs), len(after))
		}
		if left, _ := filepath.Glob(filepath.Join(e.bare, "objects", "incoming-*")); len(left) > 0 {
			t.Fatalf("limit %d: quarantine left: %v", limit, left)
		}
		e.srv.setOptions(Options{})
		e.git(e.work, "push", "origin", "main")
		e.fsck()
	}
}
