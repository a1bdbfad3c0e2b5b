package packfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// gitPack builds a small repository with deltas and returns its .pack path.
func gitPack(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	env := append(os.Environ(), "HOME="+dir, "GIT_CONFIG_NOSYSTEM=1")
	run := func(stdin string, args ...string) {
		cmd := exec.Command("git", args...)
		cmd.Dir, cmd.Env = dir, env
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			tb.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	run("", "init", "-q", "--bare", ".")
	var s strings.Builder
	for i := 1; i <= 30; i++ {
		c := strings.Repeat(fmt.Sprintf("line for version %d\n", i%3), 200) + fmt.Sprint(i)
		fmt.Fprintf(&s, "commit refs/heads/main\ncommitter T <t@e> %d +0000\ndata 2\nc\n", 1700000000+i)
		fmt.Fprintf(&s, "M 100644 inline f.txt\ndata %d\n%s\n", len(c), c)
	}
	run(s.String(), "fast-import", "--quiet")
	run("", "repack", "-q", "-a", "-d", "-f")
	m, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "*.pack"))
	if len(m) != 1 {
		tb.Fatalf("want one pack, got %v", m)
	}
	return m[0]
}

func TestIndexRoundTrip(t *testing.T) {
	t.Parallel()
	path := gitPack(t)
	p, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var entries []IndexEntry
	for i := 0; i < p.Index.Count(); i++ {
		h := p.Index.Name(i)
		if pos, ok := p.Index.Find(h); !ok || pos != i {
			t.Fatalf("Find(%s) = %d, %v; want %d, true", h, pos, ok, i)
		}
		off := p.Index.Offset(i)
		end, err := p.End(off)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.CheckCRC(i, off, end); err != nil {
			t.Errorf("CheckCRC(%s): %v", h, err)
		}
		entries = append(entries, IndexEntry{h, off, p.Index.CRC(i)})
	}
	if _, ok := p.Index.Find(plumbing.NewHash(strings.Repeat("ff", 20))); ok {
		t.Errorf("Find(ffff...) found an object")
	}
	// Our writer produces git's bytes exactly.
	var buf bytes.Buffer
	if _, err := WriteIndex(&buf, entries, p.Index.PackSum); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(strings.TrimSuffix(path, ".pack") + ".idx")
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("WriteIndex differs from git's .idx (%d vs %d bytes)", buf.Len(), len(want))
	}
	if err := VerifyIndex(buf.Bytes()); err != nil {
		t.Errorf("VerifyIndex: %v", err)
	}
}

func TestIndexLargeOffsets(t *testing.T) {
	t.Parallel()
	entries := []IndexEntry{
		{Hash: plumbing.NewHash(strings.Repeat("01", 20)), Offset: 12, CRC: 1},
		{Hash: plumbing.NewHash(strings.Repeat("80", 20)), Offset: 1<<31 + 5, CRC: 2},
		{Hash: plumbing.NewHash(strings.Repeat("fe", 20)), Offset: 1 << 40, CRC: 3},
	}
	var buf bytes.Buffer
	if _, err := WriteIndex(&buf, append([]IndexEntry(nil), entries...), plumbing.ZeroHash); err != nil {
		t.Fatal(err)
	}
	x, err := ParseIndex(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		i, ok := x.Find(e.Hash)
		if !ok || x.Offset(i) != e.Offset || x.CRC(i) != e.CRC {
			t.Errorf("entry %s: found %v, offset %d, crc %d; want %d, %d", e.Hash, ok, x.Offset(i), x.CRC(i), e.Offset, e.CRC)
		}
	}
}

func TestParseIndexCorrupt(t *testing.T) {
	t.Parallel()
	var good bytes.Buffer
	WriteIndex(&good, []IndexEntry{
		{Hash: plumbing.NewHash(strings.Repeat("01", 20)), Offset: 12},
		{Hash: plumbing.NewHash(strings.Repeat("80", 20)), Offset: 1 << 32},
	}, plumbing.ZeroHash)
	mutate := func(f func(b []byte) []byte) []byte {
		return f(append([]byte(nil), good.Bytes()...))
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"Empty", nil},
		{"Short", good.Bytes()[:100]},
		{"BadMagic", mutate(func(b []byte) []byte { b[0] = 0; return b })},
		{"Version1", mutate(func(b []byte) []byte { b[7] = 1; return b })},
		{"FanoutNotMonotonic", mutate(func(b []byte) []byte { binary.BigEndian.PutUint32(b[8+4*10:], 9); return b })},
		{"TooManyObjects", mutate(func(b []byte) []byte { binary.BigEndian.PutUint32(b[8+4*255:], 1000); return b })},
		{"Truncated", good.Bytes()[:good.Len()-41]},
		{"LargeOffsetOutOfTable", mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[8+1024+2*24+4:], 0x80000005)
			return b
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseIndex(tt.data); !errors.Is(err, ErrCorrupt) {
				t.Errorf("ParseIndex = %v; want ErrCorrupt", err)
			}
		})
	}
	if _, err := ParseIndex(good.Bytes()); err != nil {
		t.Errorf("ParseIndex(good) = %v", err)
	}
}

