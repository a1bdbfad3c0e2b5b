package commitgraph

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// spec is one commit of a test history: its parents by name (order
// matters) and its committer time.
type spec struct {
	name    string
	parents []string
	time    int64
}

// Times past 2^32 exercise the two high time bits kept in the generation
// word.
const (
	t0     = 1700000000
	time33 = 1<<32 + 7
	time34 = 1<<33 + 1<<32 + 12345
)

// history has linear runs, a side branch merged back, two roots, and
// octopus merges whose extra parents go through the EDGE chunk.
var history = []spec{
	{"a1", nil, t0},
	{"a2", []string{"a1"}, t0 + 10},
	{"a3", []string{"a2"}, t0 + 20},
	{"s1", []string{"a2"}, t0 + 30},
	{"s2", []string{"s1"}, t0 + 40},
	{"a4", []string{"a3"}, t0 + 50},
	{"m1", []string{"a4", "s2"}, t0 + 60},
	{"m2", []string{"s2", "a4"}, t0 + 65}, // same parents as m1, other order
	{"r1", nil, t0 - 1000},
	{"r2", []string{"r1"}, t0 - 900},
	{"b1", []string{"a3"}, t0 + 70},
	{"b2", []string{"a3"}, t0 + 80},
	{"b3", []string{"a3"}, t0 + 90},
	{"o1", []string{"m1", "b1", "b2", "b3"}, t0 + 100},
	{"o2", []string{"r2", "o1", "a1"}, t0 + 110},
	{"f1", []string{"o2"}, time34},
	{"f2", []string{"f1"}, time33},
	{"o3", []string{"f2", "b3", "b2", "b1", "r1"}, t0 + 120},
}

// more continues history, for the top layer of a split chain: parents in
// the base layer and in the top layer itself.
var more = []spec{
	{"c1", []string{"o3"}, t0 + 200},
	{"c2", []string{"c1"}, time34 + 1},
	{"c3", []string{"m2"}, t0 + 210},
	{"o4", []string{"c2", "a1", "c3", "r2"}, t0 + 220},
	{"m3", []string{"c3", "o1"}, t0 + 230},
	{"r3", nil, t0 + 240},
}

// repo is a bare repository built by git, with the commits so far by name.
type repo struct {
	dir  string // the .git directory
	home string
	ids  map[string]string
}

func newRepo(tb testing.TB) *repo {
	tb.Helper()
	r := &repo{dir: filepath.Join(tb.TempDir(), "r.git"), home: tb.TempDir(), ids: map[string]string{}}
	r.run(tb, "", "init", "-q", "--bare", r.dir)
	return r
}

func (r *repo) objects() string { return filepath.Join(r.dir, "objects") }

// git runs git on the repository.
func (r *repo) git(tb testing.TB, stdin string, args ...string) string {
	tb.Helper()
	return r.run(tb, stdin, append([]string{"--git-dir", r.dir}, args...)...)
}

