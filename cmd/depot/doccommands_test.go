package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// docFiles are the pages whose commands TestDocCommands checks, relative
// to the repository's root.
func docFiles(t *testing.T) []string {
	t.Helper()
	docs, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"README.md"}
	for _, d := range docs {
		files = append(files, filepath.Join("docs", filepath.Base(d)))
	}
	return files
}

// TestDocCommands checks the commands that README.md and docs/*.md show,
// without running them: every `depot COMMAND` names a command and only
// flags that command takes, every `go run ./cmd/depot-bench` only flags
// the harness takes, and every `go test` names packages that exist, a
// -run or -bench pattern that matches a test or benchmark of theirs, and
// -args flags that their tests define. The examples of the walkthrough
// run for real in TestREADMEExamples; this covers the rest cheaply.
func TestDocCommands(t *testing.T) {
	checked := 0
	for _, file := range docFiles(t) {
		b, err := os.ReadFile(filepath.Join("../..", file))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range docSnippets(string(b)) {
			checked += checkDepotCommands(t, file, s)
			checked += checkBenchCommands(t, file, s)
			checked += checkGoTestCommands(t, file, s)
		}
	}
	t.Logf("checked %d commands", checked)
	if checked < 50 {
		t.Errorf("checked only %d commands in the documentation; is the parser still finding them?", checked)
	}
}

// TestDocCommandsCatches feeds the checks commands that must fail, so that
// TestDocCommands cannot pass by finding nothing wrong in anything.
func TestDocCommandsCatches(t *testing.T) {
	for _, tc := range []struct{ name, snippet string }{
		{"unknown command", "depot repo frobnicate tester/hello"},
		{"unknown flag", "go run ./cmd/depot token create --user tester --scope user"},
		{"flag of another command", "depot repo create tester/x --owner tester"},
		{"serve flag", "depot serve --listen :8080 --trusted-proxy 10.0.0.0/8"},
		{"bench flag", "go run ./cmd/depot-bench --preset small --round 3"},
		{"no such test", "go test ./cmd/depot -run TestNoSuchThing"},
		{"no such benchmark", "go test -run XXX -bench NoSuchBench ./tokens/"},
		{"no such package", "go test ./no/such/package"},
		{"no such test flag", "go test ./cmd/depot -run TestCrashLoop -args -crashround=5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recordingTB{TB: t}
			n := checkDepotCommands(rec, "case", tc.snippet) + checkBenchCommands(rec, "case", tc.snippet) + checkGoTestCommands(rec, "case", tc.snippet)
			if n == 0 || len(rec.errs) == 0 {
				t.Errorf("%q: checked %d commands, %d errors; want an error", tc.snippet, n, len(rec.errs))
			}
		})
	}
	rec := &recordingTB{TB: t}
	good := "depot serve --listen :8080 --trusted-proxies 10.0.0.0/8; go run ./cmd/depot audit --user tester -n 5 --json; go test ./cmd/depot -run 'TestTwoNodes|TestCrashLoop' -args -crashrounds=50"
	for _, s := range strings.Split(good, "; ") {
		checkDepotCommands(rec, "case", s)
		checkGoTestCommands(rec, "case", s)
	}
	if len(rec.errs) > 0 {
		t.Errorf("good commands were refused: %q", rec.errs)
	}
}

// recordingTB keeps the errors of a check instead of failing the test.
type recordingTB struct {
	testing.TB
	errs []string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.errs = append(r.errs, format)
}

