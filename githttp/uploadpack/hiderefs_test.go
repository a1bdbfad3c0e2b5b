package uploadpack

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestHideRefs hides refs server-wide (all tags) and in the repository's
// config (the feature branch; one tag shown again), and checks with the
// real git client that hidden refs are neither listed nor fetched, by
// name or by the id of a commit only they reach.
func TestHideRefs(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	g := f.git
	f.srv.hide = []string{"refs/tags/"}
	config := "[core]\n\tbare = true\n[transfer]\n\thideRefs = refs/heads/feature\n[uploadpack]\n\thideRefs = !refs/tags/v1.0\n[receive]\n\thideRefs = refs/heads/main\n"
	if err := os.WriteFile(filepath.Join(f.server, "config"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	feature := g.run(f.server, "rev-parse", "feature")
	wantRefs := []string{"HEAD", "refs/heads/main", "refs/tags/v1.0", "refs/tags/v1.0^{}"}
	for _, v := range []int{0, 2} {
		t.Run(fmt.Sprintf("V%d", v), func(t *testing.T) {
			proto := fmt.Sprintf("protocol.version=%d", v)
			out, stderr, err := g.try(f.root, nil, "-c", proto, "ls-remote", f.srv.URL)
			if err != nil {
				t.Fatalf("ls-remote: %v\n%s", err, stderr)
			}
			var names []string
			for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
				if _, name, ok := strings.Cut(l, "\t"); ok {
					names = append(names, name)
				}
			}
			if !slices.Equal(names, wantRefs) {
				t.Errorf("ls-remote lists %q; want %q", names, wantRefs)
			}

			dir := filepath.Join(t.TempDir(), "clone")
			if _, stderr, err := g.try(f.root, nil, "-c", proto, "clone", "-q", f.srv.URL, dir); err != nil {
				t.Fatalf("clone: %v\n%s", err, stderr)
			}
			if got := g.refsOf(dir, "refs/remotes", "refs/tags"); strings.Contains(got, "feature") || strings.Contains(got, "v0.1") {
				t.Errorf("the clone has hidden refs:\n%s", got)
			}
			fetches := []struct {
				name, what string
				ok         bool
			}{
				{"HiddenTip", feature, false},
				{"HiddenTag", "refs/tags/v0.1", false},
				{"ReachableFromVisible", f.main[3], true},
			}
			for _, ft := range fetches {
				_, stderr, err := g.try(dir, nil, "-c", proto, "fetch", "-q", "origin", ft.what)
				if ft.ok && err != nil {
					t.Errorf("%s: fetch %s: %v\n%s", ft.name, ft.what, err, stderr)
				}
				if !ft.ok && err == nil {
					t.Errorf("%s: fetch %s of a hidden ref succeeded", ft.name, ft.what)
				}
			}
			if _, _, err := g.try(dir, nil, "cat-file", "-e", feature); err == nil {
				t.Errorf("the clone has the hidden branch's tip")
			}
		})
	}
}

// TestHideRefsWantRef asks for a hidden ref by name with v2's want-ref,
// which git answers "unknown ref" as for a ref that does not exist.
func TestHideRefsWantRef(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if err := os.WriteFile(filepath.Join(f.server, "config"), []byte("[uploadpack]\n\thideRefs = refs/heads/feature\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	body := pkts("command=fetch", "0001", "want-ref refs/heads/feature", "done", "0000")
	_, raw, err := serveRaw(t, f.server, 2, body)
	if want := pkts("ERR unknown ref refs/heads/feature"); err == nil || string(raw) != want {
		t.Errorf("want-ref of a hidden ref = %v, %.80q; want %q", err, raw, want)
	}
	body = pkts("command=fetch", "0001", "want-ref refs/heads/main", "done", "0000")
	if _, raw, err := serveRaw(t, f.server, 2, body); err != nil {
		t.Errorf("want-ref of a visible ref = %v, %.80q", err, raw)
	}
}
