package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/cmd/depot/internal/openapi"
	"github.com/depot/depot/cmd/depot/internal/server"
	"github.com/depot/depot/cmd/depot/internal/web"
	"github.com/depot/depot/githttp"
	"github.com/depot/depot/githttp/receivepack"
	"github.com/depot/depot/repos"
	repoapi "github.com/depot/depot/repos/api"
	"github.com/depot/depot/repos/git/gc"
	"github.com/depot/depot/repos/git/hooks"
	"github.com/depot/depot/repos/git/odb"
	"github.com/depot/depot/repos/projects"
	"github.com/depot/depot/tokens"
	"github.com/depot/depot/tokens/api"
	"github.com/depot/depot/tokens/sqlite"
)

// defaultMemoryLimit is the Go heap's soft limit unless GOMEMLIMIT says
// otherwise. Pack files are mapped, not counted here.
const defaultMemoryLimit = 160 << 20

type serveFlags struct {
	listen, data, logFormat, logLevel *string
	maxObjectSize                     byteSize
	hooks                             *bool
	hookTimeout                       *time.Duration
	reflogExpire                      *time.Duration
	hideRefs                          refList
	leakedTokenAction                 *string
}

func (f *serveFlags) register(fs *flag.FlagSet, getenv func(string) string) {
	listen := getenv("DEPOT_LISTEN")
	if listen == "" {
		listen = ":8080"
	}
	f.listen = fs.String("listen", listen, "address to listen on (env DEPOT_LISTEN)")
	f.data = dataFlag(fs, getenv)
	f.logFormat = fs.String("log-format", "text", "log format: text or json")
	f.logLevel = fs.String("log-level", "info", "log level: debug, info, warn or error")
	f.maxObjectSize = byteSize(receivepack.DefaultMaxObjectBytes)
	fs.Var(&f.maxObjectSize, "max-object-size", "largest object a push may bring, whole or made by a delta (100MiB, 1GiB, …)")
	fs.Var(&f.hideRefs, "hide-refs", "refs no client sees, fetches or pushes, as git's transfer.hideRefs, before each repository's own (refs/pull/,refs/keep-around/; repeatable)")
	f.hooks = fs.Bool("hooks", false, "run each repository's executable hooks/pre-receive, update and post-receive on push, as git does; off by default because a hook runs any code on the server as depot's user")
	f.hookTimeout = fs.Duration("hook-timeout", hooks.DefaultTimeout, "longest a hook may run; one still running is killed and refuses the push")
	f.reflogExpire = reflogExpireFlag(fs)
	f.leakedTokenAction = fs.String("leaked-token-action", "both", "what a push whose new files hold a live depot token gets: refuse (the push), revoke (the token, and accept the push) or both")
}

// leakAction is what --leaked-token-action asks of push protection.
type leakAction struct{ refuse, revoke bool }

// leaks reads --leaked-token-action.
func (f *serveFlags) leaks() (leakAction, error) {
	switch *f.leakedTokenAction {
	case "refuse":
		return leakAction{refuse: true}, nil
	case "revoke":
		return leakAction{revoke: true}, nil
	case "both":
		return leakAction{refuse: true, revoke: true}, nil
	}
	return leakAction{}, usagef("--leaked-token-action must be refuse, revoke or both, not %q", *f.leakedTokenAction)
}

// gitHooks is what the hook flags ask of the git server.
func (f *serveFlags) gitHooks() (githttp.Hooks, error) {
	if *f.hookTimeout <= 0 {
		return githttp.Hooks{}, usagef("--hook-timeout must be positive, not %v", *f.hookTimeout)
	}
	return githttp.Hooks{Enabled: *f.hooks, Timeout: *f.hookTimeout}, nil
}

func newLogger(format, level string, out *os.File) (*logrus.Logger, error) {
	log := logrus.New()
	log.SetOutput(out)
	switch format {
	case "text":
		log.SetFormatter(&logrus.TextFormatter{FullTimestamp: true, DisableColors: true})
	case "json":
		log.SetFormatter(&logrus.JSONFormatter{})
	default:
		return nil, usagef("--log-format must be text or json, not %q", format)
	}
	lvl, err := logrus.ParseLevel(level)
	if err != nil {
		return nil, usagef("--log-level must be debug, info, warn or error, not %q", level)
	}
	log.SetLevel(lvl)
	return log, nil
}

