package gc

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// refTips returns the objects every ref, and a detached HEAD, point to:
// packed-refs (with their peeled values) and the loose refs under refs/.
// Symbolic refs are skipped; their targets are refs themselves.
func refTips(repoDir string) ([]plumbing.Hash, error) {
	var tips []plumbing.Hash
	add := func(b []byte) {
		if h, ok := hexID(bytes.TrimSpace(b)); ok {
			tips = append(tips, h)
		}
	}
	f, err := os.Open(filepath.Join(repoDir, "packed-refs"))
	switch {
	case err == nil:
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			switch {
			case len(line) == 0 || line[0] == '#':
			case line[0] == '^':
				add(line[1:])
			default:
				hs, _, _ := bytes.Cut(line, []byte(" "))
				add(hs)
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return nil, err
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	err = filepath.WalkDir(filepath.Join(repoDir, "refs"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() || strings.HasSuffix(path, ".lock") {
			return nil
		}
		if b, err := os.ReadFile(path); err == nil {
			add(b)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if b, err := os.ReadFile(filepath.Join(repoDir, "HEAD")); err == nil {
		add(b)
	}
	return tips, nil
}
