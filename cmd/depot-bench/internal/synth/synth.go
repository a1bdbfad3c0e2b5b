// Package synth generates deterministic synthetic git repositories for
// benchmarks: the same Params always give the same history, byte for byte,
// written with `git fast-import` and repacked like a server's repository.
package synth

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// version is part of the cache key: change it whenever the generator's
// output changes, so that stale cached repositories are not reused.
const version = 1

// Branch is the branch that holds the main history; HEAD points at it.
const Branch = "main"

// Params describe a synthetic repository.
type Params struct {
	Commits  int   `json:"commits"`   // commits on main
	Files    int   `json:"files"`     // files in the tree, two directory levels deep
	Refs     int   `json:"refs"`      // extra refs: a quarter annotated tags, the rest branches
	FileSize int   `json:"file_size"` // average file size in bytes
	Seed     int64 `json:"seed"`      // seed of the PRNG
}

// Presets are the named sizes of the benchmark. Each main commit edits one
// to three files a little, so the repacked history is mostly deltas.
var Presets = map[string]Params{
	// ≈ 2.7k objects: a smoke test.
	"small": {Commits: 300, Files: 150, Refs: 20, FileSize: 2048, Seed: 1},
	// ≈ 40k objects, about go-git's own repository.
	"medium": {Commits: 4900, Files: 1500, Refs: 200, FileSize: 3072, Seed: 1},
	// ≈ 500k objects and 4,000 refs.
	"large": {Commits: 58000, Files: 20000, Refs: 4000, FileSize: 3072, Seed: 1},
}

// Validate reports whether p describes a repository that can be generated.
func (p Params) Validate() error {
	switch {
	case p.Commits < 1:
		return errors.New("synth: commits must be at least 1")
	case p.Files < 1:
		return errors.New("synth: files must be at least 1")
	case p.Refs < 0:
		return errors.New("synth: refs must not be negative")
	case p.FileSize < 16:
		return errors.New("synth: file size must be at least 16 bytes")
	}
	return nil
}

// Key names the cached repository of p.
func (p Params) Key() string {
	return fmt.Sprintf("v%d-c%d-f%d-r%d-s%d-seed%d", version, p.Commits, p.Files, p.Refs, p.FileSize, p.Seed)
}

// Ensure returns the bare repository for p under cacheDir, generating and
// repacking it first when it is not cached yet. Progress goes to log.
func Ensure(ctx context.Context, cacheDir string, p Params, log io.Writer) (string, error) {
	if err := p.Validate(); err != nil {
		return "", err
	}
	dir := filepath.Join(cacheDir, p.Key()+".git")
	if _, err := os.Stat(filepath.Join(dir, "bench-complete")); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", fmt.Errorf("synth: %w", err)
	}
	tmp, err := os.MkdirTemp(cacheDir, "tmp-"+p.Key()+"-")
	if err != nil {
		return "", fmt.Errorf("synth: %w", err)
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintf(log, "generating %s (commits=%d files=%d refs=%d file-size=%d)\n", dir, p.Commits, p.Files, p.Refs, p.FileSize)
	if err := Generate(ctx, tmp, p); err != nil {
		return "", err
	}
	fmt.Fprintf(log, "repacking %s\n", dir)
	if err := git(ctx, tmp, nil, "repack", "-adf", "-q"); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(tmp, "bench-complete"), nil, 0o644); err != nil {
		return "", fmt.Errorf("synth: %w", err)
	}
	_ = os.RemoveAll(dir) // an incomplete earlier attempt
	if err := os.Rename(tmp, dir); err != nil {
		return "", fmt.Errorf("synth: %w", err)
	}
	return dir, nil
}

// Generate creates the bare repository of p in dir, which must be empty or
// absent, and packs its refs. It does not repack the objects.
func Generate(ctx context.Context, dir string, p Params) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if err := git(ctx, "", nil, "init", "-q", "--bare", dir); err != nil {
		return err
	}
	if err := git(ctx, dir, nil, "symbolic-ref", "HEAD", "refs/heads/"+Branch); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "git", "fast-import", "--quiet", "--done")
	cmd.Dir = dir
	cmd.Env = gitEnv()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("synth: git fast-import: %w", err)
	}
	w := bufio.NewWriterSize(stdin, 1<<20)
	werr := newGenerator(p).write(w)
	if werr == nil {
		werr = w.Flush()
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("synth: git fast-import: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	if werr != nil {
		return fmt.Errorf("synth: write fast-import stream: %w", werr)
	}
	return git(ctx, dir, nil, "pack-refs", "--all")
}

// generator holds the state of one history as it is written.
type generator struct {
	p     Params
	rng   *rand.Rand
	words []string
	paths []string
	files [][]string // lines of each file, by index into paths
	time  int64      // committer time of the last commit
}

func newGenerator(p Params) *generator {
	g := &generator{p: p, rng: rand.New(rand.NewPCG(uint64(p.Seed), 0x5eed_de9075)), time: 1_500_000_000}
	g.words = make([]string, 2048)
	for i := range g.words {
		b := make([]byte, 2+g.rng.IntN(9))
		for j := range b {
			b[j] = byte('a' + g.rng.IntN(26))
		}
		g.words[i] = string(b)
	}
	// Sixteen files a directory and sixteen directories a top directory.
	for i := range p.Files {
		leaf := i / 16
		g.paths = append(g.paths, fmt.Sprintf("pkg%03d/mod%03d/file%05d.txt", leaf/16, leaf%16, i))
	}
	return g
}

