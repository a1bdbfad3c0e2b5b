package browse

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/depot/depot/repos/repostest"
	"github.com/go-git/go-git/v5/plumbing"
)

// richRepo has every kind of tree entry: directories, files, an
// executable, a symlink and a submodule, with names that sort differently
// as git sorts trees ("a" the directory after "a-b") and as pages do.
func richRepo(tb testing.TB) (*workRepo, plumbing.Hash) {
	tb.Helper()
	g := newWorkRepo(tb)
	g.write(map[string]string{
		"README.md":      "# Rich\n\nSee [main](src/main.go).\n",
		"src/main.go":    "package main\n\nfunc main() {\n\tprintln(\"hi\")\n}\n",
		"src/util/x.go":  "package util\n",
		"a-b":            "dash\n",
		"a/inner.txt":    "inner\n",
		"Zeta.txt":       "capital\n",
		"empty":          "",
		"bin/run.sh":     "#!/bin/sh\necho run\n",
		"data/blob.bin":  "\x00\x01\x02binary",
		"docs/guide.md":  "# Guide\n",
		"docs/sub/x.md":  "x\n",
		"no-newline.txt": "no newline at end",
	})
	if err := os.Chmod(filepath.Join(g.work, "bin/run.sh"), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.Symlink("src/main.go", filepath.Join(g.work, "link")); err != nil {
		tb.Fatal(err)
	}
	g.git("add", "-A")
	g.git("update-index", "--add", "--cacheinfo", "160000,"+strings.Repeat("ab", 20)+",sub")
	g.git("commit", "-q", "-m", "rich")
	g.tick += 60
	return g, g.rev("HEAD")
}

// lsTree is git ls-tree -l of path in commit, in the page's order.
func lsTree(tb testing.TB, g *workRepo, commit plumbing.Hash, path string) []Entry {
	tb.Helper()
	spec := commit.String()
	if path != "" {
		spec += ":" + path
	}
	var want []Entry
	for _, line := range strings.Split(strings.TrimSuffix(g.git("ls-tree", "-l", spec), "\n"), "\n") {
		meta, name, _ := strings.Cut(line, "\t")
		f := strings.Fields(meta)
		mode, _ := strconv.ParseUint(f[0], 8, 32)
		size := int64(-1)
		if f[3] != "-" {
			size, _ = strconv.ParseInt(f[3], 10, 64)
		}
		e := Entry{Name: name, Mode: 0, ID: plumbing.NewHash(f[2]), Size: size}
		e.Mode = modeOf(mode)
		e.Kind = kindOf(e.Mode)
		want = append(want, e)
	}
	sort.SliceStable(want, func(i, j int) bool {
		if di, dj := want[i].Kind == KindDir, want[j].Kind == KindDir; di != dj {
			return di
		}
		return want[i].Name < want[j].Name
	})
	return want
}

func TestTreeMatchesLsTree(t *testing.T) {
	g, commit := richRepo(t)
	r := g.open()
	fx := repostest.NewFixture(t)
	fr, err := Open(fx.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer fr.Close()
	fg := &workRepo{tb: t, work: fx.Path, dir: fx.Path, home: t.TempDir()}
	for _, tc := range []struct {
		name   string
		g      *workRepo
		r      *Repo
		commit plumbing.Hash
		path   string
		kinds  map[string]Kind
	}{
		{"root", g, r, commit, "", map[string]Kind{
			"a": KindDir, "a-b": KindFile, "bin": KindDir, "link": KindSymlink, "sub": KindSubmodule, "README.md": KindFile,
		}},
		{"subdirectory", g, r, commit, "src", map[string]Kind{"main.go": KindFile, "util": KindDir}},
		{"nested", g, r, commit, "docs/sub", map[string]Kind{"x.md": KindFile}},
		{"executable", g, r, commit, "bin", map[string]Kind{"run.sh": KindExec}},
		{"fixture root", fg, fr, plumbing.NewHash(fx.ID(t, "merge topic")), "", map[string]Kind{"logo.png": KindFile, "docs": KindDir}},
		{"fixture old commit", fg, fr, plumbing.NewHash(fx.ID(t, "one")), "", map[string]Kind{"README": KindFile}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.r.Tree(tc.commit, tc.path)
			if err != nil {
				t.Fatal(err)
			}
			want := lsTree(t, tc.g, tc.commit, tc.path)
			if len(got) != len(want) {
				t.Fatalf("Tree(%s) has %d entries, git ls-tree %d:\n%v\n%v", tc.path, len(got), len(want), got, want)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("Tree(%s)[%d] = %+v; git ls-tree says %+v", tc.path, i, got[i], want[i])
				}
			}
			for name, kind := range tc.kinds {
				found := false
				for _, e := range got {
					if e.Name == name {
						found = true
						if e.Kind != kind {
							t.Errorf("%s is a %s; want %s", name, e.Kind, kind)
						}
					}
				}
				if !found {
					t.Errorf("no entry %s", name)
				}
			}
		})
	}
}

func TestTreeErrors(t *testing.T) {
	g, commit := richRepo(t)
	r := g.open()
	for _, tc := range []struct {
		name string
		path string
		want error
	}{
		{"missing", "nope", ErrNotFound},
		{"missing nested", "src/nope/deeper", ErrNotFound},
		{"file", "README.md", ErrNotTree},
		{"through a file", "README.md/x", ErrNotFound},
		{"submodule", "sub", ErrNotTree},
		{"through a submodule", "sub/x", ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := r.Tree(commit, tc.path); !errors.Is(err, tc.want) {
				t.Errorf("Tree(%q) = %v; want %v", tc.path, err, tc.want)
			}
		})
	}
}