// run runs git with a private HOME, no system config and fixed dates.
func (r *repo) run(tb testing.TB, stdin string, args ...string) string {
	tb.Helper()
	cmd := exec.Command("git", args...)
	cmd.Env = append(os.Environ(), "HOME="+r.home, "GIT_CONFIG_NOSYSTEM=1", "LC_ALL=C",
		"GIT_AUTHOR_NAME=A", "GIT_AUTHOR_EMAIL=a@example.com", "GIT_AUTHOR_DATE=@1700000000 +0000",
		"GIT_COMMITTER_NAME=C", "GIT_COMMITTER_EMAIL=c@example.com", "GIT_COMMITTER_DATE=@1700000000 +0000")
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// add creates the commits, each on its own branch so all stay reachable.
// fast-import sets each commit's dates exactly.
func (r *repo) add(tb testing.TB, specs []spec) {
	tb.Helper()
	var s strings.Builder
	marks := map[string]int{}
	ref := func(name string) string {
		if m, ok := marks[name]; ok {
			return fmt.Sprintf(":%d", m)
		}
		if id, ok := r.ids[name]; ok {
			return id
		}
		tb.Fatalf("unknown parent %s", name)
		return ""
	}
	for i, c := range specs {
		msg := "commit " + c.name + "\n"
		fmt.Fprintf(&s, "commit refs/heads/%s\nmark :%d\n", c.name, i+1)
		fmt.Fprintf(&s, "author A <a@example.com> %d +0000\ncommitter C <c@example.com> %d +0000\n", c.time, c.time)
		fmt.Fprintf(&s, "data %d\n%s", len(msg), msg)
		for j, p := range c.parents {
			cmdName := "merge"
			if j == 0 {
				cmdName = "from"
			}
			fmt.Fprintf(&s, "%s %s\n", cmdName, ref(p))
		}
		fmt.Fprintf(&s, "M 100644 inline %s.txt\ndata %d\n%s\n", c.name, len(msg), msg)
		marks[c.name] = i + 1
	}
	r.git(tb, s.String(), "fast-import", "--quiet")
	for _, line := range strings.Split(strings.TrimSpace(r.git(tb, "", "for-each-ref", "--format=%(refname:lstrip=2) %(objectname)", "refs/heads")), "\n") {
		name, id, _ := strings.Cut(line, " ")
		r.ids[name] = id
	}
}

// want is a commit as git log reports it.
type want struct {
	id      plumbing.Hash
	tree    plumbing.Hash
	parents []plumbing.Hash
	time    int64
	gen     uint32
}

// log returns every commit of the repository as git reports it from the
// commit objects, with its topological level computed from the parents.
// git log would otherwise read parents from the very commit-graph under
// test, and agree with any damage done to it.
func (r *repo) log(tb testing.TB) []want {
	tb.Helper()
	var ws []want
	out := r.git(tb, "", "-c", "core.commitGraph=false", "log", "--format=%H %T %P %ct", "--all")
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		t, err := strconv.ParseInt(f[len(f)-1], 10, 64)
		if err != nil {
			tb.Fatal(err)
		}
		w := want{id: plumbing.NewHash(f[0]), tree: plumbing.NewHash(f[1]), time: t}
		for _, p := range f[2 : len(f)-1] {
			w.parents = append(w.parents, plumbing.NewHash(p))
		}
		ws = append(ws, w)
	}
	levels := map[plumbing.Hash]uint32{}
	var level func(h plumbing.Hash) uint32
	byID := map[plumbing.Hash]want{}
	for _, w := range ws {
		byID[w.id] = w
	}
	level = func(h plumbing.Hash) uint32 {
		if l, ok := levels[h]; ok {
			return l
		}
		l := uint32(1)
		for _, p := range byID[h].parents {
			l = max(l, level(p)+1)
		}
		levels[h] = l
		return l
	}
	for i := range ws {
		ws[i].gen = level(ws[i].id)
	}
	return ws
}

// mismatches compares what g records of each commit with git's view.
func mismatches(g *Graph, ws []want) []string {
	var bad []string
	for _, w := range ws {
		c, ok, err := g.Lookup(w.id)
		switch {
		case err != nil:
			bad = append(bad, fmt.Sprintf("%s: %v", w.id, err))
		case !ok:
			bad = append(bad, fmt.Sprintf("%s: not found", w.id))
		case c.Tree != w.tree || !slices.Equal(c.Parents, w.parents) || c.Time != w.time || c.Generation != w.gen:
			bad = append(bad, fmt.Sprintf("%s: got tree %s parents %v time %d gen %d, want %s %v %d %d",
				w.id, c.Tree, c.Parents, c.Time, c.Generation, w.tree, w.parents, w.time, w.gen))
		}
	}
	if g.Len() != len(ws) {
		bad = append(bad, fmt.Sprintf("Len() = %d, want %d", g.Len(), len(ws)))
	}
	return bad
}

