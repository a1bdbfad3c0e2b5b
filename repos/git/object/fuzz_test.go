package object

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"unsafe"

	"github.com/go-git/go-git/v5/plumbing"
)

const (
	seedID   = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
	seedHead = "tree " + seedID + "\nparent " + seedID + "\n"
)

// FuzzParseCommit checks that the commit parsers never panic, agree with
// each other, and refuse only with ErrMalformed.
func FuzzParseCommit(f *testing.F) {
	for _, s := range []string{
		"",
		"tree " + seedID + "\nauthor A <a@x> 1 +0000\ncommitter C <c@x> 2 -0130\n\nroot\n",
		seedHead + "parent " + seedID + "\nauthor A <a@x> 1 +0000\ncommitter C <c@x> 2 +0000\nencoding ISO-8859-1\n\nmerge",
		seedHead + "author A <a@x> 1 +0000\ncommitter C <c@x> 2 +0000\ngpgsig -----BEGIN PGP SIGNATURE-----\n \n abc\n -----END PGP SIGNATURE-----\n\nsigned\n",
		seedHead + "author <> 0 +0000\ncommitter C <c@x>\nx-extra a\n b\n",
		seedHead + "author A <b <a@x> 1 +01\ncommitter C <c@x> 99999999999999999999999 +0000\n\n",
		"tree " + seedID[:39] + "\n\n",
		seedHead + "parent " + seedID[:20] + "\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCommit(b)
		var info CommitInfo
		ierr := ParseCommitInfo(b, &info)
		links, lerr := AppendLinks(nil, plumbing.CommitObject, b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseCommit(%q) = %v; want ErrMalformed", b, err)
			}
			if ierr == nil || lerr == nil || ierr.Error() != err.Error() || lerr.Error() != err.Error() {
				t.Fatalf("ParseCommit(%q) = %v, but ParseCommitInfo = %v and AppendLinks = %v", b, err, ierr, lerr)
			}
			return
		}
		if ierr != nil || lerr != nil {
			t.Fatalf("ParseCommit(%q) = nil, but ParseCommitInfo = %v and AppendLinks = %v", b, ierr, lerr)
		}
		if info.Tree != c.Tree || !slices.Equal(info.Parents, c.Parents) {
			t.Fatalf("ParseCommitInfo(%q) = %v %v; ParseCommit = %v %v", b, info.Tree, info.Parents, c.Tree, c.Parents)
		}
		if !slices.Equal(links, append([]plumbing.Hash{c.Tree}, c.Parents...)) {
			t.Fatalf("AppendLinks(%q) = %v; want tree and parents", b, links)
		}
	})
}

// FuzzParseTag checks that the tag parsers never panic and agree.
func FuzzParseTag(f *testing.F) {
	for _, s := range []string{
		"",
		"object " + seedID + "\ntype commit\ntag v1\ntagger T <t@x> 1 +0000\n\nmsg\n-----BEGIN PGP SIGNATURE-----\nx\n",
		"object " + seedID + "\ntype tag\ntag nested\n\n",
		"object " + seedID + "\ntype blob\ntag v1.0.0-final-release",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tag, err := ParseTag(b)
		obj, typ, terr := TagTarget(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) || terr == nil || terr.Error() != err.Error() {
				t.Fatalf("ParseTag(%q) = %v; TagTarget = %v", b, err, terr)
			}
			return
		}
		if terr != nil || obj != tag.Object || typ != tag.Type {
			t.Fatalf("ParseTag(%q) = %v %v; TagTarget = %v %v %v", b, tag.Object, tag.Type, obj, typ, terr)
		}
		if !bytes.HasSuffix(b, []byte(tag.Message+tag.Signature)) {
			t.Fatalf("ParseTag(%q): message %q and signature %q are not the end of the tag", b, tag.Message, tag.Signature)
		}
	})
}

// FuzzTree checks that the tree iterator never panics, reads every byte
// of a well-formed tree exactly once, and hands out names inside it.
func FuzzTree(f *testing.F) {
	id := string(bytes.Repeat([]byte{0xab}, RawSize))
	for _, s := range []string{
		"",
		"100644 file\x00" + id + "40000 dir\x00" + id + "160000 sub\x00" + id,
		"120000 link\x00" + id + "100755 run\x00" + id[:10],
		"0100644 zero\x00" + id,
		" x\x00" + id,
		"100644 \x00" + id,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		it := Tree(b).Iter()
		end, n, linked := 0, 0, 0
		for it.Next() {
			e := it.Entry()
			n++
			if !e.Mode.IsGitlink() {
				linked++
			}
			if len(e.Name) == 0 || bytes.IndexByte(e.Name, 0) >= 0 {
				t.Fatalf("tree %q: entry %d has name %q", b, n, e.Name)
			}
			start := int(uintptr(unsafe.Pointer(&e.Name[0])) - uintptr(unsafe.Pointer(&b[0])))
			if start <= end || start+len(e.Name)+1+RawSize > len(b) || !bytes.Equal(b[start+len(e.Name)+1:][:RawSize], e.ID[:]) {
				t.Fatalf("tree %q: entry %d (%q at %d) is not where it was read", b, n, e.Name, start)
			}
			end = start + len(e.Name) + 1 + RawSize
		}
		links, lerr := AppendLinks(nil, plumbing.TreeObject, b)
		if err := it.Err(); err != nil {
			if !errors.Is(err, ErrMalformed) || lerr == nil {
				t.Fatalf("tree %q: %v; AppendLinks %v", b, err, lerr)
			}
			return
		}
		if end != len(b) {
			t.Fatalf("tree %q: read %d of %d bytes", b, end, len(b))
		}
		if lerr != nil || len(links) != linked {
			t.Fatalf("tree %q: AppendLinks = %d links, %v; want %d", b, len(links), lerr, linked)
		}
	})
}
