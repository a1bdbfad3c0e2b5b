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

	"github.com/depot/depot/tokens"
)

// newSecret returns a fresh well-formed token that no store holds.
func newSecret(t testing.TB) string {
	t.Helper()
	s, err := tokens.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// scanAll writes each blob to a new secretScan in pieces of the given
// sizes (cycled) and returns the secrets it found, sorted.
func scanAll(t *testing.T, blobs []string, sizes []int) []string {
	t.Helper()
	s := newSecretScan(&Leaks{Prefix: tokens.SecretPrefix, Len: tokens.SecretLen, Tokens: tokens.Leaks{}})
	for i, b := range blobs {
		for k := 0; len(b) > 0; k++ {
			n := min(len(b), sizes[k%len(sizes)])
			piece := []byte(b[:n])
			if _, err := s.Write(piece); err != nil {
				t.Fatal(err)
			}
			// The indexer reuses its buffers: the scan must not keep them.
			for j := range piece {
				piece[j] = 'x'
			}
			b = b[n:]
		}
		s.End(plumbing.ComputeHash(plumbing.BlobObject, []byte(fmt.Sprint(i))))
	}
	var got []string
	for sec := range s.found {
		got = append(got, sec)
	}
	slices.Sort(got)
	return got
}

// TestSecretScan finds well-formed tokens wherever the writes split
// them, and nothing else.
func TestSecretScan(t *testing.T) {
	a, b := newSecret(t), newSecret(t)
	bad := a[:len(a)-1] + map[bool]string{true: "0", false: "1"}[a[len(a)-1] != '0']
	// Longer than smallPieces, so that pieces are searched as they come
	// and gathered.
	filler := strings.Repeat("lorem ipsum dolor_sit amet ", 400)
	tests := []struct {
		name  string
		blobs []string
		want  []string
	}{
		{"Alone", []string{a}, []string{a}},
		{"InText", []string{filler + "token = \"" + a + "\"\n" + filler}, []string{a}},
		{"AtEnds", []string{a + filler + b}, []string{a, b}},
		{"Adjacent", []string{a + b}, []string{a, b}},
		{"AfterPrefixes", []string{"dpt_dpt_dp" + a + "dpt_"}, []string{a}},
		{"Twice", []string{a + " " + a, a}, []string{a}},
		{"BadChecksum", []string{filler + bad + filler}, nil},
		{"Truncated", []string{filler + a[:tokens.SecretLen-1]}, nil},
		{"AcrossBlobs", []string{filler + a[:20], a[20:] + filler}, nil},
		{"NoPrefix", []string{filler}, nil},
	}
	for _, tt := range tests {
		for _, sizes := range [][]int{{1 << 20}, {1}, {2}, {3}, {7, 1, 1}, {38}, {39}, {40}, {41}, {64, 5}, {smallPieces}, {smallPieces - 1, smallPieces + 1}, {5000, 3, 40}, {10791, 1}} {
			t.Run(fmt.Sprintf("%s/%v", tt.name, sizes), func(t *testing.T) {
				if got := scanAll(t, tt.blobs, sizes); !slices.Equal(got, tt.want) {
					want := slices.Clone(tt.want)
					slices.Sort(want)
					if !slices.Equal(got, want) {
						t.Errorf("found %q; want %q", got, want)
					}
				}
			})
		}
	}
	// Every split point of a token in the middle of a blob, between two
	// large pieces and with a small one between them.
	text := filler + a + filler
	for cut := len(filler) - 1; cut <= len(filler)+tokens.SecretLen+1; cut++ {
		for _, mid := range []int{0, 5, 100} {
			s := newSecretScan(&Leaks{Prefix: tokens.SecretPrefix, Len: tokens.SecretLen, Tokens: tokens.Leaks{}})
			s.Write([]byte(text[:cut]))
			s.Write([]byte(text[cut : cut+mid]))
			s.Write([]byte(text[cut+mid:]))
			s.End(plumbing.ZeroHash)
			if len(s.found) != 1 {
				t.Errorf("split at %d and %d: found %d secrets; want 1", cut, cut+mid, len(s.found))
			}
		}
	}
}

// TestSecretScanCopied looks only at the edges of what a delta copies
// from a blob already searched: a secret crossing them is found, one
// wholly inside was found in the blob it was copied from.
func TestSecretScanCopied(t *testing.T) {
	a := newSecret(t)
	filler := strings.Repeat("copied_bytes ", 40)
	type piece struct {
		copied bool
		text   string
	}
	tests := []struct {
		name   string
		pieces []piece
		found  bool
	}{
		{"IntoCopy", []piece{{false, filler + a[:20]}, {true, a[20:] + filler}}, true},
		{"OutOfCopy", []piece{{true, filler + a[:20]}, {false, a[20:] + filler}}, true},
		{"AcrossTwoCopies", []piece{{true, filler + a[:20]}, {true, a[20:] + filler}}, true},
		{"ShortCopy", []piece{{false, filler + a[:10]}, {true, a[10:30]}, {false, a[30:] + filler}}, true},
		{"InsideCopy", []piece{{false, filler}, {true, filler + a + filler}, {false, filler}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSecretScan(&Leaks{Prefix: tokens.SecretPrefix, Len: tokens.SecretLen, Tokens: tokens.Leaks{}})
			for _, p := range tt.pieces {
				if p.copied {
					s.Copied([]byte(p.text))
				} else {
					s.Write([]byte(p.text))
				}
			}
			s.End(plumbing.ZeroHash)
			if got := len(s.found) == 1; got != tt.found {
				t.Errorf("found %d secrets; want found = %v", len(s.found), tt.found)
			}
		})
	}
}

// leakEnv is a push environment whose server protects pushes with a real
// token store.
type leakEnv struct {
	*env
	store  *tokens.Store
	leaks  tokens.Leaks
	secret string // a live token of tester

	// What the server held before the latest push.
	beforeMain  string
	beforePacks []string
}

// push runs git push in the work repository, noting what the server held.
func (e *leakEnv) push(args ...string) (string, error) {
	e.t.Helper()
	e.beforeMain, e.beforePacks = e.serverRef("refs/heads/main"), e.packs()
	return e.gitErr(e.work, append([]string{"push"}, args...)...)
}

// newLeakStore opens a token store in a temporary file with the user
// tester.
func newLeakStore(t *testing.T) *tokens.Store {
	t.Helper()
	store, err := tokens.Open(context.Background(), filepath.Join(t.TempDir(), "depot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	store.SetPasswordCost(0) // the lowest: the password is never used
	if err := store.CreateUser(context.Background(), &tokens.User{GlobalKey: "tester"}, "tester-password"); err != nil {
		t.Fatal(err)
	}
	return store
}

// newLeakEnv starts a push environment protected by store, in which
// tester has a new token.
func newLeakEnv(t *testing.T, store *tokens.Store, refuse, revoke bool) *leakEnv {
	t.Helper()
	secret, err := store.CreateToken(context.Background(), &tokens.Token{Username: "tester", Scopes: []string{"project:depot"}})
	if err != nil {
		t.Fatal(err)
	}
	e := &leakEnv{env: newEnv(t), store: store, leaks: tokens.Leaks{Store: store}, secret: secret}
	e.protect(refuse, revoke)
	return e
}

// protect sets the action of the server's push protection; neither
// turns it off.
func (e *leakEnv) protect(refuse, revoke bool) {
	if !refuse && !revoke {
		e.srv.setOptions(Options{})
		return
	}
	e.srv.setOptions(Options{Leaks: &Leaks{
		Prefix: tokens.SecretPrefix, Len: tokens.SecretLen, Tokens: e.leaks, Refuse: refuse, Revoke: revoke,
	}})
}

// live reports whether the token still exists.
func (e *leakEnv) live() bool {
	e.t.Helper()
	_, _, found, err := e.leaks.LiveToken(context.Background(), e.secret)
	if err != nil {
		e.t.Fatal(err)
	}
	return found
}

// packs lists the pack files of the server repository.
func (e *leakEnv) packs() []string {
	p, _ := filepath.Glob(filepath.Join(e.bare, "objects", "pack", "*.pack"))
	return p
}

// bigText is about n bytes of lines that compress poorly, so that a pack
// much smaller than it can only hold it as a delta.
func bigText(n int) string {
	r := rand.New(rand.NewSource(1))
	var b strings.Builder
	for b.Len() < n {
		fmt.Fprintf(&b, "%016x %016x %016x\n", r.Uint64(), r.Uint64(), r.Uint64())
	}
	return b.String()
}

// TestPushProtection pushes files holding tokens with the real git
// client: a live token is refused with its path and commit and revoked,
// as --leaked-token-action asks; anything that is not a live token, or
// that the repository already had, passes.
func TestPushProtection(t *testing.T) {
	type want struct {
		refused bool
		live    bool     // the token still authenticates afterwards
		out     []string // in git's output
	}
	tests := []struct {
		name           string
		refuse, revoke bool
		run            func(t *testing.T, e *leakEnv) (string, error, want)
	}{
		{"Both", true, true, func(t *testing.T, e *leakEnv) (string, error, want) {
			c := e.commit(e.work, "add config", map[string]string{"a.txt": "a\n", "secrets.txt": "token=" + e.secret + "\n"})
			out, err := e.push("origin", "main")
			return out, err, want{refused: true, out: []string{
				"remote: error: push protection: this push holds a live depot token",
				"remote: error:   secrets.txt in commit " + c[:7],
				"remote: error: the token has been revoked",
				"! [remote rejected] main -> main (push contains a depot token: secrets.txt in commit " + c[:7] + ")",
			}}
		}},
		{"Refuse", true, false, func(t *testing.T, e *leakEnv) (string, error, want) {
			c := e.commit(e.work, "add config", map[string]string{"config/prod/env": "export DEPOT_TOKEN=" + e.secret})
			out, err := e.push("origin", "main")
			return out, err, want{refused: true, live: true, out: []string{
				"(push contains a depot token: config/prod/env in commit " + c[:7] + ")",
				"remote: error: remove the token from these commits, revoke it and push again",
			}}
		}},
		{"Revoke", false, true, func(t *testing.T, e *leakEnv) (string, error, want) {
			c := e.commit(e.work, "add config", map[string]string{"secrets.txt": e.secret})
			out, err := e.push("origin", "main")
			return out, err, want{out: []string{
				"remote: warning:   secrets.txt in commit " + c[:7],
				"remote: warning: the token has been revoked",
			}}
		}},
		{"BadChecksum", true, true, func(t *testing.T, e *leakEnv) (string, error, want) {
			last := byte('0')
			if e.secret[len(e.secret)-1] == '0' {
				last = '1'
			}
			e.commit(e.work, "looks like one", map[string]string{"a.txt": e.secret[:len(e.secret)-1] + string(last)})
			out, err := e.push("origin", "main")
			return out, err, want{live: true}
		}},
		{"UnknownToken", true, true, func(t *testing.T, e *leakEnv) (string, error, want) {
			e.commit(e.work, "a token of another server", map[string]string{"a.txt": newSecret(t)})
			out, err := e.push("origin", "main")
			return out, err, want{live: true}
		}},
		{"AlreadyInRepository", true, true, func(t *testing.T, e *leakEnv) (string, error, want) {
			e.protect(false, false)
			e.commit(e.work, "before protection", map[string]string{"secrets.txt": e.secret})
			e.git(e.work, "push", "origin", "main")
			e.protect(true, true)
			e.commit(e.work, "unrelated", map[string]string{"a.txt": "a\n"})
			e.git(e.work, "checkout", "-q", "-b", "topic")
			e.commit(e.work, "unrelated too", map[string]string{"b.txt": "b\n"})
			out, err := e.push("origin", "main", "topic")
			return out, err, want{live: true}
		}},
		{"ThinBaseNotScanned", true, true, func(t *testing.T, e *leakEnv) (string, error, want) {
			big := bigText(256 << 10)
			mid := strings.Index(big[len(big)/2:], "\n") + len(big)/2 + 1
			e.protect(false, false)
			e.commit(e.work, "big file with a token", map[string]string{"big.txt": big[:mid] + "token " + e.secret + "\n" + big[mid:]})
			e.git(e.work, "push", "origin", "main")
			e.protect(true, true)
			e.commit(e.work, "token removed", map[string]string{"big.txt": big})
			out, err := e.push("origin", "main")
			// The new blob is a delta on the one holding the token, which
			// the repository has: it is not searched again.
			if _, body := e.srv.last(t); len(body) > 16<<10 {
				t.Fatalf("the push sent %d bytes; want a thin pack with a delta", len(body))
			}
			return out, err, want{live: true}
		}},
		{"KeptFromThinBase", true, true, func(t *testing.T, e *leakEnv) (string, error, want) {
			big := bigText(256 << 10)
			mid := strings.Index(big[len(big)/2:], "\n") + len(big)/2 + 1
			withToken := big[:mid] + "token " + e.secret + "\n" + big[mid:]
			e.protect(false, false)
			e.commit(e.work, "big file with a token", map[string]string{"big.txt": withToken})
			e.git(e.work, "push", "origin", "main")
			e.protect(true, true)
			// A new version that keeps the token, sent as a delta that
			// copies it from the blob the repository has: the copy from a
			// thin base is searched, as the whole blob would be.
			c := e.commit(e.work, "edited elsewhere", map[string]string{"big.txt": "a new first line\n" + withToken})
			out, err := e.push("origin", "main")
			if _, body := e.srv.last(t); len(body) > 16<<10 {
				t.Fatalf("the push sent %d bytes; want a thin pack with a delta", len(body))
			}
			return out, err, want{refused: true, out: []string{
				"(push contains a depot token: big.txt in commit " + c[:7] + ")",
			}}
		}},
		{"IntroducedEarlier", true, true, func(t *testing.T, e *leakEnv) (string, error, want) {
			e.commit(e.work, "first", map[string]string{"a.txt": "a\n"})
			e.git(e.work, "push", "origin", "main")
			c := e.commit(e.work, "oops", map[string]string{"dir/key": e.secret})
			e.git(e.work, "rm", "-q", "dir/key")
			e.commit(e.work, "remove it again", map[string]string{"b.txt": "b\n"})
			e.commit(e.work, "more", map[string]string{"c.txt": "c\n"})
			out, err := e.push("origin", "main")
			return out, err, want{refused: true, out: []string{
				"(push contains a depot token: dir/key in commit " + c[:7] + ")",
			}}
		}},
		{"OtherRefRefusedToo", true, true, func(t *testing.T, e *leakEnv) (string, error, want) {
			e.commit(e.work, "first", map[string]string{"a.txt": "a\n"})
			e.git(e.work, "branch", "clean")
			c := e.commit(e.work, "oops", map[string]string{"key": e.secret})
			out, err := e.push("origin", "main", "clean")
			return out, err, want{refused: true, out: []string{
				"main -> main (push contains a depot token: key in commit " + c[:7] + ")",
				"clean -> clean (" + reasonLeakElsewhere + ")",
			}}
		}},
		{"ThinDelta", true, true, func(t *testing.T, e *leakEnv) (string, error, want) {
			big := bigText(256 << 10)
			e.commit(e.work, "big file", map[string]string{"big.txt": big})
			e.git(e.work, "push", "origin", "main")
			mid := strings.Index(big[len(big)/2:], "\n") + len(big)/2 + 1
			c := e.commit(e.work, "edit", map[string]string{"big.txt": big[:mid] + "token " + e.secret + "\n" + big[mid:]})
			out, err := e.push("origin", "main")
			// Only a delta on the blob the server has makes a pack this
			// small: the file itself does not compress below a half.
			if _, body := e.srv.last(t); len(body) > 16<<10 {
				t.Fatalf("the push sent %d bytes; want a thin pack with a delta", len(body))
			}
			return out, err, want{refused: true, out: []string{
				"(push contains a depot token: big.txt in commit " + c[:7] + ")",
			}}
		}},
		{"DeltaInPack", true, true, func(t *testing.T, e *leakEnv) (string, error, want) {
			big := bigText(256 << 10)
			e.commit(e.work, "first", map[string]string{"a.txt": "a\n"})
			e.git(e.work, "push", "origin", "main")
			// git stores the larger version whole and the smaller as a
			// delta on it: the token goes in the smaller.
			e.commit(e.work, "big file", map[string]string{"big.txt": big + strings.Repeat("padding\n", 20)})
			c := e.commit(e.work, "edit", map[string]string{"big.txt": big + e.secret + "\n"})
			out, err := e.push("origin", "main")
			// Two versions of a file that does not compress below a half,
			// in less than one's size: one is a delta on the other.
			if _, body := e.srv.last(t); len(body) > len(big) {
				t.Fatalf("the push sent %d bytes; want one version as a delta", len(body))
			}
			return out, err, want{refused: true, out: []string{
				"(push contains a depot token: big.txt in commit " + c[:7] + ")",
			}}
		}},
	}
	store := newLeakStore(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newLeakEnv(t, store, tt.refuse, tt.revoke)
			out, err, w := tt.run(t, e)
			if w.refused {
				if err == nil {
					t.Fatalf("push succeeded; want it refused\n%s", out)
				}
				if got := e.serverRef("refs/heads/main"); got != e.beforeMain {
					t.Errorf("server main = %q after a refused push; want %q", got, e.beforeMain)
				}
				if got := e.packs(); !slices.Equal(got, e.beforePacks) {
					t.Errorf("packs after a refused push: %v; want %v", got, e.beforePacks)
				}
			} else if err != nil {
				t.Fatalf("push refused: %v\n%s", err, out)
			}
			for _, s := range w.out {
				if !strings.Contains(out, s) {
					t.Errorf("git's output lacks %q:\n%s", s, out)
				}
			}
			if len(w.out) == 0 && strings.Contains(out, "push protection") {
				t.Errorf("git's output mentions push protection:\n%s", out)
			}
			if strings.Contains(out, e.secret) {
				t.Errorf("git's output holds the secret:\n%s", out)
			}
			if got := e.live(); got != w.live {
				t.Errorf("token live = %v after the push; want %v", got, w.live)
			}
			e.fsck()
		})
	}
}

// TestPushProtectionKeepsNothing checks that a refused push leaves the
// repository as it was: refs, packs and the quarantine.
func TestPushProtectionKeepsNothing(t *testing.T) {
	e := newLeakEnv(t, newLeakStore(t), true, true)
	e.commit(e.work, "first", map[string]string{"a.txt": "a\n"})
	e.git(e.work, "push", "origin", "main")
	e.commit(e.work, "oops", map[string]string{"key": e.secret})
	e.git(e.work, "tag", "-a", "-m", "release", "v1")
	if out, err := e.push("--atomic", "origin", "main", "v1"); err == nil {
		t.Fatalf("push succeeded:\n%s", out)
	}
	if got := e.serverRef("refs/heads/main"); got != e.beforeMain {
		t.Errorf("main = %q; want %q", got, e.beforeMain)
	}
	if got := e.serverRef("refs/tags/v1"); got != "" {
		t.Errorf("v1 = %q; want none", got)
	}
	if got := e.packs(); !slices.Equal(got, e.beforePacks) {
		t.Errorf("packs = %v; want %v", got, e.beforePacks)
	}
	left, _ := os.ReadDir(filepath.Join(e.bare, "objects"))
	for _, d := range left {
		if strings.HasPrefix(d.Name(), "incoming-") {
			t.Errorf("quarantine left: %s", d.Name())
		}
	}
	e.fsck()
}

// BenchmarkSecretScan searches 64 KiB pieces of this package's own
// sources, the way the indexer writes inflated blobs, beside git's hash
// of the same bytes, which every byte of a push costs anyway: the ratio
// of the two is what push protection adds to hashing.
func BenchmarkSecretScan(b *testing.B) {
	files, _ := filepath.Glob("*.go")
	var src []byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		src = append(src, data...)
	}
	text := bytes.Repeat(src, (64<<10)/len(src)+1)[:64<<10]
	b.Run("scan", func(b *testing.B) {
		s := newSecretScan(&Leaks{Prefix: tokens.SecretPrefix, Len: tokens.SecretLen, Tokens: tokens.Leaks{}})
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			s.Write(text)
		}
		s.End(plumbing.ZeroHash)
		if len(s.found) != 0 {
			b.Fatal("found a token in random text")
		}
	})
	b.Run("hash", func(b *testing.B) {
		h := plumbing.NewHasher(plumbing.BlobObject, int64(len(text))*int64(b.N))
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			h.Write(text)
		}
		h.Sum()
	})
}
