package browse

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/depot/depot/repos/repostest"
	"github.com/go-git/go-git/v5/plumbing"
)

func TestBlob(t *testing.T) {
	g := newWorkRepo(t)
	big := strings.Repeat("0123456789abcde\n", MaxRenderSize/16) + "x" // one byte over
	plain := strings.Repeat("line <b>&amp;</b>\n", HighlightLimit/18+1)
	g.write(map[string]string{
		"main.go":        "package main\n\n// <script>alert(1)</script>\nfunc main() {}\n",
		"no-newline.txt": "one\ntwo",
		"empty":          "",
		"blob.bin":       "ab\x00cd\n",
		"late-nul.txt":   strings.Repeat("x", firstFewBytes) + "\x00",
		"big.txt":        big,
		"plain.txt":      plain,
		"dir/x":          "x\n",
	})
	commit := g.commit("files")
	r := g.open()
	for _, tc := range []struct {
		name     string
		path     string
		binary   bool
		tooLarge bool
		lines    int
	}{
		{"go", "main.go", false, false, 4},
		{"no final newline", "no-newline.txt", false, false, 2},
		{"empty", "empty", false, false, 0},
		{"binary", "blob.bin", true, false, 0},
		{"NUL past the first 8000 bytes is text, as for git", "late-nul.txt", false, false, 1},
		{"too large", "big.txt", false, true, 0},
		{"above the highlight limit", "plain.txt", false, false, HighlightLimit/18 + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := r.Blob(commit, tc.path)
			if err != nil {
				t.Fatal(err)
			}
			content := g.git("cat-file", "blob", fmt.Sprintf("%s:%s", commit, tc.path))
			if b.Size != int64(len(content)) {
				t.Errorf("Size = %d; git cat-file gives %d bytes", b.Size, len(content))
			}
			if b.ID != g.rev(commit.String()+":"+tc.path) {
				t.Errorf("ID = %s; want %s", b.ID, g.rev(commit.String()+":"+tc.path))
			}
			if b.Binary != tc.binary || b.TooLarge != tc.tooLarge || b.Lines != tc.lines {
				t.Errorf("Binary, TooLarge, Lines = %v, %v, %d; want %v, %v, %d", b.Binary, b.TooLarge, b.Lines, tc.binary, tc.tooLarge, tc.lines)
			}
			html, err := b.HTML()
			if err != nil {
				t.Fatal(err)
			}
			if tc.binary || tc.tooLarge {
				if b.Content != nil || html != "" {
					t.Errorf("a notice's file has content %d bytes, HTML %d bytes", len(b.Content), len(html))
				}
				return
			}
			if string(b.Content) != content {
				t.Errorf("Content differs from git cat-file")
			}
			if n := strings.Count(string(html), `<span class="hl-lnt" id="L`); n != tc.lines {
				t.Errorf("HTML numbers %d lines; want %d", n, tc.lines)
			}
			if strings.Contains(string(html), "<script>") || strings.Contains(string(html), "<b>") {
				t.Errorf("HTML carries the file's markup unescaped:\n%.300s", html)
			}
		})
	}
	for _, tc := range []struct {
		name string
		path string
		want error
	}{
		{"directory", "dir", ErrNotBlob},
		{"root", "", ErrNotBlob},
		{"missing", "nope.go", ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := r.Blob(commit, tc.path); !errors.Is(err, tc.want) {
				t.Errorf("Blob(%q) = %v; want %v", tc.path, err, tc.want)
			}
			if _, err := r.Raw(commit, tc.path); !errors.Is(err, tc.want) {
				t.Errorf("Raw(%q) = %v; want %v", tc.path, err, tc.want)
			}
		})
	}
}

func TestHighlightEscapes(t *testing.T) {
	src := "<script>alert('x')</script>\n<img src=x onerror=alert(1)>\n"
	for _, name := range []string{"x.html", "x.go", "x.md", "unknown.zzz", "Makefile"} {
		t.Run(name, func(t *testing.T) {
			h, err := Highlight(name, []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(h), "<script") || strings.Contains(string(h), "<img") {
				t.Errorf("Highlight(%s) left markup unescaped:\n%s", name, h)
			}
			if n := strings.Count(string(h), `id="L`); n != 2 {
				t.Errorf("Highlight(%s) numbers %d lines; want 2", name, n)
			}
		})
	}
}