func mustOpen(tb testing.TB, objects string) *Graph {
	tb.Helper()
	g, err := Open(objects)
	if err != nil {
		tb.Fatal(err)
	}
	if g == nil {
		tb.Fatal("Open found no commit-graph")
	}
	tb.Cleanup(func() { g.Close() })
	return g
}

// graphRepo is history with a single commit-graph file written by git.
func graphRepo(tb testing.TB) *repo {
	tb.Helper()
	r := newRepo(tb)
	r.add(tb, history)
	r.git(tb, "", "commit-graph", "write", "--reachable")
	return r
}

// chainRepo is history and more in a split chain of two layers.
func chainRepo(tb testing.TB) *repo {
	tb.Helper()
	r := newRepo(tb)
	r.add(tb, history)
	r.git(tb, "", "commit-graph", "write", "--reachable", "--split")
	r.add(tb, more)
	// no-merge keeps the small new layer apart from the base.
	r.git(tb, "", "commit-graph", "write", "--reachable", "--split=no-merge")
	return r
}

// TestMatchesGit compares every commit of a single file and of a split
// chain with git log.
func TestMatchesGit(t *testing.T) {
	for _, tc := range []struct {
		name   string
		build  func(testing.TB) *repo
		layers int
	}{
		{"single", graphRepo, 1},
		{"chain", chainRepo, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.build(t)
			info := filepath.Join(r.objects(), "info")
			if tc.layers > 1 {
				b, err := os.ReadFile(filepath.Join(info, "commit-graphs", "commit-graph-chain"))
				if err != nil {
					t.Fatal(err)
				}
				if n := strings.Count(string(b), "\n"); n != tc.layers {
					t.Fatalf("chain has %d lines, want %d:\n%s", n, tc.layers, b)
				}
				if _, err := os.Stat(filepath.Join(info, "commit-graph")); !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("single commit-graph file next to the chain: %v", err)
				}
			}
			g := mustOpen(t, r.objects())
			if len(g.layers) != tc.layers {
				t.Fatalf("%d layers, want %d", len(g.layers), tc.layers)
			}
			for _, m := range mismatches(g, r.log(t)) {
				t.Error(m)
			}
		})
	}
}

// TestConcurrentLookups shares one Graph among goroutines; run with -race.
func TestConcurrentLookups(t *testing.T) {
	r := chainRepo(t)
	g := mustOpen(t, r.objects())
	ws := r.log(t)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for _, m := range mismatches(g, ws) {
				t.Error(m)
			}
		})
	}
	wg.Wait()
}

// TestUsesEdgeChunk makes sure the fixtures exercise what they are meant
// to: octopus parents in EDGE, parents across layers, 34-bit times.
func TestUsesEdgeChunk(t *testing.T) {
	r := chainRepo(t)
	g := mustOpen(t, r.objects())
	for _, l := range g.layers {
		if l.edges == 0 {
			t.Errorf("%s has no EDGE entries", l.path)
		}
	}
	c, ok, err := g.Lookup(plumbing.NewHash(r.ids["o4"]))
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	top := g.layers[1]
	if _, ok := top.find(plumbing.NewHash(r.ids["o4"])); !ok {
		t.Fatal("o4 not in the top layer")
	}
	if len(c.Parents) != 4 || c.Parents[1] != plumbing.NewHash(r.ids["a1"]) {
		t.Errorf("o4 parents %v", c.Parents)
	}
	if _, ok := g.layers[0].find(plumbing.NewHash(r.ids["a1"])); !ok {
		t.Error("a1 not in the base layer")
	}
	c, _, _ = g.Lookup(plumbing.NewHash(r.ids["f1"]))
	if c.Time != time34 {
		t.Errorf("f1 time %d, want %d", c.Time, time34)
	}
}