func TestApplyDelta(t *testing.T) {
	t.Parallel()
	base := []byte("hello, world")
	// base 12, result 11: copy 7 bytes from 0, insert "there".
	good := []byte{12, 12, 0x90, 7, 5, 't', 'h', 'e', 'r', 'e'}
	if got, err := ApplyDelta(base, good); err != nil || string(got) != "hello, there" {
		t.Errorf("ApplyDelta = %q, %v; want \"hello, there\"", got, err)
	}
	for _, tt := range []struct {
		name  string
		delta []byte
	}{
		{"Empty", nil},
		{"BaseSizeMismatch", []byte{5, 1, 1, 'x'}},
		{"CopyOutOfBounds", []byte{12, 20, 0x91, 10, 20}},
		{"TruncatedInsert", []byte{12, 5, 5, 'a'}},
		{"TruncatedCopy", []byte{12, 5, 0x91}},
		{"ZeroInsert", []byte{12, 1, 0}},
		{"ResultSizeMismatch", []byte{12, 3, 1, 'a'}},
		{"HugeResult", []byte{12, 0xff, 0xff, 0xff, 0xff, 0x7f}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ApplyDelta(base, tt.delta); !errors.Is(err, ErrCorrupt) {
				t.Errorf("ApplyDelta = %v; want ErrCorrupt", err)
			}
		})
	}
}

// FuzzEntry checks that no pack bytes make entry parsing or inflating panic.
func FuzzEntry(f *testing.F) {
	f.Add([]byte{0x95, 0x0a, 0x78, 0x9c})
	f.Add([]byte{0x6f, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseEntry(b, 12)
		if err != nil {
			return
		}
		if e.Size < 1<<20 {
			inflate(bytes.NewReader(b[e.DataOffset-12:]), e.Size)
		}
	})
}

func TestRadixSortHigh32(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	perm := rng.Perm(100000)
	keys := make([]uint64, len(perm))
	for i, p := range perm {
		keys[i] = uint64(p)*7919%(1<<32)<<32 | uint64(i)
	}
	want := slices.Clone(keys)
	slices.Sort(want)
	if got := radixSortHigh32(keys, make([]uint64, len(keys))); !slices.Equal(got, want) {
		t.Error("radixSortHigh32 disagrees with slices.Sort")
	}
}

