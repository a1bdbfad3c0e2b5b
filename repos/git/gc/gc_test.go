package gc

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/depot/depot/githttp/uploadpack"
	"github.com/depot/depot/repos/git/odb"
	"github.com/go-git/go-git/v5/plumbing"
)

func gitEnv(tb testing.TB) []string {
	tb.Helper()
	home := tb.TempDir()
	return append(os.Environ(), "HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.com", "LC_ALL=C")
}

func git(tb testing.TB, dir string, stdin []byte, args ...string) string {
	tb.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = gitEnv(tb)
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

// messyRepo builds a bare repository the way pushes leave one: packs
// pushes packs of 20 commits each (kept as packs), then loose commits, an
// annotated tag, a deleted branch whose objects are unreachable, and a
// loose unreachable blob.
func messyRepo(tb testing.TB, packs int) (dir string, tip string) {
	tb.Helper()
	root := tb.TempDir()
	src := filepath.Join(root, "src")
	dir = filepath.Join(root, "server.git")
	git(tb, root, nil, "init", "-q", "-b", "main", src)
	git(tb, root, nil, "init", "-q", "--bare", "-b", "main", dir)
	git(tb, dir, nil, "config", "receive.unpackLimit", "1")
	n := 0
	// commits adds count commits to branch in src, each rewriting three
	// of 40 files, with one git fast-import rather than an add and a
	// commit each.
	commits := func(branch, from string, count int) {
		var script bytes.Buffer
		for i := range count {
			n++
			msg := fmt.Sprintf("c%d", n)
			fmt.Fprintf(&script, "commit refs/heads/%s\ncommitter T <t@example.com> %d +0000\ndata %d\n%s\n", branch, time.Now().Unix(), len(msg), msg)
			if i == 0 && from != "" {
				fmt.Fprintf(&script, "from %s^0\n", from)
			}
			for k := range 3 {
				f := fmt.Sprintf("d%d/f%d.txt", (n+k)%4, (n*3+k)%10)
				content := strings.Repeat(fmt.Sprintf("line %d of %s\n", n, filepath.Join(src, f)), 30+n)
				fmt.Fprintf(&script, "M 100644 inline %s\ndata %d\n%s\n", f, len(content), content)
			}
		}
		git(tb, src, script.Bytes(), "fast-import", "--quiet")
	}
	for p := range packs {
		from := "refs/heads/main"
		if p == 0 {
			from = ""
		}
		commits("main", from, 20)
		git(tb, src, nil, "push", "-q", dir, "main")
	}
	git(tb, src, nil, "tag", "-a", "-m", "v1", "v1", "main")
	commits("gone", "refs/heads/main", 1)
	git(tb, src, nil, "push", "-q", dir, "gone", "v1")
	git(tb, dir, nil, "update-ref", "-d", "refs/heads/gone")
	git(tb, dir, nil, "config", "receive.unpackLimit", "1000")
	commits("main", "refs/heads/main", 1)
	git(tb, src, nil, "push", "-q", dir, "main")
	git(tb, dir, []byte("unreachable loose blob\n"), "hash-object", "-w", "--stdin")
	return dir, git(tb, src, nil, "rev-parse", "main")
}

func packCount(tb testing.TB, dir string) int {
	tb.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "*.idx"))
	return len(m)
}

