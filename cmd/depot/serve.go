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
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/auth/apierr"
	"github.com/depot/depot/auth/audit"
	"github.com/depot/depot/cmd/depot/internal/openapi"
	"github.com/depot/depot/cmd/depot/internal/ops"
	"github.com/depot/depot/cmd/depot/internal/server"
	"github.com/depot/depot/cmd/depot/internal/web"
	"github.com/depot/depot/githttp"
	"github.com/depot/depot/githttp/receivepack"
	"github.com/depot/depot/githttp/uploadpack"
	"github.com/depot/depot/repos"
	repoapi "github.com/depot/depot/repos/api"
	"github.com/depot/depot/repos/git/gc"
	"github.com/depot/depot/repos/git/gitref"
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
	data                           *dataLoc
	listen, logFormat, logLevel    *string
	maxObjectSize, maxPushSize     byteSize
	maxPackOps, maxPackOpsPerUser  *int
	packQueueTimeout, stallTimeout *time.Duration
	hooks                          *bool
	hookTimeout                    *time.Duration
	reflogExpire                   *time.Duration
	hideRefs                       refList
	tokenNetworkV4, tokenNetworkV6 *int
	auditRetention                 days
	tlsCert, tlsKey                *string

	// Who the client is, and how often it may fail to authenticate.
	trustedProxies                     *string
	authFailBurst, authUserFailBurst   *int
	authFailRefill, authUserFailRefill *time.Duration
	metricsListen, metricsToken        *string
	slowRequest                        *time.Duration
	leakedTokenAction                  *string
	leftoverAge                        *time.Duration
}

// The failure limiter's defaults: an address may fail 30 times, then once
// every 2 s; a user name's password 10 times, then once a minute.
const (
	defaultAuthFailBurst      = 30
	defaultAuthFailRefill     = 2 * time.Second
	defaultAuthUserFailBurst  = 10
	defaultAuthUserFailRefill = time.Minute
)

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
	f.maxPushSize = byteSize(receivepack.DefaultMaxPackBytes)
	fs.Var(&f.maxPushSize, "max-push-size", "largest pack a push may bring, counted uncompressed (2MB, 1GiB, …); a larger push is refused as soon as it passes the size, or at once when its length is declared")
	f.maxPackOps = fs.Int("max-pack-ops", defaultPackOps(), "pack operations (building a clone's or fetch's pack, indexing a push's) that run at once; more wait in a queue (0: no limit)")
	f.maxPackOpsPerUser = fs.Int("max-pack-ops-per-user", 0, "pack operations one user, or one address for anonymous clients, runs at once (0: half of --max-pack-ops, at least 1)")
	f.packQueueTimeout = fs.Duration("pack-queue-timeout", githttp.DefaultQueueTimeout, "longest a pack operation waits in the queue before it is refused as server busy")
	f.stallTimeout = fs.Duration("stall-timeout", defaultStallTimeout, "a clone, fetch or push whose client moves no data for this long is dropped; one that keeps moving is never cut")
	fs.Var(&f.hideRefs, "hide-refs", "refs no client sees, fetches or pushes, as git's transfer.hideRefs, before each repository's own (refs/pull/,refs/keep-around/; repeatable)")
	f.hooks = fs.Bool("hooks", false, "run each repository's executable hooks/pre-receive, update and post-receive on push, as git does; off by default because a hook runs any code on the server as depot's user")
	f.hookTimeout = fs.Duration("hook-timeout", hooks.DefaultTimeout, "longest a hook may run; one still running is killed and refuses the push")
	f.reflogExpire = reflogExpireFlag(fs)
	f.tokenNetworkV4 = fs.Int("token-network-v4", tokens.DefaultNetworkV4, "prefix length (8 to 32) of the IPv4 network a token use comes from; a token's first use from outside every network it was used from is a new-network event")
	f.tokenNetworkV6 = fs.Int("token-network-v6", tokens.DefaultNetworkV6, "prefix length (16 to 128) of the IPv6 network a token use comes from, as --token-network-v4")
	f.auditRetention = days(defaultAuditRetention)
	fs.Var(&f.auditRetention, "audit-retention", "keep audit log events this long (90d, 2160h; 0 keeps them forever)")
	f.tlsCert = fs.String("tls-cert", "", "serve HTTPS with this PEM certificate (chain) file; SIGHUP reloads it")
	f.tlsKey = fs.String("tls-key", "", "the PEM private key of --tls-cert")
	f.trustedProxies = fs.String("trusted-proxies", getenv("DEPOT_TRUSTED_PROXIES"),
		"addresses and CIDR ranges of reverse proxies whose X-Forwarded-For, Forwarded and X-Real-IP (and forwarded host and scheme) name the client, comma-separated; empty: trust none (env DEPOT_TRUSTED_PROXIES)")
	f.authFailBurst = fs.Int("auth-fail-burst", defaultAuthFailBurst, "failed sign-ins, passwords and tokens an address (an IPv6 /64) may send before it must wait")
	f.authFailRefill = fs.Duration("auth-fail-refill", defaultAuthFailRefill, "after the burst, an address may fail once per this period")
	f.authUserFailBurst = fs.Int("auth-user-fail-burst", defaultAuthUserFailBurst, "wrong passwords one user name may take, from any address, before its password must wait (its tokens never do)")
	f.authUserFailRefill = fs.Duration("auth-user-fail-refill", defaultAuthUserFailRefill, "after the burst, a user name's password may fail once per this period")
	f.metricsListen = fs.String("metrics-listen", getenv("DEPOT_METRICS_LISTEN"), "also serve /metrics, /healthz and /readyz on this address, e.g. 127.0.0.1:9090 (env DEPOT_METRICS_LISTEN)")
	f.metricsToken = fs.String("metrics-token", getenv("DEPOT_METRICS_TOKEN"), "serve /metrics on the main address too, to clients sending Authorization: Bearer TOKEN; required of the --metrics-listen address as well when set (env DEPOT_METRICS_TOKEN, which keeps it out of the process list)")
	f.slowRequest = fs.Duration("slow-request", 2*time.Second, "log requests that take longer at warning level, with their request id (0: never)")
	f.leftoverAge = fs.Duration("leftover-age", defaultLeftoverAge, "leftovers of interrupted writes (quarantined pushes, lock files, temporary packs) untouched this long are removed every time this long passes, and at start when other depot serve processes share the repositories; alone, all go at start; 0 removes all at start and never looks again")
	f.leakedTokenAction = fs.String("leaked-token-action", "both", "what a push whose new files hold a live depot token gets: refuse (the push), revoke (the token, and accept the push) or both")
}

