package packwrite_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/depot/depot/repos/git/bitmap"
	"github.com/depot/depot/repos/git/odb"
	"github.com/depot/depot/repos/git/packfile"
	"github.com/depot/depot/repos/git/packwrite"
	"github.com/go-git/go-git/v5/plumbing"
)

func git(tb testing.TB, dir string, stdin []byte, args ...string) string {
	tb.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir, "GIT_CONFIG_NOSYSTEM=1", "LC_ALL=C")
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		tb.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return strings.TrimSpace(out.String())
}

// deltaRepo builds a bare repository of one pack dense with OFS_DELTA
// chains (files rewritten a little in every commit, repacked with a deep
// window), plus loose objects similar to packed ones.
func deltaRepo(tb testing.TB) (dir string, loose []plumbing.Hash) {
	tb.Helper()
	dir = filepath.Join(tb.TempDir(), "src.git")
	git(tb, filepath.Dir(dir), nil, "init", "-q", "--bare", "-b", "main", dir)
	var s bytes.Buffer
	for i := 1; i <= 120; i++ {
		fmt.Fprintf(&s, "commit refs/heads/main\nmark :%d\ncommitter T <t@example.com> %d +0000\ndata 3\nc%d\n", i, 1700000000+i, i%10)
		if i > 1 {
			fmt.Fprintf(&s, "from :%d\n", i-1)
		}
		for k := range 2 {
			f := (i*5 + k) % 12
			body := strings.Repeat(fmt.Sprintf("file %d line\n", f), 40) + fmt.Sprintf("changed by %d\n", i)
			fmt.Fprintf(&s, "M 100644 inline d%d/f%d.txt\ndata %d\n%s\n", f%3, f, len(body), body)
		}
	}
	git(tb, dir, s.Bytes(), "fast-import", "--quiet")
	git(tb, dir, nil, "repack", "-q", "-a", "-d", "-f", "--window=50", "--depth=50")
	for i := range 5 {
		body := strings.Repeat(fmt.Sprintf("file %d line\n", i), 40) + "loose\n"
		h := git(tb, dir, []byte(body), "hash-object", "-w", "--stdin")
		loose = append(loose, plumbing.NewHash(h))
	}
	return dir, loose
}

// indexed is what git index-pack made of a pack: each object's offset and
// CRC.
type indexed map[plumbing.Hash][2]uint64