// TestComparisonCatchesSwappedParents checks that TestMatchesGit can fail:
// swapping the parent words of a merge in the file must be reported.
func TestComparisonCatchesSwappedParents(t *testing.T) {
	r := graphRepo(t)
	path := filepath.Join(r.objects(), "info", "commit-graph")
	data := readFile(t, path)
	rec := cdatRecord(t, data, plumbing.NewHash(r.ids["m1"]))
	p := rec[hashLen:]
	a, b := binary.BigEndian.Uint32(p), binary.BigEndian.Uint32(p[4:])
	binary.BigEndian.PutUint32(p, b)
	binary.BigEndian.PutUint32(p[4:], a)
	writeFile(t, path, data)
	g := mustOpen(t, r.objects())
	bad := mismatches(g, r.log(t))
	if len(bad) != 1 || !strings.HasPrefix(bad[0], r.ids["m1"]) {
		t.Errorf("mismatches = %q, want one about m1", bad)
	}
}

// TestNoCommitGraph: a repository without a commit-graph opens as nil.
func TestNoCommitGraph(t *testing.T) {
	r := newRepo(t)
	r.add(t, history)
	for _, dir := range []string{r.objects(), filepath.Join(t.TempDir(), "missing")} {
		g, err := Open(dir)
		if g != nil || err != nil {
			t.Errorf("Open(%s) = %v, %v; want nil, nil", dir, g, err)
		}
		// nil is a usable empty graph, so callers need no special case.
		if _, ok, err := g.Lookup(plumbing.NewHash(r.ids["a1"])); ok || err != nil || g.Len() != 0 || g.Close() != nil {
			t.Errorf("nil graph: found %v, err %v", ok, err)
		}
	}
}

// TestNotInGraph: commits made after the graph, other objects and unknown
// hashes are not found.
func TestNotInGraph(t *testing.T) {
	for name, build := range map[string]func(testing.TB) *repo{"single": graphRepo, "chain": chainRepo} {
		t.Run(name, func(t *testing.T) {
			r := build(t)
			r.add(t, []spec{{"late", []string{"a1"}, t0 + 999}})
			g := mustOpen(t, r.objects())
			tree := strings.TrimSpace(r.git(t, "", "rev-parse", "late^{tree}"))
			for _, h := range []string{r.ids["late"], tree, plumbing.ZeroHash.String(), strings.Repeat("f", 40), strings.Repeat("7", 40)} {
				c, ok, err := g.Lookup(plumbing.NewHash(h))
				if ok || err != nil {
					t.Errorf("Lookup(%s) = %v, %v, %v; want not found", h, c, ok, err)
				}
			}
		})
	}
}

