package uploadpack

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/depot/depot/githttp/pktline"
	"github.com/depot/depot/repos/git/gitref"
)

// v0Capabilities are offered on the first advertised ref
// (gitprotocol-capabilities). symref= and agent= are added per repository.
var v0Capabilities = []string{
	"multi_ack", "thin-pack", "side-band", "side-band-64k", "ofs-delta",
	"shallow", "deepen-since", "deepen-not", "deepen-relative", "no-progress",
	"include-tag", "multi_ack_detailed", "allow-tip-sha1-in-want",
	"allow-reachable-sha1-in-want", "no-done", "filter", "object-format=sha1",
}

// advertiseV0 writes the v0 ref list: HEAD first, then refs sorted by name,
// each annotated tag followed by its peeled "^{}" line; capabilities ride
// after a NUL on the first line. A shallow repository then lists its
// shallow commits as "shallow" lines, as git's upload-pack does
// (advertise_shallow_grafts): a v0 client learns there where the history
// it is sent ends. It ends with a flush-pkt.
func advertiseV0(ctx context.Context, r *repo, w io.Writer, opt Options) error {
	rs, err := r.refs()
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	caps := append([]string(nil), v0Capabilities...)
	if rs.headOK && rs.headTarget != "" {
		caps = append(caps, "symref=HEAD:"+rs.headTarget)
	}
	caps = append(caps, "agent="+sanitizeAgent(opt.agent()))
	capLine := strings.Join(caps, " ")

	// The HTTP layer flushes every Write: send the list in large chunks.
	bw := bufio.NewWriterSize(w, 64<<10)
	p := pktline.NewWriter(bw)
	first := true
	var b []byte
	emit := func(h plumbing.Hash, name string) {
		b = appendRefLine(b[:0], h, name)
		if first {
			b = append(append(b, 0), capLine...)
			first = false
		}
		p.Data(append(b, '\n'))
	}
	if rs.headOK {
		emit(rs.head.hash, "HEAD")
	}
	for _, rf := range rs.refs {
		emit(rf.hash, rf.name)
		if !rf.peeled.IsZero() {
			emit(rf.peeled, rf.name+"^{}")
		}
	}
	if first {
		emit(plumbing.ZeroHash, "capabilities^{}")
	}
	for _, h := range sortedHashes(r.db.Shallow()) {
		p.Linef("shallow %s", h)
	}
	p.Flush()
	if p.Err() != nil {
		return p.Err()
	}
	return bw.Flush()
}

// appendRefLine appends "<hex id> <name>" to b.
func appendRefLine(b []byte, h plumbing.Hash, name string) []byte {
	b = hex.AppendEncode(b, h[:])
	return append(append(b, ' '), name...)
}

// advertiseV2 writes the protocol v2 capability advertisement
// (gitprotocol-v2 "Capability Advertisement").
func advertiseV2(w io.Writer, opt Options) error {
	bw := bufio.NewWriter(w)
	p := pktline.NewWriter(bw)
	p.Linef("version 2")
	p.Linef("agent=%s", sanitizeAgent(opt.agent()))
	p.Linef("ls-refs=unborn")
	p.Linef("fetch=shallow wait-for-done filter ref-in-want")
	p.Linef("server-option")
	p.Linef("object-format=sha1")
	p.Linef("object-info")
	p.Flush()
	if p.Err() != nil {
		return p.Err()
	}
	return bw.Flush()
}

// sanitizeAgent keeps the agent string within the printable, space-free
// characters gitprotocol-capabilities allows.
func sanitizeAgent(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c <= ' ' || c >= 0x7f {
			b[i] = '.'
		}
	}
	return string(b)
}

// lsRefs answers the v2 ls-refs command (gitprotocol-v2 "ls-refs").
func (s *session) lsRefs(args [][]byte) error {
	var symrefs, peel, unborn bool
	var prefixes []string
	for _, a := range args {
		switch arg := string(a); {
		case arg == "symrefs":
			symrefs = true
		case arg == "peel":
			peel = true
		case arg == "unborn":
			unborn = true
		case strings.HasPrefix(arg, "ref-prefix "):
			prefixes = append(prefixes, strings.TrimPrefix(arg, "ref-prefix "))
		default:
			return pktline.Errorf("unexpected ls-refs argument %q", pktline.Printable(a))
		}
	}
	// git ignores prefixes altogether when there are too many to be useful.
	if len(prefixes) > maxRefPrefixes {
		prefixes = nil
	}
	var rs *refSet
	var err error
	if len(prefixes) == 0 {
		rs, err = s.repo.refs()
	} else {
		var snap *gitref.Snapshot
		if snap, err = s.repo.snapshot(); err == nil {
			rs, err = s.repo.refSetOf(snap, withPrefixes(snap, prefixes))
		}
	}
	if err != nil {
		return err
	}
	// One buffer for every line: an answer of 50,000 refs formats 50,000
	// lines, and fmt would cost more than the rest of ls-refs.
	var b []byte
	line := func(rf ref, target string) {
		b = appendRefLine(b[:0], rf.hash, rf.name)
		if symrefs && target != "" {
			b = append(append(b, " symref-target:"...), target...)
		}
		if peel && !rf.peeled.IsZero() {
			b = hex.AppendEncode(append(b, " peeled:"...), rf.peeled[:])
		}
		s.pkt.Data(append(b, '\n'))
	}
	if len(prefixes) == 0 || slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix("HEAD", p) }) {
		switch {
		case rs.headOK:
			line(rs.head, rs.headTarget)
		case unborn && rs.headTarget != "":
			if symrefs {
				s.pkt.Linef("unborn HEAD symref-target:%s", rs.headTarget)
			} else {
				s.pkt.Linef("unborn HEAD")
			}
		}
	}
	for _, rf := range rs.refs {
		line(rf, "")
	}
	s.pkt.Flush()
	return s.pkt.Err()
}

// sortedHashes sorts hs in place, by id, and returns it.
func sortedHashes(hs []plumbing.Hash) []plumbing.Hash {
	slices.SortFunc(hs, func(a, b plumbing.Hash) int { return bytes.Compare(a[:], b[:]) })
	return hs
}
