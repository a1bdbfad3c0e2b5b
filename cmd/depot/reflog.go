package main

import (
	"context"
	"errors"
	"fmt"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/depot/depot/auth/input"
	"github.com/depot/depot/repos"
	"github.com/depot/depot/repos/git/gitref"
	"github.com/depot/depot/repos/git/object"
)

// openRepoArg finds the repository an OWNER/NAME argument names, in any
// case, as the server would.
func openRepoArg(d *data, arg string) (*repos.Repo, error) {
	owner, name, ok := strings.Cut(strings.TrimSuffix(arg, ".git"), "/")
	if !ok {
		return nil, usagef("repository must be OWNER/NAME, not %q", arg)
	}
	if repos.ValidateOwner(owner) == nil && repos.ValidateName(name) == nil {
		var err error
		if owner, name, _, err = repos.NewPolicy(d.projects, d.repos).Canonical(context.Background(), owner, name); err != nil {
			return nil, err
		}
	}
	r, err := d.repos.Open(owner, name)
	if errors.Is(err, repos.ErrNotFound) || errors.Is(err, input.ErrInvalid) {
		return nil, fmt.Errorf("no repository %s", arg)
	}
	return r, err
}

// fullRefName reads a REF argument: a full name, HEAD, or a branch's short
// name.
func fullRefName(ref string) (string, error) {
	if ref != "HEAD" && !strings.HasPrefix(ref, "refs/") {
		ref = "refs/heads/" + ref
	}
	if ref == "HEAD" {
		return ref, nil
	}
	var ne *gitref.NameError
	if err := gitref.CheckRefName(ref); errors.As(err, &ne) {
		return "", usagef("%v", ne)
	}
	return ref, nil
}

func runRepoReflog(e *env, args []string) error {
	fs := newFlagSet("repo reflog")
	dir := dataFlag(fs, e.getenv)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 1 || len(pos) > 2 {
		return usagef("give OWNER/NAME and optionally a ref")
	}
	ref := ""
	if len(pos) == 2 {
		if ref, err = fullRefName(pos[1]); err != nil {
			return err
		}
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
	entries, err := gitref.ReadReflog(r.Path, ref)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tREF\tOLD\tNEW\tUSER\tTOKEN\tIP\tMESSAGE")
	for _, en := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", en.Time.UTC().Format(time.RFC3339), en.Ref,
			en.Old, en.New, dash(en.By.User), dash(en.By.TokenID), dash(en.By.Addr), en.Message)
	}
	return tw.Flush()
}

func runRepoRestoreRef(e *env, args []string) error {
	fs := newFlagSet("repo restore-ref")
	dir := dataFlag(fs, e.getenv)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 3 {
		return usagef("give OWNER/NAME, a ref and the object id to set it to")
	}
	ref, err := fullRefName(pos[1])
	if err != nil {
		return err
	}
	if ref == "HEAD" {
		return usagef("restore the branch HEAD names, not HEAD")
	}
	to, ok := object.ParseHex(pos[2])
	if !ok || to.IsZero() {
		return usagef("OLD_SHA must be a full object id of 40 hex digits, as depot repo reflog prints it")
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
	prev, err := gitref.RestoreRef(r.Path, ref, to, cliActor())
	var refused *gitref.RefusedError
	switch {
	case errors.As(err, &refused):
		return fmt.Errorf("refusing to restore %s: %s", ref, refused.Msg)
	case errors.Is(err, gitref.ErrNotFound):
		return fmt.Errorf("cannot restore %s: %s, or history it reaches, is no longer in %s (pruned by gc, or never there)", ref, to, r.FullName())
	case errors.Is(err, gitref.ErrStale), errors.Is(err, gitref.ErrLocked):
		return fmt.Errorf("%s changed while restoring it; look at depot repo reflog and try again", ref)
	case err != nil:
		return err
	}
	// Restoring a repository's only branch makes it non-empty again in
	// the listings, which keep what they computed until told.
	if err := d.projects.ForgetRepoStats(context.Background(), r.Owner, r.Name); err != nil {
		return err
	}
	switch {
	case prev == to:
		fmt.Fprintf(e.stdout, "%s of %s already is %s\n", ref, r.FullName(), to)
	case prev == plumbing.ZeroHash:
		fmt.Fprintf(e.stdout, "restored %s of %s to %s (it did not exist)\n", ref, r.FullName(), to)
	default:
		fmt.Fprintf(e.stdout, "restored %s of %s to %s (was %s)\n", ref, r.FullName(), to, prev)
	}
	return nil
}

// cliActor is who the reflog records for a change made on the command
// line: the system user running depot, with no token and no address.
func cliActor() gitref.Actor {
	name := "cli"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = "cli:" + u.Username
	}
	return gitref.Actor{User: name, Email: "cli@depot"}
}
