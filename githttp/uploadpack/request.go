package uploadpack

import (
	"bytes"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/depot/depot/githttp/pktline"
	"github.com/depot/depot/repos/git/object"
)

// Bounds on what one request may carry. A clone of a repository with very
// many refs sends one want per ref; stateless negotiation re-sends every
// common have each round.
const (
	maxWants       = 1 << 17
	maxHaves       = 1 << 20
	maxShallows    = 1 << 17
	maxDeepenNot   = 1 << 10
	maxRefPrefixes = 1 << 16
	maxArgs        = maxHaves + maxWants + maxShallows + 1<<10
	infiniteDepth  = math.MaxInt32 // git's INFINITE_DEPTH, sent by --unshallow
)

// fetchRequest is one upload-pack request, v0 or v2 alike.
type fetchRequest struct {
	wants    []plumbing.Hash
	wantRefs []string // v2 want-ref
	haves    []plumbing.Hash
	shallows []plumbing.Hash
	done     bool
	noHaves  bool // v0: the request ended after the wants (a deepen-only request)
	// waitForDone (v2) holds back "ready" and the pack until the client
	// sends done, whatever the acknowledgments show (git fetch
	// --negotiate-only, push.negotiate).
	waitForDone bool

	depth          int
	deepenRelative bool
	deepenSince    int64
	deepenNot      []string
	filter         *filterSpec

	multiAck   int // 0 none, 1 multi_ack, 2 multi_ack_detailed
	noDone     bool
	band       int // side-band payload size: 0 (none), 995 or 65515
	thinPack   bool
	ofsDelta   bool
	noProgress bool
	includeTag bool
}

func (q *fetchRequest) deepen() bool {
	return q.depth > 0 || q.deepenSince != 0 || len(q.deepenNot) > 0
}

// parseV0 reads a v0 request: want lines (capabilities on the first),
// shallow/deepen/filter lines, a flush, then have lines ending with a flush or
// "done" (gitprotocol-pack "Packfile Negotiation"). It returns nil, nil for an
// empty request.
func parseV0(in *pktline.Reader) (*fetchRequest, error) {
	q := &fetchRequest{}
	first := true
	for {
		kind, line, err := in.NextLine()
		if err == io.EOF && first {
			return nil, nil
		}
		if err == io.EOF {
			return nil, pktline.Errorf("request ends before the flush after wants")
		}
		if err != nil {
			return nil, err
		}
		if kind == pktline.Flush {
			if first {
				return nil, nil
			}
			break
		}
		if kind != pktline.Data {
			return nil, pktline.Errorf("unexpected special pkt-line in want list")
		}
		if first {
			rest, ok := bytes.CutPrefix(line, []byte("want "))
			if !ok {
				return nil, pktline.Errorf("expected want, got %q", pktline.Printable(line))
			}
			oid, caps, _ := bytes.Cut(rest, []byte(" "))
			// Some clients put capabilities after a NUL, as in the advertisement.
			oid, nulCaps, _ := bytes.Cut(oid, []byte{0})
			if len(nulCaps) > 0 {
				caps = append(append(caps, ' '), nulCaps...)
			}
			h, ok := object.ParseHex(oid)
			if !ok {
				return nil, pktline.Errorf("invalid object id in want %q", pktline.Printable(oid))
			}
			q.wants = append(q.wants, h)
			q.setV0Caps(string(caps))
			first = false
			continue
		}
		if err := q.parseCommonArg(line, false); err != nil {
			return nil, err
		}
	}
	if err := q.checkDeepen(); err != nil {
		return nil, err
	}
	return q, q.readHaves(in)
}

// readHaves reads v0 have lines up to a flush or "done". A stateless client
// asking for a shallow boundary first sends its wants alone.
func (q *fetchRequest) readHaves(in *pktline.Reader) error {
	for {
		kind, line, err := in.NextLine()
		if err == io.EOF && len(q.haves) == 0 {
			q.noHaves = true
			return nil
		}
		if err == io.EOF {
			return pktline.Errorf("have list ends without flush or done")
		}
		if err != nil {
			return err
		}
		if kind == pktline.Flush {
			return nil
		}
		if kind != pktline.Data {
			return pktline.Errorf("unexpected special pkt-line in have list")
		}
		if string(line) == "done" {
			q.done = true
			return nil
		}
		rest, ok := bytes.CutPrefix(line, []byte("have "))
		if !ok {
			return pktline.Errorf("expected have or done, got %q", pktline.Printable(line))
		}
		h, ok := object.ParseHex(rest)
		if !ok {
			return pktline.Errorf("invalid object id in have %q", pktline.Printable(rest))
		}
		if len(q.haves) >= maxHaves {
			return pktline.Errorf("too many haves (limit %d)", maxHaves)
		}
		q.haves = append(q.haves, h)
	}
}

