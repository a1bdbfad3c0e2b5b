package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/depot/depot/cmd/depot/internal/backup"
)

// runBackup copies the data directory, live, to a new directory.
func runBackup(e *env, args []string) error {
	fs := newFlagSet("backup")
	dataDir := dataFlag(fs, e.getenv)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one backup directory, not %d arguments", len(pos))
	}
	if dataDir.database() != "" {
		return errPostgresBackup
	}
	if err := isDataDir(dataDir.dir); err != nil {
		return err
	}
	ctx := context.Background()
	d, err := openData(ctx, dataDir)
	if err != nil {
		return err
	}
	defer d.close()
	vacuum := func(ctx context.Context, path string) error {
		// VACUUM INTO reads one snapshot of the database, as a reader
		// does, while the server goes on writing.
		_, err := d.db.ExecContext(ctx, "VACUUM INTO ?", path)
		return err
	}
	m, err := backup.Backup(ctx, dataDir.dir, pos[0], vacuum, backup.Options{Version: readBuildInfo().version})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "backed up the database and %d repositories to %s\n", len(m.Repositories), pos[0])
	return nil
}

// runRestore brings a backup into a new data directory.
func runRestore(e *env, args []string) error {
	fs := newFlagSet("restore")
	dataDir := dataFlag(fs, e.getenv)
	force := restoreFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one backup directory, not %d arguments", len(pos))
	}
	if dataDir.database() != "" {
		return errPostgresBackup
	}
	m, err := backup.Restore(pos[0], dataDir.dir, *force)
	if err != nil {
		return err
	}
	// Opening it brings the database's schema up to this depot's and
	// makes the directory private; the check reads every page.
	ctx := context.Background()
	d, err := openData(ctx, dataDir)
	if err != nil {
		return err
	}
	defer d.close()
	var check string
	if err := d.db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check); err != nil {
		return fmt.Errorf("restore: check the database: %w", err)
	}
	if check != "ok" {
		return fmt.Errorf("restore: the restored database fails its integrity check: %s", check)
	}
	fmt.Fprintf(e.stdout, "restored the database and %d repositories of %s (backed up %s) into %s\n",
		len(m.Repositories), pos[0], m.Created.Format("2006-01-02 15:04:05 UTC"), dataDir.dir)
	return nil
}

// errPostgresBackup refuses backup and restore with --db: they copy
// DATA/depot.db, and PostgreSQL has its own tools.
var errPostgresBackup = usagef("backup and restore copy DATA/depot.db; with --db, back the PostgreSQL database up with pg_dump (or your PostgreSQL's own backups) and DATA/repos as a directory")

func restoreFlags(fs *flag.FlagSet) *bool {
	return fs.Bool("force", false, "replace the database and repositories of a data directory that has them (stop the server first)")
}

// isDataDir refuses a directory without a database, where openData would
// make a new, empty data directory to back up.
func isDataDir(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "depot.db")); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s is not a depot data directory (no depot.db)", dir)
	} else if err != nil {
		return err
	}
	return nil
}
