// Package receivepack is the server side of git push over smart HTTP
// (git-receive-pack, protocol v0): it advertises refs, receives a pack into
// quarantine, completes thin packs, checks connectivity and updates refs
// with compare-and-swap under git-compatible lock files.
package receivepack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/sirupsen/logrus"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/repos/git/gitref"
	"github.com/depot/depot/repos/git/hiderefs"
	"github.com/depot/depot/repos/git/indexpack"
	"github.com/depot/depot/repos/git/odb"
)

// Defaults for the zero values of Options.
const (
	DefaultMaxPackBytes   = 2 << 30
	DefaultMaxObjectBytes = indexpack.DefaultMaxObjectBytes
	DefaultMaxCommands    = 100_000
	DefaultMaxPushOptions = 1_000
)

// Options tunes AdvertiseRefs and Serve. The zero value works.
type Options struct {
	// Agent is advertised as agent=; empty means "depot".
	Agent string
	// MaxPackBytes bounds the pack of one push; a larger pack is refused
	// with "unpack pack exceeds the maximum size of N bytes" as soon as
	// byte N+1 arrives, or before any of it is read when DeclaredLength
	// says so, and nothing of it stays on disk.
	MaxPackBytes int64
	// DeclaredLength is the length of the body given to Serve when it is
	// known ahead (an uncompressed body's Content-Length), 0 otherwise.
	DeclaredLength int64
	// Slot, when set, is called once the pack is on disk, before it is
	// indexed, and the push waits for it: it returns when the push may
	// go on, with the release to call when indexing and the checks are
	// done. It may call wait with lines for the client ("remote: ..."
	// on side-band) while it waits, from the calling goroutine. An
	// error refuses the pack, with the error's text as the unpack
	// status the client shows.
	Slot func(ctx context.Context, wait func(msg string)) (release func(), err error)
	// MaxObjectBytes bounds the inflated size of every object a push
	// brings, stored whole or made by a delta: a larger one refuses the
	// pack with "unpack object … is larger than the maximum object size".
	MaxObjectBytes int64
	// Budget is the memory that delta resolution may hold, shared by all
	// pushes; nil means indexpack.DefaultBudget.
	Budget *indexpack.Budget
	// MaxCommands bounds the ref updates of one push.
	MaxCommands int
	// MaxPushOptions bounds the push options of one push.
	MaxPushOptions int
	// Actor is who pushes, for the reflog entries of the refs updated.
	Actor gitref.Actor
	// Logger receives internal errors whose details the client never
	// sees; nil discards them.
	Logger logrus.FieldLogger
	// Hooks runs the repository's executable hooks/pre-receive,
	// hooks/update and hooks/post-receive as C git does (package hooks).
	// Off by default: a hook is code that runs on the server.
	Hooks bool
	// HookTimeout bounds one run of a hook; zero means
	// hooks.DefaultTimeout. A hook killed at the limit has failed.
	HookTimeout time.Duration
	// HideRefs are the server's own hideRefs patterns; the repository
	// config's transfer.hideRefs and receive.hideRefs follow them
	// (package hiderefs). Hidden refs are not advertised, and a push
	// that updates or deletes one is refused.
	HideRefs []string
	// Rules are the git rules of the token that pushes; nil for none. A
	// command they refuse (a ref outside Rules.Refs, a delete or a force
	// push they do not allow) fails with the reason git shows, and, in an
	// atomic push, takes the others with it.
	Rules *auth.Rules
	// RulesRefused, when set, is called for each command that Rules
	// refuse, with its ref and the reason; it must return quickly.
	RulesRefused func(ref, reason string)
	// Leaks, when set, searches the blobs a push brings for live depot
	// tokens as the pack is indexed, and refuses the push, revokes the
	// tokens, or both (push protection, see Leaks).
	Leaks *Leaks

	keepAlive time.Duration // silence before a keepalive; tests shorten it
	// packWriter, when set, wraps the file the pack is received into:
	// tests inject the errors of a full disk where mounting one is not
	// allowed.
	packWriter func(io.Writer) io.Writer
}

func (o Options) withDefaults() Options {
	if o.Agent == "" {
		o.Agent = "depot"
	}
	if o.MaxPackBytes <= 0 {
		o.MaxPackBytes = DefaultMaxPackBytes
	}
	if o.MaxObjectBytes <= 0 {
		o.MaxObjectBytes = DefaultMaxObjectBytes
	}
	if o.MaxCommands <= 0 {
		o.MaxCommands = DefaultMaxCommands
	}
	if o.MaxPushOptions <= 0 {
		o.MaxPushOptions = DefaultMaxPushOptions
	}
	if o.keepAlive <= 0 {
		o.keepAlive = defaultKeepAlive
	}
	if o.Logger == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		o.Logger = l
	}
	return o
}

