// Package githttp serves git repositories over the smart HTTP protocol
// (gitprotocol-http): it routes info/refs, git-upload-pack and
// git-receive-pack, authenticates the caller with tokens, asks the
// repository policy for permission, and hands the streams to the
// uploadpack and receivepack packages.
package githttp

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/auth/apierr"
	"github.com/depot/depot/auth/input"
	"github.com/depot/depot/githttp/pktline"
	"github.com/depot/depot/githttp/receivepack"
	"github.com/depot/depot/githttp/uploadpack"
	"github.com/depot/depot/repos"
	"github.com/depot/depot/repos/git/gitref"
	"github.com/gorilla/mux"
	"github.com/sirupsen/logrus"
)

// Agent is what depot calls itself in the protocol's agent capability.
const Agent = "depot/0.1"

// Policy decides what a caller may do with a repository.
type Policy interface {
	// Open returns the repository a caller names when it may perform
	// act, and otherwise an error (repos.Policy.Open): a
	// *input.ValidationError for a malformed name, one wrapping
	// repos.ErrNotFound for a repository that is missing or hidden from
	// the caller, after the same work either way, and a *repos.DeniedError
	// wrapping repos.ErrUnauthenticated or repos.ErrForbidden for one the
	// caller may know of.
	Open(ctx context.Context, id *auth.Identity, owner, name string, act repos.Action) (*repos.Repo, error)
}

// Server serves git over smart HTTP.
type Server struct {
	auth   *auth.Authenticator
	policy Policy
	log    logrus.FieldLogger
	// Limits bound what one push may bring; set them before serving.
	Limits Limits
	// Hooks says whether pushes run the repositories' own hooks; set it
	// before serving.
	Hooks Hooks
	// HideRefs are hideRefs patterns for every repository, applied to
	// fetches and pushes before each repository's own transfer.hideRefs,
	// uploadpack.hideRefs and receive.hideRefs (package hiderefs); set
	// them before serving.
	HideRefs []string
	// PackOps bounds the pack operations that run at once; set it before
	// the first request.
	PackOps PackOps
	// StallTimeout, when positive, drops a fetch or push whose client
	// moves no data for that long: each read of the request body and
	// each piece of the response must get through within it. A transfer
	// that keeps moving is never cut, however long it takes.
	StallTimeout time.Duration
	// Leaks, when set, turns on push protection: pushes whose new blobs
	// hold a live depot token are refused, the tokens revoked, or both
	// (receivepack.Leaks); set it before serving.
	Leaks *receivepack.Leaks
	// AfterPush, when set, is called after every push that sent ref
	// updates, with the repository's directory and full name; it must
	// return quickly (the server wires the background repack here).
	AfterPush func(path, name string)
	// OnRulesRefused, when set, is called each time a token's git rules
	// (auth.Rules) refuse something: with the ref and the reason for each
	// ref a push may not touch, and with ref "" when the token may not
	// use the repository or the operation at all. It runs on the request's
	// goroutine and must return quickly; set it before serving.
	OnRulesRefused func(tokenID, ip, ref, reason string)

	// Observe, when set, is called once for every upload-pack and
	// receive-pack request served, after its response; the server wires
	// its metrics here. It must return quickly.
	Observe func(Op)

	slotsOnce sync.Once
	slots     *slots // nil: no limit
}

// Op is one git request served, as the metrics count it.
type Op struct {
	Kind OpKind
	// Received is the request body's size on the wire, Sent the
	// response's.
	Received, Sent int64
	// Objects is the number of objects in the pack sent (clone, fetch)
	// or kept (push).
	Objects  int
	Duration time.Duration
	// Failed is whether the request ended with an error.
	Failed bool
}

// OpKind names what a git request did.
type OpKind string

