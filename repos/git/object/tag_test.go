package object

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// TestParseTag parses tags git made, and tags written by hand that git
// stores and reads, and compares them with git for-each-ref.
func TestParseTag(t *testing.T) {
	g := newGitRepo(t)
	tree := strings.TrimSpace(g.run(nil, "", "mktree"))
	commit := g.commitTree(nil, "root\n", tree)
	blob := g.blob("data\n")
	g.git("update-ref", "refs/heads/main", commit)
	tagAt := func(name, target, msg string) string {
		g.run([]string{"GIT_COMMITTER_DATE=1700000200 +0200"}, "", "tag", "-a", "-m", msg, name, target)
		return g.git("rev-parse", "refs/tags/"+name)
	}
	ofCommit := tagAt("v1", commit, "release 1\n\nnotes")
	ofTag := tagAt("nested", "v1", "a tag of a tag")
	ofTagOfTag := tagAt("nested2", "nested", "deeper")
	ofTree := tagAt("atree", tree, "a tree")
	ofBlob := tagAt("ablob", blob, "a blob")
	head := "object " + commit + "\ntype commit\ntag signed\ntagger T <t@x> 1700000000 -0700\n\n"
	signed := g.write("tag", head+"subject\n\nbody\n-----BEGIN PGP SIGNATURE-----\n\niQEz\n-----END PGP SIGNATURE-----\n")
	sshSigned := g.write("tag", head+"ssh\n-----BEGIN SSH SIGNATURE-----\nU1NI\n-----END SSH SIGNATURE-----\n")
	noTagger := g.write("tag", "object "+commit+"\ntype commit\ntag old\n\nfrom before taggers\n")
	noMessage := g.write("tag", "object "+commit+"\ntype commit\ntag bare\ntagger T <t@x> 1700000000 +0000\n")

	for _, tc := range []struct {
		name, id string
		typ      plumbing.ObjectType
		target   string
	}{
		{"OfCommit", ofCommit, plumbing.CommitObject, commit},
		{"OfTag", ofTag, plumbing.TagObject, ofCommit},
		{"OfTagOfTag", ofTagOfTag, plumbing.TagObject, ofTag},
		{"OfTree", ofTree, plumbing.TreeObject, tree},
		{"OfBlob", ofBlob, plumbing.BlobObject, blob},
		{"Signed", signed, plumbing.CommitObject, commit},
		{"SSHSigned", sshSigned, plumbing.CommitObject, commit},
		{"NoTagger", noTagger, plumbing.CommitObject, commit},
		{"NoMessage", noMessage, plumbing.CommitObject, commit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := g.cat("tag", tc.id)
			tag, err := ParseTag(raw)
			if err != nil {
				t.Fatalf("ParseTag(%q) = %v", raw, err)
			}
			g.git("update-ref", "refs/tags/probe", tc.id)
			want := strings.Split(g.git("for-each-ref", "--format=%(object)%00%(type)%00%(tag)%00%(taggername)%00%(taggeremail:trim)%00%(taggerdate:raw)%00%(contents)%00%(contents:signature)", "refs/tags/probe"), "\x00")
			// for-each-ref ends %(contents) with a newline it adds when
			// the message has none.
			want[6] = strings.TrimSuffix(want[6], "\n")
			want[7] = strings.TrimSuffix(want[7], "\n")
			got := []string{tag.Object.String(), tag.Type.String(), tag.Name, tag.Tagger.Name, tag.Tagger.Email,
				rawDate(tag.Tagger), strings.TrimSuffix(tag.Message+tag.Signature, "\n"), strings.TrimSuffix(tag.Signature, "\n")}
			if !slices.Equal(got, want) {
				t.Errorf("ParseTag(%q)\n got %q\nwant %q (git for-each-ref)", raw, got, want)
			}
			if tag.Object.String() != tc.target || tag.Type != tc.typ {
				t.Errorf("ParseTag = %s %s; want %s %s", tag.Object, tag.Type, tc.target, tc.typ)
			}
			obj, typ, err := TagTarget(raw)
			if err != nil || obj != tag.Object || typ != tag.Type {
				t.Errorf("TagTarget = %s, %s, %v; want %s, %s", obj, typ, err, tag.Object, tag.Type)
			}
			links, err := AppendLinks(nil, plumbing.TagObject, raw)
			if err != nil || !slices.Equal(links, []plumbing.Hash{tag.Object}) {
				t.Errorf("AppendLinks = %v, %v; want [%s]", links, err, tag.Object)
			}
		})
	}
}

// TestParseTagMalformed checks the tags git's parse_tag_buffer refuses.
func TestParseTagMalformed(t *testing.T) {
	const id = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
	const rest = "tagger T <t@x> 1700000000 +0000\n\nmessage\n"
	for _, tc := range []struct {
		name, raw, want string
	}{
		{"Empty", "", "too short"},
		{"NoObject", "type commit\ntag v1\n" + rest + strings.Repeat("x", 60), "no object line"},
		{"BadObject", "object " + id[:39] + "x\ntype commit\ntag v1\n" + rest, "bad object id"},
		{"ShortObject", "object " + id[:39] + "\ntype commit\ntag v1\n" + rest, "no object line"},
		{"NoType", "object " + id + "\ntag v1\n" + rest, "no type line"},
		{"UnknownType", "object " + id + "\ntype ofs-delta\ntag v1\n" + rest, `unknown type "ofs-delta"`},
		{"NoTagLine", "object " + id + "\ntype commit\n" + rest, "no tag line"},
		{"TagNotTerminated", "object " + id + "\ntype commit\ntag v1.0.0-final", "no tag line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseTag([]byte(tc.raw))
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseTag(%q) = %v; want ErrMalformed naming %q", tc.raw, err, tc.want)
			}
			if _, _, err2 := TagTarget([]byte(tc.raw)); err2 == nil || err2.Error() != err.Error() {
				t.Errorf("TagTarget(%q) = %v; want %v", tc.raw, err2, err)
			}
		})
	}
}