// Result describes one push, for logging and for hooks run afterwards.
type Result struct {
	// Updates lists the commands in the order the client sent them.
	Updates []RefUpdate
	// PushOptions are the client's push options (git push -o), in order.
	PushOptions []string
	// Objects is the number of objects kept from the pack, thin bases
	// included; 0 when the pack was empty or refused.
	Objects int
}

// RefUpdate is one command of a push and its outcome.
type RefUpdate struct {
	Name     string
	Old, New plumbing.Hash
	// Err is empty when the ref now has the value New (deleted when New
	// is zero); otherwise it is the reason given to the client, or why
	// the push stopped before the ref was written.
	Err string
}

// Serve handles the body of one POST /git-receive-pack, already
// decompressed: it reads the commands, push options and pack from r,
// updates refs, and writes the report to w (inside side-band-64k when the
// client asked for it).
//
// A *pktline.ProtocolError means the request was refused before
// anything was written to w. Any other error came after the report was
// written, or while writing it; the client has been told what it can be
// told. The Result is non-nil whenever the commands could be read.
func Serve(ctx context.Context, repoDir string, r io.Reader, w io.Writer, opt Options) (*Result, error) {
	opt = opt.withDefaults()
	if fi, err := os.Stat(filepath.Join(repoDir, "objects")); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("receivepack: %s is not a git repository", repoDir)
	}
	hidden, err := hiderefs.Load(repoDir, hiderefs.Receive, opt.HideRefs)
	if err != nil {
		return nil, fmt.Errorf("receivepack: %w", err)
	}
	cr := &countingReader{r: r}
	req, err := readRequest(cr, opt)
	if err != nil {
		return nil, err
	}
	res := &Result{PushOptions: req.pushOptions}
	if len(req.commands) == 0 {
		return res, nil
	}
	s := &session{
		ctx:    ctx,
		opt:    opt,
		log:    opt.Logger.WithField("repo", repoDir),
		dir:    repoDir,
		cmds:   req.commands,
		atomic: req.has("atomic"),
		hidden: hidden,
		out:    newReporter(w, req.has("side-band-64k"), req.has("quiet"), req.has("report-status") || req.has("report-status-v2")),

		pushOptions:     req.pushOptions,
		pushOptionsSent: req.has("push-options"),
	}
	declared := int64(-1)
	if opt.DeclaredLength > 0 {
		declared = opt.DeclaredLength - cr.n
	}
	err = s.run(r, req.needsPack(), declared)
	for _, c := range s.cmds {
		reason := c.reason
		if !c.applied && reason == "" {
			// The push stopped before this ref was written: the report
			// and the log say so rather than claim an update.
			reason = "not updated: push failed"
		}
		res.Updates = append(res.Updates, RefUpdate{Name: c.name, Old: c.old, New: c.new, Err: reason})
	}
	res.Objects = s.kept
	return res, err
}

// session is the state of one push.
type session struct {
	ctx    context.Context
	opt    Options
	log    logrus.FieldLogger
	dir    string // the bare repository
	cmds   []*command
	atomic bool
	hidden hiderefs.Rules
	out    *reporter
	kept   int

	pushOptions     []string
	pushOptionsSent bool // the client negotiated push-options
}

// run does everything after the commands were read: the pack, the
// checks, the ref updates and the report. packLen is the length of the
// pack that follows when the body's length is known, -1 otherwise.
func (s *session) run(body io.Reader, needsPack bool, packLen int64) error {
	if needsPack && packLen > s.opt.MaxPackBytes {
		// Refused before a byte of it is read or written.
		return s.unpackFailed(tooLarge(s.opt.MaxPackBytes))
	}
	db, closeDB, err := odb.Acquire(s.dir)
	if err != nil {
		return fmt.Errorf("receivepack: open objects: %w", err)
	}
	defer closeDB()

	var q *quarantine
	release := func() {} // the pack slot, once held
	defer func() { release() }()
	var scan *secretScan
	if needsPack {
		var scans *secretScans
		var blobs func() indexpack.BlobScanner
		if l := s.opt.Leaks; l != nil && l.Tokens != nil && l.Len > len(l.Prefix) && l.Prefix != "" {
			scans = newSecretScans(l)
			blobs = scans.scanner
		}
		q, release, err = receivePack(s.ctx, db, body, blobs, s.opt, s.out.progress)
		if scans != nil {
			scan = scans.merged()
		}
		defer func() {
			if derr := q.discard(); derr != nil {
				s.log.WithError(derr).Error("receivepack: removing quarantine")
			}
		}()
		if err != nil {
			return s.unpackFailed(err)
		}
	}
	var pack *packIndex
	if q != nil {
		pack = q.index
		msg := fmt.Sprintf("depot: received %d objects", len(pack.types)-pack.thin)
		if pack.thin > 0 {
			msg += fmt.Sprintf(", completed a thin pack with %d local objects", pack.thin)
		}
		s.out.progress(msg + ", done.\n")
	}
	check := newChecker(pack, db)
	defer check.close()
	s.validate(check)
	s.protect(scan, db, check)
	// Indexing and the connectivity check are what the slot bounds; hooks
	// and ref updates run without it.
	release()
	release = func() {}
	if err := s.ctx.Err(); err != nil {
		s.failAll("push cancelled")
		s.out.report("unpack ok", s.cmds)
		return err
	}
	keep := func() error {
		if err := q.keep(); err != nil {
			return err
		}
		if pack != nil {
			s.kept = len(pack.types)
		}
		return nil
	}
	s.preReceive(q)
	s.updateHooks(q)
	s.updateRefs(keep)
	s.postReceive()
	return s.out.report("unpack ok", s.cmds)
}

