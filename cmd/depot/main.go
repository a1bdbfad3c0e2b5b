// Command depot is a self-hosted git server: `depot serve` runs it, and the
// other subcommands manage users, tokens and repositories in the same data
// directory, also while the server runs.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// command is one subcommand of the CLI.
type command struct {
	name    string // "token create"
	usage   string // arguments after the name
	summary string
	run     func(env *env, args []string) error
}

// env is what a command runs with; tests swap the streams.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// asOwner, when set, makes the process the owner of a data
	// directory before a command other than serve, backup and restore
	// opens it (becomeDataOwner); tests that run the CLI in their own
	// process leave it nil.
	asOwner func(dataDir string) error
}

// usageError is wrong usage: exit status 2 with a one-line reason.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

var commands []*command

func init() {
	commands = []*command{
		{"serve", "[--listen ADDR] [--data DIR] [--log-format text|json] [--log-level LEVEL] [--metrics-listen ADDR] [--metrics-token T] [--slow-request 2s]", "run the server", runServe},
		{"user add", "NAME [--name DISPLAY] [--email E] [--admin] --password-stdin [--data DIR]", "create a user", runUserAdd},
		{"user passwd", "NAME --password-stdin [--data DIR]", "set a user's password and sign out all their web sessions (tokens stay)", runUserPasswd},
		{"user list", "[--data DIR]", "list users", runUserList},
		{"token create", "--user NAME [--scopes a,b] [--description D] [--audience A] [--expires 720h] [--rules JSON] [--data DIR]", "create a personal access token; its value is the last line printed", runTokenCreate},
		{"token list", "[--user NAME] [--data DIR]", "list tokens (never their values)", runTokenList},
		{"project create", "NAME --owner USER [--display-name D] [--description D] [--data DIR]", "create a project (a team namespace) owned by USER", runProjectCreate},
		{"project list", "[--data DIR]", "list projects", runProjectList},
		{"member add", "PROJECT USER --role owner|admin|developer|viewer [--data DIR]", "add a project member, or change a member's role", runMemberAdd},
		{"member remove", "PROJECT USER [--data DIR]", "remove a project member", runMemberRemove},
		{"repo create", "OWNER/NAME [--public] [--description D] [--data DIR]", "create an empty bare repository (private unless --public)", runRepoCreate},
		{"repo list", "[OWNER] [--data DIR]", "list repositories", runRepoList},
		{"repo gc", "OWNER/NAME [--reflog-expire 2160h] [--data DIR]", "consolidate a repository's packs into one (the server also does this after pushes)", runRepoGC},
		{"repo reflog", "OWNER/NAME [REF] [--data DIR]", "show who updated a repository's refs, newest first (REF: refs/heads/main, main or HEAD)", runRepoReflog},
		{"audit", "[--user NAME] [--action A] [-n 50] [--page N] [--json] [--data DIR]", "show the audit log, newest first: sign-ins, token, member, repository and admin changes", runAudit},
		{"repo restore-ref", "OWNER/NAME REF OLD_SHA [--data DIR]", "set a ref back to an object its reflog names, undoing a force push or a deletion", runRepoRestoreRef},
		{"backup", "DIR [--data DIR]", "copy the database and every repository to the new directory DIR, while the server runs", runBackup},
		{"restore", "DIR [--data DIR] [--force]", "bring the backup in DIR into an empty data directory", runRestore},
		{"version", "", "print depot's version, the commit it was built from, and Go's version", runVersion},
	}
}

func main() {
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, asOwner: becomeDataOwner}
	os.Exit(run(e, os.Args[1:]))
}

