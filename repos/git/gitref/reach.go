package gitref

import (
	"container/heap"
	"crypto/sha256"
	"errors"
	"sync"

	"github.com/depot/depot/repos/git/bitmap"
	"github.com/go-git/go-git/v5/plumbing"
)

// An object id names a commit to the API only when a ref reaches the
// commit. A force push or a deleted branch leaves commits behind in the
// object store until gc prunes them; a reader of the repository must not
// be able to recover them by guessing ids or short prefixes.

// minAbbrev is the fewest hex digits an abbreviated object id may have,
// git's default core.abbrev: shorter prefixes would let a caller sweep the
// id space in a few thousand requests.
const minAbbrev = 7

// tipSet is what the refs of a repository point at, read once per call.
type tipSet struct {
	values  map[plumbing.Hash]bool // the values of refs and of a detached HEAD
	commits []plumbing.Hash        // the commits those values peel to
	key     [sha256.Size]byte      // the refs and their values, for the cache
}

// tipSet reads the refs (and a detached HEAD) and peels their values,
// using the peeled values that packed-refs records where it has them.
func (o *objects) tipSet() (*tipSet, error) {
	if o.tips != nil {
		return o.tips, nil
	}
	snap, err := readSnapshot(o.dir)
	if err != nil {
		return nil, err
	}
	refs := snap.Refs()
	if head, ok := snap.Head(); ok && head.Target == "" && !head.Hash.IsZero() {
		// A detached HEAD counts as a tip; "HEAD" sorts before "refs/".
		refs = append([]Ref{{Name: "HEAD", StoredRef: head}}, refs...)
	}
	ts := &tipSet{values: map[plumbing.Hash]bool{}}
	sum := sha256.New()
	seen := map[plumbing.Hash]bool{}
	for _, ref := range refs {
		r := ref.StoredRef
		if r.Hash.IsZero() {
			continue // a symbolic ref: its target is listed itself
		}
		sum.Write([]byte(ref.Name + " " + r.Hash.String() + "\n"))
		ts.values[r.Hash] = true
		c := r.Hash
		switch {
		case r.PeelKnown && !r.Peeled.IsZero():
			c = r.Peeled
		case !r.PeelKnown:
			peeled, typ, err := o.peel(r.Hash)
			if err != nil || typ != plumbing.CommitObject {
				continue // a missing object, or a tag of a tree or blob
			}
			c = peeled
		}
		if !seen[c] {
			seen[c] = true
			ts.commits = append(ts.commits, c)
		}
	}
	sum.Sum(ts.key[:0])
	o.tips = ts
	return ts, nil
}

// resolveID returns the commit that the object id h names: h itself when
// it is a commit that a ref reaches, or what an annotated tag that a ref
// points at peels to (ErrInvalid when that is no commit). Anything else is
// ErrNotFound, whether or not the repository holds the object.
func (o *objects) resolveID(h plumbing.Hash) (plumbing.Hash, error) {
	ts, err := o.tipSet()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if ts.values[h] {
		return o.peelCommit(h)
	}
	t, err := o.db.Type(h)
	if err != nil {
		return plumbing.ZeroHash, objectErr(h, err)
	}
	if t != plumbing.CommitObject {
		return plumbing.ZeroHash, ErrNotFound
	}
	ok, err := o.reachable(h, ts)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if !ok {
		return plumbing.ZeroHash, ErrNotFound
	}
	return h, nil
}

// reachKey identifies one answer of reachable: objects never change, and
// a ref update changes the refs' key.
type reachKey struct {
	dir    string
	refs   [sha256.Size]byte
	commit plumbing.Hash
}

// reached remembers the answers of reachable, so that asking about the
// same commit again costs no walk until a ref moves.
var reached = struct {
	sync.Mutex
	m map[reachKey]bool
}{m: map[reachKey]bool{}}

// maxReached bounds reached; past it an arbitrary answer is forgotten.
const maxReached = 4096

