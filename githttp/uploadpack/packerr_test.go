package uploadpack

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// brokenRepo builds with git a bare repository whose objects are loose
// (pushed in, below git's unpack limit): a small README, and big.bin,
// 512 KiB that do not compress, so that its pack entry alone is larger
// than the server's output buffer. break_ then damages the loose object
// that rev names.
func brokenRepo(t *testing.T, g *gitRunner, break_ func(t *testing.T, path string), rev string) string {
	t.Helper()
	root := t.TempDir()
	src, server := filepath.Join(root, "src"), filepath.Join(root, "server.git")
	g.run(root, "init", "-q", "-b", "main", src)
	g.run(root, "init", "-q", "--bare", "-b", "main", server)
	writeFile(t, filepath.Join(src, "README"), "hello\n")
	big := make([]byte, 512<<10)
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(rnd.Uint32())
	}
	writeFile(t, filepath.Join(src, "big.bin"), string(big))
	g.commitAt(src, fixtureBase, "first")
	g.run(src, "push", "-q", server, "main")
	id := g.run(src, "rev-parse", rev)
	break_(t, filepath.Join(server, "objects", id[:2], id[2:]))
	return server
}

func removeFile(t *testing.T, path string) {
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

// truncateHalf keeps the first half of a loose object: its header still
// reads, its content ends early.
func truncateHalf(t *testing.T, path string) {
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
}

// TestPackFailureReported breaks a repository's objects so that building
// the pack fails, before any byte reached the client or in the middle of
// the pack, and checks that git prints the reason instead of "bad pack
// header" or a bare "early EOF".
func TestPackFailureReported(t *testing.T) {
	t.Parallel()
	g := newGit(t)
	tests := []struct {
		name    string
		rev     string // the object to break
		break_  func(*testing.T, string)
		version int
		want    string // in git's stderr
	}{
		// Planning the pack walks trees: it fails before the pack phase.
		{"MissingTreeV0", "main^{tree}", removeFile, 0, "fatal: remote error: " + abortMsg},
		{"MissingTreeV2", "main^{tree}", removeFile, 2, "fatal: remote error: " + abortMsg},
		// Writing the pack reads blobs: it fails in the pack phase, before
		// a byte went out or in the middle of the pack.
		{"MissingBlobV0", "main:README", removeFile, 0, "fatal: remote error: " + abortMsg},
		{"MissingBlobV2", "main:README", removeFile, 2, "fatal: remote error: " + abortMsg},
		{"TruncatedBlobV0", "main:big.bin", truncateHalf, 0, "remote: fatal: " + abortMsg},
		{"TruncatedBlobV2", "main:big.bin", truncateHalf, 2, "remote: fatal: " + abortMsg},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newTestServer(t, brokenRepo(t, g, tt.break_, tt.rev))
			dst := filepath.Join(t.TempDir(), "clone")
			_, stderr, err := g.try("", nil, "-c", fmt.Sprintf("protocol.version=%d", tt.version), "clone", srv.URL, dst)
			if err == nil {
				t.Fatalf("clone of a broken repository succeeded:\n%s", stderr)
			}
			if !strings.Contains(stderr, tt.want) || strings.Contains(stderr, "bad pack header") {
				t.Errorf("git clone stderr:\n%s\nwant it to contain %q", stderr, tt.want)
			}
			if errs := srv.errors(); len(errs) == 0 {
				t.Errorf("Serve returned no error for a broken repository")
			}
		})
	}
}

// TestPackFailureWithoutSideBand asks for a pack without side-band, where
// an error can be said only while nothing of the response went out.
func TestPackFailureWithoutSideBand(t *testing.T) {
	t.Parallel()
	g := newGit(t)
	tests := []struct {
		name   string
		rev    string
		break_ func(*testing.T, string)
		want   string // the response's start
	}{
		// The NAK still in the buffer is dropped: ERR is what git reads
		// where it expects the NAK.
		{"MissingTree", "main^{tree}", removeFile, pkts("ERR " + abortMsg)},
		// Half a bare pack went out: nothing more can be said.
		{"TruncatedBlob", "main:big.bin", truncateHalf, pkts("NAK") + "PACK"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := brokenRepo(t, g, tt.break_, tt.rev)
			tip := g.run(dir, "rev-parse", "main")
			_, raw, err := serveRaw(t, dir, 0, pkts("want "+tip+" ofs-delta", "0000", "done"))
			if err == nil {
				t.Fatalf("Serve of a broken repository succeeded")
			}
			if !strings.HasPrefix(string(raw), tt.want) {
				t.Errorf("response starts %q; want %q", raw[:min(len(raw), 80)], tt.want)
			}
		})
	}
}
