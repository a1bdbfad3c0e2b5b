// Package projects keeps the repository domain's rows in depot's one
// database (tokens/sqlite): projects and their members, the namespaces
// that users and projects share, and the record of each repository (the
// name it was created with, its description and visibility). Its Store
// implements the interfaces that package repos (Namespaces, Records) and
// repos/api (Store) declare; cmd/depot wires it in.
package projects

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/depot/depot/auth/input"
	"github.com/depot/depot/repos"
	"github.com/depot/depot/tokens/sqlite"
)

// Store keeps projects, members and repository records. Its methods are
// safe for concurrent use. Every error it returns is wrapped with the
// operation that failed; the sentinels are repos' (ErrNotFound, ErrExists,
// ErrLastOwner) and bad input is a *input.ValidationError.
type Store struct {
	db  *sqlite.DB
	now func() time.Time
}

var (
	_ repos.Namespaces = (*Store)(nil)
	_ repos.Records    = (*Store)(nil)
)

// New returns the Store on db, which the caller opened and closes.
func New(db *sqlite.DB) *Store { return &Store{db: db, now: time.Now} }

// nowMilli returns the current time as the database keeps it.
func (s *Store) nowMilli() time.Time { return sqlite.Truncate(s.now()) }

// CreateProject adds p with owner as its first member, role owner, and
// sets p.CreatedAt; p.DisplayName defaults to p.Name. It returns a
// *input.ValidationError naming "name" for a malformed or reserved name
// and naming "displayName" or "description" for bad text; an error
// wrapping repos.ErrExists when a project or a user holds the name,
// compared case-insensitively; and one wrapping repos.ErrNotFound when
// owner is not a user.
func (s *Store) CreateProject(ctx context.Context, p *repos.Project, owner string) error {
	if err := repos.ValidateNewOwner(p.Name); err != nil {
		var ve *input.ValidationError
		if errors.As(err, &ve) {
			// The name is the namespace; the client sent it as "name".
			err = &input.ValidationError{Field: "name", Msg: ve.Msg}
		}
		return fmt.Errorf("projects: create project: %w", err)
	}
	if p.DisplayName == "" {
		p.DisplayName = p.Name
	}
	for _, f := range []struct{ name, v string }{{"displayName", p.DisplayName}, {"description", p.Description}} {
		if err := input.CheckDescription(f.name, f.v); err != nil {
			return fmt.Errorf("projects: create project: %w", err)
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("projects: create project %s: %w", p.Name, err)
	}
	defer tx.Rollback()
	uid, err := userID(ctx, tx, owner)
	if err != nil {
		return fmt.Errorf("projects: create project %s: owner %s: %w", p.Name, owner, err)
	}
	created := s.nowMilli()
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO projects (name, display_name, description, created_at)
		VALUES (?, ?, ?, ?) RETURNING id`, p.Name, p.DisplayName, p.Description, created.UnixMilli()).Scan(&id)
	if sqlite.IsUniqueViolation(err) {
		return fmt.Errorf("projects: create project %s: %w", p.Name, repos.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("projects: create project %s: %w", p.Name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO project_members (project_id, user_id, role, created_at)
		VALUES (?, ?, ?, ?)`, id, uid, repos.RoleOwner, created.UnixMilli()); err != nil {
		return fmt.Errorf("projects: create project %s: %w", p.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("projects: create project %s: %w", p.Name, err)
	}
	p.CreatedAt = created
	return nil
}

// userID returns the id of the user name, or repos.ErrNotFound. The users
// table belongs to package tokens; a project only refers to its rows.
func userID(ctx context.Context, q sqlite.Querier, name string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM users WHERE global_key = ?`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, repos.ErrNotFound
	}
	return id, err
}

// projectID returns the id of the project name, or repos.ErrNotFound.
func projectID(ctx context.Context, q sqlite.Querier, name string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM projects WHERE name = ?`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, repos.ErrNotFound
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

// Project returns the project name, compared case-insensitively, with the
// name as it was created; an error wrapping repos.ErrNotFound when there
// is none.
func (s *Store) Project(ctx context.Context, name string) (*repos.Project, error) {
	p, err := scanProject(s.db.QueryRowContext(ctx, `SELECT `+projectColumns+` FROM projects p WHERE p.name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("projects: project %s: %w", name, repos.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("projects: project %s: %w", name, err)
	}
	return p, nil
}

// ListProjects returns the projects member belongs to, or every project
// when member is "", by name. An unknown member belongs to none.
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
		return nil, fmt.Errorf("projects: list projects: %w", err)
	}
	defer rows.Close()
	var out []*repos.Project
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, fmt.Errorf("projects: list projects: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projects: list projects: %w", err)
	}
	return out, nil
}

// Members returns the members of project, strongest role first, then by
// name; an error wrapping repos.ErrNotFound for an unknown project.
func (s *Store) Members(ctx context.Context, project string) ([]repos.Member, error) {
	pid, err := projectID(ctx, s.db, project)
	if err != nil {
		return nil, fmt.Errorf("projects: members of %s: %w", project, err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT u.global_key, m.role, m.created_at
		FROM project_members m JOIN users u ON u.id = m.user_id
		WHERE m.project_id = ? ORDER BY m.role DESC, u.global_key`, pid)
	if err != nil {
		return nil, fmt.Errorf("projects: members of %s: %w", project, err)
	}
	defer rows.Close()
	var out []repos.Member
	for rows.Next() {
		var m repos.Member
		var created int64
		if err := rows.Scan(&m.User, &m.Role, &created); err != nil {
			return nil, fmt.Errorf("projects: members of %s: %w", project, err)
		}
		m.Since = sqlite.Time(created)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projects: members of %s: %w", project, err)
	}
	return out, nil
}

// SetMember gives user the role in project, adding the member if needed.
// It returns a *input.ValidationError naming "role" for a role that is not
// one of viewer to owner, an error wrapping repos.ErrNotFound for an
// unknown project or user, and one wrapping repos.ErrLastOwner when it
// would demote the last owner.
func (s *Store) SetMember(ctx context.Context, project, user string, role repos.Role) error {
	if role < repos.RoleViewer || role > repos.RoleOwner {
		return fmt.Errorf("projects: set member: %w", input.Invalid("role", "must be owner, admin, developer or viewer"))
	}
	return s.changeMember(ctx, project, user, func(tx sqlite.Querier, pid, uid int64) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO project_members (project_id, user_id, role, created_at)
			VALUES (?, ?, ?, ?) ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role`,
			pid, uid, role, s.nowMilli().UnixMilli())
		return err
	})
}

// RemoveMember removes user from project. It returns an error wrapping
// repos.ErrNotFound for an unknown project, user or membership, and one
// wrapping repos.ErrLastOwner for the last owner.
func (s *Store) RemoveMember(ctx context.Context, project, user string) error {
	return s.changeMember(ctx, project, user, func(tx sqlite.Querier, pid, uid int64) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM project_members WHERE project_id = ? AND user_id = ?`, pid, uid)
		if err != nil {
			return err
		}
		return sqlite.MustAffect(res, repos.ErrNotFound)
	})
}

// changeMember runs change in a transaction and refuses the result when
// the project is left without an owner.
func (s *Store) changeMember(ctx context.Context, project, user string, change func(tx sqlite.Querier, pid, uid int64) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("projects: member %s of %s: %w", user, project, err)
	}
	defer tx.Rollback()
	pid, err := projectID(ctx, tx, project)
	if err != nil {
		return fmt.Errorf("projects: project %s: %w", project, err)
	}
	uid, err := userID(ctx, tx, user)
	if err != nil {
		return fmt.Errorf("projects: user %s: %w", user, err)
	}
	if err := change(tx, pid, uid); err != nil {
		return fmt.Errorf("projects: member %s of %s: %w", user, project, err)
	}
	var owners int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM project_members WHERE project_id = ? AND role = ?`,
		pid, repos.RoleOwner).Scan(&owners); err != nil {
		return fmt.Errorf("projects: member %s of %s: %w", user, project, err)
	}
	if owners == 0 {
		return fmt.Errorf("projects: member %s of %s: %w", user, project, repos.ErrLastOwner)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("projects: member %s of %s: %w", user, project, err)
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
		return repos.RoleNone, false, fmt.Errorf("projects: role of %s in %s: %w", user, project, err)
	}
	return repos.Role(role.Int64), true, nil
}

// Namespace implements repos.Namespaces: what holds the namespace name,
// "user" or "project", and the name as registered; an error wrapping
// repos.ErrNotFound when nothing does.
func (s *Store) Namespace(ctx context.Context, name string) (kind, canonical string, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT 'user', global_key FROM users WHERE global_key = ?
		UNION ALL SELECT 'project', name FROM projects WHERE name = ?`, name, name).Scan(&kind, &canonical)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", fmt.Errorf("projects: namespace %s: %w", name, repos.ErrNotFound)
	}
	if err != nil {
		return "", "", fmt.Errorf("projects: namespace %s: %w", name, err)
	}
	return kind, canonical, nil
}