// TestCorruptOpen damages a real file in ways Open must reject.
func TestCorruptOpen(t *testing.T) {
	r := graphRepo(t)
	path := filepath.Join(r.objects(), "info", "commit-graph")
	orig := readFile(t, path)
	toc := func(data []byte, id uint32) []byte { return tocEntry(t, data, id) }
	for _, tc := range []struct {
		name   string
		damage func(d []byte) []byte
		want   error
	}{
		{"bad signature", func(d []byte) []byte { d[0] = 'X'; return d }, ErrCorrupt},
		{"version 2", func(d []byte) []byte { d[4] = 2; return d }, ErrCorrupt},
		{"hash version 3", func(d []byte) []byte { d[5] = 3; return d }, ErrCorrupt},
		{"SHA-256", func(d []byte) []byte { d[5] = 2; return d }, errors.ErrUnsupported},
		{"empty", func(d []byte) []byte { return nil }, ErrCorrupt},
		{"truncated header", func(d []byte) []byte { return d[:6] }, ErrCorrupt},
		{"truncated chunk table", func(d []byte) []byte { return d[:60] }, ErrCorrupt},
		{"more chunks than fit", func(d []byte) []byte { d[6] = 255; return d }, ErrCorrupt},
		{"chunk offset out of bounds", func(d []byte) []byte {
			binary.BigEndian.PutUint64(toc(d, chunkCDAT)[4:], 1<<40)
			return d
		}, ErrCorrupt},
		{"chunk offset into the table", func(d []byte) []byte {
			binary.BigEndian.PutUint64(d[headerLen+4:], 8)
			return d
		}, ErrCorrupt},
		{"chunk offsets decrease", func(d []byte) []byte {
			binary.BigEndian.PutUint64(d[headerLen+tocEntryLen+4:], binary.BigEndian.Uint64(d[headerLen+4:])-1)
			return d
		}, ErrCorrupt},
		{"missing CDAT", func(d []byte) []byte { copy(toc(d, chunkCDAT), "XDAT"); return d }, ErrCorrupt},
		{"missing OIDF", func(d []byte) []byte { copy(toc(d, chunkOIDF), "XIDF"); return d }, ErrCorrupt},
		{"missing OIDL", func(d []byte) []byte { copy(toc(d, chunkOIDL), "XIDL"); return d }, ErrCorrupt},
		{"repeated chunk", func(d []byte) []byte { copy(toc(d, chunkCDAT), "OIDL"); return d }, ErrCorrupt},
		{"no terminator", func(d []byte) []byte {
			copy(d[headerLen+int(d[6])*tocEntryLen:], "ABCD")
			return d
		}, ErrCorrupt},
		{"fan-out decreases", func(d []byte) []byte {
			binary.BigEndian.PutUint32(d[chunkOff(t, d, chunkOIDF)+4*10:], 1<<20)
			return d
		}, ErrCorrupt},
		{"fan-out count does not fit OIDL", func(d []byte) []byte {
			f := d[chunkOff(t, d, chunkOIDF)+4*255:]
			binary.BigEndian.PutUint32(f, binary.BigEndian.Uint32(f)+1)
			return d
		}, ErrCorrupt},
		{"base graphs in a single file", func(d []byte) []byte { d[7] = 1; return d }, ErrCorrupt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			writeFile(t, path, tc.damage(slices.Clone(orig)))
			g, err := Open(r.objects())
			if !errors.Is(err, tc.want) {
				g.Close()
				t.Fatalf("Open = %v, %v; want error wrapping %v", g, err, tc.want)
			}
			t.Log(err)
		})
	}
}

