package tokens

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

// ErrLastOwner means a change would leave a project without an owner.
var ErrLastOwner = errors.New("a project keeps at least one owner")

var (
	_ repos.Namespaces = (*Store)(nil)
	_ repos.Records    = (*Store)(nil)
)

// CreateProject adds p with owner as its first member, role owner. It
// returns ErrExists when the name is taken by a project or a user,
// ErrNotFound when owner is not a user, and a *input.ValidationError for a bad
// name.
func (s *Store) CreateProject(ctx context.Context, p *repos.Project, owner string) error {
	if err := repos.ValidateNewOwner(p.Name); err != nil {
		return fmt.Errorf("tokens: create project: %w", invalid("name", "%s", strings.TrimPrefix(err.Error(), repos.ErrInvalid.Error()+": ")))
	}
	if p.DisplayName == "" {
		p.DisplayName = p.Name
	}
	for _, f := range []struct{ name, v string }{{"displayName", p.DisplayName}, {"description", p.Description}} {
		if err := input.CheckDescription(f.name, f.v); err != nil {
			return fmt.Errorf("tokens: create project: %w", err)
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("tokens: create project %s: %w", p.Name, err)
	}
	defer tx.Rollback()
	uid, err := userID(ctx, tx, owner)
	if err != nil {
		return fmt.Errorf("tokens: create project %s: owner %s: %w", p.Name, owner, err)
	}
	created := s.nowMilli()
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO projects (name, display_name, description, created_at)
		VALUES (?, ?, ?, ?) RETURNING id`, p.Name, p.DisplayName, p.Description, created.UnixMilli()).Scan(&id)
	if sqlite.IsUniqueViolation(err) {
		return fmt.Errorf("tokens: create project %s: %w", p.Name, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("tokens: create project %s: %w", p.Name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO project_members (project_id, user_id, role, created_at)
		VALUES (?, ?, ?, ?)`, id, uid, repos.RoleOwner, created.UnixMilli()); err != nil {
		return fmt.Errorf("tokens: create project %s: %w", p.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("tokens: create project %s: %w", p.Name, err)
	}
	p.CreatedAt = created
	return nil
}

func userID(ctx context.Context, q sqlite.Querier, name string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM users WHERE global_key = ?`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNotFound
	}
	return id, err
}

func projectID(ctx context.Context, q sqlite.Querier, name string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM projects WHERE name = ?`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNotFound
	}
	return id, err
}

const projectColumns = `p.name, p.display_name, p.description, p.created_at`

func scanProject(row interface{ Scan(...any) error }) (*repos.Project, error) {
	var p repos.Project
	var created int64
	if err := row.Scan(&p.Name, &p.DisplayName, &p.Description, &created); err != nil {
		return nil, err
	}
	p.CreatedAt = sqlite.Time(created)
	return &p, nil
}

// Project returns the project name; ErrNotFound when there is none.
func (s *Store) Project(ctx context.Context, name string) (*repos.Project, error) {
	p, err := scanProject(s.db.QueryRowContext(ctx, `SELECT `+projectColumns+` FROM projects p WHERE p.name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("tokens: project %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("tokens: project %s: %w", name, err)
	}
	return p, nil
}

// ListProjects returns the projects member belongs to, or every project
// when member is "", by name.
func (s *Store) ListProjects(ctx context.Context, member string) ([]*repos.Project, error) {
	q := `SELECT ` + projectColumns + ` FROM projects p ORDER BY p.name`
	args := []any{}
	if member != "" {
		q = `SELECT ` + projectColumns + ` FROM projects p
			JOIN project_members m ON m.project_id = p.id
			JOIN users u ON u.id = m.user_id
			WHERE u.global_key = ? ORDER BY p.name`
		args = append(args, member)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("tokens: list projects: %w", err)
	}
	defer rows.Close()
	var out []*repos.Project
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, fmt.Errorf("tokens: list projects: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Members returns the members of project, strongest role first;
// ErrNotFound for an unknown project.
func (s *Store) Members(ctx context.Context, project string) ([]repos.Member, error) {
	pid, err := projectID(ctx, s.db, project)
	if err != nil {
		return nil, fmt.Errorf("tokens: members of %s: %w", project, err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT u.global_key, m.role, m.created_at
		FROM project_members m JOIN users u ON u.id = m.user_id
		WHERE m.project_id = ? ORDER BY m.role DESC, u.global_key`, pid)
	if err != nil {
		return nil, fmt.Errorf("tokens: members of %s: %w", project, err)
	}
	defer rows.Close()
	var out []repos.Member
	for rows.Next() {
		var m repos.Member
		var created int64
		if err := rows.Scan(&m.User, &m.Role, &created); err != nil {
			return nil, fmt.Errorf("tokens: members of %s: %w", project, err)
		}
		m.Since = sqlite.Time(created)
		out = append(out, m)
	}
	return out, rows.Err()
}

// SetMember gives user the role in project, adding the member if needed.
// It returns ErrNotFound for an unknown project or user and ErrLastOwner
// when it would demote the last owner.
func (s *Store) SetMember(ctx context.Context, project, user string, role repos.Role) error {
	if role < repos.RoleViewer || role > repos.RoleOwner {
		return fmt.Errorf("tokens: set member: %w", invalid("role", "must be owner, admin, developer or viewer"))
	}
	return s.changeMember(ctx, project, user, func(tx *sql.Tx, pid, uid int64) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO project_members (project_id, user_id, role, created_at)
			VALUES (?, ?, ?, ?) ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role`,
			pid, uid, role, s.nowMilli().UnixMilli())
		return err
	})
}

// RemoveMember removes user from project. It returns ErrNotFound for an
// unknown project, user or membership, and ErrLastOwner for the last owner.
func (s *Store) RemoveMember(ctx context.Context, project, user string) error {
	return s.changeMember(ctx, project, user, func(tx *sql.Tx, pid, uid int64) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM project_members WHERE project_id = ? AND user_id = ?`, pid, uid)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
}

// changeMember runs change in a transaction and refuses the result when
// the project is left without an owner.
func (s *Store) changeMember(ctx context.Context, project, user string, change func(tx *sql.Tx, pid, uid int64) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("tokens: member %s of %s: %w", user, project, err)
	}
	defer tx.Rollback()
	pid, err := projectID(ctx, tx, project)
	if err != nil {
		return fmt.Errorf("tokens: project %s: %w", project, err)
	}
	uid, err := userID(ctx, tx, user)
	if err != nil {
		return fmt.Errorf("tokens: user %s: %w", user, err)
	}
	if err := change(tx, pid, uid); err != nil {
		return fmt.Errorf("tokens: member %s of %s: %w", user, project, err)
	}
	var owners int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM project_members WHERE project_id = ? AND role = ?`,
		pid, repos.RoleOwner).Scan(&owners); err != nil {
		return fmt.Errorf("tokens: member %s of %s: %w", user, project, err)
	}
	if owners == 0 {
		return fmt.Errorf("tokens: member %s of %s: %w", user, project, ErrLastOwner)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("tokens: member %s of %s: %w", user, project, err)
	}
	return nil
}

// ProjectRole implements repos.Namespaces.
func (s *Store) ProjectRole(ctx context.Context, project, user string) (repos.Role, bool, error) {
	var role sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT (SELECT m.role FROM project_members m JOIN users u ON u.id = m.user_id
			WHERE m.project_id = p.id AND u.global_key = ?)
		FROM projects p WHERE p.name = ?`, user, project).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		return repos.RoleNone, false, nil
	}
	if err != nil {
		return repos.RoleNone, false, fmt.Errorf("tokens: role of %s in %s: %w", user, project, err)
	}
	return repos.Role(role.Int64), true, nil
}

