package repostest

import (
	"strings"
	"testing"
)

// TestNew checks the fixture against what its users rely on: the same
// ids everywhere, the refs, the merge, the subdirectories and the binary
// file, and a repository that git fsck accepts.
func TestFixture(t *testing.T) {
	r := NewFixture(t)
	git(t, r.Path, nil, "fsck", "--full", "--strict", "--no-dangling")
	for _, tc := range []struct{ name, args, want string }{
		{"Head", "symbolic-ref HEAD", "refs/heads/main"},
		{"MainStable", "rev-parse main", "87568e2b3c4628157f73c72a70e5db75ea7652b2"},
		{"TopicStable", "rev-parse topic", "680042b98b97bb159ef4f436469677baa79cbba1"},
		{"LightweightTag", "cat-file -t v1", "commit"},
		{"AnnotatedTag", "cat-file -t v2", "tag"},
		{"V1IsTwo", "log -1 --format=%s v1", "two"},
		{"V2IsTheMerge", "log -1 --format=%s v2^{commit}", "merge topic"},
		{"MergeParents", "log -1 --format=%P main", r.ID(t, "three") + " " + r.ID(t, "topic work")},
		{"LogOrder", "log --format=%s main", "merge topic\nthree\ntopic work\ntwo\none"},
		{"Tree", "ls-tree -r --name-only main", "README\ndocs/guide.md\nlogo.png\nsrc/hello.txt"},
		{"Author", "log -1 --format=%an_%ae_%at " + r.ID(t, "one"), "A_a@example.com_1700000000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := strings.TrimSpace(git(t, r.Path, nil, strings.Fields(tc.args)...)); got != tc.want {
				t.Errorf("git %s = %q; want %q", tc.args, got, tc.want)
			}
		})
	}
	if png := git(t, r.Path, nil, "cat-file", "blob", "main:logo.png"); !strings.HasPrefix(png, "\x89PNG") || !strings.Contains(png, "\x00") {
		t.Errorf("logo.png = %q; want a binary PNG", png)
	}
}