// The kinds of Op: a clone is a fetch whose client had nothing (no
// haves); a negotiation is an upload-pack request that sent no pack (a
// round of a stateless fetch, or protocol v2's ls-refs).
const (
	OpClone     OpKind = "clone"
	OpFetch     OpKind = "fetch"
	OpPush      OpKind = "push"
	OpNegotiate OpKind = "negotiate"
)

// Limits bound what one push may bring. Zero values take receive-pack's
// defaults.
type Limits struct {
	// MaxObjectBytes refuses a push that brings an object larger than
	// this, stored whole or made by a delta.
	MaxObjectBytes int64
	// MaxPushBytes refuses a push whose pack is larger than this,
	// counted as it inflates when the body is compressed: at once when
	// the body's Content-Length says so, otherwise as soon as the count
	// passes it while streaming, with nothing kept on disk.
	MaxPushBytes int64
}

// Hooks says whether pushes run each repository's executable
// hooks/pre-receive, hooks/update and hooks/post-receive, as C git does.
// The zero value runs none: a hook is code that runs on the server.
type Hooks struct {
	Enabled bool
	// Timeout bounds one run of a hook; zero takes receive-pack's default.
	Timeout time.Duration
}

// New returns a Server for the repositories that p opens.
func New(a *auth.Authenticator, p Policy, log logrus.FieldLogger) *Server {
	return &Server{auth: a, policy: p, log: log}
}

// maxUploadRequest bounds a fetch negotiation body (wants and haves).
const maxUploadRequest = 256 << 20

// Register adds the git routes to r: /OWNER/NAME(.git)/... for every
// repository.
func (s *Server) Register(r *mux.Router) {
	const repo = "/{owner}/{repo}"
	r.HandleFunc(repo+"/info/refs", s.infoRefs).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(repo+"/git-upload-pack", s.rpc(serviceUpload)).Methods(http.MethodPost)
	r.HandleFunc(repo+"/git-receive-pack", s.rpc(serviceReceive)).Methods(http.MethodPost)
	// The dumb protocol reads files straight out of the repository; depot
	// refuses it with a message instead of a bare 404.
	for _, p := range []string{"/HEAD", "/objects/{rest:.*}", "/info/packs", "/info/alternates", "/info/http-alternates"} {
		r.HandleFunc(repo+p, s.dumb).Methods(http.MethodGet, http.MethodHead)
	}
}

type service string

const (
	serviceUpload  service = "git-upload-pack"
	serviceReceive service = "git-receive-pack"
)

func (sv service) action() repos.Action {
	if sv == serviceReceive {
		return repos.Write
	}
	return repos.Read
}

