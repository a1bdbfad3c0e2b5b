package receivepack

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
)

// TestGitPush pushes with the real git binary over HTTP. Every case starts
// from an empty server repository and ends with git fsck on it.
func TestGitPush(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, e *env)
	}{
		{"FirstPushIntoEmptyRepo", func(t *testing.T, e *env) {
			c1 := e.commit(e.work, "first", map[string]string{"a.txt": "hello\n"})
			out := e.git(e.work, "push", "origin", "main")
			if got := e.serverRef("refs/heads/main"); got != c1 {
				t.Fatalf("server main = %q; want %q\n%s", got, c1, out)
			}
			if head := e.git(e.bare, "symbolic-ref", "HEAD"); head != "refs/heads/main" {
				t.Errorf("server HEAD = %q; want refs/heads/main", head)
			}
			clone := filepath.Join(e.home, "clone")
			e.git(e.home, "clone", "-q", e.url, clone)
			if b, err := os.ReadFile(filepath.Join(clone, "a.txt")); err != nil || string(b) != "hello\n" {
				t.Errorf("cloned a.txt = %q, %v", b, err)
			}
		}},
		{"SecondCommit", func(t *testing.T, e *env) {
			e.commit(e.work, "first", map[string]string{"a.txt": "1\n"})
			e.git(e.work, "push", "origin", "main")
			c2 := e.commit(e.work, "second", map[string]string{"a.txt": "2\n", "dir/b.txt": "b\n"})
			out := e.git(e.work, "push", "--progress", "origin", "main")
			if got := e.serverRef("refs/heads/main"); got != c2 {
				t.Fatalf("server main = %q; want %q", got, c2)
			}
			if !strings.Contains(out, "remote: depot: received") {
				t.Errorf("push output lacks side-band progress:\n%s", out)
			}
		}},
		{"ThinPack", testThinPack},
		{"NewBranch", func(t *testing.T, e *env) {
			c1 := e.commit(e.work, "first", nil)
			e.git(e.work, "push", "origin", "main")
			e.git(e.work, "checkout", "-q", "-b", "feature/x")
			c2 := e.commit(e.work, "on feature", map[string]string{"f": "f\n"})
			e.git(e.work, "push", "origin", "feature/x")
			if got := e.serverRef("refs/heads/feature/x"); got != c2 {
				t.Errorf("feature/x = %q; want %q", got, c2)
			}
			if got := e.serverRef("refs/heads/main"); got != c1 {
				t.Errorf("main = %q; want %q", got, c1)
			}
			// A branch created at a commit the server already has: empty pack.
			e.git(e.work, "push", "origin", c1+":refs/heads/same")
			if got := e.serverRef("refs/heads/same"); got != c1 {
				t.Errorf("same = %q; want %q", got, c1)
			}
		}},
		{"Tags", func(t *testing.T, e *env) {
			c1 := e.commit(e.work, "first", nil)
			e.git(e.work, "push", "origin", "main")
			e.git(e.work, "tag", "v1")
			e.git(e.work, "tag", "-a", "v2", "-m", "release 2")
			e.git(e.work, "push", "origin", "--tags")
			if got := e.serverRef("refs/tags/v1"); got != c1 {
				t.Errorf("v1 = %q; want %q", got, c1)
			}
			if typ := e.git(e.bare, "cat-file", "-t", "refs/tags/v2"); typ != "tag" {
				t.Errorf("v2 is a %s; want tag", typ)
			}
			if got := e.serverRef("refs/tags/v2^{commit}"); got != c1 {
				t.Errorf("v2^{commit} = %q; want %q", got, c1)
			}
		}},
		{"DeleteBranch", func(t *testing.T, e *env) {
			e.commit(e.work, "first", nil)
			e.git(e.work, "push", "origin", "main", "main:gone", "main:packed", "main:keep/me")
			e.git(e.bare, "pack-refs", "--all")
			e.git(e.work, "push", "origin", "--delete", "gone", "packed")
			for _, ref := range []string{"refs/heads/gone", "refs/heads/packed"} {
				if got := e.serverRef(ref); got != "" {
					t.Errorf("%s still exists at %s", ref, got)
				}
			}
			packed, _ := os.ReadFile(filepath.Join(e.bare, "packed-refs"))
			if bytes.Contains(packed, []byte("refs/heads/packed")) || !bytes.Contains(packed, []byte("refs/heads/keep/me")) {
				t.Errorf("packed-refs after delete:\n%s", packed)
			}
			// The branch HEAD names is the default branch: git, GitHub
			// and Gitea refuse to delete it, and so does depot.
			e.git(e.bare, "symbolic-ref", "HEAD", "refs/heads/main")
			out, err := e.gitErr(e.work, "push", "origin", "--delete", "main")
			if err == nil || !strings.Contains(out, "deletion of the current branch prohibited") ||
				!strings.Contains(out, "refusing to delete the current branch: refs/heads/main") {
				t.Errorf("deleting HEAD's branch: err %v\n%s", err, out)
			}
			if got := e.serverRef("refs/heads/main"); got == "" {
				t.Error("main was deleted")
			}
			// Another branch still goes, in the same push too.
			out, err = e.gitErr(e.work, "push", "origin", "--delete", "main", "keep/me")
			if err == nil || e.serverRef("refs/heads/keep/me") != "" || e.serverRef("refs/heads/main") == "" {
				t.Errorf("mixed delete: err %v\n%s", err, out)
			}
		}},
		{"ForcePush", func(t *testing.T, e *env) {
			e.commit(e.work, "first", nil)
			e.commit(e.work, "second", nil)
			e.git(e.work, "push", "origin", "main")
			e.git(e.work, "reset", "-q", "--hard", "HEAD~1")
			c3 := e.commit(e.work, "rewritten", map[string]string{"x": "x\n"})
			if _, err := e.gitErr(e.work, "push", "origin", "main"); err == nil {
				t.Fatal("non-fast-forward push without --force succeeded")
			}
			e.git(e.work, "push", "--force", "origin", "main")
			if got := e.serverRef("refs/heads/main"); got != c3 {
				t.Errorf("main = %q; want %q", got, c3)
			}
		}},
		{"AtomicPush", func(t *testing.T, e *env) {
			c1 := e.commit(e.work, "first", nil)
			e.git(e.work, "push", "--atomic", "origin", "main", "main:other")
			if e.serverRef("refs/heads/main") != c1 || e.serverRef("refs/heads/other") != c1 {
				t.Errorf("atomic push did not update both refs")
			}
		}},
		{"PushOptions", func(t *testing.T, e *env) {
			e.commit(e.work, "first", nil)
			e.git(e.work, "-c", "push.pushOption=", "push", "-o", "ci.skip", "-o", "merge_request.title=a b", "origin", "main")
			res, _ := e.srv.last(t)
			want := []string{"ci.skip", "merge_request.title=a b"}
			if !slices.Equal(res.PushOptions, want) {
				t.Errorf("PushOptions = %q; want %q", res.PushOptions, want)
			}
		}},
		{"ResultSummary", func(t *testing.T, e *env) {
			c1 := e.commit(e.work, "first", map[string]string{"a": "a\n"})
			e.git(e.work, "push", "origin", "main")
			res, _ := e.srv.last(t)
			want := []RefUpdate{{Name: "refs/heads/main", New: plumbing.NewHash(c1)}}
			if !slices.Equal(res.Updates, want) || res.Objects != 3 {
				t.Errorf("Result = %+v; want updates %+v and 3 objects", res, want)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.t = t
			tc.run(t, e)
			e.fsck()
		})
	}
}