var (
	fenceRE     = regexp.MustCompile("(?s)```[a-z]*\n(.*?)```")
	spanRE      = regexp.MustCompile("`([^`]+)`")
	envAssignRE = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*=`)
)

// docSnippets returns the shell lines of a Markdown page: each line of a
// fenced block (continuation lines joined) and each inline code span,
// which may wrap onto the next line.
func docSnippets(md string) []string {
	var out []string
	for _, m := range fenceRE.FindAllStringSubmatch(md, -1) {
		out = append(out, strings.Split(strings.ReplaceAll(m[1], "\\\n", " "), "\n")...)
	}
	for _, m := range spanRE.FindAllStringSubmatch(fenceRE.ReplaceAllString(md, ""), -1) {
		out = append(out, strings.NewReplacer(`\|`, "|", "\n", " ").Replace(m[1]))
	}
	return out
}

// shellWords splits a line into words as the shell does, closely enough
// for documentation: quotes keep spaces inside a word, and each of
// | || && ; # $( ) is a word of its own.
func shellWords(line string) []string {
	var words []string
	var cur strings.Builder
	var quote rune
	flush := func() {
		if cur.Len() > 0 {
			words = append(words, cur.String())
			cur.Reset()
		}
	}
	for _, r := range line {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote = r
		case r == ' ' || r == '\t':
			flush()
		case r == '|' || r == ';' || r == '#' || r == '(' || r == ')' || r == '&':
			flush()
			words = append(words, string(r))
		default:
			cur.WriteRune(r)
		}
	}
	flush()
	return words
}

// argsUntilEnd returns the words after words[i] up to the end of that
// command: a separator word, or a closing bracket of a synopsis.
func argsUntilEnd(words []string, i int) []string {
	var args []string
	for _, w := range words[i+1:] {
		if strings.ContainsAny(w, "|;#()&") && len(w) == 1 {
			break
		}
		args = append(args, w)
	}
	return args
}

// flagName returns the name of a flag word (`--data`, `[--hooks]`,
// `-n`, `--max-push-size=2GiB`), or "" for any other word.
func flagName(w string) string {
	w = strings.Trim(w, "[]…,")
	if len(w) < 2 || w[0] != '-' || w == "--" || (w[1] >= '0' && w[1] <= '9') {
		return ""
	}
	name := strings.TrimLeft(w, "-")
	name, _, _ = strings.Cut(name, "=")
	return name
}

var depotFirstWords = map[string]bool{}

func init() {
	for _, c := range commands {
		depotFirstWords[strings.Fields(c.name)[0]] = true
	}
}

// checkDepotCommands checks each `depot COMMAND [flags]` in the snippet
// (also as ./depot, /usr/local/bin/depot or go run ./cmd/depot) against
// the CLI, and returns how many it checked.
func checkDepotCommands(t testing.TB, file, snippet string) int {
	t.Helper()
	words := shellWords(snippet)
	n := 0
	for i, w := range words {
		if filepath.Base(w) != "depot" || i+1 >= len(words) || !depotFirstWords[words[i+1]] || !commandPosition(words, i) {
			continue
		}
		n++
		args := argsUntilEnd(words, i)
		c := find(args)
		if c == nil {
			t.Errorf("%s: `%s`: depot has no such command", file, snippet)
			continue
		}
		fs := c.flags()
		for _, a := range args[len(strings.Fields(c.name)):] {
			name := flagName(a)
			if name == "" || name == "help" || name == "h" {
				continue
			}
			if fs.Lookup(name) == nil {
				t.Errorf("%s: `%s`: depot %s takes no flag --%s", file, snippet, c.name, name)
			}
		}
	}
	return n
}

// commandPosition reports whether words[i] is where the shell takes a
// command: the first word, after a separator, an environment assignment,
// sudo or go run, as a path (./depot, /usr/local/bin/depot), or the
// command of docker exec NAME. "a live depot token" in prose is not.
func commandPosition(words []string, i int) bool {
	if i == 0 || strings.Contains(words[i], "/") {
		return true
	}
	prev := words[i-1]
	switch {
	case len(prev) == 1 && strings.ContainsAny(prev, "|;#(&"), prev == "sudo", prev == "run":
		return true
	case envAssignRE.MatchString(prev):
		return true
	}
	return i >= 2 && words[i-2] == "exec"
}

// flagsDefinedIn returns the flag names that the Go files of dir matching
// glob define with flag.X("name", ...), fs.XVar(&v, "name", ...) and the
// like.
func flagsDefinedIn(t testing.TB, dir, glob string) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, glob))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`\b(?:flag|fs)\.[A-Z]\w*\(\s*(?:&[\w.]+,\s*)?"([^"]+)"`)
	names := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			names[m[1]] = true
		}
	}
	return names
}

// checkBenchCommands checks the flags of each `go run ./cmd/depot-bench`
// in the snippet against those the harness defines.
func checkBenchCommands(t testing.TB, file, snippet string) int {
	t.Helper()
	words := shellWords(snippet)
	n := 0
	for i, w := range words {
		if strings.TrimSuffix(w, "/") != "./cmd/depot-bench" || i < 2 || words[i-1] != "run" {
			continue
		}
		n++
		defined := flagsDefinedIn(t, "../depot-bench", "*.go")
		for _, a := range argsUntilEnd(words, i) {
			if name := flagName(a); name != "" && name != "help" && !defined[name] {
				t.Errorf("%s: `%s`: depot-bench takes no flag --%s", file, snippet, name)
			}
		}
	}
	return n
}

