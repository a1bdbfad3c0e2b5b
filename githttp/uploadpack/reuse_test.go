package uploadpack

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestServeWholePack checks that a full clone of a freshly repacked
// repository is the stored pack, sent as is.
func TestServeWholePack(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, stderr := f.clone(t, 2, "--bare")
	if !strings.Contains(stderr, "pack-reused") || strings.Contains(stderr, "pack-reused 0") {
		t.Errorf("clone of a single-pack repository did not reuse the pack:\n%s", stderr)
	}
}

// TestServeMultiPack serves a repository of several packs and loose objects,
// as pushes leave it, and checks the packs with index-pack --strict for
// every delta encoding.
func TestServeMultiPack(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.git.run(f.server, "config", "receive.unpackLimit", "1")
	for i := range 3 {
		writeFile(t, filepath.Join(f.src, "big.txt"), bigFile(10+i))
		f.commit("multi")
		f.push("main")
	}
	f.git.run(f.server, "config", "receive.unpackLimit", "100")
	writeFile(t, filepath.Join(f.src, "small.txt"), "loose\n")
	f.commit("loose")
	f.push("main")
	tip := f.main[len(f.main)-1]
	for _, caps := range []string{"side-band-64k ofs-delta", "side-band-64k"} {
		r, _, err := serveRaw(t, f.server, 0, pkts("want "+tip+" "+caps, "0000", "done"))
		if err != nil {
			t.Fatalf("Serve(%s): %v", caps, err)
		}
		if out, err := indexPack(f.git, emptyRepo(t, f.git), r.pack, "--strict"); err != nil {
			t.Errorf("index-pack --strict (%s): %v\n%s", caps, err, out)
		}
	}
	dir, _ := f.clone(t, 2, "--bare")
	f.fsck(t, dir)
}

// TestServeConcurrentClones runs identical clones at once: they share one
// object list and must all send the same bytes.
func TestServeConcurrentClones(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	body := pkts("command=fetch", "0001", "want "+f.main[5], "ofs-delta", "thin-pack", "done", "0000")
	outs := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var b bytes.Buffer
			if err := Serve(context.Background(), f.server, 2, strings.NewReader(body), &b, Options{}); err != nil {
				t.Errorf("Serve: %v", err)
			}
			outs[i] = b.Bytes()
		}()
	}
	wg.Wait()
	for i := range outs {
		if !bytes.Equal(outs[i], outs[0]) {
			t.Errorf("clone %d differs from clone 0", i)
		}
	}
}

// TestServeCorruptPack damages the stored pack in several places: Serve
// must fail or send a pack git rejects, and never panic.
func TestServeCorruptPack(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	packs, _ := filepath.Glob(filepath.Join(f.server, "objects", "pack", "*.pack"))
	if len(packs) != 1 {
		t.Fatalf("want one pack, got %v", packs)
	}
	orig, err := os.ReadFile(packs[0])
	if err != nil {
		t.Fatal(err)
	}
	body := pkts("want "+f.main[5]+" side-band-64k", "0000", "done")
	for _, at := range []float64{0.01, 0.2, 0.5, 0.8, 0.99} {
		bad := append([]byte(nil), orig...)
		i := 12 + int(at*float64(len(bad)-32))
		for k := i; k < i+8; k++ {
			bad[k] ^= 0x5a
		}
		os.Chmod(packs[0], 0o644)
		if err := os.WriteFile(packs[0], bad, 0o644); err != nil {
			t.Fatal(err)
		}
		r, _, err := serveRaw(t, f.server, 0, body)
		if err == nil {
			if _, ierr := indexPack(f.git, emptyRepo(t, f.git), r.pack, "--strict"); ierr == nil {
				// The damage may hit bytes no wanted object uses.
				t.Logf("corruption at %d went unnoticed by the clone", i)
			}
		}
	}
}