// gitError is a failure shown to the git client. Git prints a text/plain
// body of a failed info/refs request as "remote: ..." lines.
func (s *Server) gitError(w http.ResponseWriter, r *http.Request, err error) {
	var e *apierr.Error
	if !errors.As(err, &e) || e.Kind == apierr.Internal {
		rid := apierr.RequestID(r.Context())
		s.log.WithField("request_id", rid).WithField("path", r.URL.Path).WithError(err).Error("git request failed")
		e = &apierr.Error{Kind: apierr.Internal, Msg: "internal server error (request id " + rid + ")"}
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-cache, max-age=0, must-revalidate")
	h.Set("X-Content-Type-Options", "nosniff")
	switch e.Kind {
	case apierr.Unauthorized:
		h.Set("WWW-Authenticate", `Basic realm="depot"`)
	case apierr.TooManyRequests:
		h.Set("Retry-After", fmt.Sprint(max(1, int(e.RetryAfter.Seconds()))))
	}
	w.WriteHeader(e.Kind.Status())
	fmt.Fprintln(w, e.Msg)
}

// access authenticates the caller and finds the repository it may use for
// act. Anonymous callers get 401 for anything they may not do, so that git
// asks for credentials without learning whether the repository exists.
func (s *Server) access(r *http.Request, act repos.Action) (*repos.Repo, *auth.Identity, error) {
	id, err := s.auth.Authenticate(r, auth.Options{})
	if err != nil {
		return nil, nil, err
	}
	if !id.Anonymous() {
		if err := id.Require(auth.ScopeDepot); err != nil {
			return nil, id, apierr.Errorf(apierr.Forbidden, "the token lacks the project:depot scope that git access needs")
		}
	}
	vars := mux.Vars(r)
	owner, name := vars["owner"], strings.TrimSuffix(vars["repo"], ".git")
	repo, err := s.policy.Open(r.Context(), id, owner, name, act)
	op := operation(act)
	var denied *repos.DeniedError
	switch {
	case err == nil && !id.Rules.AllowsOperation(op):
		// After Open, so that a repository outside the rules is 404 first.
		reason := "the token's rules do not allow " + op
		s.rulesRefused(r, id, "", reason)
		return nil, id, apierr.Errorf(apierr.Forbidden, "%s", reason)
	case err == nil:
		return repo, id, nil
	case errors.Is(err, repos.ErrNotFound) && !id.Rules.AllowsRepo(owner, name):
		s.rulesRefused(r, id, "", "the token's rules do not allow this repository")
		return nil, id, s.notFound(id, owner, name)
	case errors.Is(err, input.ErrInvalid), errors.Is(err, repos.ErrNotFound):
		// A malformed name is as missing as a hidden repository.
		return nil, id, s.notFound(id, owner, name)
	case errors.As(err, &denied) && errors.Is(err, repos.ErrUnauthenticated):
		return nil, id, apierr.Errorf(apierr.Unauthorized, "authentication required to %s %s", act, denied.Repo.FullName())
	case errors.As(err, &denied):
		return nil, id, apierr.Errorf(apierr.Forbidden, "%s may not %s %s", id.User, verb(act), denied.Repo.FullName())
	}
	return nil, id, err
}

// operation names act as the token rules do.
func operation(act repos.Action) string {
	if act == repos.Write {
		return auth.OpPush
	}
	return auth.OpFetch
}

// rulesRefused tells OnRulesRefused.
func (s *Server) rulesRefused(r *http.Request, id *auth.Identity, ref, reason string) {
	if s.OnRulesRefused != nil {
		s.OnRulesRefused(id.TokenID, auth.ClientIP(r), ref, reason)
	}
}

func verb(act repos.Action) string {
	if act == repos.Write {
		return "push to"
	}
	return "read"
}

func (s *Server) notFound(id *auth.Identity, owner, name string) error {
	if id.Anonymous() {
		return apierr.Errorf(apierr.Unauthorized, "authentication required")
	}
	return apierr.Errorf(apierr.NotFound, "repository %s/%s not found", owner, name)
}

func noCache(h http.Header) {
	h.Set("Cache-Control", "no-cache, max-age=0, must-revalidate")
	h.Set("Pragma", "no-cache")
	h.Set("Expires", "Fri, 01 Jan 1980 00:00:00 GMT")
}

// protocolVersion reads the Git-Protocol header (gitprotocol-http): a
// colon-separated list of key=value parameters.
func protocolVersion(r *http.Request) int {
	for _, kv := range strings.Split(r.Header.Get("Git-Protocol"), ":") {
		if kv == "version=2" {
			return 2
		}
	}
	return 0
}

func (s *Server) infoRefs(w http.ResponseWriter, r *http.Request) {
	sv := service(r.URL.Query().Get("service"))
	if sv == "" {
		s.dumb(w, r)
		return
	}
	if sv != serviceUpload && sv != serviceReceive {
		s.gitError(w, r, apierr.Errorf(apierr.Forbidden, "unsupported service %q", sv))
		return
	}
	repo, id, err := s.access(r, sv.action())
	auth.Record(w, id)
	if err != nil {
		s.gitError(w, r, err)
		return
	}
	h := w.Header()
	noCache(h)
	h.Set("Content-Type", "application/x-"+string(sv)+"-advertisement")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	fw := newFlushWriter(w, s.StallTimeout)
	defer s.clearDeadlines(w)
	if err := writeServiceHeader(fw, sv); err != nil {
		return
	}
	ctx := r.Context()
	switch {
	case sv == serviceUpload && protocolVersion(r) == 2:
		err = uploadpack.AdvertiseV2(ctx, repo.Path, fw, s.uploadOptions())
	case sv == serviceUpload:
		err = uploadpack.AdvertiseRefs(ctx, repo.Path, fw, s.uploadOptions())
	default:
		err = receivepack.AdvertiseRefs(ctx, repo.Path, fw, receivepack.Options{Agent: Agent, HideRefs: s.HideRefs})
	}
	if err != nil && ctx.Err() == nil {
		s.log.WithField("request_id", apierr.RequestID(ctx)).WithError(err).Error("ref advertisement failed")
	}
}

// writeServiceHeader writes the "# service=..." pkt-line and flush that
// open a smart info/refs response (gitprotocol-http, "Smart Clients").
func writeServiceHeader(w io.Writer, sv service) error {
	_, err := w.Write(pktline.AppendFlush(pktline.Append(nil, "# service="+string(sv)+"\n")))
	return err
}

func (s *Server) rpc(sv service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		repo, id, err := s.access(r, sv.action())
		auth.Record(w, id)
		if err != nil {
			s.gitError(w, r, err)
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/x-"+string(sv)+"-request" {
			s.gitError(w, r, apierr.Errorf(apierr.UnsupportedMediaType, "Content-Type must be application/x-%s-request", sv))
			return
		}
		wire := &countingReader{r: r.Body}
		r.Body = struct {
			io.Reader
			io.Closer
		}{wire, r.Body}
		if s.StallTimeout > 0 {
			r.Body = readCloser{&stallReader{r: r.Body, rc: http.NewResponseController(w), stall: s.StallTimeout}, r.Body}
			defer s.clearDeadlines(w)
		}
		body, err := requestBody(r)
		if err != nil {
			s.gitError(w, r, err)
			return
		}
		defer body.Close()
		s.serve(w, r, sv, repo, id, body, wire)
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, sv service, repo *repos.Repo, id *auth.Identity, body io.Reader, wire *countingReader) {
	start := time.Now()
	h := w.Header()
	noCache(h)
	h.Set("Content-Type", "application/x-"+string(sv)+"-result")
	ctx := r.Context()
	// The status line goes out with the first byte of the response, so a
	// protocol error found before any output still becomes a 400.
	out := &lazyWriter{w: w, stall: s.StallTimeout}
	log := s.log.WithFields(logrus.Fields{"request_id": apierr.RequestID(ctx), "repo": repo.FullName(), "service": sv})
	slot := s.slotFor(r, id)
	var err error
	op := Op{Kind: OpPush}
	if s.Observe != nil {
		defer func() {
			op.Received, op.Sent, op.Duration, op.Failed = wire.n, out.n, time.Since(start), err != nil
			s.Observe(op)
		}()
	}
	if sv == serviceUpload {
		var st uploadpack.Stats
		opt := s.uploadOptions()
		opt.Stats = &st
		opt.Slot = slot
		err = uploadpack.Serve(ctx, repo.Path, protocolVersion(r), io.LimitReader(body, maxUploadRequest), out, opt)
		switch {
		case !st.Pack:
			op.Kind = OpNegotiate
		case st.Clone:
			op.Kind = OpClone
		default:
			op.Kind = OpFetch
		}
		op.Objects = st.Objects
	} else {
		var res *receivepack.Result
		res, err = receivepack.Serve(ctx, repo.Path, body, out, receivepack.Options{
			Agent: Agent, Logger: log, MaxObjectBytes: s.Limits.MaxObjectBytes,
			MaxPackBytes: s.Limits.MaxPushBytes, DeclaredLength: declaredLength(r),
			Hooks: s.Hooks.Enabled, HookTimeout: s.Hooks.Timeout, HideRefs: s.HideRefs, Leaks: s.Leaks,
			Actor: gitref.Actor{User: id.User, TokenID: id.TokenID, Addr: auth.ClientIP(r)},
			Rules: id.Rules,
			RulesRefused: func(ref, reason string) {
				s.rulesRefused(r, id, ref, reason)
			},
			Slot: slot,
		})
		logPush(log, res)
		if res != nil {
			op.Objects = res.Objects
		}
		if res != nil && len(res.Updates) > 0 && s.AfterPush != nil {
			s.AfterPush(repo.Path, repo.FullName())
		}
	}
	if err == nil || ctx.Err() != nil {
		return
	}
	if !out.started {
		if isProtocolError(err) {
			log.WithError(err).Info("bad git request")
			s.gitError(w, r, apierr.Wrap(apierr.Invalid, err, err.Error()))
			return
		}
		s.gitError(w, r, err)
		return
	}
	log.WithError(err).Warn("git request ended with an error")
}

// declaredLength is the length of the body receive-pack reads when the
// request says it ahead: its Content-Length, unless it is compressed.
func declaredLength(r *http.Request) int64 {
	switch strings.ToLower(r.Header.Get("Content-Encoding")) {
	case "", "identity":
		return max(r.ContentLength, 0)
	}
	return 0
}

// slotFor returns the pack slot function for a request of id, or nil
// when pack operations are not limited. Users are counted by name;
// anonymous callers by address.
func (s *Server) slotFor(r *http.Request, id *auth.Identity) func(context.Context, func(string)) (func(), error) {
	s.slotsOnce.Do(func() { s.slots = newSlots(s.PackOps) })
	if s.slots == nil {
		return nil
	}
	key := "user " + id.User
	if id.Anonymous() {
		key = "addr " + auth.ClientIP(r)
	}
	return func(ctx context.Context, wait func(string)) (func(), error) {
		return s.slots.acquire(ctx, key, wait)
	}
}

// clearDeadlines lifts the deadlines a stall timeout set, so that the
// next request on the connection, of whatever kind, starts without them.
func (s *Server) clearDeadlines(w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
}

// readCloser reads from one reader and closes another.
type readCloser struct {
	io.Reader
	io.Closer
}

func (s *Server) uploadOptions() uploadpack.Options {
	return uploadpack.Options{Agent: Agent, HideRefs: s.HideRefs}
}

func isProtocolError(err error) bool { return errors.Is(err, pktline.ErrProtocol) }

// logPush records what a push changed, one line a ref.
func logPush(log logrus.FieldLogger, res *receivepack.Result) {
	if res == nil {
		return
	}
	for _, u := range res.Updates {
		f := log.WithFields(logrus.Fields{"ref": u.Name, "old": u.Old.String(), "new": u.New.String()})
		if u.Err != "" {
			f.WithField("reason", u.Err).Info("ref update refused")
		} else {
			f.Info("ref updated")
		}
	}
}

// requestBody undoes the Content-Encoding git may apply to request bodies.
func requestBody(r *http.Request) (io.ReadCloser, error) {
	switch enc := strings.ToLower(r.Header.Get("Content-Encoding")); enc {
	case "", "identity":
		return r.Body, nil
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, apierr.Wrap(apierr.Invalid, err, "request body is not valid gzip")
		}
		return zr, nil
	default:
		return nil, apierr.Errorf(apierr.UnsupportedMediaType, "unsupported Content-Encoding %q", enc)
	}
}

// dumb refuses the dumb HTTP protocol, which would serve raw repository
// files without any access control of git's own.
func (s *Server) dumb(w http.ResponseWriter, r *http.Request) {
	s.gitError(w, r, apierr.Errorf(apierr.Forbidden,
		"depot serves only the smart HTTP protocol; please use git 1.6.6 or later"))
}
