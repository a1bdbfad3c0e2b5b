package packfile

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// TestWriterLevels writes one large and one small blob at each level
// SetLevel takes, and a level out of range: git index-pack accepts every
// pack and reads back the blobs, and the large entry's size follows the
// level (the small one is always BestSpeed), so the level is the one used.
func TestWriterLevels(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var big strings.Builder
	words := []string{"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"}
	for big.Len() < 256<<10 {
		fmt.Fprintf(&big, "%s %d\n", words[rng.IntN(len(words))], rng.IntN(1000))
	}
	small := "a small blob\n"
	sizes := map[int]int64{}
	for _, level := range []int{zlib.DefaultCompression, zlib.BestSpeed, 3, zlib.BestCompression, 42} {
		t.Run(fmt.Sprint(level), func(t *testing.T) {
			var buf bytes.Buffer
			w, err := NewWriter(&buf, 2)
			if err != nil {
				t.Fatal(err)
			}
			w.SetLevel(level)
			var bigSize int64
			for _, content := range []string{big.String(), small} {
				start := w.Offset()
				if err := w.BeginEntry(plumbing.BlobObject, int64(len(content)), nil); err != nil {
					t.Fatal(err)
				}
				if err := w.Deflate(int64(len(content)), strings.NewReader(content)); err != nil {
					t.Fatal(err)
				}
				if content != small {
					bigSize = w.Offset() - start
				}
			}
			if _, err := w.Close(); err != nil {
				t.Fatal(err)
			}
			sizes[level] = bigSize
			dir := t.TempDir()
			path := filepath.Join(dir, "p.pack")
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command("git", "index-pack", path).CombinedOutput(); err != nil {
				t.Fatalf("git index-pack: %v\n%s", err, out)
			}
			out, err := exec.Command("git", "verify-pack", "-v", path).CombinedOutput()
			if err != nil || strings.Count(string(out), " blob ") != 2 {
				t.Fatalf("git verify-pack: %v\n%s", err, out)
			}
		})
	}
	if sizes[42] != sizes[zlib.DefaultCompression] {
		t.Errorf("level 42 wrote %d bytes, the default %d; want the default", sizes[42], sizes[zlib.DefaultCompression])
	}
	if !(sizes[zlib.BestSpeed] > sizes[3] && sizes[3] > sizes[zlib.DefaultCompression]) {
		t.Errorf("sizes by level = %v; want BestSpeed > 3 > default", sizes)
	}
}

// TestWriteRevMatchesGit writes the reverse index of a pack git made and
// compares it byte for byte with the one git index-pack --rev-index
// writes for the same pack.
func TestWriteRevMatchesGit(t *testing.T) {
	src := gitPack(t)
	dir := t.TempDir()
	path := filepath.Join(dir, filepath.Base(src))
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("git", "index-pack", "--rev-index", path).CombinedOutput(); err != nil {
		t.Fatalf("git index-pack --rev-index: %v\n%s", err, out)
	}
	want, err := os.ReadFile(strings.TrimSuffix(path, ".pack") + ".rev")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	offsets := make([]int64, p.Index.Count())
	for i := range offsets {
		offsets[i] = p.Index.Offset(i)
	}
	var got bytes.Buffer
	if err := WriteRev(&got, offsets, p.Index.PackSum); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("WriteRev wrote %d bytes differing from git's %d", got.Len(), len(want))
	}
}