func runServe(e *env, args []string) error {
	fs := newFlagSet("serve")
	var f serveFlags
	f.register(fs, e.getenv)
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	log, err := newLogger(*f.logFormat, *f.logLevel, os.Stderr)
	if err != nil {
		return err
	}
	gitHooks, err := f.gitHooks()
	if err != nil {
		return err
	}
	leaks, err := f.leaks()
	if err != nil {
		return err
	}
	if e.getenv("GOMEMLIMIT") == "" {
		// A soft limit: the collector works harder as the heap nears it
		// and returns memory to the system, so that caches and the garbage
		// of one large clone do not stay resident for the next request.
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	d, err := openData(ctx, *f.data)
	if err != nil {
		return err
	}
	defer d.close()
	if err := bootstrapAdmin(ctx, d.store, e.getenv("DEPOT_ADMIN_PASSWORD"), log); err != nil {
		return err
	}
	authn := auth.NewAuthenticator(tokens.Verifier{Store: d.store}, auth.NewLimiter(30, 2*time.Second))
	srv := &http.Server{
		Handler: server.New(surfaces(d, authn, log, options{
			maxObjectBytes: int64(f.maxObjectSize),
			hooks:          gitHooks,
			reflogExpire:   *f.reflogExpire,
			hideRefs:       f.hideRefs,
			leaks:          leaks,
		})),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          nil,
	}
	ln, err := net.Listen("tcp", *f.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	log.WithFields(logrus.Fields{"addr": ln.Addr().String(), "data": d.dir}).Info("depot listening")
	if gitHooks.Enabled {
		log.WithField("hook_timeout", gitHooks.Timeout.String()).Warn("repository hooks are on: pushes run the repositories' hooks/ scripts")
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// options are what the flags of depot serve ask of its surfaces; each
// flag adds a field here, so surfaces keeps one signature.
type options struct {
	maxObjectBytes int64
	hooks          githttp.Hooks
	reflogExpire   time.Duration
	hideRefs       []string
	leaks          leakAction // push protection: --leaked-token-action
}

// defaultOptions are the options of depot serve run without flags.
func defaultOptions() options {
	return options{
		maxObjectBytes: receivepack.DefaultMaxObjectBytes,
		reflogExpire:   gc.DefaultReflogExpire,
		leaks:          leakAction{refuse: true, revoke: true},
	}
}

// surfaces wires the stores of d into every HTTP surface that depot serve
// runs; the route tests build the router from it too.
func surfaces(d *data, authn *auth.Authenticator, log logrus.FieldLogger, o options) server.Config {
	policy := repos.NewPolicy(d.projects, d.repos)
	git := githttp.New(authn, policy, log)
	git.Limits.MaxObjectBytes = o.maxObjectBytes
	git.Hooks = o.hooks
	git.HideRefs = o.hideRefs
	if o.leaks.refuse || o.leaks.revoke {
		git.Leaks = &receivepack.Leaks{
			Prefix: tokens.SecretPrefix, Len: tokens.SecretLen, Tokens: tokens.Leaks{Store: d.store},
			Refuse: o.leaks.refuse, Revoke: o.leaks.revoke,
		}
	}
	// A push and a repack change what repository listings show (size,
	// emptiness), which the store keeps until then.
	forget := func(_, name string) {
		owner, repo, _ := strings.Cut(name, "/")
		if err := d.projects.ForgetRepoStats(context.Background(), owner, repo); err != nil {
			log.WithError(err).WithField("repo", name).Error("forget repository stats")
		}
	}
	auto := gc.NewAuto(log)
	auto.AfterRepack = forget
	auto.ReflogExpire = o.reflogExpire
	git.AfterPush = func(path, name string) {
		forget(path, name)
		auto.AfterPush(path, name)
	}
	pages := web.New(d.store, authn, d.projects, d.repos, policy, log)
	return server.Config{
		Auth:   authn,
		Log:    log,
		Public: []server.Surface{openapi.Surface{}, api.Avatars{}},
		Web:    []server.Surface{pages},
		API:    []server.Surface{api.New(d.store, log), repoapi.New(d.projects, d.repos, policy, log)},
		Git:    []server.Surface{git},
		Page:   pages.NotFound(),
	}
}

// bootstrapAdmin creates the user admin when there are no users yet, with
// the password from DEPOT_ADMIN_PASSWORD or a generated one that is logged
// this once, as the only way to learn it.
func bootstrapAdmin(ctx context.Context, store *tokens.Store, password string, log logrus.FieldLogger) error {
	n, err := store.CountUsers(ctx)
	if err != nil || n > 0 {
		return err
	}
	generated := password == ""
	if generated {
		if password, err = randomPassword(20); err != nil {
			return err
		}
	}
	u := &tokens.User{GlobalKey: "admin", Name: "admin", Admin: true}
	if err := store.CreateUser(ctx, u, password); err != nil {
		if errors.Is(err, tokens.ErrExists) {
			return nil // another process won the race
		}
		return fmt.Errorf("create admin: %w", err)
	}
	if generated {
		log.Warnf("created user admin with generated password %s (shown once; set DEPOT_ADMIN_PASSWORD to choose it)", password)
	} else {
		log.Info("created user admin with the password from DEPOT_ADMIN_PASSWORD")
	}
	return nil
}

const passwordAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"

func randomPassword(n int) (string, error) {
	b := make([]byte, n)
	max := big.NewInt(int64(len(passwordAlphabet)))
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", fmt.Errorf("generate password: %w", err)
		}
		b[i] = passwordAlphabet[v.Int64()]
	}
	return string(b), nil
}

// data is an opened data directory: the one database, with the store of
// each domain on it, and the directory of repositories.
type data struct {
	dir      string
	db       *sqlite.DB
	store    *tokens.Store   // users and tokens
	projects *projects.Store // projects, members, repository records
	repos    *repos.Dir
}

func openData(ctx context.Context, dir string) (*data, error) {
	rd, err := openRepos(dir)
	if err != nil {
		return nil, err
	}
	db, err := sqlite.Open(ctx, filepath.Join(dir, "depot.db"))
	if err != nil {
		return nil, err
	}
	store, err := tokens.New(ctx, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &data{dir: dir, db: db, store: store, projects: projects.New(db), repos: rd}, nil
}

// openRepos opens DATA/repos, the directory of every repository, making
// DATA private first, and makes it the only place alternates may lead.
func openRepos(dataDir string) (*repos.Dir, error) {
	if err := privateDir(dataDir); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	rd, err := repos.OpenDir(filepath.Join(dataDir, "repos"))
	if err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	// Repositories may borrow objects (objects/info/alternates) only from
	// other repositories of this data directory.
	if err := odb.AllowAlternatesUnder(rd.Root()); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	return rd, nil
}

// close writes what the token store holds back, then closes the database.
func (d *data) close() {
	_ = d.store.Close()
	_ = d.db.Close()
}

// dataEntries are the names depot itself puts in the data directory.
var dataEntries = map[string]bool{
	"depot.db": true, "depot.db-wal": true, "depot.db-shm": true, "depot.db-journal": true, "repos": true,
}

// privateDir creates dir with mode 0700: it holds the database and every
// repository, and only depot's own user has any business there. A
// directory that exists with looser modes is tightened when it holds
// nothing but what depot puts there (an older depot made it 0755); one
// that holds other files too was made by someone else, and is left as it
// is. The database files are depot's whatever the directory, and
// sqlite.Open makes them 0600.
func privateDir(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return os.MkdirAll(dir, 0o700)
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if fi.Mode().Perm()&0o077 == 0 {
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !dataEntries[e.Name()] {
			return nil
		}
	}
	return os.Chmod(dir, fi.Mode().Perm()&0o700)
}