func TestRepack(t *testing.T) {
	t.Parallel()
	dir, tip := messyRepo(t, 4)
	before := git(t, dir, nil, "for-each-ref")
	if got := packCount(t, dir); got < 5 {
		t.Fatalf("fixture has %d packs; want at least 5", got)
	}
	if err := Repack(context.Background(), dir); err != nil {
		t.Fatalf("Repack: %v", err)
	}
	// The reachable objects in one pack, the unreachable but recent ones
	// (branch gone, loose blob) in a second.
	if got := packCount(t, dir); got != 2 {
		t.Errorf("after Repack: %d packs; want 2", got)
	}
	if out := git(t, dir, nil, "count-objects", "-v"); !strings.Contains(out, "count: 0\n") {
		t.Errorf("loose objects left:\n%s", out)
	}
	git(t, dir, nil, "fsck", "--full", "--strict", "--no-dangling")
	if after := git(t, dir, nil, "for-each-ref"); after != before {
		t.Errorf("refs changed:\n%s\nwant:\n%s", after, before)
	}
	// The refs were packed, with the annotated tag's peeled line.
	if n := looseRefs(dir); n != 0 {
		t.Errorf("%d loose refs left after Repack", n)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "packed-refs")); !bytes.Contains(b, []byte("^"+git(t, dir, nil, "rev-parse", "v1^{}"))) {
		t.Errorf("packed-refs lacks v1's peeled line:\n%s", b)
	}
	if got := git(t, dir, nil, "rev-list", "--count", tip); got != "81" {
		t.Errorf("rev-list --count main = %s; want 81", got)
	}
	// The reachable pack has a bitmap that git itself accepts and that
	// counts what a walk counts.
	tb := exec.Command("git", "rev-list", "--test-bitmap", tip)
	tb.Dir, tb.Env = dir, gitEnv(t)
	if out, err := tb.CombinedOutput(); err != nil || !strings.Contains(string(out), "OK!") {
		t.Errorf("rev-list --test-bitmap: %v\n%s", err, out)
	}
	walked := git(t, dir, nil, "rev-list", "--objects", "--no-object-names", "--all")
	bitmapped := git(t, dir, nil, "rev-list", "--use-bitmap-index", "--objects", "--no-object-names", "--all")
	if a, b := sortedFields(walked), sortedFields(bitmapped); a != b {
		t.Errorf("rev-list with the bitmap lists %d objects, without %d", len(strings.Fields(b)), len(strings.Fields(a)))
	}
	db, err := odb.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, bm := db.Bitmap(); bm == nil {
		t.Error("odb does not read the bitmap gc wrote")
	}
	// And a commit-graph of every reachable commit, which git verifies
	// and which is byte for byte the one git writes.
	if db.CommitGraph() == nil {
		t.Error("odb does not read the commit-graph gc wrote")
	}
	db.Close()
	git(t, dir, nil, "commit-graph", "verify")
	graph := filepath.Join(dir, "objects", "info", "commit-graph")
	ours, err := os.ReadFile(graph)
	if err != nil {
		t.Fatal(err)
	}
	git(t, dir, nil, "commit-graph", "write", "--reachable")
	if theirs, err := os.ReadFile(graph); err != nil || !bytes.Equal(ours, theirs) {
		t.Errorf("gc's commit-graph (%d bytes) differs from git's (%d bytes, %v)", len(ours), len(theirs), err)
	}
	// Every pack gc wrote has its reverse index, through which git reads
	// what it reads from the offsets themselves.
	idx, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "pack-*.idx"))
	rev, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "pack-*.rev"))
	if len(rev) != len(idx) {
		t.Errorf("%d packs, %d reverse indexes; want one each", len(idx), len(rev))
	}
	check := "--batch-check=%(objectname) %(objectsize:disk)"
	if a, b := git(t, dir, nil, "-c", "pack.readReverseIndex=true", "cat-file", "--batch-all-objects", check),
		git(t, dir, nil, "-c", "pack.readReverseIndex=false", "cat-file", "--batch-all-objects", check); a != b {
		t.Error("sizes on disk read through the .rev differ from those computed without it")
	}
	// A second run finds one pack of reachable objects and rewrites nothing
	// of substance.
	if err := Repack(context.Background(), dir); err != nil {
		t.Fatalf("second Repack: %v", err)
	}
	git(t, dir, nil, "fsck", "--full", "--strict", "--no-dangling")
}

func TestNeedsRepack(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "r.git")
	git(t, t.TempDir(), nil, "init", "-q", "--bare", dir)
	if NeedsRepack(dir) {
		t.Errorf("NeedsRepack(empty) = true")
	}
	pack := filepath.Join(dir, "objects", "pack")
	for i := range MaxPacks + 1 {
		os.WriteFile(filepath.Join(pack, fmt.Sprintf("pack-%040d.idx", i)), nil, 0o644)
	}
	if !NeedsRepack(dir) {
		t.Errorf("NeedsRepack(%d packs) = false", MaxPacks+1)
	}

	dir = filepath.Join(t.TempDir(), "big.git")
	git(t, t.TempDir(), nil, "init", "-q", "--bare", dir)
	pack = filepath.Join(dir, "objects", "pack")
	big := filepath.Join(pack, "pack-1.pack")
	if err := os.WriteFile(big, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Truncate(big, MinBitmapBytes-1)
	if NeedsRepack(dir) {
		t.Errorf("NeedsRepack(%d bytes of packs, no bitmap) = true", MinBitmapBytes-1)
	}
	os.Truncate(big, MinBitmapBytes)
	if !NeedsRepack(dir) {
		t.Errorf("NeedsRepack(%d bytes of packs, no bitmap) = false", MinBitmapBytes)
	}
	os.WriteFile(filepath.Join(pack, "pack-1.bitmap"), nil, 0o644)
	if NeedsRepack(dir) {
		t.Errorf("NeedsRepack(%d bytes of packs with a bitmap) = true", MinBitmapBytes)
	}

	dir = filepath.Join(t.TempDir(), "refs.git")
	git(t, t.TempDir(), nil, "init", "-q", "--bare", dir)
	heads := filepath.Join(dir, "refs", "heads")
	for i := range MaxLooseRefs {
		os.WriteFile(filepath.Join(heads, fmt.Sprintf("b%d", i)), nil, 0o644)
	}
	if NeedsPackRefs(dir) {
		t.Errorf("NeedsPackRefs(%d loose refs) = true", MaxLooseRefs)
	}
	os.MkdirAll(filepath.Join(dir, "refs", "tags", "v1"), 0o755)
	os.WriteFile(filepath.Join(dir, "refs", "tags", "v1", "x"), nil, 0o644)
	if !NeedsPackRefs(dir) {
		t.Errorf("NeedsPackRefs(%d loose refs) = false", MaxLooseRefs+1)
	}
	// Loose refs are no reason to rewrite the objects.
	if NeedsRepack(dir) {
		t.Errorf("NeedsRepack(%d loose refs) = true; want only NeedsPackRefs", MaxLooseRefs+1)
	}
}