func TestRaw(t *testing.T) {
	g := newWorkRepo(t)
	fx := repostest.NewFixture(t)
	png := (&workRepo{tb: t, work: fx.Path, home: t.TempDir()}).git("cat-file", "blob", fx.ID(t, "three")+":logo.png")
	g.write(map[string]string{
		"page.html":  "<!DOCTYPE html><html><script>alert(1)</script></html>\n",
		"pic.svg":    `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`,
		"logo.png":   png,
		"blob.bin":   "ab\x00cd",
		"main.go":    "package main\n",
		"latin1.txt": "caf\xe9\n",
		"doc.pdf":    "%PDF-1.4\n%\xe2\xe3\n",
		"script.js":  "alert(1)\n",
	})
	commit := g.commit("raw")
	r := g.open()
	for _, tc := range []struct {
		path string
		want string
	}{
		{"page.html", "text/plain; charset=utf-8"},
		{"pic.svg", "text/plain; charset=utf-8"},
		{"logo.png", "image/png"},
		{"blob.bin", "application/octet-stream"},
		{"main.go", "text/plain; charset=utf-8"},
		{"latin1.txt", "text/plain"},
		{"doc.pdf", "text/plain"},
		{"script.js", "text/plain; charset=utf-8"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			raw, err := r.Raw(commit, tc.path)
			if err != nil {
				t.Fatal(err)
			}
			if raw.ContentType != tc.want {
				t.Errorf("ContentType = %q; want %q", raw.ContentType, tc.want)
			}
			got, err := io.ReadAll(raw.Content)
			if err != nil {
				t.Fatal(err)
			}
			if err := raw.Content.Close(); err != nil {
				t.Fatal(err)
			}
			want := g.git("cat-file", "blob", commit.String()+":"+tc.path)
			if string(got) != want || raw.Size != int64(len(want)) {
				t.Errorf("Raw gives %d bytes (Size %d); git cat-file %d, equal %v", len(got), raw.Size, len(want), string(got) == want)
			}
		})
	}
}

// TestRawStreams downloads blobs stored every way: loose, whole in a
// pack (streamed, not seekable) and as a delta in a pack (read into
// memory, seekable), each compared with git cat-file.
func TestRawStreams(t *testing.T) {
	g := newWorkRepo(t)
	rng := rand.New(rand.NewPCG(5, 6))
	noise := make([]byte, 3<<20)
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	text := numbered(1, 20000, "v")
	g.write(map[string]string{"noise.bin": string(noise), "text.txt": text})
	first := g.commit("first")
	g.write(map[string]string{"text.txt": strings.Replace(text, "v line 10000\n", "v changed\n", 1)})
	second := g.commit("second")

	download := func(t *testing.T, r *Repo, commit plumbing.Hash, path string) (*Raw, []byte) {
		t.Helper()
		raw, err := r.Raw(commit, path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(raw.Content)
		if err != nil {
			t.Fatal(err)
		}
		if err := raw.Content.Close(); err != nil {
			t.Fatal(err)
		}
		want := g.git("cat-file", "blob", commit.String()+":"+path)
		if string(got) != want || raw.Size != int64(len(want)) {
			t.Fatalf("Raw(%s) gives %d bytes (Size %d); git cat-file %d, equal %v", path, len(got), raw.Size, len(want), string(got) == want)
		}
		return raw, got
	}
	t.Run("loose", func(t *testing.T) {
		raw, _ := download(t, g.open(), first, "noise.bin")
		if _, ok := raw.Content.(io.Seeker); ok {
			t.Errorf("a loose blob was read into memory")
		}
		if raw.ContentType != "application/octet-stream" {
			t.Errorf("ContentType = %q", raw.ContentType)
		}
	})
	g.git("gc", "-q")
	r := g.open()
	t.Run("whole in a pack", func(t *testing.T) {
		raw, _ := download(t, r, first, "noise.bin")
		if _, ok := raw.Content.(io.Seeker); ok {
			t.Errorf("a whole packed blob was read into memory")
		}
	})
	t.Run("delta in a pack", func(t *testing.T) {
		// git keeps the newer version whole and the older as a delta;
		// ask which, rather than assume.
		var delta plumbing.Hash
		for _, c := range []plumbing.Hash{first, second} {
			line := g.gitIn([]byte(c.String()+":text.txt\n"), "cat-file", "--batch-check=%(deltabase)")
			if strings.Trim(strings.TrimSpace(line), "0") != "" {
				delta = c
			}
		}
		if delta.IsZero() {
			t.Fatal("git stored no version of text.txt as a delta")
		}
		raw, _ := download(t, r, delta, "text.txt")
		if _, ok := raw.Content.(io.Seeker); !ok {
			t.Errorf("a delta was not read into memory")
		}
		if raw.ContentType != "text/plain; charset=utf-8" {
			t.Errorf("ContentType = %q", raw.ContentType)
		}
	})
}

func TestContentTypeCutRune(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    string
		want string
	}{
		{"whole rune", "caf\xc3\xa9", "text/plain; charset=utf-8"},
		{"rune cut at the end", "caf\xc3", "text/plain; charset=utf-8"},
		{"three-byte rune cut", "x\xe2\x82", "text/plain; charset=utf-8"},
		{"invalid in the middle", "a\xc3b", "text/plain"},
		{"latin-1", "caf\xe9 au lait", "text/plain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ContentType([]byte(tc.b)); got != tc.want {
				t.Errorf("ContentType(%q) = %q; want %q", tc.b, got, tc.want)
			}
		})
	}
}
