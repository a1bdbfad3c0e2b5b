package browse

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

const emptyTree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

// numbered is n distinct lines, so that every diff of them has one
// shortest script and git's hunks are the only right answer.
func numbered(from, n int, tag string) string {
	var b strings.Builder
	for i := from; i < from+n; i++ {
		fmt.Fprintf(&b, "%s line %d\n", tag, i)
	}
	return b.String()
}

// diffRepo has commits with every kind of change a diff shows.
func diffRepo(tb testing.TB) (*workRepo, map[string]plumbing.Hash) {
	tb.Helper()
	g := newWorkRepo(tb)
	ids := map[string]plumbing.Hash{}
	g.write(map[string]string{
		"text.txt":       numbered(1, 40, "t"),
		"two-hunks.txt":  numbered(1, 60, "h"),
		"near.txt":       numbered(1, 30, "n"),
		"no-newline.txt": "one\ntwo",
		"bin.dat":        "\x00\x01binary",
		"gone.txt":       numbered(1, 5, "g"),
		"thing":          "a file that becomes a directory\n",
		"empty":          "",
		"mode.sh":        "#!/bin/sh\n",
	})
	ids["root"] = g.commit("root")

	text := strings.Replace(numbered(1, 40, "t"), "t line 20\n", "t line 20 changed\n", 1) + "t appended\n"
	hunks := strings.Replace(numbered(1, 60, "h"), "h line 5\n", "", 1)
	hunks = strings.Replace(hunks, "h line 50\n", "h line 50\nh inserted\n", 1)
	near := strings.Replace(numbered(1, 30, "n"), "n line 10\n", "n ten\n", 1)
	near = strings.Replace(near, "n line 16\n", "n sixteen\n", 1) // 5 lines apart: one hunk
	g.write(map[string]string{
		"text.txt":       text,
		"two-hunks.txt":  hunks,
		"near.txt":       near,
		"no-newline.txt": "one\ntwo\nthree\n",
		"bin.dat":        "\x00\x02binary",
		"new/dir/added":  "added\nfile\n",
		"big.txt":        strings.Repeat("0123456789\n", MaxDiffFileSize/11+1),
	})
	if err := os.Remove(filepath.Join(g.work, "gone.txt")); err != nil {
		tb.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(g.work, "mode.sh"), 0o755); err != nil {
		tb.Fatal(err)
	}
	ids["changes"] = g.commit("changes")

	g.git("rm", "-q", "thing")
	g.write(map[string]string{"thing/inside": "now a directory\n", "no-newline.txt": "one\ntwo\nthree"})
	if err := os.Symlink("text.txt", filepath.Join(g.work, "link")); err != nil {
		tb.Fatal(err)
	}
	g.git("add", "-A")
	g.git("update-index", "--add", "--cacheinfo", "160000,"+strings.Repeat("12", 20)+",sub")
	g.git("commit", "-q", "-m", "types")
	g.tick += 60
	ids["types"] = g.rev("HEAD")

	g.git("update-index", "--cacheinfo", "160000,"+strings.Repeat("34", 20)+",sub")
	g.git("checkout", "-q", "-b", "side", "HEAD")
	g.git("commit", "-q", "-m", "submodule moved")
	g.tick += 60
	ids["submodule"] = g.rev("HEAD")
	g.git("checkout", "-q", "main")
	g.write(map[string]string{"main-only": "m\n"})
	g.commit("main only")
	g.git("merge", "-q", "--no-ff", "-m", "merge side", "side")
	g.tick += 60
	ids["merge"] = g.rev("HEAD")
	return g, ids
}

// parentTree is what a commit's diff is against, as git names it.
func parentTree(g *workRepo, id plumbing.Hash) string {
	parents := strings.Fields(g.git("log", "-1", "--format=%P", id.String()))
	if len(parents) == 0 {
		return emptyTree
	}
	return parents[0]
}