var authors = []string{
	"Ada Lovelace <ada@example.com>",
	"Alan Turing <alan@example.com>",
	"Grace Hopper <grace@example.com>",
	"Edsger Dijkstra <edsger@example.com>",
	"Barbara Liskov <barbara@example.com>",
	"Ken Thompson <ken@example.com>",
	"Frances Allen <frances@example.com>",
	"Donald Knuth <donald@example.com>",
}

func (g *generator) line() string {
	var b strings.Builder
	for range g.rng.IntN(3) {
		b.WriteByte('\t')
	}
	n := 3 + g.rng.IntN(8)
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(g.words[g.rng.IntN(len(g.words))])
	}
	return b.String()
}

func (g *generator) words3() string {
	return g.words[g.rng.IntN(len(g.words))] + " " + g.words[g.rng.IntN(len(g.words))] + " " + g.words[g.rng.IntN(len(g.words))]
}

// edit changes a few lines of file i: replacements, insertions and
// deletions roughly balanced so that files grow only slowly.
func (g *generator) edit(i int) {
	lines := g.files[i]
	for range 1 + g.rng.IntN(3) {
		pos := g.rng.IntN(len(lines))
		switch r := g.rng.IntN(100); {
		case r < 40:
			lines[pos] = g.line()
		case r < 75:
			add := []string{g.line()}
			if r < 55 {
				add = append(add, g.line())
			}
			lines = append(lines[:pos], append(add, lines[pos:]...)...)
		case len(lines) > 4:
			lines = append(lines[:pos], lines[pos+1:]...)
		}
	}
	g.files[i] = lines
}

func (g *generator) content(i int) string {
	return strings.Join(g.files[i], "\n") + "\n"
}

// signature returns an author or committer line's value and advances the
// clock by up to an hour.
func (g *generator) signature(who string) string {
	g.time += 60 + int64(g.rng.IntN(3600))
	return who + " " + strconv.FormatInt(g.time, 10) + " +0000"
}

func writeData(w *bufio.Writer, s string) {
	fmt.Fprintf(w, "data %d\n%s\n", len(s), s)
}

// write emits the fast-import stream: main's history first (commit i has
// mark i+1), then the tags and branches.
func (g *generator) write(w *bufio.Writer) error {
	w.WriteString("feature done\n")
	for c := range g.p.Commits {
		author := authors[g.rng.IntN(len(authors))]
		sig := g.signature(author)
		fmt.Fprintf(w, "commit refs/heads/%s\nmark :%d\nauthor %s\ncommitter %s\n", Branch, c+1, sig, sig)
		if c == 0 {
			writeData(w, "Initial import\n")
			for i := range g.paths {
				size := g.p.FileSize/2 + g.rng.IntN(g.p.FileSize)
				var lines []string
				for n := 0; n < size; {
					l := g.line()
					lines = append(lines, l)
					n += len(l) + 1
				}
				g.files = append(g.files, lines)
				fmt.Fprintf(w, "M 100644 inline %s\n", g.paths[i])
				writeData(w, g.content(i))
			}
			continue
		}
		changed := make([]int, 1+g.rng.IntN(3))
		for k := range changed {
			changed[k] = g.rng.IntN(len(g.paths))
		}
		msg := fmt.Sprintf("%s: %s\n", filepath.Dir(g.paths[changed[0]]), g.words3())
		if g.rng.IntN(2) == 0 {
			msg += "\n" + g.line() + "\n" + g.line() + "\n"
		}
		writeData(w, msg)
		for _, i := range changed {
			g.edit(i)
			fmt.Fprintf(w, "M 100644 inline %s\n", g.paths[i])
			writeData(w, g.content(i))
		}
	}
	tags := g.p.Refs / 4
	for t := range tags {
		mark := 1 + (t+1)*g.p.Commits/(tags+1)
		fmt.Fprintf(w, "tag v0.%d.0\nfrom :%d\ntagger %s\n", t+1, min(mark, g.p.Commits), g.signature(authors[t%len(authors)]))
		writeData(w, fmt.Sprintf("Release v0.%d.0\n", t+1))
	}
	for b := range g.p.Refs - tags {
		name := fmt.Sprintf("refs/heads/feature/%04d", b)
		mark := 1 + g.rng.IntN(g.p.Commits)
		if b%3 != 0 {
			fmt.Fprintf(w, "reset %s\nfrom :%d\n\n", name, mark)
			continue
		}
		// Every third branch has a commit of its own.
		sig := g.signature(authors[b%len(authors)])
		fmt.Fprintf(w, "commit %s\nauthor %s\ncommitter %s\n", name, sig, sig)
		writeData(w, "Work on "+name+"\n")
		fmt.Fprintf(w, "from :%d\nM 100644 inline branches/feature-%04d.txt\n", mark, b)
		writeData(w, g.line()+"\n"+g.line()+"\n")
	}
	_, err := w.WriteString("done\n")
	return err
}

// gitEnv is the environment of the git commands that build a repository:
// no user or system configuration may change the result.
func gitEnv() []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.DevNull,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=" + os.DevNull,
		"LC_ALL=C",
	}
}

func git(ctx context.Context, dir string, stdin io.Reader, args ...string) error {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = gitEnv()
	cmd.Stdin = stdin
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("synth: git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
