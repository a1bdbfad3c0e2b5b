package projects

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/depot/depot/auth/input"
	"github.com/depot/depot/repos"
	"github.com/depot/depot/tokens/sqlite"
)

// RepoInfo returns the record of owner/name, names compared
// case-insensitively: its Name is the name the repository was created
// with. Without a record (a repository placed by hand, or none at all) it
// returns a private repository without a name or description; an error is
// the database failing. It implements repos.Namespaces.
func (s *Store) RepoInfo(ctx context.Context, owner, name string) (*repos.Info, error) {
	info := repos.Info{Visibility: repos.Private}
	var created int64
	var vis string
	err := s.db.QueryRowContext(ctx, `SELECT name, description, visibility, created_at FROM repositories
		WHERE owner = ? AND name = ?`, owner, name).Scan(&info.Name, &info.Description, &vis, &created)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return &info, nil
	case err != nil:
		return nil, fmt.Errorf("projects: repository %s/%s: %w", owner, name, err)
	}
	info.Visibility = repos.Visibility(vis)
	info.CreatedAt = sqlite.Time(created)
	return &info, nil
}

// checkInfo returns a *input.ValidationError naming the first bad field of
// info.
func checkInfo(info *repos.Info) error {
	if info.Visibility != repos.Private && info.Visibility != repos.Public {
		return input.Invalid("visibility", "must be private or public")
	}
	return input.CheckDescription("description", info.Description)
}

// CreateRepoInfo records the new repository owner/name with info and sets
// info.Name and info.CreatedAt. It never replaces a record: when owner/name
// has one already, names compared case-insensitively, it returns an error
// wrapping repos.ErrExists. A bad visibility or description is a
// *input.ValidationError. It implements repos.Records.
func (s *Store) CreateRepoInfo(ctx context.Context, owner, name string, info *repos.Info) error {
	if err := checkInfo(info); err != nil {
		return fmt.Errorf("projects: create repository: %w", err)
	}
	created := s.nowMilli()
	_, err := s.db.ExecContext(ctx, `INSERT INTO repositories (owner, name, description, visibility, created_at)
		VALUES (?, ?, ?, ?, ?)`, owner, name, info.Description, string(info.Visibility), created.UnixMilli())
	if sqlite.IsUniqueViolation(err) {
		return fmt.Errorf("projects: create repository %s/%s: %w", owner, name, repos.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("projects: create repository %s/%s: %w", owner, name, err)
	}
	info.Name, info.CreatedAt = name, created
	// Stats an earlier repository of that name left are not this one's.
	return s.ForgetRepoStats(ctx, owner, name)
}

// SaveRepoInfo changes the description and visibility of the existing
// repository owner/name, names compared case-insensitively, recording it
// if it has no record yet (a repository placed by hand). New repositories
// are recorded with CreateRepoInfo, which never replaces a record. A bad
// visibility or description is a *input.ValidationError.
func (s *Store) SaveRepoInfo(ctx context.Context, owner, name string, info *repos.Info) error {
	if err := checkInfo(info); err != nil {
		return fmt.Errorf("projects: save repository: %w", err)
	}
	if info.CreatedAt.IsZero() {
		info.CreatedAt = s.nowMilli()
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO repositories (owner, name, description, visibility, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (owner, name) DO UPDATE
		SET description = excluded.description, visibility = excluded.visibility`,
		owner, name, info.Description, string(info.Visibility), info.CreatedAt.UnixMilli())
	if err != nil {
		return fmt.Errorf("projects: save repository %s/%s: %w", owner, name, err)
	}
	return nil
}

// DeleteRepoInfo forgets the record of owner/name, names compared
// case-insensitively, if any; no record is not an error. It implements
// repos.Records.
func (s *Store) DeleteRepoInfo(ctx context.Context, owner, name string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM repositories WHERE owner = ? AND name = ?`, owner, name); err != nil {
		return fmt.Errorf("projects: delete repository %s/%s: %w", owner, name, err)
	}
	return s.ForgetRepoStats(ctx, owner, name)
}

// RepoStats returns the stats kept for owner/name, names compared
// case-insensitively; ok is false when none are kept. gen identifies the
// state they were read in, for SaveRepoStats.
func (s *Store) RepoStats(ctx context.Context, owner, name string) (st repos.Stats, gen int64, ok bool, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT gen, valid, size_bytes, empty FROM repo_stats WHERE owner = ? AND name = ?`,
		owner, name).Scan(&gen, &ok, &st.Size, &st.Empty)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return repos.Stats{}, 0, false, nil
	case err != nil:
		return repos.Stats{}, 0, false, fmt.Errorf("projects: stats of %s/%s: %w", owner, name, err)
	}
	if !ok {
		st = repos.Stats{}
	}
	return st, gen, ok, nil
}

// SaveRepoStats keeps st for owner/name, computed after RepoStats answered
// gen; it keeps nothing when ForgetRepoStats was called since, as what
// was computed may predate the change.
func (s *Store) SaveRepoStats(ctx context.Context, owner, name string, gen int64, st repos.Stats) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO repo_stats (owner, name, gen, valid, size_bytes, empty) VALUES (?, ?, ?, 1, ?, ?)
		ON CONFLICT (owner, name) DO UPDATE SET valid = 1, size_bytes = excluded.size_bytes, empty = excluded.empty
		WHERE repo_stats.gen = excluded.gen`,
		owner, name, gen, st.Size, st.Empty)
	if err != nil {
		return fmt.Errorf("projects: save stats of %s/%s: %w", owner, name, err)
	}
	return nil
}

// ForgetRepoStats drops the stats kept for owner/name, after a push, a
// branch change or a repack may have changed them, and refuses those
// computed before.
func (s *Store) ForgetRepoStats(ctx context.Context, owner, name string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO repo_stats (owner, name, gen, valid) VALUES (?, ?, 1, 0)
		ON CONFLICT (owner, name) DO UPDATE SET gen = repo_stats.gen + 1, valid = 0`, owner, name)
	if err != nil {
		return fmt.Errorf("projects: forget stats of %s/%s: %w", owner, name, err)
	}
	return nil
}

// PublicRepos returns the names of owner's repositories recorded as
// public, owner compared case-insensitively, in no particular order.
func (s *Store) PublicRepos(ctx context.Context, owner string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name FROM repositories WHERE owner = ? AND visibility = 'public'`, owner)
	if err != nil {
		return nil, fmt.Errorf("projects: public repositories of %s: %w", owner, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("projects: public repositories of %s: %w", owner, err)
		}
		out = append(out, name)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projects: public repositories of %s: %w", owner, err)
	}
	return out, nil
}