// TestCorruptLookup damages commit data that Open does not check; the
// lookups that meet it must fail rather than panic or invent parents.
func TestCorruptLookup(t *testing.T) {
	r := graphRepo(t)
	path := filepath.Join(r.objects(), "info", "commit-graph")
	orig := readFile(t, path)
	for _, tc := range []struct {
		name   string
		commit string
		damage func(d, rec []byte)
	}{
		{"first parent out of range", "a2", func(d, rec []byte) {
			binary.BigEndian.PutUint32(rec[hashLen:], 0x6fffffff)
		}},
		{"second parent out of range", "m1", func(d, rec []byte) {
			binary.BigEndian.PutUint32(rec[hashLen+4:], 0x70000001)
		}},
		{"EDGE index out of range", "o1", func(d, rec []byte) {
			binary.BigEndian.PutUint32(rec[hashLen+4:], lastEdge|1000)
		}},
		{"EDGE without a last parent", "o3", func(d, rec []byte) {
			e := d[chunkOff(t, d, chunkEDGE):chunkEnd(t, d, chunkEDGE)]
			for i := 0; i < len(e); i += 4 {
				e[i] &^= 0x80
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := slices.Clone(orig)
			tc.damage(d, cdatRecord(t, d, plumbing.NewHash(r.ids[tc.commit])))
			writeFile(t, path, d)
			g := mustOpen(t, r.objects())
			c, ok, err := g.Lookup(plumbing.NewHash(r.ids[tc.commit]))
			if !errors.Is(err, ErrCorrupt) || ok {
				t.Fatalf("Lookup = %v, %v, %v; want error wrapping ErrCorrupt", c, ok, err)
			}
			t.Log(err)
		})
	}
}

// TestCorruptChain breaks the chain file and its layers.
func TestCorruptChain(t *testing.T) {
	r := chainRepo(t)
	dir := filepath.Join(r.objects(), "info", "commit-graphs")
	chainPath := filepath.Join(dir, "commit-graph-chain")
	chain := string(readFile(t, chainPath))
	lines := strings.Fields(chain)
	for _, tc := range []struct {
		name  string
		chain string
		also  error
	}{
		{"empty chain", "", nil},
		{"not a hash", "../../../etc/passwd\n", nil},
		{"missing layer", lines[0] + "\n" + strings.Repeat("0", 40) + "\n", fs.ErrNotExist},
		{"layers swapped", lines[1] + "\n" + lines[0] + "\n", nil},
		{"top layer alone", lines[1] + "\n", nil},
		{"base repeated", lines[0] + "\n" + lines[0] + "\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			writeFile(t, chainPath, []byte(tc.chain))
			g, err := Open(r.objects())
			if !errors.Is(err, ErrCorrupt) || (tc.also != nil && !errors.Is(err, tc.also)) {
				g.Close()
				t.Fatalf("Open = %v, %v; want error wrapping ErrCorrupt", g, err)
			}
			t.Log(err)
		})
	}
	t.Run("BASE names another layer", func(t *testing.T) {
		writeFile(t, chainPath, []byte(chain))
		top := filepath.Join(dir, "graph-"+lines[1]+".graph")
		d := readFile(t, top)
		d[chunkOff(t, d, chunkBASE)] ^= 1
		writeFile(t, top, d)
		g, err := Open(r.objects())
		if !errors.Is(err, ErrCorrupt) {
			g.Close()
			t.Fatalf("Open = %v, %v; want error wrapping ErrCorrupt", g, err)
		}
		t.Log(err)
	})
	t.Run("layer renamed", func(t *testing.T) {
		// A layer whose name is not its checksum is not the layer the
		// chain means.
		writeFile(t, chainPath, []byte(chain))
		fake := strings.Repeat("1", 40)
		if err := os.Rename(filepath.Join(dir, "graph-"+lines[0]+".graph"), filepath.Join(dir, "graph-"+fake+".graph")); err != nil {
			t.Fatal(err)
		}
		writeFile(t, chainPath, []byte(fake+"\n"))
		g, err := Open(r.objects())
		if !errors.Is(err, ErrCorrupt) {
			g.Close()
			t.Fatalf("Open = %v, %v; want error wrapping ErrCorrupt", g, err)
		}
		t.Log(err)
	})
}

// FuzzOpen writes arbitrary bytes as a commit-graph and looks up commits,
// seeded with files written by git. Every failure must be an error that
// says what kind of failure it is, never a panic.
func FuzzOpen(f *testing.F) {
	seeds := []*repo{graphRepo(f), chainRepo(f)}
	for _, r := range seeds {
		files, _ := filepath.Glob(filepath.Join(r.objects(), "info", "commit-graph*", "*.graph"))
		files = append(files, filepath.Join(r.objects(), "info", "commit-graph"))
		for _, p := range files {
			if d, err := os.ReadFile(p); err == nil {
				f.Add(d)
			}
		}
	}
	known := []plumbing.Hash{plumbing.ZeroHash, plumbing.NewHash(strings.Repeat("f", 40))}
	for _, id := range seeds[0].ids {
		known = append(known, plumbing.NewHash(id))
	}
	// One directory serves every input: a worker runs them one at a time.
	objects := f.TempDir()
	if err := os.MkdirAll(filepath.Join(objects, "info"), 0o755); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		writeFile(t, filepath.Join(objects, "info", "commit-graph"), data)
		g, err := Open(objects)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, errors.ErrUnsupported) {
				t.Fatalf("Open: unexpected error %v", err)
			}
			return
		}
		defer g.Close()
		hashes := slices.Clone(known)
		// The file's own OIDs reach the commit data the fuzzer made up.
		for i := uint32(0); i < g.layers[0].n && i < 64; i++ {
			hashes = append(hashes, plumbing.Hash(g.layers[0].oid(i)))
		}
		for _, h := range hashes {
			if _, _, err := g.Lookup(h); err != nil && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Lookup(%s): unexpected error %v", h, err)
			}
		}
	})
}

