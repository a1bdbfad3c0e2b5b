package gitref

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// TestReadStored checks refs as stored against git: every value matches
// git show-ref, packed annotated tags carry the peeled value packed-refs
// records (a tag of a tag included), loose refs leave peeling to the
// caller, and symbolic refs keep their target.
func TestReadStored(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.git("", "symbolic-ref", "refs/heads/alias", "refs/heads/main")
	refs, err := ReadStored(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(f.showRef()), "\n") {
		hex, name, _ := strings.Cut(line, " ")
		if name == "refs/heads/alias" {
			continue // show-ref prints what the symbolic ref resolves to
		}
		if r, ok := refs[name]; !ok || r.Hash.String() != hex {
			t.Errorf("%s = %+v, %v; git says %s", name, r, ok, hex)
		}
	}
	if r := refs["refs/heads/alias"]; r.Target != "refs/heads/main" || !r.Hash.IsZero() {
		t.Errorf("refs/heads/alias = %+v; want a symbolic ref to refs/heads/main", r)
	}
	for _, name := range []string{"refs/tags/v1.0", "refs/tags/nested", "refs/tags/treetag"} {
		r := refs[name]
		if want := f.rev(name + "^{}"); !r.PeelKnown || r.Peeled.String() != want {
			t.Errorf("%s peeled = %s (known %v); git says %s", name, r.Peeled, r.PeelKnown, want)
		}
	}
	if r := refs["refs/tags/v0.1"]; !r.PeelKnown || !r.Peeled.IsZero() {
		t.Errorf("lightweight packed tag v0.1 = %+v; want known not to peel", r)
	}
	if r := refs["refs/heads/loose"]; r.PeelKnown {
		t.Errorf("loose ref %+v claims a known peeled value", r)
	}
	head, ok, err := ReadHead(f.dir)
	if err != nil || !ok || head.Target != "refs/heads/main" {
		t.Errorf("ReadHead = %+v, %v, %v; want a symbolic ref to refs/heads/main", head, ok, err)
	}
}

// TestReadStoredTraits checks which packed refs count as peeled under
// each packed-refs header, and that a malformed line is an error.
func TestReadStoredTraits(t *testing.T) {
	t.Parallel()
	const (
		a = "1111111111111111111111111111111111111111"
		b = "2222222222222222222222222222222222222222"
	)
	body := a + " refs/heads/main\n" + a + " refs/tags/light\n" + b + " refs/tags/annotated\n^" + a + "\n"
	for _, tt := range []struct {
		header          string
		branch, tag     bool // PeelKnown of refs/heads/main and refs/tags/light
		wantErrContains string
	}{
		{"", false, false, ""},
		{"# pack-refs with: peeled \n", false, true, ""},
		{"# pack-refs with: peeled fully-peeled sorted \n", true, true, ""},
		{"# pack-refs with: peeled fully-peeled sorted \n^" + b + "\n", false, false, "malformed packed-refs line"},
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "packed-refs"), []byte(tt.header+body), 0o644); err != nil {
			t.Fatal(err)
		}
		refs, err := ReadStored(dir)
		if tt.wantErrContains != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErrContains) {
				t.Errorf("header %q: err = %v; want %q", tt.header, err, tt.wantErrContains)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := refs["refs/heads/main"].PeelKnown; got != tt.branch {
			t.Errorf("header %q: branch PeelKnown = %v; want %v", tt.header, got, tt.branch)
		}
		if got := refs["refs/tags/light"].PeelKnown; got != tt.tag {
			t.Errorf("header %q: lightweight tag PeelKnown = %v; want %v", tt.header, got, tt.tag)
		}
		if r := refs["refs/tags/annotated"]; !r.PeelKnown || r.Peeled != plumbing.NewHash(a) {
			t.Errorf("header %q: annotated = %+v; want peeled to %s", tt.header, r, a)
		}
	}
}