// RepoPage returns the records and kept stats of owner's repositories
// names, in two queries whatever their number. A name without a record
// or without stats is absent from the maps.
func (s *Store) RepoPage(ctx context.Context, owner string, names []string) (*repos.Page, error) {
	page := &repos.Page{Infos: map[string]*repos.Info{}, Stats: map[string]repos.KeptStats{}}
	if len(names) == 0 {
		return page, nil
	}
	args := []any{owner}
	marks := make([]string, len(names))
	for i, n := range names {
		args = append(args, n)
		marks[i] = "?"
	}
	in := "(" + strings.Join(marks, ",") + ")"
	rows, err := s.db.QueryContext(ctx, `SELECT name, description, visibility, created_at FROM repositories
		WHERE owner = ? AND name IN `+in, args...)
	if err != nil {
		return nil, fmt.Errorf("projects: repositories of %s: %w", owner, err)
	}
	for rows.Next() {
		var info repos.Info
		var vis string
		var created int64
		if err := rows.Scan(&info.Name, &info.Description, &vis, &created); err != nil {
			rows.Close()
			return nil, fmt.Errorf("projects: repositories of %s: %w", owner, err)
		}
		info.Visibility, info.CreatedAt = repos.Visibility(vis), sqlite.Time(created)
		page.Infos[strings.ToLower(info.Name)] = &info
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("projects: repositories of %s: %w", owner, err)
	}
	rows, err = s.db.QueryContext(ctx, `SELECT name, gen, valid, size_bytes, empty FROM repo_stats
		WHERE owner = ? AND name IN `+in, args...)
	if err != nil {
		return nil, fmt.Errorf("projects: stats of %s: %w", owner, err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var k repos.KeptStats
		if err := rows.Scan(&name, &k.Gen, &k.Valid, &k.Size, &k.Empty); err != nil {
			return nil, fmt.Errorf("projects: stats of %s: %w", owner, err)
		}
		page.Stats[strings.ToLower(name)] = k
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projects: stats of %s: %w", owner, err)
	}
	return page, nil
}