// run executes the CLI and returns the process exit status.
func run(e *env, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "--help" || args[0] == "-h" {
		if len(args) > 1 {
			if c := find(args[1:]); c != nil {
				printCommandHelp(e.stdout, c)
				return 0
			}
		}
		printHelp(e.stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c := find(args)
	if c == nil {
		fmt.Fprintf(e.stderr, "depot: unknown command %q (see depot --help)\n", strings.Join(args[:min(2, len(args))], " "))
		return 2
	}
	rest := args[len(strings.Fields(c.name)):]
	for _, a := range rest {
		if a == "--help" || a == "-h" {
			printCommandHelp(e.stdout, c)
			return 0
		}
	}
	err := c.run(e, rest)
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "depot %s: %s (usage: depot %s %s)\n", c.name, ue.msg, c.name, c.usage)
		return 2
	}
	fmt.Fprintf(e.stderr, "depot %s: %v\n", c.name, err)
	return 1
}

// find returns the command named by the start of args.
func find(args []string) *command {
	for _, c := range commands {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == c.name {
			return c
		}
	}
	return nil
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "depot: a self-hosted git server with personal access tokens.")
	fmt.Fprintln(w, "\nUsage:")
	cs := append([]*command(nil), commands...)
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].name == "serve" && cs[j].name != "serve" })
	for _, c := range cs {
		fmt.Fprintf(w, "  depot %-16s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'depot COMMAND --help' for a command's flags. Every command takes --data DIR")
	fmt.Fprintln(w, "(default ./data, or $DEPOT_DATA), and --db postgres://… (or $DEPOT_DB) to keep the")
	fmt.Fprintln(w, "database on PostgreSQL instead of DATA/depot.db.")
}

func printCommandHelp(w io.Writer, c *command) {
	fmt.Fprintf(w, "Usage: depot %s %s\n\n%s.\n", c.name, c.usage, capitalize(c.summary))
	fs := c.flags()
	if fs != nil {
		fmt.Fprintln(w, "\nFlags:")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// flags returns the command's flag set, for help.
func (c *command) flags() *flag.FlagSet {
	fs := newFlagSet(c.name)
	switch c.name {
	case "serve":
		new(serveFlags).register(fs, os.Getenv)
	case "user add":
		new(userAddFlags).register(fs)
	case "user passwd":
		passwordStdinFlag(fs)
	case "token create":
		new(tokenCreateFlags).register(fs)
	case "token list":
		fs.String("user", "", "only this user's tokens")
	case "project create":
		new(projectCreateFlags).register(fs)
	case "member add":
		fs.String("role", "", "owner, admin, developer or viewer (required)")
	case "repo create":
		new(repoCreateFlags).register(fs)
	case "repo gc":
		reflogExpireFlag(fs)
	case "audit":
		new(auditFlags).register(fs)

	case "restore":
		restoreFlags(fs)
	}
	if c.name != "serve" && c.name != "version" {
		dataFlag(fs, os.Getenv)
	}
	return fs
}

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// dataLoc is where a command finds depot's data: the data directory,
// which holds the repositories and, unless db names a PostgreSQL
// database, the SQLite database depot.db.
type dataLoc struct {
	dir   string
	db    string // --db: a postgres:// URL, or "" for DIR/depot.db
	envDB string // $DEPOT_DB, taken when --db is not given
}

// database returns the PostgreSQL URL the command was given, or "".
func (l *dataLoc) database() string {
	if l.db != "" {
		return l.db
	}
	return l.envDB
}

// dataFlag registers --data and --db, which every command that opens the
// data takes.
func dataFlag(fs *flag.FlagSet, getenv func(string) string) *dataLoc {
	def := getenv("DEPOT_DATA")
	if def == "" {
		def = "./data"
	}
	// $DEPOT_DB is not the flag's default, which --help would print
	// with its password.
	loc := &dataLoc{envDB: getenv("DEPOT_DB")}
	fs.StringVar(&loc.dir, "data", def, "data directory (env DEPOT_DATA)")
	fs.StringVar(&loc.db, "db", "",
		"keep the database on PostgreSQL, postgres://USER:PASSWORD@HOST/DB, instead of DATA/depot.db; repositories stay under DATA/repos (env DEPOT_DB, which keeps the password out of the process list)")
	return loc
}

// parse parses args with flags and positional arguments in any order, as
// users type them (`depot repo create a/b --data d`).
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			msg := err.Error()
			if rest, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
				msg = "unknown flag " + rest
			}
			return nil, usagef("%s", msg)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