func TestCommitMatchesGitNumstat(t *testing.T) {
	g, ids := diffRepo(t)
	r := g.open()
	for _, name := range []string{"root", "changes", "types", "submodule", "merge"} {
		t.Run(name, func(t *testing.T) {
			id := ids[name]
			cd, err := r.Commit(id)
			if err != nil {
				t.Fatal(err)
			}
			out := g.git("diff-tree", "-r", "--numstat", "--no-renames", parentTree(g, id), id.String())
			var want []string
			for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
				if line != "" {
					want = append(want, line)
				}
			}
			var got []string
			for _, f := range cd.Files {
				switch {
				case f.TooLarge:
					// git counts what depot does not diff: take its
					// counts, check the flag.
					for _, w := range want {
						if strings.HasSuffix(w, "\t"+f.Path) {
							got = append(got, w)
						}
					}
					if f.Path != "big.txt" {
						t.Errorf("%s is TooLarge", f.Path)
					}
				case f.Binary:
					got = append(got, "-\t-\t"+f.Path)
				default:
					got = append(got, fmt.Sprintf("%d\t%d\t%s", f.Adds, f.Dels, f.Path))
				}
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("Commit(%s) numstat:\n%s\ngit diff-tree --numstat:\n%s", name, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if cd.Subject != strings.TrimSpace(g.git("log", "-1", "--format=%s", id.String())) {
				t.Errorf("Subject = %q", cd.Subject)
			}
		})
	}
}

// unified writes f's hunks as git diff does, without the function names
// git adds after a hunk header.
func unified(f FileDiff) string {
	var b strings.Builder
	rng := func(start, n int) string {
		if n == 1 {
			return fmt.Sprint(start)
		}
		return fmt.Sprintf("%d,%d", start, n)
	}
	for _, h := range f.Hunks {
		fmt.Fprintf(&b, "@@ -%s +%s @@\n", rng(h.OldStart, h.OldLines), rng(h.NewStart, h.NewLines))
		for _, l := range h.Lines {
			b.WriteString(map[LineKind]string{LineContext: " ", LineAdded: "+", LineDeleted: "-"}[l.Kind] + l.Text + "\n")
			if l.NoNewline {
				b.WriteString("\\ No newline at end of file\n")
			}
		}
	}
	return b.String()
}

// gitHunks returns git diff-tree -p's hunks by path, function names cut.
func gitHunks(g *workRepo, from string, to plumbing.Hash) map[string]string {
	out := g.git("diff-tree", "-p", "-r", "--no-renames", "--no-indent-heuristic", from, to.String())
	hunks := map[string]*strings.Builder{}
	var cur *strings.Builder
	inHunks := false
	for _, line := range strings.SplitAfter(out, "\n") {
		switch {
		case strings.HasPrefix(line, "diff --git "):
			path := strings.TrimSuffix(line[strings.LastIndex(line, " b/")+3:], "\n")
			cur = &strings.Builder{}
			hunks[path] = cur
			inHunks = false
		case strings.HasPrefix(line, "@@ "):
			inHunks = true
			end := strings.Index(line[3:], " @@") + 3
			cur.WriteString(line[:end+3] + "\n")
		case inHunks:
			cur.WriteString(line)
		}
	}
	res := map[string]string{}
	for path, b := range hunks {
		res[path] = b.String()
	}
	return res
}

func TestCommitHunksMatchGit(t *testing.T) {
	g, ids := diffRepo(t)
	r := g.open()
	for _, name := range []string{"root", "changes", "types"} {
		t.Run(name, func(t *testing.T) {
			id := ids[name]
			cd, err := r.Commit(id)
			if err != nil {
				t.Fatal(err)
			}
			want := gitHunks(g, parentTree(g, id), id)
			for _, f := range cd.Files {
				if f.TooLarge || f.Binary {
					continue
				}
				w, ok := want[f.Path]
				if !ok {
					t.Errorf("git shows no patch for %s", f.Path)
					continue
				}
				if got := unified(f); got != w {
					t.Errorf("hunks of %s:\n%s\ngit diff-tree -p:\n%s", f.Path, got, w)
				}
			}
		})
	}
}

func TestCommitFlags(t *testing.T) {
	g, ids := diffRepo(t)
	r := g.open()
	cd, err := r.Commit(ids["changes"])
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string]FileDiff{}
	for _, f := range cd.Files {
		byPath[f.Path] = f
	}
	for _, tc := range []struct {
		path     string
		status   Status
		binary   bool
		tooLarge bool
		hunks    int
	}{
		{"bin.dat", Modified, true, false, 0},
		{"big.txt", Added, false, true, 0},
		{"gone.txt", Deleted, false, false, 1},
		{"new/dir/added", Added, false, false, 1},
		{"two-hunks.txt", Modified, false, false, 2},
		{"near.txt", Modified, false, false, 1},
		{"mode.sh", Modified, false, false, 0},
	} {
		t.Run(tc.path, func(t *testing.T) {
			f, ok := byPath[tc.path]
			if !ok {
				t.Fatalf("no change of %s", tc.path)
			}
			if f.Status != tc.status || f.Binary != tc.binary || f.TooLarge != tc.tooLarge || len(f.Hunks) != tc.hunks {
				t.Errorf("%s: %s binary %v too large %v, %d hunks; want %s %v %v %d", tc.path, f.Status, f.Binary, f.TooLarge, len(f.Hunks), tc.status, tc.binary, tc.tooLarge, tc.hunks)
			}
			if (f.Binary || f.TooLarge) && (f.Adds != -1 || f.Dels != -1) {
				t.Errorf("%s: counts %d, %d without a diff", tc.path, f.Adds, f.Dels)
			}
		})
	}
}

