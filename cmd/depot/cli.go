package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/auth/audit"
	"github.com/depot/depot/auth/input"
	"github.com/depot/depot/repos"
	"github.com/depot/depot/repos/git/gc"
	"github.com/depot/depot/tokens"
)

// openForCLI parses a command's flags and opens the data directory.
func openForCLI(e *env, fs *flag.FlagSet, args []string, nargs int, what string) (*data, []string, error) {
	dir := dataFlag(fs, e.getenv)
	pos, err := parse(fs, args)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case len(pos) < nargs:
		return nil, nil, usagef("missing %s", what)
	case len(pos) > nargs:
		return nil, nil, usagef("unexpected argument %q", pos[nargs])
	}
	d, err := openDataAs(e, dir)
	if err != nil {
		return nil, nil, err
	}
	return d, pos, nil
}

type userAddFlags struct {
	name, email   *string
	admin, stdinP *bool
}

func (f *userAddFlags) register(fs *flag.FlagSet) {
	f.name = fs.String("name", "", "display name (default: NAME)")
	f.email = fs.String("email", "", "email address")
	f.admin = fs.Bool("admin", false, "make the user a site admin")
	f.stdinP = passwordStdinFlag(fs)
}

// passwordStdinFlag registers --password-stdin, the only way the CLI
// takes a password: never on the command line, which the process list
// shows.
func passwordStdinFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("password-stdin", false, "read the password from the first line of standard input")
}

func runUserAdd(e *env, args []string) error {
	fs := newFlagSet("user add")
	var f userAddFlags
	f.register(fs)
	d, pos, err := openForCLI(e, fs, args, 1, "NAME")
	if err != nil {
		return err
	}
	defer d.close()
	password, err := passwordFromStdin(e, *f.stdinP)
	if err != nil {
		return err
	}
	u := &tokens.User{GlobalKey: pos[0], Name: *f.name, Email: *f.email, Admin: *f.admin}
	if u.Name == "" {
		u.Name = u.GlobalKey
	}
	if err := d.store.CreateUser(context.Background(), u, password); err != nil {
		if errors.Is(err, input.ErrInvalid) {
			return invalidUsage(err)
		}
		return err
	}
	detail := ""
	if u.Admin {
		detail = "admin"
	}
	d.record(e, audit.UserCreate, u.GlobalKey, u.GlobalKey, detail)
	fmt.Fprintf(e.stdout, "created user %s\n", u.GlobalKey)
	return nil
}

// passwordFromStdin returns the password of --password-stdin (given
// says whether it was), or a usage error.
func passwordFromStdin(e *env, given bool) (string, error) {
	if !given {
		return "", usagef("a password is required: pass --password-stdin and write it to standard input")
	}
	return readPassword(e.stdin)
}

// readPassword reads one line; it refuses a password that
// tokens.CheckNewPassword refuses.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if err := tokens.CheckNewPassword(pw); err != nil {
		var ve *input.ValidationError
		if errors.As(err, &ve) {
			return "", usagef("the password on standard input must have %s", ve.Msg)
		}
		return "", err
	}
	return pw, nil
}

// runUserPasswd sets a user's password, as an admin does for a user who
// forgot theirs or whose password leaked, and ends every session of
// theirs at once, also those of a server running on the data directory.
// Their personal access tokens stay.
func runUserPasswd(e *env, args []string) error {
	fs := newFlagSet("user passwd")
	stdinP := passwordStdinFlag(fs)
	d, pos, err := openForCLI(e, fs, args, 1, "NAME")
	if err != nil {
		return err
	}
	defer d.close()
	password, err := passwordFromStdin(e, *stdinP)
	if err != nil {
		return err
	}
	ctx := context.Background()
	u, err := d.store.UserByName(ctx, pos[0])
	if errors.Is(err, tokens.ErrNotFound) {
		return fmt.Errorf("no such user %q", pos[0])
	}
	if err != nil {
		return err
	}
	ended, err := d.store.ChangePassword(ctx, u.GlobalKey, password, "")
	switch {
	case errors.Is(err, tokens.ErrNotFound): // deleted meanwhile
		return fmt.Errorf("no such user %q", pos[0])
	case errors.Is(err, input.ErrInvalid):
		return invalidUsage(err)
	case err != nil:
		return err
	}
	d.record(e, audit.PasswordReset, u.GlobalKey, u.GlobalKey, fmt.Sprintf("sessions ended: %d", ended))
	fmt.Fprintf(e.stdout, "set the password of %s and ended %d web sessions; personal access tokens still work\n", u.GlobalKey, ended)
	return nil
}

