// Package repos owns repositories as a product: the bare git repositories
// under DATA/repos (their names, where they live on disk, and creating,
// opening, listing and deleting them, with their records), the projects
// and roles of the namespaces that hold them, and Policy, the one
// permission function every surface asks. The rows it keeps in the
// database are reached through the interfaces it declares (Namespaces,
// Records), which repos/projects implements.
package repos

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/depot/depot/auth/input"
	"github.com/go-git/go-git/v5/plumbing"
)

// Errors of the repository domain, returned wrapped with context: test for
// them with errors.Is. Bad input, a malformed name included, is an
// *input.ValidationError (input.ErrInvalid) naming the field.
var (
	// ErrNotFound: the repository, project, user, membership or namespace
	// does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists: the repository (in any letter case) or the namespace
	// name is taken.
	ErrExists = errors.New("already exists")
	// ErrLastOwner: a change would leave a project without an owner.
	ErrLastOwner = errors.New("a project keeps at least one owner")
)

// DefaultBranch is the branch HEAD names in a new repository.
const DefaultBranch = "main"

// ValidateOwner checks a namespace: a user's global_key or a project name
// (input.ValidNamespace, the rule users and projects share). It returns a
// *input.ValidationError naming "owner" whose Msg names the owner too.
func ValidateOwner(owner string) error {
	if !input.ValidNamespace(owner) {
		return input.Invalid("owner", "owner %q must be 1-39 letters, digits, '_', '.' or '-', starting with a letter or digit", owner)
	}
	return nil
}

// ValidateNewOwner checks the name of a new namespace, a user's global_key
// or a project name: ValidateOwner, and not one of the names the server
// keeps for itself (input.Reserved).
func ValidateNewOwner(owner string) error {
	if err := ValidateOwner(owner); err != nil {
		return err
	}
	if input.Reserved(owner) {
		return input.Invalid("owner", "%q is reserved for the server's own pages", owner)
	}
	return nil
}

// ValidateName checks a repository name (without the .git suffix). It
// returns a *input.ValidationError naming "name" whose Msg names the name
// too.
func ValidateName(name string) error {
	switch {
	case !input.ValidRepoName(name):
		return input.Invalid("name", "name %q must be 1-100 letters, digits, '_', '.' or '-', not starting with '.' or '-'", name)
	case strings.HasSuffix(strings.ToLower(name), ".git"):
		return input.Invalid("name", "name %q must not end in .git", name)
	}
	return nil
}

// Repo is one bare repository on disk.
type Repo struct {
	Owner string
	Name  string
	Path  string // absolute path of the bare repository
}

// FullName is OWNER/NAME.
func (r *Repo) FullName() string { return r.Owner + "/" + r.Name }

// Dir is the directory that holds every repository, DATA/repos.
type Dir struct {
	root  string
	names nameCache // Names' listings
}

// OpenDir returns the repository directory rooted at root, creating it.
func OpenDir(root string) (*Dir, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("repos: %w", err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("repos: create %s: %w", abs, err)
	}
	// Resolve the root itself once so that escape checks compare like
	// with like when DATA sits behind a symlink.
	if abs, err = filepath.EvalSymlinks(abs); err != nil {
		return nil, fmt.Errorf("repos: %w", err)
	}
	return &Dir{root: abs}, nil
}

// Root is the absolute path of the directory.
func (d *Dir) Root() string { return d.root }

func (d *Dir) path(owner, name string) (string, error) {
	if err := ValidateOwner(owner); err != nil {
		return "", err
	}
	if err := ValidateName(name); err != nil {
		return "", err
	}
	return filepath.Join(d.root, owner, name+".git"), nil
}

// Open returns the repository OWNER/NAME. It returns ErrNotFound when there
// is none, or when the path resolves, through a symlink, outside the root.
// A missing repository goes through the same checks as one that exists,
// each failing, so that both take about as long (see Policy.Open).
func (d *Dir) Open(owner, name string) (*Repo, error) {
	p, err := d.path(owner, name)
	if err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(p)
	found := err == nil
	if !found {
		real = p
	}
	if bare := isBare(real); !found || !within(d.root, real) || !bare {
		return nil, fmt.Errorf("repos: open %s/%s: %w", owner, name, ErrNotFound)
	}
	return &Repo{Owner: owner, Name: name, Path: real}, nil
}

func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// isBare reports whether dir looks like a bare git repository. It looks
// at every file whatever it finds, so that a missing directory costs what
// an existing one does.
func isBare(dir string) bool {
	bare := true
	for _, p := range []string{"HEAD", "objects", "refs"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			bare = false
		}
	}
	return bare
}

// CreateOptions tune a new repository.
type CreateOptions struct {
	DefaultBranch string // "" means DefaultBranch
}