// unpackFailed reports a pack that could not be received or indexed.
func (s *session) unpackFailed(err error) error {
	var ue *indexpack.Error
	msg := "internal error"
	if errors.As(err, &ue) {
		msg = ue.Msg
	} else if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		msg = "push cancelled"
	} else if noSpace(err) {
		msg = reasonNoSpace
		s.log.WithError(err).Error("receivepack: receiving pack: the disk is full")
	} else {
		s.log.WithError(err).Error("receivepack: receiving pack")
	}
	s.failAll("unpacker error")
	if rerr := s.out.report("unpack "+msg, s.cmds); rerr != nil {
		s.log.WithError(rerr).Debug("receivepack: writing report")
	}
	return fmt.Errorf("receivepack: unpack: %w", err)
}

// validate refuses the commands that cannot be applied whatever the refs
// hold: bad names, unknown objects, incomplete history.
func (s *session) validate(c *checker) {
	head, _ := gitref.HeadTarget(s.dir)
	for _, cmd := range s.cmds {
		var ne *gitref.NameError
		if err := gitref.CheckRefName(cmd.name); errors.As(err, &ne) {
			cmd.fail("funny refname: " + ne.Reason)
			continue
		}
		if reason := s.refRuleRefusal(cmd); reason != "" {
			s.refuseByRules(cmd, reason)
			continue
		}
		if s.hidden.Hidden(cmd.name) {
			// git's own words (receive.hideRefs).
			if cmd.isDelete() {
				cmd.fail("deny deleting a hidden ref")
			} else {
				cmd.fail("deny updating a hidden ref")
			}
			continue
		}
		if cmd.isDelete() {
			// The default branch is what a clone checks out and what the
			// repository's pages show; git (receive.denyDeleteCurrent),
			// GitHub and Gitea refuse to delete it, and so does the API.
			if cmd.name == head {
				s.out.message("error: refusing to delete the current branch: " + head + "\n")
				cmd.fail(reasonDeleteCurrent)
			}
			continue
		}
		typ, err := c.typeOf(cmd.new)
		if errors.Is(err, odb.ErrNotFound) {
			cmd.fail(reasonMissing)
			continue
		}
		if err != nil {
			s.log.WithError(err).Error("receivepack: reading object type")
			cmd.fail("internal error")
			continue
		}
		if typ != plumbing.CommitObject && strings.HasPrefix(cmd.name, "refs/heads/") {
			cmd.fail("refs/heads/ may only point at commits, not a " + typ.String())
			continue
		}
		missing, err := c.missing(cmd.new)
		if err != nil {
			s.log.WithError(err).Error("receivepack: connectivity check")
			cmd.fail("internal error")
			continue
		}
		if !missing.IsZero() {
			s.out.message(fmt.Sprintf("error: %s: object %s is missing\n", cmd.name, missing))
			cmd.fail(reasonMissing)
			continue
		}
		s.checkForce(c, cmd)
	}
}

// refRuleRefusal returns why the token's rules refuse cmd whatever the
// objects say (its ref, or a delete), or "".
func (s *session) refRuleRefusal(cmd *command) string {
	rules := s.opt.Rules
	switch {
	case rules == nil:
		return ""
	case !rules.AllowsRef(cmd.name):
		return rules.RefsReason()
	case cmd.isDelete() && !rules.AllowDelete:
		return auth.ReasonDelete
	}
	return ""
}

// checkForce refuses an update of cmd that is not a fast-forward when the
// token's rules forbid force pushes.
func (s *session) checkForce(c *checker, cmd *command) {
	if s.opt.Rules == nil || s.opt.Rules.AllowForcePush || cmd.isCreate() {
		return
	}
	ff, err := c.descends(cmd.new, cmd.old)
	if err != nil {
		s.log.WithError(err).Error("receivepack: ancestry check")
		cmd.fail("internal error")
		return
	}
	if !ff {
		s.refuseByRules(cmd, auth.ReasonForcePush)
	}
}

// refuseByRules fails cmd for the token's rules and tells RulesRefused.
func (s *session) refuseByRules(cmd *command, reason string) {
	cmd.fail(reason)
	if s.opt.RulesRefused != nil {
		s.opt.RulesRefused(cmd.name, reason)
	}
}