func runUserList(e *env, args []string) error {
	d, _, err := openForCLI(e, newFlagSet("user list"), args, 0, "")
	if err != nil {
		return err
	}
	defer d.close()
	users, err := d.store.ListUsers(context.Background())
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GLOBAL_KEY\tNAME\tEMAIL\tADMIN\tCREATED")
	for _, u := range users {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\n", u.GlobalKey, u.Name, dash(u.Email), u.Admin, u.CreatedAt.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

type tokenCreateFlags struct {
	user, scopes, description, audience, rules *string
	expires                                    *time.Duration
}

func (f *tokenCreateFlags) register(fs *flag.FlagSet) {
	f.user = fs.String("user", "", "owner of the token (required)")
	f.scopes = fs.String("scopes", "", "comma-separated scopes (default: every scope); see GET /api/v1/auth/scopes")
	f.description = fs.String("description", "", "what the token is for")
	f.audience = fs.String("audience", "default", "audience")
	f.expires = fs.Duration("expires", 0, "lifetime, e.g. 720h (default: never expires)")
	f.rules = fs.String("rules", "", `git rules as JSON, e.g. '{"repos":["tester/site"],"refs":["refs/heads/ci/*"]}' (default: none)`)
}

func runTokenCreate(e *env, args []string) error {
	fs := newFlagSet("token create")
	var f tokenCreateFlags
	f.register(fs)
	d, _, err := openForCLI(e, fs, args, 0, "")
	if err != nil {
		return err
	}
	defer d.close()
	if *f.user == "" {
		return usagef("--user is required")
	}
	if *f.expires < 0 {
		return usagef("--expires must be positive")
	}
	scopes := auth.ScopeNames()
	if *f.scopes != "" {
		scopes = nil
		for _, s := range strings.Split(*f.scopes, ",") {
			if s = strings.TrimSpace(s); !auth.ValidScope(s) {
				return usagef("unknown scope %q; valid scopes are %s", s, strings.Join(auth.ScopeNames(), ", "))
			}
			scopes = append(scopes, s)
		}
	}
	t := &tokens.Token{
		Username: *f.user, Audience: *f.audience, Description: *f.description,
		Scopes: scopes, Issuer: *f.user,
	}
	if *f.expires > 0 {
		t.ExpireTime = time.Now().Add(*f.expires)
	}
	if *f.rules != "" {
		if t.Rules, err = auth.ParseRules([]byte(*f.rules)); err != nil {
			return invalidUsage(err)
		}
	}
	secret, err := d.store.CreateToken(context.Background(), t)
	switch {
	case errors.Is(err, tokens.ErrNotFound):
		return fmt.Errorf("no such user %q", *f.user)
	case errors.Is(err, input.ErrInvalid):
		return invalidUsage(err)
	case err != nil:
		return err
	}
	d.record(e, audit.TokenCreate, t.ID, t.Username, "scopes="+strings.Join(t.Scopes, ","))
	rules := ""
	if t.Rules != nil {
		b, _ := json.Marshal(t.Rules) // cannot fail for Rules
		rules = ", rules " + string(b)
	}
	fmt.Fprintf(e.stdout, "created token %s for %s (scopes %s%s); its value is shown once:\n", t.ID, t.Username, strings.Join(t.Scopes, ","), rules)
	fmt.Fprintln(e.stdout, secret)
	return nil
}

func runTokenList(e *env, args []string) error {
	fs := newFlagSet("token list")
	user := fs.String("user", "", "only this user's tokens")
	d, _, err := openForCLI(e, fs, args, 0, "")
	if err != nil {
		return err
	}
	defer d.close()
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSER\tSTATUS\tSCOPES\tEXPIRES\tLAST USED\tDESCRIPTION")
	for page := 1; ; page++ {
		_, list, err := d.store.ListTokens(context.Background(), tokens.ListOptions{Username: *user, PageNo: page, PageSize: 1000})
		if err != nil {
			return err
		}
		for _, t := range list {
			status := "enabled"
			if !t.Enabled {
				status = "disabled"
			}
			last := "never"
			if !t.LastAccessTime.IsZero() {
				last = t.LastAccessTime.UTC().Format(time.RFC3339) + " from " + t.LastAccessIP
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Username, status,
				strings.Join(t.Scopes, ","), timeOrNever(t.ExpireTime), last, dash(t.Description))
		}
		if len(list) < 1000 {
			break
		}
	}
	return tw.Flush()
}

type repoCreateFlags struct {
	public      *bool
	description *string
}

func (f *repoCreateFlags) register(fs *flag.FlagSet) {
	f.public = fs.Bool("public", false, "anyone may clone it without credentials")
	f.description = fs.String("description", "", "what the repository holds")
}

func runRepoCreate(e *env, args []string) error {
	fs := newFlagSet("repo create")
	var f repoCreateFlags
	f.register(fs)
	d, pos, err := openForCLI(e, fs, args, 1, "OWNER/NAME")
	if err != nil {
		return err
	}
	defer d.close()
	owner, name, ok := strings.Cut(strings.TrimSuffix(pos[0], ".git"), "/")
	if !ok {
		return usagef("repository must be OWNER/NAME, not %q", pos[0])
	}
	for _, err := range []error{repos.ValidateOwner(owner), repos.ValidateName(name)} {
		if err != nil {
			return invalidName(err)
		}
	}
	ctx := context.Background()
	_, owner, err = d.projects.Namespace(ctx, owner)
	if errors.Is(err, repos.ErrNotFound) {
		return fmt.Errorf("no user or project named %q", strings.Split(pos[0], "/")[0])
	}
	if err != nil {
		return err
	}
	info := &repos.Info{Description: *f.description, Visibility: repos.Private}
	if *f.public {
		info.Visibility = repos.Public
	}
	r, err := d.repos.CreateWithRecord(ctx, d.projects, owner, name, repos.CreateOptions{}, info)
	switch {
	case errors.Is(err, input.ErrInvalid):
		return invalidUsage(err)
	case errors.Is(err, repos.ErrExists):
		return fmt.Errorf("repository %s/%s already exists (repository names ignore case)", owner, name)
	case err != nil:
		return err
	}
	d.record(e, audit.RepoCreate, r.FullName(), r.Owner, string(info.Visibility))
	fmt.Fprintf(e.stdout, "created %s repository %s at %s\n", info.Visibility, r.FullName(), r.Path)
	return nil
}

type projectCreateFlags struct {
	owner, displayName, description *string
}

func (f *projectCreateFlags) register(fs *flag.FlagSet) {
	f.owner = fs.String("owner", "", "the user who owns the project (required)")
	f.displayName = fs.String("display-name", "", "display name (default: NAME)")
	f.description = fs.String("description", "", "what the project is")
}

func runProjectCreate(e *env, args []string) error {
	fs := newFlagSet("project create")
	var f projectCreateFlags
	f.register(fs)
	d, pos, err := openForCLI(e, fs, args, 1, "NAME")
	if err != nil {
		return err
	}
	defer d.close()
	if *f.owner == "" {
		return usagef("--owner is required")
	}
	p := &repos.Project{Name: pos[0], DisplayName: *f.displayName, Description: *f.description}
	err = d.projects.CreateProject(context.Background(), p, *f.owner)
	switch {
	case errors.Is(err, input.ErrInvalid):
		return invalidUsage(err)
	case errors.Is(err, repos.ErrExists):
		return fmt.Errorf("the name %q is taken by a user or project", p.Name)
	case errors.Is(err, repos.ErrNotFound):
		return fmt.Errorf("no such user %q", *f.owner)
	case err != nil:
		return err
	}
	d.record(e, audit.ProjectCreate, p.Name, *f.owner, "")
	fmt.Fprintf(e.stdout, "created project %s owned by %s\n", p.Name, *f.owner)
	return nil
}

func runProjectList(e *env, args []string) error {
	d, _, err := openForCLI(e, newFlagSet("project list"), args, 0, "")
	if err != nil {
		return err
	}
	defer d.close()
	list, err := d.projects.ListProjects(context.Background(), "")
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tDISPLAY NAME\tCREATED")
	for _, p := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Name, p.DisplayName, p.CreatedAt.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

func runMemberAdd(e *env, args []string) error {
	fs := newFlagSet("member add")
	roleName := fs.String("role", "", "owner, admin, developer or viewer (required)")
	d, pos, err := openForCLI(e, fs, args, 2, "PROJECT USER")
	if err != nil {
		return err
	}
	defer d.close()
	role, err := repos.ParseRole(*roleName)
	if err != nil {
		return usagef("--role must be owner, admin, developer or viewer")
	}
	old := memberRole(d, pos[0], pos[1])
	err = d.projects.SetMember(context.Background(), pos[0], pos[1], role)
	switch {
	case err != nil:
	case old == repos.RoleNone:
		d.record(e, audit.MemberAdd, pos[0], pos[1], "role "+role.String())
	case old != role:
		d.record(e, audit.MemberRole, pos[0], pos[1], "role "+old.String()+" -> "+role.String())
	}
	return memberError(err, e, fmt.Sprintf("%s is now %s of %s", pos[1], role, pos[0]))
}

// memberRole returns user's role in project, RoleNone when it has none or
// cannot tell (the change that follows reports the reason).
func memberRole(d *data, project, user string) repos.Role {
	members, err := d.projects.Members(context.Background(), project)
	if err != nil {
		return repos.RoleNone
	}
	for _, m := range members {
		if strings.EqualFold(m.User, user) {
			return m.Role
		}
	}
	return repos.RoleNone
}

func runMemberRemove(e *env, args []string) error {
	d, pos, err := openForCLI(e, newFlagSet("member remove"), args, 2, "PROJECT USER")
	if err != nil {
		return err
	}
	defer d.close()
	old := memberRole(d, pos[0], pos[1])
	err = d.projects.RemoveMember(context.Background(), pos[0], pos[1])
	if err == nil {
		d.record(e, audit.MemberRemove, pos[0], pos[1], "role "+old.String())
	}
	return memberError(err, e, fmt.Sprintf("removed %s from %s", pos[1], pos[0]))
}

func memberError(err error, e *env, done string) error {
	switch {
	case errors.Is(err, repos.ErrLastOwner):
		return fmt.Errorf("a project keeps at least one owner")
	case errors.Is(err, repos.ErrNotFound):
		return fmt.Errorf("no such project, user or membership")
	case err != nil:
		return err
	}
	fmt.Fprintln(e.stdout, done)
	return nil
}

func runRepoList(e *env, args []string) error {
	fs := newFlagSet("repo list")
	dir := dataFlag(fs, e.getenv)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usagef("unexpected argument %q", pos[1])
	}
	owner := ""
	if len(pos) == 1 {
		// Owners ignore case, as in URLs: list the directory of the
		// owner's own spelling.
		ctx := context.Background()
		d, err := openDataAs(e, dir)
		if err != nil {
			return err
		}
		defer d.close()
		_, owner, err = d.projects.Namespace(ctx, pos[0])
		if errors.Is(err, repos.ErrNotFound) {
			return fmt.Errorf("no user or project named %q", pos[0])
		}
		if err != nil {
			return err
		}
	}
	rd, err := openRepos(dir.dir)
	if err != nil {
		return err
	}
	list, err := rd.List(owner)
	if err != nil {
		return err
	}
	for _, r := range list {
		fmt.Fprintln(e.stdout, r.FullName())
	}
	return nil
}

// invalidUsage is the usage error for bad input: the field and what is
// wrong with it (the *input.ValidationError), without the layers that
// wrapped it on the way up.
func invalidUsage(err error) error {
	var ve *input.ValidationError
	if errors.As(err, &ve) {
		return usagef("%v", ve)
	}
	return usagef("%v", err)
}

// invalidName is the usage error for a malformed OWNER/NAME argument.
func invalidName(err error) error {
	var ve *input.ValidationError
	if errors.As(err, &ve) {
		return usagef("invalid repository name: %s", ve.Msg)
	}
	return usagef("%v", err)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func timeOrNever(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

func runRepoGC(e *env, args []string) error {
	fs := newFlagSet("repo gc")
	dir := dataFlag(fs, e.getenv)
	expire := reflogExpireFlag(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("give one repository as OWNER/NAME")
	}
	d, err := openDataAs(e, dir)
	if err != nil {
		return err
	}
	defer d.close()
	r, err := openRepoArg(d, pos[0])
	if err != nil {
		return err
	}
	start := time.Now()
	if err := gc.RepackWith(context.Background(), r.Path, gc.Options{ReflogExpire: *expire}); err != nil {
		if errors.Is(err, gc.ErrBusy) {
			return fmt.Errorf("%s is being repacked already", r.FullName())
		}
		return err
	}
	// The repository's size changed: listings compute it again.
	if err := d.projects.ForgetRepoStats(context.Background(), r.Owner, r.Name); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "repacked %s in %s\n", r.FullName(), time.Since(start).Round(time.Millisecond))
	return nil
}

// reflogExpireFlag registers --reflog-expire, gc's retention of reflog
// entries.
func reflogExpireFlag(fs *flag.FlagSet) *time.Duration {
	return fs.Duration("reflog-expire", gc.DefaultReflogExpire, "keep reflog entries, and the objects they name, this long (2160h = 90 days; 0 keeps them forever)")
}
