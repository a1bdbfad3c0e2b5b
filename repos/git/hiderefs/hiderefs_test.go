package hiderefs

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/depot/depot/repos/git/gitconfig"
)

func TestHidden(t *testing.T) {
	tests := []struct {
		name     string
		patterns []string
		ref      string
		hidden   bool
	}{
		{"NoRules", nil, "refs/heads/main", false},
		{"Prefix", []string{"refs/pull"}, "refs/pull/1/head", true},
		{"TrailingSlash", []string{"refs/pull/"}, "refs/pull/1/head", true},
		{"Exact", []string{"refs/heads/secret"}, "refs/heads/secret", true},
		{"NotAtSlash", []string{"refs/heads/sec"}, "refs/heads/secret", false},
		{"Other", []string{"refs/pull"}, "refs/heads/main", false},
		{"NegatedLater", []string{"refs/pull", "!refs/pull/7"}, "refs/pull/7/head", false},
		{"NegatedEarlier", []string{"!refs/pull/7", "refs/pull"}, "refs/pull/7/head", true},
		{"NegationOfOthers", []string{"refs/pull", "!refs/pull/7"}, "refs/pull/8/head", true},
		{"Caret", []string{"^refs/keep-around"}, "refs/keep-around/abc", true},
		{"NegatedCaret", []string{"refs", "!^refs/heads"}, "refs/heads/main", false},
		{"HEAD", []string{"HEAD"}, "HEAD", true},
		{"Empty", []string{""}, "refs/heads/main", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := New(tt.patterns...).Hidden(tt.ref); got != tt.hidden {
				t.Errorf("New(%q).Hidden(%q) = %v; want %v", tt.patterns, tt.ref, got, tt.hidden)
			}
		})
	}
}

// TestLoadMatchesGit hides refs through a repository's config and checks
// that what Load hides is what git's own upload-pack and receive-pack
// leave out of their advertisements.
func TestLoadMatchesGit(t *testing.T) {
	home := t.TempDir()
	git := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "HOME="+home, "GIT_CONFIG_NOSYSTEM=1",
			"GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.com")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	repo := filepath.Join(t.TempDir(), "r.git")
	git(home, "init", "-q", "--bare", "-b", "main", repo)
	work := filepath.Join(home, "w")
	git(home, "init", "-q", "-b", "main", work)
	git(work, "commit", "-q", "--allow-empty", "-m", "c")
	refs := []string{"refs/heads/main", "refs/heads/secret", "refs/heads/secretive", "refs/pull/1/head", "refs/pull/7/head", "refs/keep-around/x", "refs/tags/v1"}
	for _, r := range refs {
		git(work, "push", "-q", repo, "HEAD:"+r)
	}
	tests := []struct {
		name   string
		config string
	}{
		{"Transfer", "[transfer]\n\thideRefs = refs/pull/\n"},
		{"ServiceOnly", "[uploadpack]\n\thideRefs = refs/heads/secret\n[receive]\n\thideRefs = refs/keep-around\n"},
		{"Negation", "[transfer]\n\thideRefs = refs/pull\n[uploadpack]\n\thideRefs = !refs/pull/7\n[receive]\n\thideRefs = !refs/pull/1\n"},
		{"NegationFirst", "[uploadpack]\n\thideRefs = !refs/pull/7\n[transfer]\n\thideRefs = refs/pull\n"},
		{"Caret", "[transfer]\n\thideRefs = ^refs/tags\n\thideRefs = refs/heads\n\thideRefs = !^refs/heads/main\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(repo, "config"), []byte("[core]\n\tbare = true\n"+tt.config), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, svc := range []struct{ name, cmd string }{{UploadPack, "git-upload-pack"}, {Receive, "git-receive-pack"}} {
				var shown []string
				for _, l := range strings.Split(git(home, "ls-remote", "--upload-pack="+svc.cmd, repo), "\n") {
					if f := strings.Fields(l); len(f) == 2 && f[1] != "HEAD" {
						shown = append(shown, f[1])
					}
				}
				r, err := Load(repo, svc.name, nil)
				if err != nil {
					t.Fatal(err)
				}
				var want []string
				for _, ref := range refs {
					if !r.Hidden(ref) {
						want = append(want, ref)
					}
				}
				slices.Sort(shown)
				slices.Sort(want)
				if !slices.Equal(shown, want) {
					t.Errorf("%s: git advertises %q; Load leaves %q", svc.name, shown, want)
				}
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) {
		if err := os.WriteFile(filepath.Join(dir, "config"), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("[transfer]\n\thideRefs = !refs/pull/7\n")
	r, err := Load(dir, UploadPack, []string{"refs/pull/"})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Hidden("refs/pull/1/head") || r.Hidden("refs/pull/7/head") {
		t.Errorf("the repository's config does not come after the server's patterns")
	}
	write("[transfer]\n\thideRefs\n")
	if _, err := Load(dir, UploadPack, nil); !errors.Is(err, gitconfig.ErrNoValue) {
		t.Errorf("Load of a bare hideRefs = %v; want gitconfig.ErrNoValue", err)
	}
	write("[transfer\n")
	var se *gitconfig.SyntaxError
	if _, err := Load(dir, UploadPack, nil); !errors.As(err, &se) {
		t.Errorf("Load of a broken config = %v; want a *gitconfig.SyntaxError", err)
	}
}
