package indexpack

import (
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/depot/depot/repos/git/object"
	"github.com/go-git/go-git/v5/plumbing"
)

// benchPack is the pack BenchmarkIndex indexes, a real one such as a
// clone's:
//
//	go test ./repos/git/indexpack -run XXX -bench Index -benchtime 1x -benchpack /tmp/big.pack
var benchPack = flag.String("benchpack", "", "pack file for BenchmarkIndex")

// BenchmarkIndex indexes -benchpack as receive-pack does, reading the
// links of every commit, tree and tag; without the flag, a small pack of
// many independent delta chains that git writes.
func BenchmarkIndex(b *testing.B) {
	var src []byte
	if *benchPack == "" {
		_, run := gitRepo(b)
		manyChains(run, 40, 0, 12)
		src = []byte(run("main\n", "pack-objects", "--stdout", "-q", "--revs", "--depth=50", "--window=10"))
	} else {
		var err error
		if src, err = os.ReadFile(*benchPack); err != nil {
			b.Fatal(err)
		}
	}
	path := filepath.Join(b.TempDir(), "bench.pack")
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if err := os.WriteFile(path, src, 0o644); err != nil {
			b.Fatal(err)
		}
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			b.Fatal(err)
		}
		_, err = Index(context.Background(), f, io.Discard, Options{
			Budget: NewBudget(96 << 20),
			Object: func() ObjectFunc {
				linked := map[plumbing.Hash]struct{}{}
				var links []plumbing.Hash
				return func(h plumbing.Hash, typ plumbing.ObjectType, data []byte) error {
					links, _ = object.AppendLinks(links[:0], typ, data)
					for _, l := range links {
						linked[l] = struct{}{}
					}
					return nil
				}
			},
		})
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
}
