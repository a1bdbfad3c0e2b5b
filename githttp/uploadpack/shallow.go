package uploadpack

import (
	"context"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/depot/depot/githttp/pktline"
)

// shallowPlan is the outcome of a shallow request (gitprotocol-pack
// "Shallow Clone" / gitprotocol-v2 "shallow-info").
type shallowPlan struct {
	shallow    []plumbing.Hash // new shallow commits to tell the client
	unshallow  []plumbing.Hash // client shallow commits that get their parents
	cut        map[plumbing.Hash]bool
	extraWants []plumbing.Hash // parents of unshallowed commits
	extraEdges []plumbing.Hash // unshallowed commits, which the client has
}

// planShallow computes the new shallow boundary. The pack walk then stops at
// every commit in cut: the client's shallow commits and the new ones.
func planShallow(ctx context.Context, r *repo, q *fetchRequest, wantCommits []plumbing.Hash, rs *refSet) (*shallowPlan, error) {
	sp := &shallowPlan{cut: map[plumbing.Hash]bool{}}
	clientShallow := map[plumbing.Hash]bool{}
	var shallows []plumbing.Hash
	for _, h := range q.shallows {
		t, err := r.objectType(h)
		if err != nil {
			continue // a commit we do not have cannot bound anything here
		}
		if t != plumbing.CommitObject {
			return nil, pktline.Errorf("invalid shallow object %s", h)
		}
		if !clientShallow[h] {
			clientShallow[h] = true
			shallows = append(shallows, h)
		}
	}
	for h := range clientShallow {
		sp.cut[h] = true
	}
	if !q.deepen() {
		return sp, nil
	}

	var notShallow map[plumbing.Hash]bool
	var boundary []plumbing.Hash
	var err error
	switch {
	case q.depth == infiniteDepth && !r.isShallow():
		notShallow = clientShallow
	case q.depth == infiniteDepth:
		// The whole history here ends at the repository's own shallow
		// commits, which stay shallow on the client (git's deepen with
		// INFINITE_DEPTH in a shallow repository).
		boundary, notShallow, err = shallowByDepth(ctx, r, wantCommits, infiniteDepth)
	case q.depth > 0 && q.deepenRelative:
		boundary, notShallow, err = shallowByDepth(ctx, r, shallows, q.depth+1)
	case q.depth > 0:
		boundary, notShallow, err = shallowByDepth(ctx, r, wantCommits, q.depth)
	default:
		boundary, notShallow, err = shallowByRevList(ctx, r, q, wantCommits, rs)
	}
	if err != nil {
		return nil, err
	}
	for _, h := range boundary {
		if !clientShallow[h] && !notShallow[h] {
			sp.shallow = append(sp.shallow, h)
			sp.cut[h] = true
		}
	}
	for _, h := range shallows {
		if !notShallow[h] {
			continue
		}
		sp.unshallow = append(sp.unshallow, h)
		sp.extraEdges = append(sp.extraEdges, h)
		c, err := r.commit(h)
		if err != nil {
			return nil, err
		}
		sp.extraWants = append(sp.extraWants, c.Parents...)
	}
	return sp, nil
}

// shallowByDepth walks breadth first from heads (depth 1) and returns the
// commits at depth limit, which become shallow, and those above it. The
// repository's own shallow commits met above the limit are shallow too:
// their parents are not here (git's get_shallow_commits).
func shallowByDepth(ctx context.Context, r *repo, heads []plumbing.Hash, limit int) ([]plumbing.Hash, map[plumbing.Hash]bool, error) {
	depth := map[plumbing.Hash]int{}
	notShallow := map[plumbing.Hash]bool{}
	var boundary, level []plumbing.Hash
	for _, h := range heads {
		if _, ok := depth[h]; !ok {
			depth[h] = 1
			level = append(level, h)
		}
	}
	for d := 1; len(level) > 0; d++ {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		var next []plumbing.Hash
		for _, h := range level {
			if d >= limit || r.db.IsShallow(h) {
				boundary = append(boundary, h)
				continue
			}
			notShallow[h] = true
			c, err := r.commit(h)
			if err != nil {
				return nil, nil, err
			}
			for _, p := range c.Parents {
				if _, ok := depth[p]; !ok {
					depth[p] = d + 1
					next = append(next, p)
				}
			}
		}
		level = next
	}
	return boundary, notShallow, nil
}

// shallowByRevList implements deepen-since and deepen-not: the history kept
// is "git rev-list --max-age=since wants --not deepen-not", and its commits
// with a parent outside it become shallow, as do the repository's own
// shallow commits in it.
func shallowByRevList(ctx context.Context, r *repo, q *fetchRequest, wantCommits []plumbing.Hash, rs *refSet) ([]plumbing.Hash, map[plumbing.Hash]bool, error) {
	w := newCommitWalk(ctx, r, nil)
	w.since = q.deepenSince
	for _, h := range wantCommits {
		if err := w.push(h, false); err != nil {
			return nil, nil, err
		}
	}
	for _, name := range q.deepenNot {
		h, ok := rs.dwim(name)
		if !ok {
			return nil, nil, pktline.Errorf("ambiguous deepen-not: %s", name)
		}
		obj, typ, _, err := r.db.Peel(h)
		if err != nil {
			return nil, nil, err
		}
		if typ == plumbing.CommitObject {
			if err := w.push(obj, true); err != nil {
				return nil, nil, err
			}
		}
	}
	kept, err := w.run()
	if err != nil {
		return nil, nil, err
	}
	if len(kept) == 0 {
		return nil, nil, pktline.Errorf("no commits selected for shallow requests")
	}
	in := make(map[plumbing.Hash]bool, len(kept))
	for _, h := range kept {
		in[h] = true
	}
	var boundary []plumbing.Hash
	notShallow := map[plumbing.Hash]bool{}
	for _, h := range kept {
		shallow := r.db.IsShallow(h)
		for _, p := range r.commits[h].Parents {
			if !in[p] {
				shallow = true
				break
			}
		}
		if shallow {
			boundary = append(boundary, h)
		} else {
			notShallow[h] = true
		}
	}
	return boundary, notShallow, nil
}

// dwim resolves a short ref name the way git's expand_ref does for refs.
func (rs *refSet) dwim(name string) (plumbing.Hash, bool) {
	for _, full := range []string{name, "refs/" + name, "refs/tags/" + name, "refs/heads/" + name, "refs/remotes/" + name} {
		if full == "HEAD" {
			continue
		}
		if rf, ok := rs.find(full); ok {
			return rf.hash, true
		}
	}
	return plumbing.ZeroHash, false
}

// repoShallowSent lists the repository's own shallow commits that plan
// sends and that the client does not already know as shallow: a request
// that did not deepen learns from them where the history it gets ends
// (git's upload-pack sends them in shallow-info, from get_shallow_commits
// run on a shallow repository).
func repoShallowSent(r *repo, q *fetchRequest, plan *packPlan) []plumbing.Hash {
	if !r.isShallow() {
		return nil
	}
	client := map[plumbing.Hash]bool{}
	for _, h := range q.shallows {
		client[h] = true
	}
	var out []plumbing.Hash
	for _, o := range plan.objects {
		if o.typ == plumbing.CommitObject && r.db.IsShallow(o.hash) && !client[o.hash] {
			out = append(out, o.hash)
		}
	}
	return out
}