// Create makes an empty bare repository OWNER/NAME whose HEAD points at
// the default branch. Repository names are compared case-insensitively,
// as GitHub and Gitea compare them, though the directory keeps the case
// given here: it returns ErrExists when the path is taken, in any case.
// It writes no record; CreateWithRecord does both.
func (d *Dir) Create(owner, name string, opt CreateOptions) (*Repo, error) {
	p, branch, err := d.prepare(owner, name, opt)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, fmt.Errorf("repos: create %s/%s: %w", owner, name, err)
	}
	taken, err := d.taken(owner, name)
	if err != nil {
		return nil, fmt.Errorf("repos: create %s/%s: %w", owner, name, err)
	}
	if taken != "" {
		return nil, fmt.Errorf("repos: create %s/%s: %w as %s/%s", owner, name, ErrExists, owner, taken)
	}
	// Build in a temporary sibling and rename, so that a crash or a
	// concurrent create never leaves a half-made repository at p.
	tmp, err := os.MkdirTemp(filepath.Dir(p), "."+name+".tmp-")
	if err != nil {
		return nil, fmt.Errorf("repos: create %s/%s: %w", owner, name, err)
	}
	defer os.RemoveAll(tmp)
	if err := initBare(tmp, branch); err != nil {
		return nil, fmt.Errorf("repos: init %s/%s: %w", owner, name, err)
	}
	if err := os.Rename(tmp, p); err != nil {
		if errors.Is(err, fs.ErrExist) || isBare(p) {
			return nil, fmt.Errorf("repos: create %s/%s: %w", owner, name, ErrExists)
		}
		return nil, fmt.Errorf("repos: create %s/%s: %w", owner, name, err)
	}
	return &Repo{Owner: owner, Name: name, Path: p}, nil
}

// prepare checks what Create is asked to make and returns the path and
// the default branch.
func (d *Dir) prepare(owner, name string, opt CreateOptions) (path, branch string, err error) {
	if path, err = d.path(owner, name); err != nil {
		return "", "", err
	}
	branch = opt.DefaultBranch
	if branch == "" {
		branch = DefaultBranch
	}
	if err := plumbing.NewBranchReferenceName(branch).Validate(); err != nil {
		return "", "", input.Invalid("defaultBranch", "%q is not a valid branch name", branch)
	}
	return path, branch, nil
}

// taken returns the name of the repository of owner that holds name in
// some case, or "".
func (d *Dir) taken(owner, name string) (string, error) {
	entries, err := os.ReadDir(filepath.Join(d.root, owner))
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		if other, ok := strings.CutSuffix(e.Name(), ".git"); ok && strings.EqualFold(other, name) {
			return other, nil
		}
	}
	return "", nil
}

// List returns the repositories of owner, or of every owner when owner is
// "", sorted by full name.
func (d *Dir) List(owner string) ([]*Repo, error) {
	owners := []string{owner}
	if owner == "" {
		entries, err := os.ReadDir(d.root)
		if err != nil {
			return nil, fmt.Errorf("repos: list: %w", err)
		}
		owners = owners[:0]
		for _, e := range entries {
			if ValidateOwner(e.Name()) == nil {
				owners = append(owners, e.Name())
			}
		}
	} else if err := ValidateOwner(owner); err != nil {
		return nil, err
	}
	var out []*Repo
	for _, o := range owners {
		entries, err := os.ReadDir(filepath.Join(d.root, o))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("repos: list %s: %w", o, err)
		}
		for _, e := range entries {
			name, ok := strings.CutSuffix(e.Name(), ".git")
			if !ok || ValidateName(name) != nil {
				continue
			}
			if r, err := d.Open(o, name); err == nil {
				out = append(out, r)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].FullName() < out[j].FullName() })
	return out, nil
}

// bareConfig is what `git init --bare` writes; C git and go-git both read
// it the same way.
const bareConfig = `[core]
	repositoryformatversion = 0
	filemode = true
	bare = true
`

// initBare lays out an empty bare repository in dir, as git init --bare.
func initBare(dir, branch string) error {
	for _, sub := range []string{"objects/info", "objects/pack", "refs/heads", "refs/tags", "info"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return err
		}
	}
	files := map[string]string{
		"HEAD":        "ref: refs/heads/" + branch + "\n",
		"config":      bareConfig,
		"description": "Unnamed repository; edit this file 'description' to name the repository.\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// remove removes r from disk, for DeleteWithRecord. It first renames the
// directory aside, so that the repository disappears at once and whole,
// then removes it.
func (d *Dir) remove(r *Repo) error {
	p, err := d.path(r.Owner, r.Name)
	if err != nil {
		return err
	}
	aside, err := os.MkdirTemp(filepath.Dir(p), ".deleted-"+r.Name+"-")
	if err != nil {
		return fmt.Errorf("repos: delete %s: %w", r.FullName(), err)
	}
	target := filepath.Join(aside, "repo.git")
	if err := os.Rename(p, target); err != nil {
		os.Remove(aside)
		return fmt.Errorf("repos: delete %s: %w", r.FullName(), err)
	}
	if err := os.RemoveAll(aside); err != nil {
		return fmt.Errorf("repos: delete %s: %w", r.FullName(), err)
	}
	return nil
}