// tokenNetworks checks the prefix lengths of --token-network-v4 and -v6.
func (f *serveFlags) tokenNetworks() error {
	if v := *f.tokenNetworkV4; v < 8 || v > 32 {
		return usagef("--token-network-v4 must be 8 to 32, not %d", v)
	}
	if v := *f.tokenNetworkV6; v < 16 || v > 128 {
		return usagef("--token-network-v6 must be 16 to 128, not %d", v)
	}
	return nil
}

// proxies are the proxies --trusted-proxies trusts.
func (f *serveFlags) proxies() (auth.Proxies, error) {
	p, err := auth.ParseProxies(*f.trustedProxies)
	if err != nil {
		return nil, usagef("--trusted-proxies: %v", err)
	}
	return p, nil
}

// limiter is the failure limiter the --auth-* flags ask for.
func (f *serveFlags) limiter() (*auth.Limiter, error) {
	switch {
	case *f.authFailBurst < 1:
		return nil, usagef("--auth-fail-burst must be at least 1, not %d", *f.authFailBurst)
	case *f.authUserFailBurst < 1:
		return nil, usagef("--auth-user-fail-burst must be at least 1, not %d", *f.authUserFailBurst)
	case *f.authFailRefill <= 0:
		return nil, usagef("--auth-fail-refill must be positive, not %v", *f.authFailRefill)
	case *f.authUserFailRefill <= 0:
		return nil, usagef("--auth-user-fail-refill must be positive, not %v", *f.authUserFailRefill)
	}
	return auth.NewLimiter(*f.authFailBurst, *f.authFailRefill).
		WithUserLimit(*f.authUserFailBurst, *f.authUserFailRefill), nil
}

