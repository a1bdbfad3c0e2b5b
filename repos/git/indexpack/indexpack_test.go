package indexpack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/depot/depot/repos/git/packfile"
	"github.com/depot/depot/repos/git/packfile/packtest"
	"github.com/go-git/go-git/v5/plumbing"
)

type indexed struct {
	res  *Result
	idx  []byte
	pack string
	err  error
}

// index runs Index on pack in a temporary directory.
func index(t testing.TB, pack []byte, opt Options) indexed {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "test.pack")
	if err := os.WriteFile(path, pack, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var idx bytes.Buffer
	res, err := Index(context.Background(), f, &idx, opt)
	return indexed{res: res, idx: idx.Bytes(), pack: path, err: err}
}

func packErr(t *testing.T, err error, want string) {
	t.Helper()
	var pe *Error
	if !errors.As(err, &pe) || !strings.Contains(pe.Msg, want) {
		t.Fatalf("Index = %v; want a pack error containing %q", err, want)
	}
}

func blob(s string) plumbing.Hash { return plumbing.ComputeHash(plumbing.BlobObject, []byte(s)) }

// TestDuplicates refuses every pack that holds one object twice: the
// index would list fewer objects than the pack, and every reader after
// would refuse the repository.
func TestDuplicates(t *testing.T) {
	a := "hello, world\n"
	b := "hello, there\n"
	tests := []struct {
		name    string
		entries []packtest.Entry
	}{
		{"WholeTwice", []packtest.Entry{
			{Type: plumbing.BlobObject, Data: []byte(a)},
			{Type: plumbing.BlobObject, Data: []byte(b)},
			{Type: plumbing.BlobObject, Data: []byte(a)},
		}},
		{"WholeThenOfsDelta", []packtest.Entry{
			{Type: plumbing.BlobObject, Data: []byte(a)},
			{Type: plumbing.BlobObject, Data: []byte(b)},
			{Type: plumbing.OFSDeltaObject, OfsBase: 1, Data: packtest.Delta(int64(len(b)), int64(len(a)), packtest.Copy{Off: 0, Size: 7}, "world\n")},
		}},
		{"WholeThenRefDelta", []packtest.Entry{
			{Type: plumbing.BlobObject, Data: []byte(b)},
			{Type: plumbing.BlobObject, Data: []byte(a)},
			{Type: plumbing.REFDeltaObject, RefBase: blob(b), Data: packtest.Delta(int64(len(b)), int64(len(a)), packtest.Copy{Off: 0, Size: 7}, "world\n")},
		}},
		{"TwoDeltasSameResult", []packtest.Entry{
			{Type: plumbing.BlobObject, Data: []byte(b)},
			{Type: plumbing.OFSDeltaObject, OfsBase: 0, Data: packtest.Delta(int64(len(b)), int64(len(a)), packtest.Copy{Off: 0, Size: 7}, "world\n")},
			{Type: plumbing.REFDeltaObject, RefBase: blob(b), Data: packtest.Delta(int64(len(b)), int64(len(a)), "hello, world\n")},
		}},
		{"DeltaOfDeltaSameAsBase", []packtest.Entry{
			{Type: plumbing.BlobObject, Data: []byte(b)},
			{Type: plumbing.OFSDeltaObject, OfsBase: 0, Data: packtest.Delta(int64(len(b)), int64(len(a)), "hello, world\n")},
			{Type: plumbing.OFSDeltaObject, OfsBase: 1, Data: packtest.Delta(int64(len(a)), int64(len(b)), "hello, there\n")},
		}},
		{"Trees", []packtest.Entry{
			{Type: plumbing.TreeObject, Data: nil},
			{Type: plumbing.TreeObject, Data: nil},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			budget := NewBudget(1 << 20)
			got := index(t, packtest.Pack(tc.entries...), Options{Budget: budget})
			packErr(t, got.err, "twice")
			if budget.Free() != 1<<20 {
				t.Errorf("budget has %d bytes free after a refusal; want all of it back", budget.Free())
			}
		})
	}
}

