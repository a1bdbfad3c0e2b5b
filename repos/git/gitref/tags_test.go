package gitref

import (
	"strings"
	"testing"
)

func TestTags(t *testing.T) {
	t.Run("Fixture", func(t *testing.T) {
		f := newFixture(t)
		// A tag created after pack-refs, loose.
		f.gitEnv(f.work, dates(500), "tag", "-a", "v2.0", "-m", "two\n", "feature")
		got, err := Tags(f.dir)
		if err != nil {
			t.Fatal(err)
		}
		var want []Tag
		for _, name := range strings.Fields(f.git("", "for-each-ref", "--format=%(refname)", "refs/tags")) {
			short := strings.TrimPrefix(name, "refs/tags/")
			obj := f.rev(name)
			typ := strings.TrimSpace(f.git("", "cat-file", "-t", obj))
			tag := Tag{Name: short, Object: obj, Commit: f.rev(name + "^{}"), Annotated: typ == "tag"}
			if tag.Annotated {
				tag.Message = strings.TrimRight(f.git("", "for-each-ref", "--format=%(contents)", name), "\n")
			}
			want = append(want, tag)
		}
		if len(want) != 6 {
			t.Fatalf("fixture has %d tags; want 6", len(want))
		}
		if !equalSlices(got, want) {
			t.Errorf("Tags =\n%+v\nwant\n%+v", got, want)
		}
		// The cases the fixture is there for, spelled out.
		byName := map[string]Tag{}
		for _, tag := range got {
			byName[tag.Name] = tag
		}
		for _, tc := range []struct {
			name      string
			commit    string
			annotated bool
			message   string
		}{
			{"v0.1", f.rev("v0.1"), false, ""},
			{"v1.0", f.rev("main~1"), true, "release 1.0\n\nnotes"},
			{"nested", f.rev("main~1"), true, "a tag of a tag"},
			{"treetag", f.rev("main~1^{tree}"), true, "a tree"},
			{"v2.0", f.rev("feature"), true, "two"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tag := byName[tc.name]
				if tag.Commit != tc.commit || tag.Annotated != tc.annotated || tag.Message != tc.message {
					t.Errorf("tag %s = %+v; want commit %s annotated %v message %q", tc.name, tag, tc.commit, tc.annotated, tc.message)
				}
				if !tc.annotated && tag.Object != tag.Commit {
					t.Errorf("lightweight tag %s: Object %s != Commit %s", tc.name, tag.Object, tag.Commit)
				}
			})
		}
	})
	t.Run("Empty", func(t *testing.T) {
		got, err := Tags(newEmpty(t).dir)
		if err != nil || got == nil || len(got) != 0 {
			t.Errorf("Tags(empty) = %#v, %v; want [], nil", got, err)
		}
	})
}