// indexPack feeds pack to git index-pack in a fresh repository whose
// alternate is src (so that a thin pack can be completed) and reads back
// the objects of the resulting index.
func indexPack(tb testing.TB, src string, pack []byte, thin bool) (indexed, string) {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "dst.git")
	git(tb, filepath.Dir(dir), nil, "init", "-q", "--bare", dir)
	if err := os.WriteFile(filepath.Join(dir, "objects", "info", "alternates"), []byte(filepath.Join(src, "objects")+"\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	args := []string{"index-pack", "--stdin", "--strict"}
	if thin {
		args = append(args, "--fix-thin")
	}
	sum := strings.Fields(git(tb, dir, pack, args...))[1]
	path := filepath.Join(dir, "objects", "pack", "pack-"+sum+".pack")
	idx, err := os.ReadFile(strings.TrimSuffix(path, ".pack") + ".idx")
	if err != nil {
		tb.Fatal(err)
	}
	got := indexed{}
	for _, line := range strings.Split(git(tb, dir, idx, "show-index"), "\n") {
		f := strings.Fields(line) // offset id (crc)
		off, _ := strconv.ParseUint(f[0], 10, 64)
		crc, _ := strconv.ParseUint(strings.Trim(f[2], "()"), 16, 32)
		got[plumbing.NewHash(f[1])] = [2]uint64{off, crc}
	}
	return got, path
}

// TestWriteReuse sends subsets of a pack through Options.Reuse, with and
// without listed objects, OFS_DELTA and thin-pack bases, and checks with
// git index-pack --strict that each pack holds exactly the chosen objects.
func TestWriteReuse(t *testing.T) {
	t.Parallel()
	src, loose := deltaRepo(t)
	db, err := odb.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	packs := db.Packs()
	if len(packs) != 1 {
		t.Fatalf("fixture has %d packs; want 1", len(packs))
	}
	pk := packs[0]
	n := pk.Index.Count()
	name := func(rank int) plumbing.Hash { return pk.Index.Name(int(pk.ByOffset()[rank])) }

	for _, tt := range []struct {
		name    string
		density float64 // share of the pack in the set
		ofs     bool
		thin    bool
		listed  bool // loose objects listed besides the set
		index   bool
	}{
		{"All", 1, true, false, false, false},
		{"AllIndexed", 1, true, false, false, true},
		{"AllPlusLoose", 1, true, false, true, true},
		{"MostOFS", 0.9, true, false, true, true},
		{"MostREF", 0.9, false, false, true, false},
		{"HalfOFS", 0.5, true, false, false, true},
		{"HalfThin", 0.5, true, true, false, false},
		{"SparseThinREF", 0.1, false, true, true, false},
		{"None", 0, true, false, true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, uint64(tt.density*100)))
			set := bitmap.NewSet(n)
			want := map[plumbing.Hash]bool{}
			for r := range n {
				if rng.Float64() < tt.density {
					set.Add(r)
					want[name(r)] = true
				}
			}
			var listed []plumbing.Hash
			if tt.listed {
				listed = loose
				for _, h := range loose {
					want[h] = true
				}
			}
			opt := packwrite.Options{OFSDelta: tt.ofs, Index: tt.index, Reuse: &packwrite.Reuse{Pack: pk, Set: set}}
			if tt.thin {
				opt.ClientHas = func(h plumbing.Hash) bool { return !want[h] }
			}
			var buf bytes.Buffer
			res, err := packwrite.Write(context.Background(), db, &buf, listed, opt)
			if err != nil {
				t.Fatal(err)
			}
			if res.Total != len(want) {
				t.Errorf("Stats.Total = %d; want %d", res.Total, len(want))
			}
			if tt.density >= 0.5 && res.ReusedDeltas == 0 {
				t.Errorf("no stored delta was reused: %+v", res.Stats)
			}
			got, path := indexPack(t, src, buf.Bytes(), tt.thin)
			if types := entryTypes(t, path); !tt.ofs && types[plumbing.OFSDeltaObject] > 0 {
				t.Errorf("%d OFS_DELTA entries sent to a client without ofs-delta", types[plumbing.OFSDeltaObject])
			} else if tt.ofs && !tt.thin && types[plumbing.REFDeltaObject] > 0 {
				t.Errorf("%d REF_DELTA entries where OFS_DELTA was allowed", types[plumbing.REFDeltaObject])
			}
			for h := range want {
				if _, ok := got[h]; !ok {
					t.Errorf("object %s missing from the pack", h)
				}
			}
			if !tt.thin && len(got) != len(want) {
				t.Errorf("pack holds %d objects; want %d", len(got), len(want))
			}
			if tt.index {
				if len(res.Entries) != len(want) {
					t.Fatalf("%d index entries; want %d", len(res.Entries), len(want))
				}
				for _, e := range res.Entries {
					if g := got[e.Hash]; g != [2]uint64{uint64(e.Offset), uint64(e.CRC)} {
						t.Errorf("entry %s at %d crc %08x; git says %d %08x", e.Hash, e.Offset, e.CRC, g[0], g[1])
					}
				}
			}
		})
	}

	t.Run("Overlap", func(t *testing.T) {
		set := bitmap.NewSet(n)
		set.Add(3)
		opt := packwrite.Options{OFSDelta: true, Reuse: &packwrite.Reuse{Pack: pk, Set: set}}
		_, err := packwrite.Write(context.Background(), db, &bytes.Buffer{}, []plumbing.Hash{name(3)}, opt)
		if err == nil || !strings.Contains(err.Error(), "both listed and in the reuse set") {
			t.Errorf("Write with an object both listed and reused = %v; want an error", err)
		}
	})
}

// entryTypes returns the stored type of every entry of the pack git
// index-pack wrote at path, read with the repository's own pack reader.
func entryTypes(t *testing.T, path string) map[plumbing.ObjectType]int {
	t.Helper()
	p, err := packfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	types := map[plumbing.ObjectType]int{}
	for i := range p.Index.Count() {
		e, err := p.Entry(p.Index.Offset(i))
		if err != nil {
			t.Fatal(err)
		}
		types[e.Type]++
	}
	return types
}

// BenchmarkWriteReuse streams nine tenths of a pack through Options.Reuse,
// the path of a clone planned from a bitmap: verbatim entries, OFS_DELTA
// distances rewritten across the gaps, the rest deferred.
func BenchmarkWriteReuse(b *testing.B) {
	src, _ := deltaRepo(b)
	db, err := odb.Open(src)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	pk := db.Packs()[0]
	set := bitmap.NewSet(pk.Index.Count())
	rng := rand.New(rand.NewPCG(1, 2))
	for r := range pk.Index.Count() {
		if rng.IntN(10) != 0 {
			set.Add(r)
		}
	}
	opt := packwrite.Options{OFSDelta: true, Reuse: &packwrite.Reuse{Pack: pk, Set: set}}
	b.SetBytes(pk.Size())
	for b.Loop() {
		if _, err := packwrite.Write(context.Background(), db, io.Discard, nil, opt); err != nil {
			b.Fatal(err)
		}
	}
}