func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// writeFile replaces path; git makes commit-graph files read-only.
func writeFile(tb testing.TB, path string, data []byte) {
	tb.Helper()
	os.Remove(path)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		tb.Fatal(err)
	}
}

// tocEntry returns the table of contents entry of chunk id in a well
// formed file; id 0 is the terminator.
func tocEntry(tb testing.TB, data []byte, id uint32) []byte {
	tb.Helper()
	for i := 0; i <= int(data[6]); i++ {
		e := data[headerLen+i*tocEntryLen:]
		if binary.BigEndian.Uint32(e) == id {
			return e[:tocEntryLen]
		}
	}
	tb.Fatalf("no chunk %s", chunkName(id))
	return nil
}

func chunkOff(tb testing.TB, data []byte, id uint32) int {
	tb.Helper()
	return int(binary.BigEndian.Uint64(tocEntry(tb, data, id)[4:]))
}

// chunkEnd returns where chunk id ends: at the next chunk's offset.
func chunkEnd(tb testing.TB, data []byte, id uint32) int {
	tb.Helper()
	off, end := chunkOff(tb, data, id), len(data)-hashLen
	for i := 0; i <= int(data[6]); i++ {
		if o := int(binary.BigEndian.Uint64(data[headerLen+i*tocEntryLen+4:])); o > off {
			end = min(end, o)
		}
	}
	return end
}

// cdatRecord returns the CDAT record of commit h in a well formed file.
func cdatRecord(tb testing.TB, data []byte, h plumbing.Hash) []byte {
	tb.Helper()
	oidl, cdat := chunkOff(tb, data, chunkOIDL), chunkOff(tb, data, chunkCDAT)
	n := int(binary.BigEndian.Uint32(data[chunkOff(tb, data, chunkOIDF)+4*255:]))
	for i := 0; i < n; i++ {
		if plumbing.Hash(data[oidl+i*hashLen:oidl+(i+1)*hashLen]) == h {
			return data[cdat+i*cdatLen : cdat+(i+1)*cdatLen]
		}
	}
	tb.Fatalf("%s not in the file", h)
	return nil
}

// TestParentPositions walks every commit by position, as a count of a
// whole history does, and checks each one's parents against git log, in
// a single file and across the layers of a chain (octopus merges
// included).
func TestParentPositions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func(testing.TB) *repo
	}{{"single", graphRepo}, {"chain", chainRepo}} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.build(t)
			g := mustOpen(t, r.objects())
			ws := r.log(t)
			var octopus bool
			for _, w := range ws {
				pos, ok := g.Position(w.id)
				if !ok {
					t.Fatalf("Position(%s) not found", w.id)
				}
				got, err := g.ParentPositions(pos, nil)
				if err != nil {
					t.Fatal(err)
				}
				var ids []plumbing.Hash
				for _, p := range got {
					ids = append(ids, oidAtPosition(t, g, p))
				}
				if !slices.Equal(ids, w.parents) {
					t.Errorf("parents of %s by position = %v; want %v", w.id, ids, w.parents)
				}
				octopus = octopus || len(w.parents) > 2
			}
			if !octopus {
				t.Fatal("the fixture has no octopus merge")
			}
			if _, ok := g.Position(plumbing.NewHash("0123456789012345678901234567890123456789")); ok {
				t.Error("Position of a commit not in the graph found it")
			}
		})
	}
}

func oidAtPosition(t *testing.T, g *Graph, pos uint32) plumbing.Hash {
	t.Helper()
	m := g.layerOf(pos)
	if m == nil {
		t.Fatalf("no layer holds position %d", pos)
	}
	return plumbing.Hash(m.oid(pos - m.base))
}
