package uploadpack

import (
	"bytes"
	"io"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/depot/depot/githttp/pktline"
	"github.com/depot/depot/repos/git/object"
)

// serveV2 answers one protocol v2 command (gitprotocol-v2): a command line,
// capability lines, then after a delim-pkt the arguments up to a flush-pkt.
// Stateless-rpc carries one command per request.
func (s *session) serveV2() error {
	cmd, hasArgs, err := s.readV2Command()
	if err != nil || cmd == "" {
		return err
	}
	var args [][]byte
	readArgs := func(each func([]byte) error) error {
		if !hasArgs {
			return nil
		}
		for n := 0; ; n++ {
			kind, line, err := s.in.NextLine()
			if err == io.EOF {
				return pktline.Errorf("%s: arguments end without a flush-pkt", cmd)
			}
			if err != nil {
				return err
			}
			if kind == pktline.Flush {
				return nil
			}
			if kind != pktline.Data {
				return pktline.Errorf("%s: unexpected special pkt-line", cmd)
			}
			if n >= maxArgs {
				return pktline.Errorf("%s: too many arguments", cmd)
			}
			if err := each(line); err != nil {
				return err
			}
		}
	}
	switch cmd {
	case "ls-refs":
		err := readArgs(func(b []byte) error {
			if len(args) >= maxRefPrefixes+16 {
				return pktline.Errorf("ls-refs: too many arguments")
			}
			args = append(args, bytes.Clone(b))
			return nil
		})
		if err != nil {
			return err
		}
		return s.lsRefs(args)
	case "fetch":
		q := &fetchRequest{band: pktline.MaxData - 1, multiAck: 2}
		if err := readArgs(func(b []byte) error { return q.parseCommonArg(b, true) }); err != nil {
			return err
		}
		if err := q.checkDeepen(); err != nil {
			return err
		}
		return s.fetchV2(q)
	case "object-info":
		var size bool
		var oids []plumbing.Hash
		err := readArgs(func(b []byte) error {
			switch {
			case string(b) == "size":
				size = true
			case bytes.HasPrefix(b, []byte("oid ")):
				h, ok := object.ParseHex(b[4:])
				if !ok || len(oids) >= maxWants {
					return pktline.Errorf("object-info: invalid oid line")
				}
				oids = append(oids, h)
			default:
				return pktline.Errorf("object-info: unexpected argument %q", pktline.Printable(b))
			}
			return nil
		})
		if err != nil {
			return err
		}
		return s.objectInfo(size, oids)
	}
	return pktline.Errorf("unknown command %q", pktline.Printable([]byte(cmd)))
}

// readV2Command reads "command=<name>" and the capability lines after it. It
// returns "" for an empty request (a lone flush-pkt or nothing).
func (s *session) readV2Command() (cmd string, hasArgs bool, err error) {
	for n := 0; ; n++ {
		kind, line, err := s.in.NextLine()
		if err == io.EOF && n == 0 {
			return "", false, nil
		}
		if err == io.EOF {
			return "", false, pktline.Errorf("request ends without a flush-pkt")
		}
		if err != nil {
			return "", false, err
		}
		switch kind {
		case pktline.Flush:
			if n == 0 {
				return "", false, nil
			}
			return cmd, false, nil
		case pktline.Delim:
			if n == 0 {
				return "", false, pktline.Errorf("expected command, got delim-pkt")
			}
			return cmd, true, nil
		case pktline.ResponseEnd:
			return "", false, pktline.Errorf("unexpected response-end pkt")
		}
		if n == 0 {
			c, ok := bytes.CutPrefix(line, []byte("command="))
			if !ok || len(c) == 0 {
				return "", false, pktline.Errorf("expected command=, got %q", pktline.Printable(line))
			}
			cmd = string(c)
			continue
		}
		if n > 1024 {
			return "", false, pktline.Errorf("too many capability lines")
		}
		if f, ok := bytes.CutPrefix(line, []byte("object-format=")); ok && string(f) != "sha1" {
			return "", false, pktline.Errorf("unsupported object format %q", pktline.Printable(f))
		}
		// agent=, server-option= and unknown capabilities need no action.
	}
}

