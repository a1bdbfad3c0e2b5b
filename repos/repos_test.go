package repos

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/depot/depot/auth/input"
)

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name, owner, repo string
		ok                bool
	}{
		{"OK", "tester", "testRepo", true},
		{"DotsInside", "a.b", "x.y-z_1", true},
		{"DotDot", "tester", "..", false},
		{"DotDotInside", "tester", "a..b", false},
		{"Hidden", "tester", ".hidden", false},
		{"Slash", "tester", "a/b", false},
		{"Absolute", "/etc", "x", false},
		{"Control", "tester", "a\x00b", false},
		{"Newline", "tester", "a\nb", false},
		{"GitSuffix", "tester", "x.git", false},
		{"Empty", "tester", "", false},
		{"OwnerDash", "-x", "r", false},
		{"OwnerTooLong", strings.Repeat("a", 40), "r", false},
		{"Unicode", "tester", "répo", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateOwner(tc.owner)
			if err == nil {
				err = ValidateName(tc.repo)
			}
			if (err == nil) != tc.ok {
				t.Fatalf("validate(%q, %q) = %v; want ok=%v", tc.owner, tc.repo, err, tc.ok)
			}
			var ve *input.ValidationError
			if err != nil && (!errors.As(err, &ve) || !errors.Is(err, input.ErrInvalid)) {
				t.Fatalf("error %v is no *input.ValidationError", err)
			}
		})
	}
}

func TestCreateOpenList(t *testing.T) {
	d, err := OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r, err := d.Create("tester", "proj", CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("git", "--git-dir", r.Path, "symbolic-ref", "HEAD").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "refs/heads/main" {
		t.Fatalf("HEAD = %q, %v; want refs/heads/main", out, err)
	}
	out, err = exec.Command("git", "--git-dir", r.Path, "rev-parse", "--is-bare-repository").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "true" {
		t.Fatalf("is-bare = %q, %v", out, err)
	}
	if _, err := d.Create("tester", "proj", CreateOptions{}); !errors.Is(err, ErrExists) {
		t.Fatalf("second Create = %v; want ErrExists", err)
	}
	if _, err := d.Open("tester", "proj"); err != nil {
		t.Fatalf("Open = %v", err)
	}
	if _, err := d.Open("tester", "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Open(nope) = %v; want ErrNotFound", err)
	}
	if _, err := d.Create("other", "x", CreateOptions{DefaultBranch: "trunk"}); err != nil {
		t.Fatal(err)
	}
	all, err := d.List("")
	if err != nil || len(all) != 2 || all[0].FullName() != "other/x" || all[1].FullName() != "tester/proj" {
		t.Fatalf("List = %v, %v", all, err)
	}
	mine, err := d.List("tester")
	if err != nil || len(mine) != 1 {
		t.Fatalf("List(tester) = %v, %v", mine, err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(d.Root(), "tester", ".*"))
	if len(leftovers) != 0 {
		t.Fatalf("temporary directories left behind: %v", leftovers)
	}
}

func TestOpenRefusesSymlinkEscape(t *testing.T) {
	d, err := OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	outside := t.TempDir()
	if err := exec.Command("git", "init", "--bare", "-q", filepath.Join(outside, "secret.git")).Run(); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(d.Root(), "tester"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "secret.git"), filepath.Join(d.Root(), "tester", "leak.git")); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Open("tester", "leak"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Open through an escaping symlink = %v; want ErrNotFound", err)
	}
}

func TestOpenServesHandPlacedRepository(t *testing.T) {
	d, err := OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(d.Root(), "tester", "byhand.git")
	if out, err := exec.Command("git", "init", "--bare", "-q", p).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v %s", err, out)
	}
	if _, err := d.Open("tester", "byhand"); err != nil {
		t.Fatalf("Open(hand-placed) = %v", err)
	}
}
