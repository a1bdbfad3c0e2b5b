package gitconfig

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// gitGetAll asks the real git what key holds in the file at path: every
// value, whether git read the file at all, and whether a value was bare.
func gitGetAll(t *testing.T, path, key string) (vals []string, valid bool) {
	t.Helper()
	cmd := exec.Command("git", "config", "-f", path, "-z", "--get-all", key)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+t.TempDir())
	out, err := cmd.Output()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.ExitCode() == 1:
		return nil, true // no such key
	case errors.As(err, &ee):
		return nil, false // git could not read the file
	default:
		t.Fatalf("git config: %v", err)
	}
	return strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00"), true
}

func TestParseMatchesGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("git is required: %v", err)
	}
	tests := []struct {
		name string
		file string
		keys []string
	}{
		{"Plain", "[core]\n\tbare = true\n\trepositoryformatversion = 0\n", []string{"core.bare", "core.repositoryformatversion", "core.missing"}},
		{"MultiValuedAnyCase", "[transfer]\n\thideRefs = refs/pull/\n[Transfer]\n\tHIDEREFS = refs/keep-around\n[uploadpack]\n\thiderefs = !refs/pull/1\n[transfer]\n\thideRefs = ^refs/x\n",
			[]string{"transfer.hideRefs", "uploadpack.hideRefs", "TRANSFER.HIDEREFS"}},
		{"Comments", "# top\n; also\n[core] ; after header\n\tx = a # trailing\n\ty = b;c\n\tz = \"q # not a comment\" # is one\n", []string{"core.x", "core.y", "core.z"}},
		{"Quoting", "[a]\n\tv = \"  padded  \"\n\tw = x \" y \" z\n\tu = say \\\"hi\\\" \\\\ \\t tab\\n\n", []string{"a.v", "a.w", "a.u"}},
		{"InnerBlanks", "[a]\n\tv =   one \t two   \n\tempty =\n\tblank = \t \n", []string{"a.v", "a.empty", "a.blank"}},
		{"Continuation", "[a]\n\tv = one\\\n two\n\tw = \"q\\\nr\"\n", []string{"a.v", "a.w"}},
		{"Subsections", "[remote \"Origin\"]\n\turl = one\n[remote \"origin\"]\n\turl = two\n[remote \"we\\\"ird\\\\ \\x\"]\n\turl = three\n",
			[]string{"remote.Origin.url", "remote.origin.url", "remote.ORIGIN.url", "remote.we\"ird\\ x.url"}},
		{"OldStyleSubsection", "[section.OldSub]\n\tk = v\n[transfer]\n\thideRefs = refs/a\n", []string{"section.oldsub.k", "section.OldSub.k", "transfer.hiderefs"}},
		{"VariableOnHeaderLine", "[core] bare = false\n", []string{"core.bare"}},
		{"CRLFAndBOM", "\xef\xbb\xbf[a]\r\n\tv = x\r\n\tw = \"y\"\r\n", []string{"a.v", "a.w"}},
		{"DashesAndDigits", "[my-sec2]\n\tvar-1 = v\n", []string{"my-sec2.var-1"}},
		{"ContinuationAtEOF", "[a]\n\tv = x\\", []string{"a.v"}},
		{"BadEscape", "[a]\n\tv = \\q\n", []string{"a.v"}},
		{"UnterminatedQuote", "[a]\n\tv = \"open\n", []string{"a.v"}},
		{"UnterminatedHeader", "[a\n\tv = x\n", []string{"a.v"}},
		{"VariableOutsideSection", "v = x\n", []string{"a.v"}},
		{"BadVariableName", "[a]\n\t1v = x\n", []string{"a.v"}},
		{"GarbageAfterName", "[a]\n\tv x\n", []string{"a.v"}},
		{"SubsectionWithoutQuotes", "[a b]\n\tv = x\n", []string{"a.b.v"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config")
			if err := os.WriteFile(path, []byte(tt.file), 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := ReadFile(path)
			for _, key := range tt.keys {
				want, valid := gitGetAll(t, path, key)
				if !valid {
					if err == nil {
						t.Errorf("ReadFile accepted a file git rejects")
					}
					return
				}
				if err != nil {
					t.Fatalf("ReadFile = %v; git reads the file", err)
				}
				got, err := c.All(key)
				if err != nil {
					t.Fatalf("All(%q) = %v", key, err)
				}
				if !slices.Equal(got, want) {
					t.Errorf("All(%q) = %q; git says %q", key, got, want)
				}
			}
		})
	}
}

func TestAllBareVariable(t *testing.T) {
	c, err := Parse([]byte("[transfer]\n\thideRefs = refs/a\n\thideRefs\n[core]\n\tbare\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.All("transfer.hideRefs"); !errors.Is(err, ErrNoValue) {
		t.Errorf("All of a bare variable = %v; want ErrNoValue", err)
	}
	if got, err := c.All("core.missing"); err != nil || got != nil {
		t.Errorf("All of a missing key = %q, %v; want nothing", got, err)
	}
}

func TestAllInterleaves(t *testing.T) {
	c, err := Parse([]byte("[transfer]\n\thideRefs = a\n[receive]\n\thideRefs = b\n[transfer]\n\thideRefs = c\n[uploadpack]\n\thideRefs = d\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.All("transfer.hiderefs", "receive.hiderefs"); err != nil || !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("All(transfer, receive) = %q, %v; want [a b c]", got, err)
	}
	if got, err := c.All("core.missing"); err != nil || got != nil {
		t.Errorf("All of a missing key = %q, %v; want nothing", got, err)
	}
}

func TestReadFileMissing(t *testing.T) {
	c, err := ReadFile(filepath.Join(t.TempDir(), "config"))
	if err != nil {
		t.Fatalf("ReadFile of a missing file = %v; want an empty configuration", err)
	}
	if got, _ := c.All("core.bare"); got != nil {
		t.Errorf("empty configuration has core.bare = %q", got)
	}
}

// FuzzParse checks that no input makes Parse panic.
func FuzzParse(f *testing.F) {
	f.Add([]byte("[a \"b\"]\n\tc = \"d\\\" e\" ; f\n[g.h] i\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if c, err := Parse(b); err == nil {
			c.All("a.b.c")
		}
	})
}