// TestMatchesGit indexes packs git wrote, whole and with deltas, and
// compares the index byte for byte with git index-pack's.
func TestMatchesGit(t *testing.T) {
	git := lookGit(t)
	dir := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(git, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir,
			"GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.com")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("init", "-q", "-b", "main", ".")
	// 60 commits of a growing file and annotated tags on every tenth,
	// written by one git fast-import rather than 126 add, commit and tag
	// runs.
	var text, script strings.Builder
	for i := 0; i < 60; i++ {
		for j := 0; j < 200; j++ {
			text.WriteString("line ")
			text.WriteString(strings.Repeat("x", (i*7+j)%13))
			text.WriteString("\n")
		}
		date := 1700000000 + i*60
		fmt.Fprintf(&script, "commit refs/heads/main\nmark :%d\ncommitter T <t@example.com> %d +0000\ndata 7\ncommit\n", i+1, date)
		for _, f := range []struct{ name, data string }{{"file.txt", text.String()}, {"n.txt", strings.Repeat("n", i)}} {
			fmt.Fprintf(&script, "M 100644 inline %s\ndata %d\n%s\n", f.name, len(f.data), f.data)
		}
		if i%10 == 0 {
			fmt.Fprintf(&script, "tag v%c\nfrom :%d\ntagger T <t@example.com> %d +0000\ndata 4\ntag\n", 'a'+i/10, i+1, date)
		}
	}
	fi := exec.Command(git, "fast-import", "--quiet")
	fi.Dir, fi.Stdin = dir, strings.NewReader(script.String())
	fi.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
	if out, err := fi.CombinedOutput(); err != nil {
		t.Fatalf("git fast-import: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(run("rev-list", "--count", "main")) + " " + strings.Join(strings.Fields(run("tag")), ","); got != "60 va,vb,vc,vd,ve,vf" {
		t.Fatalf("history made: %s commits, tags; want 60 va,...,vf", got)
	}
	for _, depth := range []string{"--depth=0", "--depth=50"} {
		t.Run(depth, func(t *testing.T) {
			list := run("rev-list", "--objects", "--all")
			cmd := exec.Command(git, "pack-objects", "--stdout", depth, "--window=10", "--no-reuse-delta")
			cmd.Dir = dir
			var ids strings.Builder
			for _, l := range strings.Split(strings.TrimSpace(list), "\n") {
				ids.WriteString(strings.Fields(l)[0] + "\n")
			}
			cmd.Stdin = strings.NewReader(ids.String())
			pack, err := cmd.Output()
			if err != nil {
				t.Fatal(err)
			}
			for _, budget := range []int64{64 << 20, 0} {
				got := index(t, pack, Options{Budget: NewBudget(budget)})
				if got.err != nil {
					t.Fatalf("budget %d: %v", budget, got.err)
				}
				gitIdx := gitIndex(t, git, pack)
				if !bytes.Equal(got.idx, gitIdx) {
					t.Fatalf("budget %d: index differs from git's (%d and %d bytes)", budget, len(got.idx), len(gitIdx))
				}
			}
		})
	}
}

// gitIndex returns the .idx git index-pack writes for pack.
func gitIndex(t *testing.T, git string, pack []byte) []byte {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "g.pack")
	os.WriteFile(p, pack, 0o644)
	if out, err := exec.Command(git, "index-pack", p).CombinedOutput(); err != nil {
		t.Fatalf("git index-pack: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "g.idx"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func lookGit(t testing.TB) string {
	p, err := exec.LookPath("git")
	if err != nil {
		t.Fatalf("git is required: %v", err)
	}
	return p
}

// TestSpill resolves chains of large deltas with a budget too small for
// any base, so that every base goes to disk, and checks the objects.
func TestSpill(t *testing.T) {
	const size = 1 << 20
	base := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	entries := []packtest.Entry{{Type: plumbing.BlobObject, Data: base}}
	want := []plumbing.Hash{plumbing.ComputeHash(plumbing.BlobObject, base)}
	prev := base
	for i := 1; i <= 8; i++ {
		// Each link keeps its base but for a new first line, so that
		// every result differs, and has two children: the next link and
		// a small leaf.
		next := append([]byte(strings.Repeat(string(rune('a'+i)), 16)), prev[16:]...)
		entries = append(entries, packtest.Entry{Type: plumbing.OFSDeltaObject, OfsBase: len(entries) - 1 - boolInt(i > 1),
			Data: packtest.Delta(size, size, strings.Repeat(string(rune('a'+i)), 16), packtest.Copy{Off: 16, Size: size - 16})})
		want = append(want, plumbing.ComputeHash(plumbing.BlobObject, next))
		leaf := append(bytes.Clone(next[:100]), 'L', byte(i))
		entries = append(entries, packtest.Entry{Type: plumbing.OFSDeltaObject, OfsBase: len(entries) - 1,
			Data: packtest.Delta(size, 102, packtest.Copy{Off: 0, Size: 100}, "L"+string(rune(i)))})
		want = append(want, plumbing.ComputeHash(plumbing.BlobObject, leaf))
		prev = next
	}
	for _, b := range []int64{0, 100 << 20} {
		budget := NewBudget(b)
		got := index(t, packtest.Pack(entries...), Options{Budget: budget, MaxObjectBytes: 2 * size})
		if got.err != nil {
			t.Fatalf("budget %d: %v", b, got.err)
		}
		var ids []plumbing.Hash
		for _, o := range got.res.Objects {
			ids = append(ids, o.Hash)
		}
		sortHashes(ids)
		sortHashes(want)
		if !slices.Equal(ids, want) {
			t.Fatalf("budget %d: objects %v; want %v", b, ids, want)
		}
		if budget.Free() != b {
			t.Errorf("budget %d: %d free after indexing", b, budget.Free())
		}
		if _, err := packfile.ParseIndex(got.idx); err != nil {
			t.Fatal(err)
		}
		left, _ := filepath.Glob(filepath.Join(filepath.Dir(got.pack), "*"))
		if len(left) != 1 {
			t.Errorf("left behind: %v", left)
		}
	}
	// Spilled bases go to TempDir (the pack's directory by default, so
	// that they land on the repository's disk), and nowhere else: where it
	// cannot be written, a pack that needs to spill is refused, and one
	// that fits the budget is not.
	pack := packtest.Pack(entries...)
	got := index(t, pack, Options{Budget: NewBudget(0), MaxObjectBytes: 2 * size, TempDir: "/nonexistent/depot-spill"})
	if got.err == nil || !strings.Contains(got.err.Error(), "spill") {
		t.Errorf("spilling into a missing TempDir: %v; want a spill error", got.err)
	}
	got = index(t, pack, Options{Budget: NewBudget(100 << 20), MaxObjectBytes: 2 * size, TempDir: "/nonexistent/depot-spill"})
	if got.err != nil {
		t.Errorf("within the budget, TempDir is not needed: %v", got.err)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func sortHashes(h []plumbing.Hash) {
	sort.Slice(h, func(i, j int) bool { return bytes.Compare(h[i][:], h[j][:]) < 0 })
}

// TestDeltaBomb refuses a delta whose result is larger than the maximum
// object size from the size it declares, before making any of it: a 16
// MiB blob and a delta of 64 copies of it would make 1 GiB.
func TestDeltaBomb(t *testing.T) {
	pack := packtest.Bomb(16<<20, 1<<30)
	if len(pack) > 64<<10 {
		t.Fatalf("bomb is %d bytes", len(pack))
	}
	budget := NewBudget(1 << 20)
	got := index(t, pack, Options{Budget: budget})
	packErr(t, got.err, "larger than the maximum object size of 100 MiB")
	if budget.Free() != 1<<20 {
		t.Errorf("%d free; want all", budget.Free())
	}
}

// TestLargeResultStreams resolves a 256 MiB delta result within a 1 MiB
// budget: the result is hashed as it is made and never held.
func TestLargeResultStreams(t *testing.T) {
	const total = 256 << 20
	pack := packtest.Bomb(1<<20, total)
	zeros := make([]byte, 1<<20)
	budget := NewBudget(1 << 20)
	got := index(t, pack, Options{Budget: budget, MaxObjectBytes: 512 << 20})
	if got.err != nil {
		t.Fatal(got.err)
	}
	h := plumbing.NewHasher(plumbing.BlobObject, total)
	for left := total; left > 0; left -= len(zeros) {
		h.Write(zeros)
	}
	if want := h.Sum(); got.res.Objects[1].Hash != want {
		t.Errorf("result %s; want %s", got.res.Objects[1].Hash, want)
	}
	if budget.Free() != 1<<20 {
		t.Errorf("%d free; want all", budget.Free())
	}
}

// TestBadDeltas refuses malformed deltas with a pack error and gives the
// whole budget back.
func TestBadDeltas(t *testing.T) {
	base := []byte("0123456789")
	h := plumbing.ComputeHash(plumbing.BlobObject, base)
	tests := []struct {
		name  string
		delta []byte
		want  string
	}{
		{"WrongBaseSize", packtest.Delta(11, 3, "abc"), "base size"},
		{"CopyOutOfBounds", packtest.Delta(10, 5, packtest.Copy{Off: 8, Size: 5}), "out of the base"},
		{"ShortResult", packtest.Delta(10, 5, "abc"), "truncated"},
		{"LongResult", packtest.Delta(10, 3, "abcdef"), "more than"},
		{"ReservedOp", append(packtest.Delta(10, 3), 0), "reserved"},
		{"ExtraAfterResult", append(packtest.Delta(10, 3, "abc"), 1, 'x'), "instructions after"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			budget := NewBudget(1 << 20)
			pack := packtest.Pack([]packtest.Entry{
				{Type: plumbing.BlobObject, Data: base},
				{Type: plumbing.REFDeltaObject, RefBase: h, Data: tc.delta},
			}...)
			got := index(t, pack, Options{Budget: budget})
			packErr(t, got.err, tc.want)
			if budget.Free() != 1<<20 {
				t.Errorf("%d free; want all", budget.Free())
			}
		})
	}
}

// blobRecorders makes a blobRecorder for each goroutine that asks
// (Options.Blobs) and sums what they were given.
type blobRecorders struct {
	mu   sync.Mutex
	recs []*blobRecorder
}

func (rs *blobRecorders) new() BlobScanner {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r := &blobRecorder{got: map[plumbing.Hash]int{}}
	rs.recs = append(rs.recs, r)
	return r
}

// sum returns what the recorders were given, in all.
func (rs *blobRecorders) sum() *blobRecorder {
	all := &blobRecorder{got: map[plumbing.Hash]int{}}
	for _, r := range rs.recs {
		all.cur = append(all.cur, r.cur...)
		all.writes += r.writes
		all.copied += r.copied
		for h, n := range r.got {
			all.got[h] += n
		}
		all.bad = append(all.bad, r.bad...)
	}
	return all
}

// blobRecorder is a BlobScanner that keeps what it was given.
type blobRecorder struct {
	cur    []byte
	writes int
	copied int                   // bytes given through Copied
	got    map[plumbing.Hash]int // blob → times ended
	bad    []string
}

func (r *blobRecorder) Write(b []byte) (int, error) {
	r.cur = append(r.cur, b...)
	r.writes++
	return len(b), nil
}

func (r *blobRecorder) Copied(b []byte) error {
	r.cur = append(r.cur, b...)
	r.copied += len(b)
	return nil
}

func (r *blobRecorder) End(h plumbing.Hash) error {
	if got := plumbing.ComputeHash(plumbing.BlobObject, r.cur); got != h {
		r.bad = append(r.bad, fmt.Sprintf("End(%s) after the bytes of %s", h, got))
	}
	r.got[h]++
	r.cur = r.cur[:0]
	return nil
}

// TestBlobs gives Options.Blobs every blob of a pack once, whole or made
// by an OFS or REF delta, in memory or spilled, and neither the thin
// base from the repository nor the commit or tree.
func TestBlobs(t *testing.T) {
	base := strings.Repeat("the base of every delta\n", 4000)
	thin := strings.Repeat("a base only the repository has\n", 100)
	edited := "edited " + base[7:]
	leaf := edited[:100] + "!"
	fromThin := thin[:50] + "?"
	id := blob(base)
	tree := append([]byte("100644 a\x00"), id[:]...)
	entries := []packtest.Entry{
		{Type: plumbing.BlobObject, Data: []byte(base)},
		{Type: plumbing.TreeObject, Data: tree},
		{Type: plumbing.OFSDeltaObject, OfsBase: 0, Data: packtest.Delta(int64(len(base)), int64(len(edited)), "edited ", packtest.Copy{Off: 7, Size: int64(len(base)) - 7})},
		{Type: plumbing.OFSDeltaObject, OfsBase: 2, Data: packtest.Delta(int64(len(edited)), 101, packtest.Copy{Off: 0, Size: 100}, "!")},
		{Type: plumbing.REFDeltaObject, RefBase: blob(thin), Data: packtest.Delta(int64(len(thin)), 51, packtest.Copy{Off: 0, Size: 50}, "?")},
	}
	want := map[plumbing.Hash]int{blob(base): 1, blob(edited): 1, blob(leaf): 1, blob(fromThin): 1}
	repo := func(h plumbing.Hash, max int64) (plumbing.ObjectType, []byte, bool, error) {
		if h != blob(thin) {
			return 0, nil, false, nil
		}
		return plumbing.BlobObject, []byte(thin), true, nil
	}
	for _, b := range []int64{0, 64 << 20} {
		recs := &blobRecorders{}
		got := index(t, packtest.Pack(entries...), Options{Budget: NewBudget(b), Base: repo, Blobs: recs.new, Workers: 3})
		rec := recs.sum()
		if got.err != nil {
			t.Fatalf("budget %d: %v", b, got.err)
		}
		if got.res.Thin != 1 {
			t.Fatalf("budget %d: %d thin bases; want 1", b, got.res.Thin)
		}
		if len(rec.bad) > 0 {
			t.Errorf("budget %d: %v", b, rec.bad)
		}
		if !maps.Equal(rec.got, want) {
			t.Errorf("budget %d: blobs given %v; want %v", b, rec.got, want)
		}
		if len(rec.cur) != 0 {
			t.Errorf("budget %d: %d bytes written after the last End", b, len(rec.cur))
		}
		// Copies from the pack's blobs come through Copied; the 50 bytes
		// copied from the thin base, which the scanner never saw, do not.
		if want := len(base) - 7 + 100; rec.copied != want {
			t.Errorf("budget %d: %d bytes given as copied; want %d", b, rec.copied, want)
		}
	}
}