func TestCommitLimits(t *testing.T) {
	g := newWorkRepo(t)
	lines := MaxDiffLines/2 - 100 // two files fit, the third does not, a small one does
	g.write(map[string]string{
		"a.txt": numbered(1, lines, "a"),
		"b.txt": numbered(1, lines, "b"),
		"c.txt": numbered(1, lines, "c"),
		"d.txt": "small\n",
	})
	budget := g.commit("budget")
	many := map[string]string{}
	for i := range MaxDiffFiles + 5 {
		many[fmt.Sprintf("many/%04d", i)] = fmt.Sprintln(i)
	}
	g.write(many)
	crowd := g.commit("crowd")
	heavy := map[string]string{}
	for i := range 20 {
		heavy[fmt.Sprintf("heavy/%02d.bin", i)] = fmt.Sprint(i) + "\x00" + strings.Repeat("x", 500_000-3)
	}
	g.write(heavy)
	weight := g.commit("heavy")
	r := g.open()

	cd, err := r.Commit(budget)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path    string
		omitted bool
		adds    int
	}{
		{"a.txt", false, lines},
		{"b.txt", false, lines},
		{"c.txt", true, lines},
		{"d.txt", false, 1},
	} {
		t.Run(tc.path, func(t *testing.T) {
			for _, f := range cd.Files {
				if f.Path == tc.path {
					if f.Omitted != tc.omitted || f.Adds != tc.adds || (tc.omitted && len(f.Hunks) > 0) {
						t.Errorf("%s: omitted %v, adds %d, %d hunks; want omitted %v, adds %d", f.Path, f.Omitted, f.Adds, len(f.Hunks), tc.omitted, tc.adds)
					}
					return
				}
			}
			t.Errorf("no change of %s", tc.path)
		})
	}
	if cd.Truncated {
		t.Errorf("Truncated with %d files", len(cd.Files))
	}

	cd, err = r.Commit(crowd)
	if err != nil {
		t.Fatal(err)
	}
	if !cd.Truncated || len(cd.Files) != MaxDiffFiles {
		t.Errorf("a commit of %d files: Truncated %v, %d files; want true, %d", MaxDiffFiles+5, cd.Truncated, len(cd.Files), MaxDiffFiles)
	}
	if cd.Files[0].Path != "many/0000" || cd.Files[MaxDiffFiles-1].Path != fmt.Sprintf("many/%04d", MaxDiffFiles-1) {
		t.Errorf("the first files listed are %s … %s", cd.Files[0].Path, cd.Files[len(cd.Files)-1].Path)
	}

	// 20 blobs of 500 kB: the 17th passes MaxDiffBytes, so the last
	// three are not read.
	cd, err = r.Commit(weight)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range cd.Files {
		read := i < 17
		if f.Binary != read || f.Omitted == read || (!read && f.Adds != -1) {
			t.Errorf("%s: binary %v, omitted %v, adds %d; want it read: %v", f.Path, f.Binary, f.Omitted, f.Adds, read)
		}
	}
}