// testThinPack edits one line of a large file: git sends the new blob as
// a ref-delta against the old one, which is only on the server.
func testThinPack(t *testing.T, e *env) {
	rng := rand.New(rand.NewSource(1))
	var big strings.Builder
	for big.Len() < 1<<20 {
		fmt.Fprintf(&big, "line %d %x\n", big.Len(), rng.Int63())
	}
	content := big.String()
	e.commit(e.work, "big", map[string]string{"big.txt": content})
	e.git(e.work, "push", "origin", "main")
	edited := strings.Replace(content, "line 0 ", "line zero ", 1)
	c2 := e.commit(e.work, "edit", map[string]string{"big.txt": edited})
	e.git(e.work, "push", "origin", "main")

	_, body := e.srv.last(t)
	if missing := externalDeltaBases(t, body); len(missing) == 0 {
		t.Fatalf("git did not send a thin pack (%d bytes)", len(body))
	}
	if len(body) > 64<<10 {
		t.Errorf("thin push sent %d bytes; want a small delta", len(body))
	}
	if got := e.serverRef("refs/heads/main"); got != c2 {
		t.Fatalf("main = %q; want %q", got, c2)
	}
	if got := e.git(e.bare, "cat-file", "-p", c2+":big.txt"); got != strings.TrimSpace(edited) {
		t.Errorf("big.txt on the server differs from the pushed one")
	}

	// The same thin pack sent to a repository without its bases is refused.
	other := e.srv.repoPath("other.git")
	e.git(e.home, "init", "-q", "--bare", other)
	var out bytes.Buffer
	_, err := Serve(context.Background(), other, bytes.NewReader(body), &out, Options{})
	if err == nil || !strings.Contains(out.String(), "is neither in the pack nor in the repository") {
		t.Errorf("thin pack without bases: Serve = %v, report %q", err, out.String())
	}
	fsckRepo(t, e.home, other)
}

// externalDeltaBases returns the bases of ref-deltas in the pack at the
// end of a receive-pack request that are not in the pack themselves.
func externalDeltaBases(t testing.TB, body []byte) []plumbing.Hash {
	t.Helper()
	i := bytes.Index(body, []byte("PACK"))
	if i < 0 {
		t.Fatal("no pack in request")
	}
	sc := packfile.NewScanner(bytes.NewReader(body[i:]))
	_, n, err := sc.Header()
	if err != nil {
		t.Fatal(err)
	}
	var refs []plumbing.Hash
	have := map[plumbing.Hash]bool{}
	for range n {
		oh, err := sc.NextObjectHeader()
		if err != nil {
			t.Fatal(err)
		}
		h := plumbing.NewHasher(oh.Type, oh.Length)
		if _, _, err := sc.NextObject(h); err != nil {
			t.Fatal(err)
		}
		if oh.Type == plumbing.REFDeltaObject {
			refs = append(refs, oh.Reference)
		} else if !oh.Type.IsDelta() {
			have[h.Sum()] = true
		}
	}
	var missing []plumbing.Hash
	for _, r := range refs {
		if !have[r] {
			missing = append(missing, r)
		}
	}
	return missing
}
