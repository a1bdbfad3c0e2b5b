package receivepack

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/depot/depot/repos/git/odb"
	"github.com/depot/depot/repos/git/packfile"
)

// rawObject returns the type and exact content of a local object.
func (f *fixture) rawObject(t *testing.T, id string) (plumbing.ObjectType, []byte) {
	t.Helper()
	cmd := exec.Command("git", "cat-file", "--batch")
	cmd.Dir = f.e.work
	cmd.Env = gitEnv(f.e.home)
	cmd.Stdin = strings.NewReader(id + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git cat-file: %v", err)
	}
	r := bufio.NewReader(bytes.NewReader(out))
	var name, typName string
	var size int
	if _, err := fmt.Fscanf(r, "%s %s %d\n", &name, &typName, &size); err != nil {
		t.Fatalf("cat-file header: %v", err)
	}
	content := make([]byte, size)
	if _, err := io.ReadFull(r, content); err != nil {
		t.Fatal(err)
	}
	typ, err := plumbing.ParseObjectType(typName)
	if err != nil {
		t.Fatal(err)
	}
	return typ, content
}

// packOf writes a pack of local objects, in order and repeats included.
// An id is stored whole, or as "BASE>ID" a REF_DELTA on BASE that
// inserts the whole of ID.
func (f *fixture) packOf(t *testing.T, ids ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := packfile.NewWriter(&b, uint32(len(ids)))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		baseID, target, isDelta := strings.Cut(id, ">")
		if !isDelta {
			target = id
		}
		typ, data := f.rawObject(t, target)
		var base []byte
		if isDelta {
			_, baseContent := f.rawObject(t, baseID)
			d := binary.AppendUvarint(nil, uint64(len(baseContent)))
			d = binary.AppendUvarint(d, uint64(len(data)))
			for rest := data; len(rest) > 0; rest = rest[min(len(rest), 127):] {
				n := min(len(rest), 127)
				d = append(append(d, byte(n)), rest[:n]...)
			}
			h := plumbing.NewHash(baseID)
			typ, data, base = plumbing.REFDeltaObject, d, h[:]
		}
		if err := w.BeginEntry(typ, int64(len(data)), base); err != nil {
			t.Fatal(err)
		}
		if err := w.Deflate(int64(len(data)), bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// packFiles lists the server repository's pack directory and quarantines.
func (f *fixture) packFiles(t *testing.T) []string {
	t.Helper()
	packs, _ := filepath.Glob(filepath.Join(f.e.bare, "objects", "pack", "*"))
	incoming, _ := filepath.Glob(filepath.Join(f.e.bare, "objects", "incoming-*"))
	return append(packs, incoming...)
}

// TestServeDuplicateObjects pushes packs that hold one object twice. Such
// a pack was once answered "ok" and kept with an index that listed fewer
// objects than the pack, after which every clone, fetch and push of the
// repository failed. It must be refused with nothing kept, and the
// repository must stay whole.
func TestServeDuplicateObjects(t *testing.T) {
	f := newFixture(t)
	commit := f.nextMain
	tree := f.e.git(f.e.work, "rev-parse", commit+"^{tree}")
	blob := f.e.git(f.e.work, "rev-parse", commit+":m")
	oldBlob := f.e.git(f.e.work, "rev-parse", f.main+":m")
	update := cmdLine(f.main, f.nextMain, "refs/heads/main")
	before := f.packFiles(t)

	tests := []struct {
		name string
		ids  []string
	}{
		{"BlobTwice", []string{commit, tree, blob, blob}},
		{"CommitTwice", []string{commit, tree, blob, commit}},
		{"WholeAndDelta", []string{commit, tree, blob, oldBlob + ">" + blob}},
		{"TwoDeltas", []string{commit, tree, oldBlob + ">" + blob, oldBlob + ">" + blob}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pack := f.packOf(t, tc.ids...)
			lines, res, err := rawPush(t, f.e.bare, "report-status", []string{update}, pack, Options{})
			if err == nil || len(lines) != 2 || !strings.HasPrefix(lines[0], "unpack pack holds object ") ||
				!strings.Contains(lines[0], " twice") || lines[1] != "ng refs/heads/main unpacker error" {
				t.Fatalf("report %q, err %v; want the duplicate refused", lines, err)
			}
			if res == nil || len(res.Updates) != 1 || res.Updates[0].Err == "" {
				t.Errorf("result %+v; want the update marked as failed", res)
			}
			if got := f.e.serverRef("refs/heads/main"); got != f.main {
				t.Errorf("main = %s; want %s", got, f.main)
			}
			if got := f.packFiles(t); !slices.Equal(got, before) {
				t.Errorf("pack files %v; want %v", got, before)
			}
			f.e.fsck()
		})
	}
	// The repository still serves and takes pushes.
	f.e.git(f.e.work, "push", "origin", "main")
	if got := f.e.serverRef("refs/heads/main"); got != f.nextMain {
		t.Errorf("main = %s after a good push; want %s", got, f.nextMain)
	}
	f.e.git(f.e.home, "clone", "-q", f.e.url, filepath.Join(f.e.home, "after-dup"))
	f.e.fsck()
}

// TestKeepVerifiesIndex never moves a pack into place whose index does
// not list what the pack holds.
func TestKeepVerifiesIndex(t *testing.T) {
	f := newFixture(t)
	good := f.pack(t, true, f.nextMain+"\n^"+f.main+"\n")
	other := f.pack(t, true, f.nextSide+"\n^"+f.side+"\n")
	db, release, err := odb.Acquire(f.e.bare)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	receive := func(pack []byte) *quarantine {
		q, done, err := receivePack(t.Context(), db, bytes.NewReader(pack), nil, Options{}.withDefaults(), func(string) {})
		if err != nil {
			t.Fatal(err)
		}
		done()
		return q
	}
	q1, q2 := receive(good), receive(other)
	defer q1.discard()
	defer q2.discard()
	// Swap in the index of another pack.
	idx2, err := os.ReadFile(q2.path("incoming.idx"))
	if err != nil {
		t.Fatal(err)
	}
	p := q1.path("incoming.idx")
	if err := os.WriteFile(p, idx2, 0o644); err != nil {
		t.Fatal(err)
	}
	before := f.packFiles(t)
	if err := q1.keep(); err == nil {
		t.Fatal("keep accepted a pack with another pack's index")
	}
	if got := f.packFiles(t); !slices.Equal(got, before) {
		t.Errorf("pack files %v; want %v", got, before)
	}
	if err := q2.keep(); err != nil {
		t.Fatalf("keep of a good quarantine: %v", err)
	}
}

// TestServePartlyConnected pushes two refs in one pack where one ref's
// history lacks a blob: that ref alone is refused. The other ref's tree
// comes as a REF_DELTA on a tree of the same pack, so that the walk which
// attributes the missing object reads deltas within the pack.
func TestServePartlyConnected(t *testing.T) {
	f := newFixture(t)
	rev := func(r string) string { return f.e.git(f.e.work, "rev-parse", r) }
	third := f.e.commit(f.e.work, "main 3", map[string]string{"m": "only on main\n"})
	mainTree, sideTree := rev(third+"^{tree}"), rev(f.nextSide+"^{tree}")
	pack := f.packOf(t,
		third, mainTree, f.nextMain, // the blob "only on main" is left out
		f.nextSide, mainTree+">"+sideTree, rev(f.nextSide+":s"),
	)
	cmds := []string{cmdLine(f.main, third, "refs/heads/main"), cmdLine(f.side, f.nextSide, "refs/heads/side")}
	lines, _, err := rawPush(t, f.e.bare, "report-status", cmds, pack, Options{})
	want := []string{"unpack ok", "ng refs/heads/main missing necessary objects", "ok refs/heads/side"}
	if err != nil || !slices.Equal(lines, want) {
		t.Fatalf("report %q, err %v; want %q", lines, err, want)
	}
	if got := f.e.serverRef("refs/heads/main"); got != f.main {
		t.Errorf("main = %s; want %s", got, f.main)
	}
	if got := f.e.serverRef("refs/heads/side"); got != f.nextSide {
		t.Errorf("side = %s; want %s", got, f.nextSide)
	}
	f.e.fsck()
}
