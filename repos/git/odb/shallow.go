package odb

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/depot/depot/repos/git/object"
)

// EmptyTree is the id of the tree with no entries. Like git, the store
// answers for it whether or not it is stored: git writes commits that
// name it (an empty initial commit) without ever writing the tree.
var EmptyTree = plumbing.NewHash("4b825dc642cb6eb9a060e54bf8d69288fbee4904")

// maxShallowBytes bounds the shallow file read: 41 bytes a commit.
const maxShallowBytes = 64 << 20

// readShallow returns the commits listed in repoDir/shallow
// (gitrepository-layout): the repository itself is a shallow clone, and
// the parents of these commits are not in it. A missing file is an empty
// list; lines that are not object ids are skipped.
func readShallow(repoDir string) (map[plumbing.Hash]bool, error) {
	f, err := os.Open(filepath.Join(repoDir, "shallow"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("odb: read shallow: %w", err)
	}
	defer f.Close()
	out := map[plumbing.Hash]bool{}
	sc := bufio.NewScanner(&limitedReader{f, maxShallowBytes})
	for sc.Scan() {
		if h, ok := object.ParseHex(sc.Bytes()); ok {
			out[h] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("odb: read shallow: %w", err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// IsShallow reports whether h is one of the repository's own shallow
// commits ($GIT_DIR/shallow): the store answers for it as for a commit
// without parents, as git's commit grafts do.
func (db *DB) IsShallow(h plumbing.Hash) bool { return db.shallow[h] }

// Shallow lists the repository's own shallow commits, in no order; nil
// when the repository has its whole history.
func (db *DB) Shallow() []plumbing.Hash {
	if len(db.shallow) == 0 {
		return nil
	}
	out := make([]plumbing.Hash, 0, len(db.shallow))
	for h := range db.shallow {
		out = append(out, h)
	}
	return out
}
