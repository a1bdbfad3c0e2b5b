package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestCLIAsRootBecomesDataOwner runs the CLI as root on a data directory
// that belongs to another user, as a service's does (systemd's
// DynamicUser): what it writes, a repository and the database's files,
// must belong to that user, who could not read it otherwise. The test
// needs root, as CI has.
func TestCLIAsRootBecomesDataOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test runs the CLI as root (run the tests as root, as CI does)")
	}
	const uid, gid = 65534, 65534 // nobody, nogroup
	parent := t.TempDir()
	// The service's user must reach its data directory.
	for _, d := range []string{filepath.Dir(parent), parent} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	data := filepath.Join(parent, "data")
	run := cliIn(t, data)
	run("password-of-tester\n", "user", "add", "tester", "--password-stdin")
	err := filepath.Walk(data, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
	if err != nil {
		t.Fatal(err)
	}

	run("", "repo", "create", "tester/hello")
	run("", "token", "create", "--user", "tester")
	run("", "repo", "gc", "tester/hello")

	var wrong []string
	err = filepath.Walk(data, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != uid || st.Gid != gid {
			rel, _ := filepath.Rel(data, p)
			wrong = append(wrong, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(wrong) > 0 {
		t.Errorf("the CLI run as root left files the data directory's owner does not own: %v", wrong)
	}
	if _, err := os.Stat(filepath.Join(data, "repos", "tester", "hello.git", "HEAD")); err != nil {
		t.Errorf("the repository was not made: %v", err)
	}
}