// fetchV2 answers the v2 fetch command (gitprotocol-v2 "fetch").
func (s *session) fetchV2(q *fetchRequest) error {
	rs, err := s.repo.refs()
	if err != nil {
		return err
	}
	var wanted []ref
	for _, name := range q.wantRefs {
		rf, ok := rs.find(name)
		if !ok {
			return s.fail("unknown ref %s", name)
		}
		wanted = append(wanted, rf)
		q.wants = append(q.wants, rf.hash)
	}
	// git fetch --negotiate-only sends haves alone: with wait-for-done the
	// acknowledgments are the whole answer, and git's upload-pack gives them.
	if len(q.wants) == 0 && (q.done || !q.waitForDone) {
		return s.fail("fetch: no wants")
	}
	if err := s.checkWants(rs, q.wants); err != nil {
		return err
	}
	sp, wantCommits, err := s.shallow(q, rs)
	if err != nil {
		return err
	}
	neg := newNegotiator(s.ctx, s.repo, wantCommits)
	var acks []plumbing.Hash
	for _, h := range q.haves {
		if ok, _ := neg.have(h); ok {
			acks = append(acks, h)
		}
	}
	if !q.done {
		s.pkt.Linef("acknowledgments")
		if len(acks) == 0 {
			s.pkt.Linef("NAK")
		}
		for _, h := range acks {
			s.pkt.Linef("ACK %s", h)
		}
		// With wait-for-done the client decides when negotiation ends, as
		// git's upload-pack does: no "ready" however good the acks.
		ready := false
		if !q.waitForDone {
			if ready, err = neg.okToGiveUp(); err != nil {
				return err
			}
		}
		if !ready {
			s.pkt.Flush()
			return s.pkt.Err()
		}
		s.pkt.Linef("ready")
		s.pkt.Delim()
	}
	// A shallow-info section needs the plan, so the slot is taken before
	// it, in silence; otherwise the client hears while it waits, in the
	// packfile section.
	shallowInfo := q.deepen() || len(q.shallows) > 0 || s.repo.isShallow()
	var plan *packPlan
	if shallowInfo {
		release, err := s.slot(q)
		if err != nil {
			return err
		}
		defer release()
		if plan, err = s.plan(q, rs, sp, neg); err != nil {
			return err
		}
	}
	if shallowInfo {
		if !q.deepen() {
			// A depth asked for already bounds the history with the
			// repository's shallow commits; without one, those the pack
			// holds are the boundary.
			sp.shallow = append(sp.shallow, repoShallowSent(s.repo, q, plan)...)
		}
		s.pkt.Linef("shallow-info")
		s.writeShallowInfo(sp)
		s.pkt.Delim()
	}
	if len(wanted) > 0 {
		s.pkt.Linef("wanted-refs")
		for _, rf := range wanted {
			s.pkt.Linef("%s %s", rf.hash, rf.name)
		}
		s.pkt.Delim()
	}
	s.pkt.Linef("packfile")
	s.beginPack(q)
	if plan == nil {
		release, err := s.slot(q)
		if err != nil {
			return err
		}
		defer release()
		if plan, err = s.plan(q, rs, sp, neg); err != nil {
			return err
		}
	}
	if err := s.sendPack(q, plan); err != nil {
		return err
	}
	s.pkt.Flush()
	return s.pkt.Err()
}

// objectInfo answers the v2 object-info command with object sizes.
func (s *session) objectInfo(size bool, oids []plumbing.Hash) error {
	if size {
		s.pkt.Linef("size")
	}
	for _, h := range oids {
		if !size {
			s.pkt.Linef("%s", h)
			continue
		}
		n, err := s.repo.size(h)
		if err != nil {
			s.pkt.Linef("%s ", h)
			continue
		}
		s.pkt.Linef("%s %d", h, n)
	}
	s.pkt.Flush()
	return s.pkt.Err()
}
