package receivepack

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/sirupsen/logrus"

	"github.com/depot/depot/repos/git/indexpack"
	"github.com/depot/depot/repos/git/odb"
)

// Push protection, as GitHub's secret scanning does it for the tokens of
// its partners: the blobs a push brings are searched for depot's own
// tokens while the pack is indexed, and a push holding a live one is
// refused, the token revoked, or both.

// Tokens is what push protection asks of the token store; cmd/depot wires
// tokens.Leaks.
type Tokens interface {
	// WellFormed reports whether s, Leaks.Len bytes that start with
	// Leaks.Prefix, carries a token's checksum. It runs in the stream for
	// every candidate, so it must be fast and must not reach the store.
	WellFormed(s string) bool
	// LiveToken returns the id and owner of the token whose secret is s;
	// found is false when no token has it (never issued, or deleted). Its
	// error is a failure of the store.
	LiveToken(ctx context.Context, secret string) (id, owner string, found bool, err error)
	// RevokeToken deletes the token id. A token already gone is not an
	// error.
	RevokeToken(ctx context.Context, id string) error
}

// Leaks turns on push protection (Options.Leaks).
type Leaks struct {
	// Prefix starts every token, and Len is the length of one
	// (tokens.SecretPrefix and tokens.SecretLen).
	Prefix string
	Len    int
	Tokens Tokens
	// Refuse refuses a push whose new blobs hold a live token, naming
	// the path and commit; Revoke deletes the token and logs a warning
	// naming its id and owner. depot serve sets both by default.
	Refuse, Revoke bool
}

// maxCandidates bounds the distinct well-formed secrets one push may
// have looked up. Real pushes hold a handful; a pack crafted with
// millions of forged checksums would otherwise cost a lookup each.
const maxCandidates = 10_000

// secretScan finds well-formed secrets in the blobs of a pack as one
// goroutine of the indexer produces them (indexpack.BlobScanner; see
// secretScans for the others). It looks for the last byte of the prefix with bytes.IndexByte ('_' for depot's "dpt_", rarer
// in text and code than 'd': one byte in 80 of git's own sources, against
// one in 45), then for the rest of the prefix before it, and only then
// computes the candidate's checksum. A secret may straddle two writes, so
// the last Len-1 bytes of each piece searched are carried to the next.
// Resolving a delta writes many small pieces (its copy and insert
// instructions), which are gathered and searched together.
type secretScan struct {
	prefix []byte
	n      int
	valid  func(string) bool

	small []byte // small pieces not searched yet
	carry []byte // the blob's last n-1 bytes searched, fewer at its start
	win   []byte // scratch: carry and the head of the next piece
	cur   []string
	found map[string][]plumbing.Hash // secret → the blobs holding it
	over  int                        // candidates beyond maxCandidates
}

// smallPieces is the size below which pieces are gathered before they
// are searched, and the size of the gathering buffer.
const smallPieces = 4 << 10

func newSecretScan(l *Leaks) *secretScan {
	return &secretScan{
		prefix: []byte(l.Prefix), n: l.Len, valid: l.Tokens.WellFormed,
		small: make([]byte, 0, smallPieces),
		carry: make([]byte, 0, l.Len),
		win:   make([]byte, 0, 2*l.Len),
		found: map[string][]plumbing.Hash{},
	}
}

// secretScans makes a secretScan for each goroutine of the indexer that
// asks for one (indexpack.Options.Blobs), and gathers what they found.
type secretScans struct {
	l     *Leaks
	mu    sync.Mutex
	scans []*secretScan
}

func newSecretScans(l *Leaks) *secretScans { return &secretScans{l: l} }

// scanner returns a new secretScan for one goroutine.
func (ss *secretScans) scanner() indexpack.BlobScanner {
	s := newSecretScan(ss.l)
	ss.mu.Lock()
	ss.scans = append(ss.scans, s)
	ss.mu.Unlock()
	return s
}

// merged returns one secretScan holding what every scanner found, once
// the indexer is done with them, still bounded by maxCandidates.
func (ss *secretScans) merged() *secretScan {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	all := newSecretScan(ss.l)
	for _, s := range ss.scans {
		all.over += s.over
		secrets := slices.Sorted(maps.Keys(s.found))
		for _, sec := range secrets {
			if _, ok := all.found[sec]; !ok && len(all.found) >= maxCandidates {
				all.over++
				continue
			}
			all.found[sec] = append(all.found[sec], s.found[sec]...)
		}
	}
	// Which goroutine met a blob first varies from push to push; what
	// the pusher is shown does not.
	for _, blobs := range all.found {
		slices.SortFunc(blobs, func(a, b plumbing.Hash) int { return bytes.Compare(a[:], b[:]) })
	}
	return all
}