func (q *fetchRequest) setV0Caps(caps string) {
	for _, c := range strings.Fields(caps) {
		switch c {
		case "multi_ack":
			q.multiAck = max(q.multiAck, 1)
		case "multi_ack_detailed":
			q.multiAck = 2
		case "no-done":
			q.noDone = true
		case "side-band":
			if q.band == 0 {
				q.band = 1000 - 5
			}
		case "side-band-64k":
			q.band = pktline.MaxData - 1
		case "thin-pack":
			q.thinPack = true
		case "ofs-delta":
			q.ofsDelta = true
		case "no-progress":
			q.noProgress = true
		case "include-tag":
			q.includeTag = true
		case "deepen-relative":
			q.deepenRelative = true
		}
	}
}

// parseCommonArg handles the lines v0 and v2 fetch share: want, shallow,
// deepen, deepen-since, deepen-not and filter; v2 adds its flags.
func (q *fetchRequest) parseCommonArg(line []byte, v2 bool) error {
	key, val, _ := bytes.Cut(line, []byte(" "))
	switch string(key) {
	case "want":
		h, ok := object.ParseHex(val)
		if !ok {
			return pktline.Errorf("invalid object id in want %q", pktline.Printable(val))
		}
		if len(q.wants) >= maxWants {
			return pktline.Errorf("too many wants (limit %d)", maxWants)
		}
		q.wants = append(q.wants, h)
	case "shallow":
		h, ok := object.ParseHex(val)
		if !ok {
			return pktline.Errorf("invalid object id in shallow %q", pktline.Printable(val))
		}
		if len(q.shallows) >= maxShallows {
			return pktline.Errorf("too many shallow lines (limit %d)", maxShallows)
		}
		q.shallows = append(q.shallows, h)
	case "deepen":
		n, err := strconv.Atoi(string(val))
		if err != nil || n <= 0 {
			return pktline.Errorf("invalid deepen %q", pktline.Printable(val))
		}
		q.depth = min(n, infiniteDepth)
	case "deepen-since":
		t, err := strconv.ParseInt(string(val), 10, 64)
		if err != nil || t <= 0 {
			return pktline.Errorf("invalid deepen-since %q", pktline.Printable(val))
		}
		q.deepenSince = t
	case "deepen-not":
		if len(val) == 0 {
			return pktline.Errorf("empty deepen-not")
		}
		if len(q.deepenNot) >= maxDeepenNot {
			return pktline.Errorf("too many deepen-not lines (limit %d)", maxDeepenNot)
		}
		q.deepenNot = append(q.deepenNot, string(val))
	case "filter":
		f, err := parseFilter(string(val))
		if err != nil {
			return err
		}
		q.filter = f
	default:
		if v2 {
			return q.parseV2Flag(line)
		}
		return pktline.Errorf("unexpected line %q", pktline.Printable(line))
	}
	return nil
}

func (q *fetchRequest) parseV2Flag(line []byte) error {
	key, val, _ := bytes.Cut(line, []byte(" "))
	switch string(key) {
	case "have":
		h, ok := object.ParseHex(val)
		if !ok {
			return pktline.Errorf("invalid object id in have %q", pktline.Printable(val))
		}
		if len(q.haves) >= maxHaves {
			return pktline.Errorf("too many haves (limit %d)", maxHaves)
		}
		q.haves = append(q.haves, h)
	case "want-ref":
		if len(val) == 0 || len(q.wantRefs) >= maxWants {
			return pktline.Errorf("invalid want-ref")
		}
		q.wantRefs = append(q.wantRefs, string(val))
	case "done":
		q.done = true
	case "thin-pack":
		q.thinPack = true
	case "no-progress":
		q.noProgress = true
	case "include-tag":
		q.includeTag = true
	case "ofs-delta":
		q.ofsDelta = true
	case "deepen-relative":
		q.deepenRelative = true
	case "wait-for-done":
		q.waitForDone = true
	case "sideband-all":
		// Not advertised; a client sending it anyway gets the plain
		// behaviour, which it can parse.
	default:
		return pktline.Errorf("unexpected fetch argument %q", pktline.Printable(line))
	}
	return nil
}

// checkDeepen refuses a request that limits depth both by a count and by
// a date or a ref, as git's upload-pack does, in v0 and v2 alike.
func (q *fetchRequest) checkDeepen() error {
	if q.depth > 0 && (q.deepenSince != 0 || len(q.deepenNot) > 0) {
		return pktline.Errorf("deepen and deepen-since (or deepen-not) cannot be used together")
	}
	return nil
}