// reachable reports whether a ref reaches the commit target. A tip costs
// nothing; otherwise it walks from the tips, newest commit first, and
// stops as soon as it can tell:
//   - at target itself;
//   - at a commit with a reachability bitmap, which says at once whether
//     target is among its ancestors (a bitmapped pack holds every object
//     its bitmapped commits reach, so a target outside the pack is not);
//   - below a commit whose commit-graph generation is no greater than
//     target's, which cannot reach it.
//
// Answers are cached per set of refs.
func (o *objects) reachable(target plumbing.Hash, ts *tipSet) (bool, error) {
	for _, c := range ts.commits {
		if c == target {
			return true, nil
		}
	}
	key := reachKey{dir: o.dir, refs: ts.key, commit: target}
	reached.Lock()
	ok, known := reached.m[key]
	reached.Unlock()
	if known {
		return ok, nil
	}
	ok, err := o.walkTo(target, ts.commits)
	if err != nil {
		return false, err
	}
	reached.Lock()
	if len(reached.m) >= maxReached {
		for k := range reached.m {
			delete(reached.m, k)
			break
		}
	}
	reached.m[key] = ok
	reached.Unlock()
	return ok, nil
}

// walkTo is the walk of reachable.
func (o *objects) walkTo(target plumbing.Hash, tips []plumbing.Hash) (bool, error) {
	graph := o.db.CommitGraph()
	var targetGen uint32 // 0: not in the commit-graph, or no use
	if c, ok, err := graph.Lookup(target); ok && err == nil && c.Generation < maxGeneration {
		targetGen = c.Generation
	}
	pack, bm := o.db.Bitmap()
	targetBit := -1
	if bm != nil {
		if pos, ok := pack.Index.Find(target); ok {
			targetBit = pack.Rank(pos)
		}
	}
	q := &reachQueue{}
	seen := map[plumbing.Hash]bool{}
	push := func(h plumbing.Hash) error {
		if seen[h] {
			return nil
		}
		seen[h] = true
		n, err := o.reachNode(h)
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalid) {
			return nil // a shallow or damaged history ends here
		}
		if err != nil {
			return err
		}
		heap.Push(q, n)
		return nil
	}
	for _, t := range tips {
		if err := push(t); err != nil {
			return false, err
		}
	}
	for q.Len() > 0 {
		n := heap.Pop(q).(reachNode)
		if n.hash == target {
			return true, nil
		}
		if bm != nil {
			if pos, ok := pack.Index.Find(n.hash); ok && bm.Has(pos) {
				if targetBit < 0 {
					continue
				}
				s := bitmap.NewSet(bm.Len())
				if err := bm.OrCommit(s, pos); err == nil {
					if s.Has(targetBit) {
						return true, nil
					}
					continue
				}
				// A corrupt bitmap: walk on instead.
			}
		}
		if targetGen > 0 && n.gen > 0 && n.gen <= targetGen {
			continue
		}
		for _, p := range n.parents {
			if err := push(p); err != nil {
				return false, err
			}
		}
	}
	return false, nil
}

// maxGeneration is where commit-graph generations saturate
// (gitformat-commit-graph: GENERATION_NUMBER_V1_MAX); commits there may
// reach one another, so a target there prunes nothing.
const maxGeneration = 0x3FFFFFFF

// reachNode is one commit of the walk of reachable.
type reachNode struct {
	hash    plumbing.Hash
	time    int64
	gen     uint32 // commit-graph generation; 0 when unknown
	parents []plumbing.Hash
}

// reachNode reads the commit h from the commit-graph, with its
// generation, or else from the object store.
func (o *objects) reachNode(h plumbing.Hash) (reachNode, error) {
	if c, ok, err := o.db.CommitGraph().Lookup(h); ok && err == nil {
		return reachNode{hash: h, time: c.Time, gen: c.Generation, parents: c.Parents}, nil
	}
	c, err := o.db.CommitInfo(h)
	if err != nil {
		return reachNode{}, objectErr(h, err)
	}
	return reachNode{hash: h, time: c.Time, parents: c.Parents}, nil
}

// reachQueue is a heap of commits, newest committer date first.
type reachQueue []reachNode

func (q reachQueue) Len() int           { return len(q) }
func (q reachQueue) Less(i, j int) bool { return q[i].time > q[j].time }
func (q reachQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *reachQueue) Push(x any)        { *q = append(*q, x.(reachNode)) }
func (q *reachQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}