// defaultLeftoverAge is --leftover-age's default: well past what a live
// write leaves untouched, a push's quarantine (touched every minute) or a
// ref transaction's lock files (held for the transaction, seconds).
const defaultLeftoverAge = 10 * time.Minute

// defaultStallTimeout is --stall-timeout's default.
const defaultStallTimeout = time.Minute

// defaultPackOps is --max-pack-ops's default: two for each processor Go
// uses, as a pack operation alternates between CPU and disk.
func defaultPackOps() int { return 2 * runtime.GOMAXPROCS(0) }

// packOps is what the pack operation flags ask of the git server.
func (f *serveFlags) packOps() (githttp.PackOps, error) {
	switch {
	case *f.maxPackOps < 0:
		return githttp.PackOps{}, usagef("--max-pack-ops must be 0 (no limit) or more, not %d", *f.maxPackOps)
	case *f.maxPackOpsPerUser < 0:
		return githttp.PackOps{}, usagef("--max-pack-ops-per-user must be 0 or more, not %d", *f.maxPackOpsPerUser)
	case *f.packQueueTimeout <= 0:
		return githttp.PackOps{}, usagef("--pack-queue-timeout must be positive, not %v", *f.packQueueTimeout)
	case *f.stallTimeout <= 0:
		return githttp.PackOps{}, usagef("--stall-timeout must be positive, not %v", *f.stallTimeout)
	}
	per := *f.maxPackOpsPerUser
	if per == 0 {
		per = max(1, *f.maxPackOps/2)
	}
	return githttp.PackOps{Max: *f.maxPackOps, PerUser: per, QueueTimeout: *f.packQueueTimeout}, nil
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
	if err := f.tokenNetworks(); err != nil {
		return err
	}
	proxies, err := f.proxies()
	if err != nil {
		return err
	}
	limiter, err := f.limiter()
	if err != nil {
		return err
	}
	packOps, err := f.packOps()
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

	d, err := openData(ctx, f.data)
	if err != nil {
		return err
	}
	defer d.close()
	lease, others, err := d.repos.Join()
	if err != nil {
		// A full or read-only disk: serve what can be served, as alone
		// unless other nodes' leases say otherwise; they will not see
		// this one, which the log says.
		log.WithError(err).Error("writing this node's lease on the repositories; other nodes starting will not see this one")
		others, _ = d.repos.Nodes()
	} else {
		defer lease.Leave()
	}
	removeLeftovers(ctx, d.repos, log, len(others), *f.leftoverAge)
	if err := bootstrapAdmin(ctx, d, e.getenv("DEPOT_ADMIN_PASSWORD"), log); err != nil {
		return err
	}
	certs, err := loadCerts(*f.tlsCert, *f.tlsKey)
	if err != nil {
		return err
	}
	authn := auth.NewAuthenticator(tokens.Verifier{Store: d.store}, limiter)
	metrics := newMetrics(d)
	authn.Observe(metrics)
	o := options{
		maxObjectBytes:    int64(f.maxObjectSize),
		maxPushBytes:      int64(f.maxPushSize),
		packOps:           packOps,
		stallTimeout:      *f.stallTimeout,
		readHeaderTimeout: defaultReadHeaderTimeout,
		hooks:             gitHooks,
		reflogExpire:      *f.reflogExpire,
		hideRefs:          f.hideRefs,
		leaks:             leaks,
		tokenNetworkV4:    *f.tokenNetworkV4,
		tokenNetworkV6:    *f.tokenNetworkV6,
		trustedProxies:    proxies,
		metrics:           metrics,
		metricsToken:      *f.metricsToken,
		slowRequest:       *f.slowRequest,
	}
	handler := server.New(surfaces(d, authn, log, o))
	if certs != nil {
		handler = withHSTS(handler)
	}
	srv := newHTTPServer(handler, o)
	ln, err := net.Listen("tcp", *f.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	bi := readBuildInfo()
	fields := logrus.Fields{"addr": ln.Addr().String(), "data": d.dir, "database": d.db.Path(), "version": bi.version, "commit": bi.commit}
	if certs != nil {
		fields["tls"] = true
		srv.TLSConfig = certs.config()
	}
	onHangup(ctx, certs, log)
	log.WithFields(fields).Info("depot listening")
	if len(proxies) > 0 {
		log.WithField("trusted_proxies", proxies.String()).Info("client addresses are read from forwarding headers of trusted proxies")
	}
	if gitHooks.Enabled {
		log.WithField("hook_timeout", gitHooks.Timeout.String()).Warn("repository hooks are on: pushes run the repositories' hooks/ scripts")
	}
	go d.audit.Expire(ctx, time.Duration(f.auditRetention), auditExpireEvery, func(n int64, err error) {
		switch {
		case err != nil:
			log.WithError(err).Error("audit log retention")
		case n > 0:
			log.WithFields(logrus.Fields{"deleted": n, "retention": f.auditRetention.String()}).Info("audit log: deleted old events")
		}
	})
	errc := make(chan error, 2)
	go func() {
		if certs != nil {
			errc <- srv.ServeTLS(ln, "", "") // the certificate comes from TLSConfig
			return
		}
		errc <- srv.Serve(ln)
	}()
	var opsSrv *http.Server
	if *f.metricsListen != "" {
		opsLn, err := net.Listen("tcp", *f.metricsListen)
		if err != nil {
			_ = srv.Close()
			return fmt.Errorf("listen for metrics: %w", err)
		}
		opsSrv = &http.Server{
			Handler:           server.New(server.Config{Auth: authn, Log: log, Ops: []server.Surface{opsSurface(d, log, metrics, *f.metricsToken)}}),
			ReadHeaderTimeout: 10 * time.Second,
			MaxHeaderBytes:    64 << 10,
		}
		log.WithField("addr", opsLn.Addr().String()).Info("depot metrics listening")
		go func() { errc <- opsSrv.Serve(opsLn) }()
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if opsSrv != nil {
		_ = opsSrv.Shutdown(shutdownCtx)
	}
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// removeLeftovers removes what a crash left in the repositories: pushes
// in quarantine, temporary packs, lock files that would refuse every
// later update of their ref. It runs before the server listens. When no
// other node shares the repositories, nothing writes them and everything
// goes; when others do (nodes of them), what is younger than minAge
// stays, as they may be writing it. Then, with a minAge, it looks again
// every minAge for as long as ctx lives, removing what has been
// untouched that long: a node that shares the repositories can die at
// any time, even one that started after this one, and what it leaves (a
// ref lock, a repack's packed-refs.lock) would otherwise refuse updates
// until some node starts. What it cannot remove is logged; the server
// starts anyway, as the repositories it could clean are served.
func removeLeftovers(ctx context.Context, rd *repos.Dir, log logrus.FieldLogger, nodes int, minAge time.Duration) {
	remove := func(opt gc.LeftoverOptions) {
		removed, err := rd.RemoveLeftoversWith(opt)
		for _, p := range removed {
			log.WithField("path", p).Info("removed a leftover of an interrupted write")
		}
		if err != nil {
			log.WithError(err).Error("removing leftovers of interrupted writes")
		}
	}
	opt := gc.LeftoverOptions{MinAge: minAge}
	if nodes == 0 || minAge <= 0 {
		remove(gc.LeftoverOptions{})
	} else {
		log.WithFields(logrus.Fields{"nodes": nodes, "leftover_age": minAge.String()}).
			Info("other nodes share the repositories: leftovers of interrupted writes go once untouched for the leftover age")
		remove(opt)
	}
	if minAge <= 0 {
		return
	}
	go func() {
		// One second past the age, so that what the start found just
		// too young is old enough at the first look.
		t := time.NewTicker(minAge + time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				remove(opt)
			}
		}
	}()
}

// options are what the flags of depot serve ask of its surfaces; each
// flag adds a field here, so surfaces keeps one signature.
type options struct {
	maxObjectBytes    int64
	maxPushBytes      int64
	packOps           githttp.PackOps
	stallTimeout      time.Duration // no data moving for this long drops a git transfer
	readHeaderTimeout time.Duration // for a request's headers to arrive
	hooks             githttp.Hooks
	reflogExpire      time.Duration
	hideRefs          []string
	// tokenNetworkV4 and V6 are the prefix lengths of a network for
	// new-network alerts; 0 keeps the store's defaults.
	tokenNetworkV4, tokenNetworkV6 int
	trustedProxies                 auth.Proxies
	// metrics counts what the surfaces serve; nil counts nothing.
	metrics *ops.Metrics
	// metricsToken, when set, serves metrics on the main address to
	// callers that send it as a bearer token.
	metricsToken string
	slowRequest  time.Duration
	leaks        leakAction // push protection: --leaked-token-action
}

// defaultReadHeaderTimeout bounds the arrival of a request's headers, so
// that clients trickling them (slowloris) hold a connection no longer.
const defaultReadHeaderTimeout = 10 * time.Second

// defaultOptions are the options of depot serve run without flags.
func defaultOptions() options {
	return options{
		maxObjectBytes:    receivepack.DefaultMaxObjectBytes,
		maxPushBytes:      receivepack.DefaultMaxPackBytes,
		packOps:           githttp.PackOps{Max: defaultPackOps(), PerUser: max(1, defaultPackOps()/2), QueueTimeout: githttp.DefaultQueueTimeout},
		stallTimeout:      defaultStallTimeout,
		readHeaderTimeout: defaultReadHeaderTimeout,
		reflogExpire:      gc.DefaultReflogExpire,
		tokenNetworkV4:    tokens.DefaultNetworkV4,
		tokenNetworkV6:    tokens.DefaultNetworkV6,
		leaks:             leakAction{refuse: true, revoke: true},
	}
}

// newHTTPServer is the http.Server of depot serve for h. It has no read
// or write timeout, which would cut a long clone or push that is still
// moving data: the git surface drops stalled transfers itself (o's stall
// timeout), headers must arrive within o's header timeout, and an idle
// kept-alive connection closes after two minutes.
func newHTTPServer(h http.Handler, o options) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: o.readHeaderTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}

// surfaces wires the stores of d into every HTTP surface that depot serve
// runs; the route tests build the router from it too.
func surfaces(d *data, authn *auth.Authenticator, log logrus.FieldLogger, o options) server.Config {
	if o.tokenNetworkV4 != 0 || o.tokenNetworkV6 != 0 {
		if err := d.store.SetNetworkBits(o.tokenNetworkV4, o.tokenNetworkV6); err != nil {
			log.WithError(err).Error("token networks: keeping the defaults")
		}
	}
	policy := repos.NewPolicy(d.projects, d.repos)
	git := githttp.New(authn, policy, log)
	git.Limits.MaxObjectBytes = o.maxObjectBytes
	git.Limits.MaxPushBytes = o.maxPushBytes
	git.PackOps = o.packOps
	git.StallTimeout = o.stallTimeout
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
	var observer server.RequestObserver
	if o.metrics != nil {
		git.Observe = o.metrics.ObserveGit
		auto.Observe = o.metrics.ObserveRepack
		observer = o.metrics
	}
	// Metrics are served on the main address only behind their token;
	// without one they are off here (--metrics-listen serves them apart).
	var mainMetrics *ops.Metrics
	if o.metricsToken != "" {
		mainMetrics = o.metrics
	}
	git.AfterPush = func(path, name string) {
		forget(path, name)
		auto.AfterPush(path, name)
	}
	// The token events of issue #15 will record these; until then the
	// log does. A token id is no secret.
	git.OnRulesRefused = func(tokenID, ip, ref, reason string) {
		log.WithFields(logrus.Fields{"token_id": tokenID, "ip": ip, "ref": ref, "reason": reason}).
			Info("token rules refused")
		if err := d.store.AddTokenEvent(context.Background(), tokenID, ip, tokens.EventRulesRefused); err != nil {
			log.WithError(err).WithField("token_id", tokenID).Error("record token event")
		}
	}
	pages := web.New(d.store, authn, d.projects, d.repos, policy, log)
	pages.Audit = d.audit
	tokenAPI := api.New(d.store, log)
	tokenAPI.Audit = d.audit
	repoAPI := repoapi.New(d.projects, d.repos, policy, log)
	repoAPI.Audit = d.audit
	authn.Failed = func(r *http.Request, user string, refusal error) {
		e := audit.Event{Action: audit.AuthFail, IP: auth.ClientIP(r), Target: user, Subject: user, Detail: audit.Reason(refusal)}
		if err := d.audit.Record(r.Context(), e); err != nil {
			log.WithError(err).WithField("request_id", apierr.RequestID(r.Context())).Error("audit")
		}
	}
	return server.Config{
		Auth:           authn,
		Log:            log,
		TrustedProxies: o.trustedProxies,
		Observer:       observer,
		SlowRequest:    o.slowRequest,
		Ops:            []server.Surface{opsSurface(d, log, mainMetrics, o.metricsToken)},
		Public:         []server.Surface{openapi.Surface{}, api.Avatars{}},
		Web:            []server.Surface{pages},
		API:            []server.Surface{tokenAPI, repoAPI, audit.API{Events: d.audit, Log: log}},
		Git:            []server.Surface{git},
		Page:           pages.NotFound(),
	}
}

// newMetrics returns the metrics of a server over d, reading the caches'
// sizes at each scrape.
func newMetrics(d *data) *ops.Metrics {
	return ops.New(ops.Sources{
		TokenCache: func() (uint64, uint64, int) {
			s := d.store.CacheStats()
			return s.Hits, s.Misses, s.Entries
		},
		ObjectCaches: func() (int, int, int) {
			s := odb.Stats()
			return s.OpenRepos, s.BaseBytes, s.BaseEntries
		},
		PlanCache:       uploadpack.PlanCacheStats,
		PackedRefsCache: gitref.PackedCacheStats,
	})
}

// opsSurface serves m (nil: metrics off there) behind token, and health
// and readiness: the database answers a query, and the data directory
// and the repositories' take a new file.
func opsSurface(d *data, log logrus.FieldLogger, m *ops.Metrics, token string) ops.Surface {
	return ops.Surface{Metrics: m, Token: token, Log: log, Checks: []ops.Check{
		{Name: "database", Run: func(ctx context.Context) error {
			var one int
			return d.db.QueryRowContext(ctx, "SELECT 1").Scan(&one)
		}},
		{Name: "data directory", Run: ops.WritableDir(d.dir)},
		{Name: "repositories directory", Run: ops.WritableDir(d.repos.Root())},
	}}
}

// bootstrapAdmin creates the user admin when there are no users yet, with
// the password from DEPOT_ADMIN_PASSWORD or a generated one that is logged
// this once, as the only way to learn it. The audit log records it as
// user.create, as it does `depot user add`.
func bootstrapAdmin(ctx context.Context, d *data, password string, log logrus.FieldLogger) error {
	store := d.store
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
	ev := audit.Event{Action: audit.UserCreate, Via: audit.ViaCLI, Target: u.GlobalKey, Subject: u.GlobalKey,
		Detail: "admin, created by depot serve at first start"}
	if err := d.audit.Record(ctx, ev); err != nil {
		// The user exists already; the log says what the audit log lacks.
		log.WithError(err).Warn("created user admin, but not in the audit log")
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
	audit    *audit.Store    // the audit log
	repos    *repos.Dir
}

func openData(ctx context.Context, loc *dataLoc) (*data, error) {
	dir := loc.dir
	rd, err := openRepos(dir)
	if err != nil {
		return nil, err
	}
	var db *sqlite.DB
	switch dbURL := loc.database(); {
	case dbURL == "":
		db, err = sqlite.Open(ctx, filepath.Join(dir, "depot.db"))
	case sqlite.IsURL(dbURL):
		db, err = sqlite.OpenPostgres(ctx, dbURL)
	default:
		// Not echoed: it may hold a password.
		return nil, usagef("--db: want a postgres:// or postgresql:// URL")
	}
	if err != nil {
		return nil, err
	}
	store, err := tokens.New(ctx, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &data{dir: dir, db: db, store: store, projects: projects.New(db), audit: audit.New(db), repos: rd}, nil
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
