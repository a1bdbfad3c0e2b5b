package uploadpack

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/depot/depot/githttp/pktline"
	"github.com/depot/depot/repos/git/odb"
	"github.com/depot/depot/repos/git/packfile"
)

// session is one upload-pack request and its response.
type session struct {
	ctx  context.Context
	repo *repo
	opt  Options
	in   *pktline.Reader
	cw   *countingWriter
	bw   *bufio.Writer
	pkt  *pktline.Writer

	band    int  // side-band payload size once the packfile phase began
	rawPack bool // pack bytes went out without side-band: no in-band errors
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

func newSession(ctx context.Context, r *repo, in io.Reader, w io.Writer, opt Options) *session {
	cw := &countingWriter{w: w}
	bw := bufio.NewWriterSize(cw, 64<<10)
	return &session{ctx: ctx, repo: r, opt: opt, in: pktline.NewReader(bufio.NewReaderSize(in, 16<<10)), cw: cw, bw: bw, pkt: pktline.NewWriter(bw)}
}

func (s *session) started() bool { return s.cw.n > 0 || s.bw.Buffered() > 0 }

// fail tells the client msg in-band, as git's upload-pack does for a request
// it refuses, and returns the matching reported *pktline.ProtocolError.
func (s *session) fail(format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	s.report(msg)
	return &pktline.ProtocolError{Msg: msg, Reported: true}
}

// beginPack marks the start of the pack phase: from here on git reads
// side-band (or, without it, the bare pack) instead of pkt-lines, so an
// error can no longer be an ERR line. In v0 it begins after the last
// ACK/NAK, in v2 after the "packfile" section header.
func (s *session) beginPack(q *fetchRequest) {
	s.band = q.band
	s.rawPack = q.band == 0
}

// report tells the client msg where it will read it, and git stops with it:
//   - while nothing has reached the client, whatever is buffered (acks,
//     the start of a pack) is dropped and an ERR pkt-line is the whole
//     response: git reads ERR wherever it reads a pkt-line and dies with
//     "remote error: msg";
//   - in the pack phase with side-band, on channel 3 (git prints it as
//     "remote: ..." and stops reading);
//   - in a bare pack nothing can be said: the client sees it cut, as with
//     git's own upload-pack, which writes the reason to its stderr;
//   - otherwise as an ERR pkt-line.
func (s *session) report(msg string) {
	if s.cw.n == 0 {
		s.bw.Reset(s.cw)
		s.pkt = pktline.NewWriter(s.bw)
		s.band, s.rawPack = 0, false
	}
	switch {
	case s.band > 0:
		// No newline: git adds its own after a channel 3 message.
		fmt.Fprintf(s.pkt.Band(pktline.BandError, s.band), "fatal: %s", msg)
	case s.rawPack:
	default:
		s.pkt.Linef("ERR %s", msg)
	}
}

// abortMsg is what git's upload-pack says when building the pack fails
// (pack-objects died): the cause is on the server side and in its log.
const abortMsg = "upload-pack: aborting due to possible repository corruption on the remote side."

// finish reports err in-band if the response has begun, and flushes.
func (s *session) finish(err error) error {
	var pe *pktline.ProtocolError
	switch {
	case err == nil:
	case errors.As(err, &pe) && pe.Reported:
	case errors.As(err, &pe) && s.started():
		s.report(pe.Msg)
		err = &pktline.ProtocolError{Msg: pe.Msg, Reported: true}
	case errors.Is(err, context.Canceled):
		// A client that went away hears nothing.
	case s.band > 0 || s.rawPack || errors.Is(err, odb.ErrNotFound) || errors.Is(err, packfile.ErrCorrupt):
		// Building the pack failed on the repository's objects, in the
		// pack phase or before it (a v2 fetch plans the pack before its
		// first section, to say which commits are shallow).
		s.report(abortMsg)
	case !s.started():
		// Any other error before output becomes the HTTP status.
	default:
		s.report("upload-pack: internal server error")
	}
	if ferr := s.bw.Flush(); err == nil {
		err = ferr
	}
	return err
}

// serveV0 answers one stateless v0 request (gitprotocol-pack "Packfile
// Negotiation", in the stateless-rpc form of gitprotocol-http).
func (s *session) serveV0() error {
	q, err := parseV0(s.in)
	if err != nil || q == nil {
		return err
	}
	rs, err := s.repo.refs()
	if err != nil {
		return err
	}
	if err := s.checkWants(rs, q.wants); err != nil {
		return err
	}
	sp, wantCommits, err := s.shallow(q, rs)
	if err != nil {
		return err
	}
	if q.deepen() {
		s.writeShallowInfo(sp)
		s.pkt.Flush()
	}
	if q.noHaves {
		return s.pkt.Err() // the shallow list was the whole answer
	}
	neg := newNegotiator(s.ctx, s.repo, wantCommits)
	send, err := s.negotiateV0(q, neg)
	if err != nil || !send {
		return err
	}
	s.beginPack(q)
	release, err := s.slot(q)
	if err != nil {
		return err
	}
	defer release()
	plan, err := s.plan(q, rs, sp, neg)
	if err != nil {
		return err
	}
	if err := s.sendPack(q, plan); err != nil {
		return err
	}
	if s.band > 0 {
		s.pkt.Flush()
	}
	return s.pkt.Err()
}

// negotiateV0 answers the have lines of a v0 request with ACK/NAK lines the
// way git's upload-pack does in stateless mode, and reports whether the pack
// follows in this response.
func (s *session) negotiateV0(q *fetchRequest, neg *negotiator) (bool, error) {
	var last plumbing.Hash
	gotCommon, gotOther, sentReady := false, false, false
	for _, h := range q.haves {
		ok, added := neg.have(h)
		if !ok {
			gotOther = true
			if q.multiAck == 0 {
				continue
			}
			ready, err := neg.okToGiveUp()
			if err != nil {
				return false, err
			}
			if ready && q.multiAck == 2 {
				sentReady = true
				s.pkt.Linef("ACK %s ready", h)
			} else if ready {
				s.pkt.Linef("ACK %s continue", h)
			}
			continue
		}
		gotCommon = true
		last = h
		switch {
		case q.multiAck == 2:
			s.pkt.Linef("ACK %s common", h)
		case q.multiAck == 1:
			s.pkt.Linef("ACK %s continue", h)
		case added && len(neg.common) == 1:
			// Without multi_ack only the first common object is ACKed.
			s.pkt.Linef("ACK %s", h)
		}
	}
	if q.done {
		switch {
		case len(neg.common) == 0:
			s.pkt.Linef("NAK")
		case q.multiAck > 0:
			s.pkt.Linef("ACK %s", last)
		}
		return true, s.pkt.Err()
	}
	if q.multiAck == 2 && gotCommon && !gotOther {
		ready, err := neg.okToGiveUp()
		if err != nil {
			return false, err
		}
		if ready {
			sentReady = true
			s.pkt.Linef("ACK %s ready", last)
		}
	}
	if len(neg.common) == 0 || q.multiAck > 0 {
		s.pkt.Linef("NAK")
	}
	if q.noDone && sentReady {
		s.pkt.Linef("ACK %s", last)
		return true, s.pkt.Err()
	}
	return false, s.pkt.Err()
}

// slot waits for Options.Slot, telling the client on side-band progress
// why it waits; release is never nil.
func (s *session) slot(q *fetchRequest) (release func(), err error) {
	if s.opt.Slot == nil {
		return func() {}, nil
	}
	wait := func(msg string) {
		if s.band > 0 && !q.noProgress {
			fmt.Fprint(s.pkt.Band(pktline.BandProgress, s.band), msg)
			// What waits in the buffer (acks, sections) goes with it.
			s.bw.Flush()
		}
	}
	release, err = s.opt.Slot(s.ctx, wait)
	if err != nil {
		if s.ctx.Err() != nil {
			return nil, s.ctx.Err()
		}
		return nil, s.fail("%v", err)
	}
	return release, nil
}

// checkWants refuses the request in-band when a want may not be served.
func (s *session) checkWants(rs *refSet, wants []plumbing.Hash) error {
	bad, ok, err := unreachableWant(s.ctx, s.repo, rs, wants)
	if err != nil {
		return err
	}
	if !ok {
		return s.fail("upload-pack: not our ref %s", bad)
	}
	return nil
}

// shallow computes the shallow plan and the commits the wants peel to.
func (s *session) shallow(q *fetchRequest, rs *refSet) (*shallowPlan, []plumbing.Hash, error) {
	var wantCommits []plumbing.Hash
	for _, w := range q.wants {
		obj, typ, _, err := s.repo.db.Peel(w)
		if err != nil {
			return nil, nil, err
		}
		if typ == plumbing.CommitObject {
			wantCommits = append(wantCommits, obj)
		}
	}
	sp, err := planShallow(s.ctx, s.repo, q, wantCommits, rs)
	if err != nil {
		if isProtocolError(err) {
			var pe *pktline.ProtocolError
			errors.As(err, &pe)
			return nil, nil, s.fail("upload-pack: %s", pe.Msg)
		}
		return nil, nil, err
	}
	return sp, wantCommits, nil
}

func (s *session) writeShallowInfo(sp *shallowPlan) {
	for _, h := range sp.shallow {
		s.pkt.Linef("shallow %s", h)
	}
	for _, h := range sp.unshallow {
		s.pkt.Linef("unshallow %s", h)
	}
}

// plan decides the pack's objects.
func (s *session) plan(q *fetchRequest, rs *refSet, sp *shallowPlan, neg *negotiator) (*packPlan, error) {
	wants := append(append([]plumbing.Hash(nil), q.wants...), sp.extraWants...)
	in := planInput{
		wants:       wants,
		haves:       neg.common,
		extraEdges:  sp.extraEdges,
		cut:         sp.cut,
		repoShallow: sortedHashes(s.repo.db.Shallow()),
		filter:      q.filter,
		includeTag:  q.includeTag,
		refs:        rs,
	}
	// The bitmapped pack is part of the key: a plan numbers objects by
	// their place in it, so a repack makes a new plan.
	var bitmapPack plumbing.Hash
	if pk, _ := s.repo.db.Bitmap(); pk != nil {
		bitmapPack = pk.Index.PackSum
	}
	return plans.get(s.ctx, planKey(s.repo.db.RepoDir(), bitmapPack, rs, in), func() (*packPlan, error) {
		p, err := planPack(s.ctx, s.repo, in)
		if err != nil {
			return nil, err
		}
		// Only the objects and the thin-pack bases are needed from here.
		q := &packPlan{objects: p.objects, has: p.has,
			set: p.set, setPack: p.setPack, setCount: p.setCount, hasSet: p.hasSet, hasPack: p.hasPack}
		if p.set == nil {
			q.wholePack = wholePackOf(s.repo.db, p.objects)
		}
		return q, nil
	})
}