// TestReadWithoutMapping reads every entry both ways (Load with
// InflateStored, Entry with Inflate) and checks that they agree and that
// the pack file itself is never mapped into the process: what a clone
// reads of a pack must stay in the page cache, not in depot's RSS.
func TestReadWithoutMapping(t *testing.T) {
	t.Parallel()
	path := gitPack(t)
	p, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for i := range p.Index.Count() {
		off := p.Index.Offset(i)
		e, stored, err := p.Load(off)
		if err != nil {
			t.Fatal(err)
		}
		a, err := InflateStored(e, stored)
		if err != nil {
			t.Fatalf("InflateStored at %d: %v", off, err)
		}
		e2, err := p.Entry(off)
		if err != nil || e2 != e {
			t.Fatalf("Entry(%d) = %+v, %v; Load says %+v", off, e2, err, e)
		}
		b, err := p.Inflate(e2)
		if err != nil || !bytes.Equal(a, b) {
			t.Fatalf("Inflate at %d = %d bytes, %v; InflateStored gave %d", off, len(b), err, len(a))
		}
	}
	if runtime.GOOS != "linux" {
		return // the mappings are only listed in Linux's /proc
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(maps, []byte(strings.TrimSuffix(path, ".pack")+".idx")) {
		t.Errorf("the .idx is not mapped; the check below would prove nothing")
	}
	if bytes.Contains(maps, []byte(path)) {
		t.Errorf("%s is mapped into the process", path)
	}
}

// TestKnownType records types from several goroutines at once, as
// concurrent fetches do, and reads every one back.
func TestKnownType(t *testing.T) {
	t.Parallel()
	p, err := Open(gitPack(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	n := p.Index.Count()
	want := func(r int) plumbing.ObjectType { return plumbing.ObjectType(1 + r%4) }
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := g; r < n; r += 4 {
				if _, ok := p.KnownType(r); ok {
					t.Errorf("rank %d known before it was set", r)
				}
				p.SetKnownType(r, want(r))
			}
		}()
	}
	wg.Wait()
	for r := range n {
		if got, ok := p.KnownType(r); !ok || got != want(r) {
			t.Errorf("KnownType(%d) = %v, %v; want %v", r, got, ok, want(r))
		}
	}
	if _, ok := p.KnownType(n + 8); ok {
		t.Error("KnownType past the end reported a type")
	}
}

// TestReadMapped reads every entry of a pack opened with OpenMapped in
// each way a reader can, and checks that each agrees with the same pack
// read with pread, that the pack is mapped while open, and unmapped after
// Close.
func TestReadMapped(t *testing.T) {
	t.Parallel()
	path := gitPack(t)
	plain, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	p, err := OpenMapped(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.Mapped(0, 12); !ok {
		t.Fatal("OpenMapped: pack not mapped")
	}
	if _, ok := plain.Mapped(0, 12); ok {
		t.Fatal("Open: pack mapped")
	}
	if _, ok := p.Mapped(0, p.Size()+1); ok {
		t.Error("Mapped past the end of the pack succeeded")
	}
	for i := range p.Index.Count() {
		off := p.Index.Offset(i)
		want, wantStored, err := plain.Load(off)
		if err != nil {
			t.Fatal(err)
		}
		e, stored, err := p.Load(off)
		if err != nil || e != want || !bytes.Equal(stored, wantStored) {
			t.Fatalf("Load(%d) = %+v, %d bytes, %v; pread gives %+v, %d bytes", off, e, len(stored), err, want, len(wantStored))
		}
		if e2, err := p.Entry(off); err != nil || e2 != e {
			t.Fatalf("Entry(%d) = %+v, %v; want %+v", off, e2, err, e)
		}
		a, err := plain.Inflate(e)
		if err != nil {
			t.Fatal(err)
		}
		if b, err := p.Inflate(e); err != nil || !bytes.Equal(a, b) {
			t.Fatalf("Inflate at %d = %d bytes, %v; pread gives %d", off, len(b), err, len(a))
		}
		if b, err := p.InflatePrefix(e, 7); err != nil || !bytes.Equal(b, a[:min(7, len(a))]) {
			t.Fatalf("InflatePrefix at %d = %q, %v; want %q", off, b, err, a[:min(7, len(a))])
		}
		end, _ := p.End(off)
		if err := p.CheckCRC(i, off, end); err != nil {
			t.Fatalf("CheckCRC at %d: %v", off, err)
		}
		raw, err := p.Raw(off, end)
		if wantRaw, _ := plain.Raw(off, end); err != nil || !bytes.Equal(raw, wantRaw) {
			t.Fatalf("Raw(%d, %d) differs from pread, %v", off, end, err)
		}
		if !e.Type.IsDelta() {
			r, err := p.Reader(e)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if _, err := buf.ReadFrom(r); err != nil || !bytes.Equal(buf.Bytes(), a) {
				t.Fatalf("Reader at %d = %d bytes, %v; want %d", off, buf.Len(), err, len(a))
			}
		}
	}
	b := make([]byte, 8)
	if n, err := p.ReadAt(b, p.Size()-4); n != 4 || err == nil {
		t.Errorf("ReadAt across the end = %d, %v; want 4 and an error", n, err)
	}
	if runtime.GOOS != "linux" {
		p.Close()
		return
	}
	mapped := func() bool {
		maps, err := os.ReadFile("/proc/self/maps")
		if err != nil {
			t.Fatal(err)
		}
		return bytes.Contains(maps, []byte(path))
	}
	if !mapped() {
		t.Errorf("%s is not mapped while open", path)
	}
	p.Close()
	if mapped() {
		t.Errorf("%s still mapped after Close", path)
	}
}
