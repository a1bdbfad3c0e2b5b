package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// readmeScript returns the shell blocks of README.md from "## Try it" up to
// "## CLI": the walkthrough, the Tokens section that goes on from it (git
// rules, rotation, self-revocation) and the Web pages' password reset.
func readmeScript(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "## Try it")
	end := strings.Index(text, "\n## CLI\n")
	if start < 0 || end < start || !strings.Contains(text[start:end], "\n## Tokens\n") || !strings.Contains(text[start:end], "\n## Web pages\n") {
		t.Fatal("README.md lacks the '## Try it', '## Tokens', '## Web pages' ... '## CLI' sections")
	}
	blocks := regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(text[start:end], -1)
	if len(blocks) < 3 {
		t.Fatalf("found %d shell blocks in the walkthrough", len(blocks))
	}
	var script strings.Builder
	for _, b := range blocks {
		script.WriteString(b[1])
	}
	return script.String()
}

// TestREADMEExamples runs the README's walkthrough, as written, against
// the real binary: every example must stay copy-paste true.
func TestREADMEExamples(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data, "DEPOT_ADMIN_PASSWORD=admin-password")
	script := strings.ReplaceAll(readmeScript(t), "localhost:8080", strings.TrimPrefix(s.url, "http://"))
	// The README's scratch directory is /tmp/depot-demo; each run gets
	// its own, so that runs in other checkouts never share it.
	demo := filepath.Join(t.TempDir(), "depot-demo")
	script = strings.ReplaceAll(script, "/tmp/depot-demo", demo)
	root, _ := filepath.Abs("../..")
	home := t.TempDir()
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = root
	// HOME is a fresh one for git; go keeps its real caches, or every
	// `go run` in the README would rebuild the world.
	cmd.Env = append(os.Environ(), "DEPOT_DATA="+data, "HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GOCACHE="+goEnv(t, "GOCACHE"), "GOMODCACHE="+goEnv(t, "GOMODCACHE"), "GOPATH="+goEnv(t, "GOPATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("README walkthrough failed: %v\n%s", err, out)
	}
	o := string(out)
	if regexp.MustCompile(`"code":[1-9]`).MatchString(o) {
		t.Fatalf("an API call in the README answers an error:\n%s", o)
	}
	for _, want := range []string{
		"main -> main", "Cloning into", `"global_key":"tester"`, `"email":"tester@example.com"`,
		`"scope":"project:depot"`, `"total":`, `"status":"disabled"`, `"status":"enabled"`, `"description":"CI runner"`, `"deleted":1`,
		"Cloning into '" + demo + "/testRepo'", "200 application/json", `"displayName":"Docs team"`, `"role":"developer"`, `"fullName":"docs/manual"`,
		`"visibility":"public"`, `"description":"private notes"`, `"name":"feature"`, `"commits":[`,
		"set the password of tester",
		"viewer may not push to test/testRepo",
		"main -> ci/build", "(token may push only refs/heads/ci/*)", `"kind":"regenerated"`,
	} {
		if !strings.Contains(o, want) {
			t.Fatalf("README walkthrough output lacks %q:\n%s", want, o)
		}
	}
}

func goEnv(t *testing.T, key string) string {
	t.Helper()
	out, err := exec.Command("go", "env", key).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}