// Namespace returns what owns the namespace name: "user" or "project",
// with the name as registered; ErrNotFound when nothing does.
func (s *Store) Namespace(ctx context.Context, name string) (kind, canonical string, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT 'user', global_key FROM users WHERE global_key = ?
		UNION ALL SELECT 'project', name FROM projects WHERE name = ?`, name, name).Scan(&kind, &canonical)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", fmt.Errorf("tokens: namespace %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return "", "", fmt.Errorf("tokens: namespace %s: %w", name, err)
	}
	return kind, canonical, nil
}

// RepoInfo returns the record of owner/name, names compared
// case-insensitively: its Name is the name the repository was created
// with. Without a record (a repository placed by hand, or none at all) it
// returns a private repository without a name or description. It
// implements repos.Namespaces.
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
		return nil, fmt.Errorf("tokens: repository %s/%s: %w", owner, name, err)
	}
	info.Visibility = repos.Visibility(vis)
	info.CreatedAt = sqlite.Time(created)
	return &info, nil
}

func checkRepoInfo(info *repos.Info) error {
	if info.Visibility != repos.Private && info.Visibility != repos.Public {
		return invalid("visibility", "must be private or public")
	}
	return input.CheckDescription("description", info.Description)
}

// CreateRepoInfo records the new repository owner/name with info. It
// never replaces a record: when owner/name has one already, names
// compared case-insensitively, it returns an error wrapping
// repos.ErrExists. It implements repos.Records.
func (s *Store) CreateRepoInfo(ctx context.Context, owner, name string, info *repos.Info) error {
	if err := checkRepoInfo(info); err != nil {
		return fmt.Errorf("tokens: create repository: %w", err)
	}
	created := s.nowMilli()
	_, err := s.db.ExecContext(ctx, `INSERT INTO repositories (owner, name, description, visibility, created_at)
		VALUES (?, ?, ?, ?, ?)`, owner, name, info.Description, string(info.Visibility), created.UnixMilli())
	if sqlite.IsUniqueViolation(err) {
		return fmt.Errorf("tokens: create repository %s/%s: %w", owner, name, repos.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("tokens: create repository %s/%s: %w", owner, name, err)
	}
	info.Name, info.CreatedAt = name, created
	return nil
}

// SaveRepoInfo changes the description and visibility of the existing
// repository owner/name, names compared case-insensitively, recording it
// if it has no record yet (a repository placed by hand). New repositories
// are recorded with CreateRepoInfo, which never replaces a record.
func (s *Store) SaveRepoInfo(ctx context.Context, owner, name string, info *repos.Info) error {
	if err := checkRepoInfo(info); err != nil {
		return fmt.Errorf("tokens: save repository: %w", err)
	}
	if info.CreatedAt.IsZero() {
		info.CreatedAt = s.nowMilli()
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO repositories (owner, name, description, visibility, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (owner, name) DO UPDATE
		SET description = excluded.description, visibility = excluded.visibility`,
		owner, name, info.Description, string(info.Visibility), info.CreatedAt.UnixMilli())
	if err != nil {
		return fmt.Errorf("tokens: save repository %s/%s: %w", owner, name, err)
	}
	return nil
}

// DeleteRepoInfo forgets the record of owner/name, names compared
// case-insensitively, if any. It implements repos.Records.
func (s *Store) DeleteRepoInfo(ctx context.Context, owner, name string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM repositories WHERE owner = ? AND name = ?`, owner, name); err != nil {
		return fmt.Errorf("tokens: delete repository %s/%s: %w", owner, name, err)
	}
	return nil
}
