package browse

import (
	"errors"
	"slices"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

func TestResolve(t *testing.T) {
	g := newWorkRepo(t)
	g.write(map[string]string{"src/main.go": "package main\n"})
	first := g.commit("first")
	g.git("branch", "feature/x")
	g.git("tag", "feature") // a tag that is a prefix of the branch
	g.git("tag", "-a", "-m", "release", "release/1.0")
	g.write(map[string]string{"src/main.go": "package main // second\n"})
	second := g.commit("second")
	g.git("checkout", "-q", "-b", "deep/a/b/c")
	g.write(map[string]string{"deep.txt": "deep\n"})
	deep := g.commit("deep")
	g.git("checkout", "-q", "main")
	g.git("tag", "same")
	g.git("branch", "same", first.String()) // a branch and a tag of one name: the tag wins, as in git
	g.write(map[string]string{"x": "x\n"})
	g.git("add", "-A")
	g.git("commit", "-q", "-m", "left behind")
	orphan := g.rev("HEAD")
	g.git("reset", "-q", "--hard", "HEAD~1")
	r := g.open()

	type resolveCase struct {
		name    string
		refPath string
		want    Location
	}
	cases := []resolveCase{
		{"empty is the default branch", "", Location{"main", RefBranch, second, ""}},
		{"branch", "main", Location{"main", RefBranch, second, ""}},
		{"branch and path", "main/src/main.go", Location{"main", RefBranch, second, "src/main.go"}},
		{"trailing slash", "main/src/", Location{"main", RefBranch, second, "src"}},
		{"slashed branch", "feature/x/src/main.go", Location{"feature/x", RefBranch, first, "src/main.go"}},
		{"slashed branch alone", "feature/x", Location{"feature/x", RefBranch, first, ""}},
		{"shorter tag when the rest is no branch", "feature/y", Location{"feature", RefTag, first, "y"}},
		{"deep branch", "deep/a/b/c/deep.txt", Location{"deep/a/b/c", RefBranch, deep, "deep.txt"}},
		{"annotated tag peeled", "release/1.0/src", Location{"release/1.0", RefTag, first, "src"}},
		{"tag before branch", "same", Location{"same", RefTag, second, ""}},
		{"full commit id", first.String() + "/src/main.go", Location{first.String(), RefCommit, first, "src/main.go"}},
		{"abbreviated commit id", first.String()[:10] + "/src", Location{first.String(), RefCommit, first, "src"}},
	}
	check := func(t *testing.T, r *Repo) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				got, err := r.Resolve(tc.refPath)
				if err != nil {
					t.Fatalf("Resolve(%q): %v", tc.refPath, err)
				}
				if got != tc.want {
					t.Errorf("Resolve(%q) = %+v; want %+v", tc.refPath, got, tc.want)
				}
			})
		}
	}
	t.Run("loose refs", func(t *testing.T) { check(t, r) })

	for _, tc := range []struct {
		name    string
		refPath string
	}{
		{"unknown ref", "nope/src"},
		{"commit no ref reaches", orphan.String()},
		{"missing commit", plumbing.NewHash("0123456789012345678901234567890123456789").String()},
		{"dot dot", "main/src/../../x"},
		{"double slash", "main/src//main.go"},
		{"dot", "main/./src"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := r.Resolve(tc.refPath); !errors.Is(err, ErrNotFound) {
				t.Errorf("Resolve(%q) = %+v, %v; want ErrNotFound", tc.refPath, got, err)
			}
		})
	}

	refs, err := r.Refs()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := refs.Branches(), []string{"deep/a/b/c", "feature/x", "main", "same"}; !slices.Equal(got, want) {
		t.Errorf("Branches = %q; want %q", got, want)
	}
	if got, want := refs.Tags(), []string{"feature", "release/1.0", "same"}; !slices.Equal(got, want) {
		t.Errorf("Tags = %q; want %q", got, want)
	}
	if refs.Default != "main" {
		t.Errorf("Default = %q; want main", refs.Default)
	}
	// The same names once git has moved every ref into packed-refs.
	t.Run("packed refs", func(t *testing.T) {
		g.git("pack-refs", "--all")
		check(t, g.open())
	})
}

func TestResolveEmptyRepository(t *testing.T) {
	g := newWorkRepo(t)
	r := g.open()
	if _, err := r.Resolve(""); !errors.Is(err, ErrNotFound) {
		t.Errorf("Resolve(\"\") in an empty repository = %v; want ErrNotFound", err)
	}
}