// Write takes b, the next bytes of the current blob.
func (s *secretScan) Write(b []byte) (int, error) {
	if len(b) < smallPieces {
		if len(s.small)+len(b) > smallPieces {
			s.flush()
		}
		s.small = append(s.small, b...)
		return len(b), nil
	}
	s.flush()
	s.piece(b)
	return len(b), nil
}

// Copied takes b, the next bytes of the blob, copied by a delta from a
// blob of the pack that was searched already: a secret wholly inside b
// was found there, so only the secrets that cross b's edges are looked
// for. Most of what a push's deltas make is copied, so most bytes of a
// large push are searched once, not once a version. The head and the
// tail of b are gathered like small pieces, with a NUL between them,
// which no secret holds: nothing is searched across the part skipped.
func (s *secretScan) Copied(b []byte) error {
	if len(b) < 2*s.n {
		s.Write(b)
		return nil
	}
	s.Write(b[:s.n-1])
	s.Write(gap[:])
	s.Write(b[len(b)-(s.n-1):])
	return nil
}

// gap stands for the bytes of a copy that are not searched.
var gap = [1]byte{0}

// flush searches the small pieces gathered.
func (s *secretScan) flush() {
	if len(s.small) > 0 {
		s.piece(s.small)
		s.small = s.small[:0]
	}
}

// piece searches b, the bytes of the blob that follow those searched.
func (s *secretScan) piece(b []byte) {
	if c := len(s.carry); c > 0 {
		// Secrets that start in the carry and end in b.
		w := append(append(s.win[:0], s.carry...), b[:min(len(b), s.n-1)]...)
		s.search(w, c)
		if len(b) < s.n-1 {
			s.carry = append(s.carry[:0], w[max(0, len(w)-(s.n-1)):]...)
			return
		}
	}
	s.search(b, len(b))
	s.carry = append(s.carry[:0], b[max(0, len(b)-(s.n-1)):]...)
}

// search checks the candidates of buf that start before end and end
// within buf.
func (s *secretScan) search(buf []byte, end int) {
	k := len(s.prefix) - 1
	last := s.prefix[k]
	// Candidates start at p < end with p+n <= len(buf); their last
	// prefix byte is at p+k.
	stop := min(end, len(buf)-s.n+1) + k
	for i := k; i < stop; i++ {
		j := bytes.IndexByte(buf[i:stop], last)
		if j < 0 {
			return
		}
		i += j
		// The byte before first, inline: this runs at every '_' of the
		// text, and "t_" is a quarter as frequent in code as '_'.
		if k > 0 && buf[i-1] != s.prefix[k-1] {
			continue
		}
		if bytes.Equal(buf[i-k:i], s.prefix[:k]) {
			s.check(buf[i-k : i-k+s.n])
		}
	}
}

// check notes cand, n bytes that start with the prefix, when it is a
// well-formed secret.
func (s *secretScan) check(cand []byte) {
	if !s.valid(string(cand)) {
		return
	}
	sec := string(cand)
	if slices.Contains(s.cur, sec) {
		return
	}
	s.cur = append(s.cur, sec)
}

// End files the secrets of the blob h and starts the next blob.
func (s *secretScan) End(h plumbing.Hash) error {
	s.flush()
	for _, sec := range s.cur {
		if _, ok := s.found[sec]; !ok && len(s.found) >= maxCandidates {
			s.over++
			continue
		}
		s.found[sec] = append(s.found[sec], h)
	}
	s.cur, s.carry = s.cur[:0], s.carry[:0]
	return nil
}

// leak is a live token that a push's new blobs hold.
type leak struct {
	id, owner string
	blobs     []plumbing.Hash
}

// liveLeaks looks up the secrets the scan found and returns the live
// tokens among them, each with the blobs that hold it and that the
// repository did not already have.
func (s *session) liveLeaks(ctx context.Context, scan *secretScan, db *odb.DB) ([]leak, error) {
	if scan.over > 0 {
		s.log.WithField("skipped", scan.over).Warn("receivepack: push holds more well-formed tokens than are looked up")
	}
	secrets := make([]string, 0, len(scan.found))
	for sec := range scan.found {
		secrets = append(secrets, sec)
	}
	slices.Sort(secrets)
	var leaks []leak
	for _, sec := range secrets {
		var blobs []plumbing.Hash
		for _, b := range scan.found[sec] {
			if !db.Has(b) {
				blobs = append(blobs, b)
			}
		}
		if len(blobs) == 0 {
			continue
		}
		id, owner, ok, err := s.opt.Leaks.Tokens.LiveToken(ctx, sec)
		if err != nil {
			return nil, err
		}
		if ok {
			leaks = append(leaks, leak{id: id, owner: owner, blobs: blobs})
		}
	}
	return leaks, nil
}

