package backup

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrNotBackup is returned by Restore for a directory without a manifest.
var ErrNotBackup = errors.New("not a depot backup (no " + ManifestName + ")")

// ReadManifest reads the manifest of the backup at dir.
func ReadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", dir, ErrNotBackup)
	}
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w: %v", dir, ErrNotBackup, err)
	}
	if m.Format != 1 {
		return nil, fmt.Errorf("%s: backup format %d is not one this depot reads", dir, m.Format)
	}
	return &m, nil
}

// dataEntries are what Restore replaces in a data directory with force.
var dataEntries = []string{DBName, DBName + "-wal", DBName + "-shm", DBName + "-journal", "repos"}

// Restore copies the backup at src into the data directory dataDir, which
// must not exist or be empty; with force, the database and repositories
// of a data directory that has them are removed first (the server must
// not be running on it). The backup itself is left as it is.
func Restore(src, dataDir string, force bool) (*Manifest, error) {
	m, err := ReadManifest(src)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(src, DBName)); err != nil {
		return nil, fmt.Errorf("restore: the backup has no database: %w", err)
	}
	if err := emptyDir(dataDir); err != nil {
		if !force || !errors.Is(err, ErrNotEmpty) {
			return nil, fmt.Errorf("%w (pass --force to replace its database and repositories)", err)
		}
		for _, e := range dataEntries {
			if err := os.RemoveAll(filepath.Join(dataDir, e)); err != nil {
				return nil, fmt.Errorf("restore: %w", err)
			}
		}
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	if err := copyFile(filepath.Join(src, DBName), filepath.Join(dataDir, DBName)); err != nil {
		return nil, fmt.Errorf("restore: database: %w", err)
	}
	if err := os.Chmod(filepath.Join(dataDir, DBName), 0o600); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	if err := copyTree(filepath.Join(src, "repos"), filepath.Join(dataDir, "repos"), skipLocks); err != nil {
		return nil, fmt.Errorf("restore: repositories: %w", err)
	}
	return m, nil
}
