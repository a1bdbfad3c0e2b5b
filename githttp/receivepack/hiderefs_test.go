package receivepack

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestHideRefs hides refs/pull in the repository's config and
// refs/keep-around server-wide: neither is advertised, and the real git
// client's pushes to them are refused in git's words while the rest of
// the push goes through.
func TestHideRefs(t *testing.T) {
	e := newEnv(t)
	c1 := e.commit(e.work, "first", map[string]string{"a": "1\n"})
	e.git(e.work, "push", "-q", "origin", "main", "main:refs/pull/1/head", "main:refs/keep-around/x")
	opt := e.srv.options()
	opt.HideRefs = []string{"refs/keep-around/"}
	e.srv.setOptions(opt)
	config := "[core]\n\tbare = true\n[receive]\n\thideRefs = refs/pull\n[uploadpack]\n\thideRefs = refs/heads\n"
	if err := os.WriteFile(filepath.Join(e.bare, "config"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}

	var adv bytes.Buffer
	if err := AdvertiseRefs(context.Background(), e.bare, &adv, opt); err != nil {
		t.Fatal(err)
	}
	if s := adv.String(); !strings.Contains(s, " refs/heads/main") || strings.Contains(s, "refs/pull") || strings.Contains(s, "refs/keep-around") {
		t.Errorf("advertisement with hidden refs:\n%q", s)
	}

	c2 := e.commit(e.work, "second", map[string]string{"a": "2\n"})
	out, err := e.gitErr(e.work, "push", "--porcelain", "origin", "main", "main:refs/pull/1/head", "main:refs/pull/2/head", "main:refs/keep-around/y")
	if err == nil {
		t.Fatalf("push to hidden refs succeeded:\n%s", out)
	}
	var got []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "!") || strings.HasPrefix(l, " ") {
			got = append(got, l)
		}
	}
	want := []string{
		" \trefs/heads/main:refs/heads/main\t" + c1[:7] + ".." + c2[:7],
		"!\trefs/heads/main:refs/pull/1/head\t[remote rejected] (deny updating a hidden ref)",
		"!\trefs/heads/main:refs/pull/2/head\t[remote rejected] (deny updating a hidden ref)",
		"!\trefs/heads/main:refs/keep-around/y\t[remote rejected] (deny updating a hidden ref)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("git push --porcelain:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for ref, want := range map[string]string{"refs/heads/main": c2, "refs/pull/1/head": c1, "refs/pull/2/head": "", "refs/keep-around/y": ""} {
		if got := e.serverRef(ref); got != want {
			t.Errorf("server %s = %q; want %q", ref, got, want)
		}
	}

	// git never sends a delete of a ref it was not shown; a client that
	// does is refused as git's receive-pack refuses it.
	lines, _, err := rawPush(t, e.bare, "report-status delete-refs", []string{cmdLine(c1, zero, "refs/pull/1/head")}, nil, opt)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"unpack ok", "ng refs/pull/1/head deny deleting a hidden ref"}; !slices.Equal(lines, want) {
		t.Errorf("delete of a hidden ref reported %q; want %q", lines, want)
	}
	if got := e.serverRef("refs/pull/1/head"); got != c1 {
		t.Errorf("hidden ref deleted: refs/pull/1/head = %q", got)
	}
	e.fsck()
}