// checkGoTestCommands checks each `go test` in the snippet: its packages
// exist, its -run or -bench pattern matches a test or benchmark of theirs
// (-run is not checked beside -bench, where `-run XXX` runs no test on
// purpose), and its -args flags are defined by their tests.
func checkGoTestCommands(t testing.TB, file, snippet string) int {
	t.Helper()
	words := shellWords(snippet)
	n := 0
	for i := 0; i+1 < len(words); i++ {
		if words[i] != "go" || words[i+1] != "test" {
			continue
		}
		args := argsUntilEnd(words, i+1)
		var pkgs, testArgs []string
		var run, bench string
		for j := 0; j < len(args); j++ {
			switch a := args[j]; {
			case a == "-args":
				testArgs = args[j+1:]
				j = len(args)
			case (a == "-run" || a == "-bench") && j+1 < len(args):
				if a == "-run" {
					run = args[j+1]
				} else {
					bench = args[j+1]
				}
				j++
			case strings.HasPrefix(a, "./"):
				pkgs = append(pkgs, strings.TrimSuffix(strings.TrimSuffix(a, "..."), "/"))
			}
		}
		if len(pkgs) == 0 || strings.HasSuffix(strings.Join(args, " "), "./...") {
			continue // the whole tree, or a command the page spells out elsewhere
		}
		n++
		var funcs []string
		flags := map[string]bool{}
		for _, p := range pkgs {
			dir := filepath.Join("../..", p)
			if st, err := os.Stat(dir); err != nil || !st.IsDir() {
				t.Errorf("%s: `%s`: no package %s", file, snippet, p)
				continue
			}
			funcs = append(funcs, testFuncs(t, dir)...)
			for f := range flagsDefinedIn(t, dir, "*_test.go") {
				flags[f] = true
			}
		}
		if bench != "" {
			matchFuncs(t, file, snippet, "Benchmark", bench, funcs)
		} else if run != "" {
			matchFuncs(t, file, snippet, "Test", run, funcs)
		}
		for _, a := range testArgs {
			if name := flagName(a); name != "" && !flags[name] {
				t.Errorf("%s: `%s`: the tests of %s define no flag -%s", file, snippet, strings.Join(pkgs, " "), name)
			}
		}
	}
	return n
}

// testFuncs returns the names of the Test and Benchmark functions of the
// package in dir.
func testFuncs(t testing.TB, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^func ((?:Test|Benchmark)\w*)\(`)
	var names []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			names = append(names, m[1])
		}
	}
	return names
}

// matchFuncs checks that each alternative of a -run or -bench pattern
// matches the name of a function of the kind, as go test matches them.
func matchFuncs(t testing.TB, file, snippet, kind, pattern string, funcs []string) {
	t.Helper()
	pattern = strings.TrimSuffix(strings.TrimPrefix(pattern, "^("), ")$")
	for _, alt := range strings.Split(pattern, "|") {
		re, err := regexp.Compile(alt)
		if err != nil {
			t.Errorf("%s: `%s`: pattern %q: %v", file, snippet, alt, err)
			continue
		}
		found := false
		for _, f := range funcs {
			if strings.HasPrefix(f, kind) && re.MatchString(f) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("%s: `%s`: no %s function matches %q", file, snippet, kind, alt)
		}
	}
}

// TestDocLinks checks the relative links of README.md and docs/*.md: each
// names a file of the repository, and each #anchor a heading of the page
// it leads to, as GitHub makes anchors of headings.
func TestDocLinks(t *testing.T) {
	linkRE := regexp.MustCompile(`\]\(([^)\s]+)\)|\bsrc="([^"]+)"`)
	checked := 0
	for _, file := range docFiles(t) {
		b, err := os.ReadFile(filepath.Join("../..", file))
		if err != nil {
			t.Fatal(err)
		}
		text := fenceRE.ReplaceAllString(string(b), "")
		for _, m := range linkRE.FindAllStringSubmatch(text, -1) {
			link := m[1] + m[2]
			if strings.Contains(link, "://") || strings.HasPrefix(link, "mailto:") {
				continue
			}
			checked++
			path, frag, _ := strings.Cut(link, "#")
			target := file
			if path != "" {
				target = filepath.Join(filepath.Dir(file), path)
				if _, err := os.Stat(filepath.Join("../..", target)); err != nil {
					t.Errorf("%s: link %q: no such file %s", file, link, target)
					continue
				}
			}
			if frag == "" {
				continue
			}
			tb, err := os.ReadFile(filepath.Join("../..", target))
			if err != nil {
				t.Errorf("%s: link %q: %v", file, link, err)
				continue
			}
			if !headingAnchors(string(tb))[frag] {
				t.Errorf("%s: link %q: %s has no heading with the anchor #%s", file, link, target, frag)
			}
		}
	}
	if checked < 20 {
		t.Errorf("checked only %d links; is the parser still finding them?", checked)
	}
}

// headingAnchors returns the anchors GitHub gives the headings of a
// Markdown page: lower case, punctuation dropped, spaces as hyphens, and
// -1, -2, … after a repeated one.
func headingAnchors(md string) map[string]bool {
	anchors := map[string]bool{}
	seen := map[string]int{}
	for _, line := range strings.Split(fenceRE.ReplaceAllString(md, ""), "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		title := strings.TrimSpace(strings.TrimLeft(line, "#"))
		var a strings.Builder
		for _, r := range strings.ToLower(title) {
			switch {
			case r == ' ':
				a.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				a.WriteRune(r)
			}
		}
		anchor := a.String()
		if n := seen[anchor]; n > 0 {
			anchors[fmt.Sprintf("%s-%d", anchor, n)] = true
		} else {
			anchors[anchor] = true
		}
		seen[anchor]++
	}
	return anchors
}
