package main

import (
	"context"
	"fmt"
	"os"
	"syscall"
)

// openDataAs opens the data directory for a CLI command, first becoming
// its owner when e says so (asOwner) and the command runs as root.
func openDataAs(e *env, loc *dataLoc) (*data, error) {
	if e.asOwner != nil {
		if err := e.asOwner(loc.dir); err != nil {
			return nil, err
		}
	}
	return openData(context.Background(), loc)
}

// becomeDataOwner makes this process, when it runs as root, the user and
// group that own the data directory dir, before it opens anything there,
// as `runuser -u depot` would. The service runs as its own user (under
// systemd a DynamicUser) and cannot read what root makes: a repository
// made by `depot repo create`, a pack written by `depot repo gc`, a ref
// set back by `repo restore-ref`, the database's -wal and -shm files when
// the server is stopped. Run as that user, the CLI makes them the
// service's. A directory owned by root, or none yet, leaves the process
// as it is. It changes every thread of the process (Go applies setuid to
// all of them), so the CLI calls it once, at the start of a command.
func becomeDataOwner(dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil // not made yet: openData makes it, as whoever runs
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Uid == 0 {
		return nil
	}
	// Groups first: once no longer root, they can no longer be dropped.
	if err := syscall.Setgroups(nil); err != nil {
		return fmt.Errorf("become the owner of %s: setgroups: %w", dir, err)
	}
	if err := syscall.Setgid(int(st.Gid)); err != nil {
		return fmt.Errorf("become the owner of %s: setgid %d: %w", dir, st.Gid, err)
	}
	if err := syscall.Setuid(int(st.Uid)); err != nil {
		return fmt.Errorf("become the owner of %s: setuid %d: %w", dir, st.Uid, err)
	}
	return nil
}