// protect acts on the live tokens that the push's new blobs hold: it
// revokes them and refuses every command, as Leaks asks, and says where
// each one is, on the sideband and on the refused refs' report lines.
func (s *session) protect(scan *secretScan, db *odb.DB, c *checker) {
	if scan == nil || len(scan.found) == 0 {
		return
	}
	l := s.opt.Leaks
	// The token went over the wire whether or not the client waits for
	// the answer: a push cancelled now still has its tokens revoked.
	ctx := context.WithoutCancel(s.ctx)
	leaks, err := s.liveLeaks(ctx, scan, db)
	if err != nil {
		s.log.WithError(err).Error("receivepack: looking up tokens found in the push")
		if l.Refuse {
			// Fail closed: a push that may hold a live token is not kept.
			s.failAll("internal error")
		}
		return
	}
	if len(leaks) == 0 {
		return
	}
	loc := newLocator(c, s.cmds, leaks)
	s.actOnLeaks(ctx, loc, leaks)
	if !l.Refuse {
		return
	}
	for _, cmd := range s.cmds {
		if cmd.failed() {
			continue
		}
		p, err := loc.ref(cmd.new)
		if err != nil {
			s.log.WithError(err).Error("receivepack: locating a token in the push")
		}
		if p != nil {
			cmd.fail("push contains a depot token: " + p.String())
		} else {
			cmd.fail(reasonLeakElsewhere)
		}
	}
}

// maxPlacesShown bounds the places git is shown for one token; the log
// and the report lines say the rest.
const maxPlacesShown = 10

// actOnLeaks tells the client where each live token is and revokes the
// tokens when Leaks asks for it, logging a warning that names each
// token's id and owner (never its secret).
func (s *session) actOnLeaks(ctx context.Context, loc *locator, leaks []leak) {
	l := s.opt.Leaks
	level := "warning"
	if l.Refuse {
		level = "error"
	}
	s.out.message(level + ": push protection: this push holds a live depot token\n")
	for _, lk := range leaks {
		var first place
		for i, b := range lk.blobs {
			if i == maxPlacesShown {
				s.out.message(fmt.Sprintf("%s:   and %d more blobs\n", level, len(lk.blobs)-i))
				break
			}
			where, err := loc.blob(b)
			if err != nil {
				s.log.WithError(err).Error("receivepack: locating a token in the push")
			}
			if i == 0 {
				first = where
			}
			s.out.message(fmt.Sprintf("%s:   %s\n", level, where))
		}
		f := s.log.WithFields(logrus.Fields{
			"token_id": lk.id, "owner": lk.owner, "pusher": s.opt.Actor.User, "found_in": first.String(),
		})
		if !l.Revoke {
			f.Warn("push holds a live token; not revoked")
			continue
		}
		if err := l.Tokens.RevokeToken(ctx, lk.id); err != nil {
			f.WithError(err).Error("receivepack: revoking a leaked token")
			continue
		}
		f.Warn("push holds a live token: token revoked")
	}
	switch {
	case l.Revoke && l.Refuse:
		s.out.message("error: the token has been revoked; remove it from these commits and push again\n")
	case l.Revoke:
		s.out.message("warning: the token has been revoked\n")
	case l.Refuse:
		s.out.message("error: remove the token from these commits, revoke it and push again\n")
	}
}

// reasonLeakElsewhere refuses the refs of a push whose token another ref,
// or no ref, brings: the pack is not kept, so no ref moves.
const reasonLeakElsewhere = "push declined: it contains a depot token"

// abbrev is the short form of an object id that git shows.
func abbrev(h plumbing.Hash) string { return h.String()[:7] }

// place is where a blob holding a token entered the pushed history.
type place struct {
	blob   plumbing.Hash
	path   string        // "" when no tree of the push names the blob
	commit plumbing.Hash // zero when no commit of the push holds it
}

func (p place) String() string {
	var b strings.Builder
	if p.path != "" {
		b.WriteString(p.path)
	} else {
		b.WriteString("blob " + abbrev(p.blob))
	}
	if !p.commit.IsZero() {
		b.WriteString(" in commit " + abbrev(p.commit))
	}
	return b.String()
}