// TestRepackConcurrentFetch clones over and over while the repository is
// repacked under the clones: every clone must get a valid pack.
func TestRepackConcurrentFetch(t *testing.T) {
	t.Parallel()
	dir, tip := messyRepo(t, 3)
	body := pkts("command=fetch", "0001", "want "+tip, "ofs-delta", "no-progress", "done", "0000")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 100)
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					if i > 0 {
						return
					}
				default:
				}
				var out bytes.Buffer
				if err := uploadpack.Serve(context.Background(), dir, 2, strings.NewReader(body), &out, uploadpack.Options{}); err != nil {
					errs <- fmt.Errorf("worker %d clone %d: %v", w, i, err)
					return
				}
				if !bytes.Contains(out.Bytes(), []byte("PACK")) {
					errs <- fmt.Errorf("worker %d clone %d: no pack", w, i)
					return
				}
			}
		}()
	}
	if err := Repack(context.Background(), dir); err != nil {
		t.Errorf("Repack: %v", err)
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	git(t, dir, nil, "fsck", "--full", "--strict", "--no-dangling")
	// A clone after the swap reads the new pack.
	dst := filepath.Join(t.TempDir(), "clone.git")
	git(t, t.TempDir(), nil, "clone", "-q", "--bare", "file://"+dir, dst)
}

func pkts(items ...string) string {
	var b strings.Builder
	for _, it := range items {
		if it == "0000" || it == "0001" {
			b.WriteString(it)
			continue
		}
		fmt.Fprintf(&b, "%04x%s\n", len(it)+5, it)
	}
	return b.String()
}

func sortedFields(s string) string {
	f := strings.Fields(s)
	slices.Sort(f)
	return strings.Join(f, " ")
}

// TestRefTipsDetachedHEAD checks that a detached HEAD is a tip of its own:
// a repack keeps what only it reaches.
func TestRefTipsDetachedHEAD(t *testing.T) {
	dir, tip := messyRepo(t, 1)
	detached := git(t, dir, []byte("detached\n"), "commit-tree", "-p", tip, tip+"^{tree}")
	git(t, dir, nil, "update-ref", "--no-deref", "HEAD", detached)
	tips, err := refTips(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(tips, func(h plumbing.Hash) bool { return h.String() == detached }) {
		t.Errorf("refTips = %v; want the detached HEAD %s among them", tips, detached)
	}
	if err := Repack(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	git(t, dir, nil, "fsck", "--no-progress", "--no-dangling")
	if got := git(t, dir, nil, "cat-file", "-t", detached); got != "commit" {
		t.Errorf("detached HEAD after repack: %q", got)
	}
}

// TestRepackWithPackedRefsLocked repacks while packed-refs.lock is held,
// as a killed repack or a transaction deleting refs leaves it: the
// objects are repacked all the same, the refs keep their values, and the
// lock is not touched.
func TestRepackWithPackedRefsLocked(t *testing.T) {
	t.Parallel()
	dir, _ := messyRepo(t, 1)
	before := git(t, dir, nil, "for-each-ref")
	lock := filepath.Join(dir, "packed-refs.lock")
	if err := os.WriteFile(lock, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Repack(context.Background(), dir); err != nil {
		t.Fatalf("Repack with packed-refs locked: %v", err)
	}
	if _, err := os.Stat(lock); err != nil {
		t.Errorf("the lock another process holds is gone: %v", err)
	}
	if b, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "*.bitmap")); len(b) != 1 {
		t.Errorf("%d bitmaps after the repack; want 1", len(b))
	}
	if after := git(t, dir, nil, "for-each-ref"); after != before {
		t.Errorf("refs after the repack:\n%s\nwant\n%s", after, before)
	}
	os.Remove(lock)
	git(t, dir, nil, "fsck", "--full", "--strict", "--no-dangling")
}
