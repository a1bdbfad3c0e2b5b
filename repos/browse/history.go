package browse

import (
	"container/heap"
	"errors"
	"fmt"
	"strings"

	"github.com/depot/depot/repos/git/object"
	"github.com/go-git/go-git/v5/plumbing"
)

// MaxPageSize bounds a page of history, as the API bounds its pages.
const MaxPageSize = 1000

// CommitSummary is one line of a history page.
type CommitSummary struct {
	ID      plumbing.Hash
	Short   string // ShortID(ID)
	Author  object.Signature
	Subject string // the first paragraph on one line, as git's %s
	Parents []plumbing.Hash
}

// HistoryPage is one page of history.
type HistoryPage struct {
	Commits []CommitSummary
	// Next is the skip that gives the next page, 0 when this page is the
	// last. A page is named by the commit the walk starts at and a skip,
	// not by a commit inside it: commits of merged branches interleave,
	// so the rest of a history is not the history of any one commit.
	Next int
}

// History returns commits from commit in the order of git log (newest
// committer date first, merged branches included), leaving out the
// first skip and returning at most limit. With a path ("" for none) it
// returns what `git log -- path` does: commits that changed the file or
// directory, with git's history simplification (a merge that kept one
// parent's version is left out, and only that parent followed).
//
// A negative skip or a limit outside 1..MaxPageSize is ErrInvalid. The
// walk costs O(skip + limit) commits: a handler may bound skip.
func (r *Repo) History(commit plumbing.Hash, path string, skip, limit int) (*HistoryPage, error) {
	if skip < 0 || limit < 1 || limit > MaxPageSize {
		return nil, fmt.Errorf("browse: history: skip %d, limit %d: %w", skip, limit, ErrInvalid)
	}
	w := &walker{r: r, path: path, ids: map[plumbing.Hash]plumbing.Hash{}, seen: map[plumbing.Hash]bool{commit: true}}
	if err := w.push(commit); err != nil {
		return nil, err
	}
	page := &HistoryPage{}
	for n := 0; w.q.Len() > 0; {
		id, err := w.next()
		if err != nil {
			return nil, err
		}
		if id.IsZero() {
			continue // not a change of the path
		}
		if n++; n <= skip {
			continue
		}
		if len(page.Commits) == limit {
			page.Next = skip + limit
			break
		}
		s, err := r.summary(id)
		if err != nil {
			return nil, err
		}
		page.Commits = append(page.Commits, s)
	}
	return page, nil
}

// summary reads the commit id in full for its page line.
func (r *Repo) summary(id plumbing.Hash) (CommitSummary, error) {
	c, err := r.db.Commit(id)
	if err != nil {
		return CommitSummary{}, objectErr("commit "+id.String(), err)
	}
	return CommitSummary{ID: id, Short: ShortID(id), Author: c.Author, Subject: Subject(c.Message), Parents: c.Parents}, nil
}

// Subject is a commit message's subject as git's %s gives it
// (pretty.c, format_subject): the first paragraph after any blank lines,
// its lines stripped of trailing white space and joined by spaces.
func Subject(msg string) string {
	var parts []string
	for _, line := range strings.Split(msg, "\n") {
		line = strings.TrimRight(line, " \t\r\f\v")
		if line == "" {
			if len(parts) > 0 {
				break
			}
			continue
		}
		parts = append(parts, line)
	}
	return strings.Join(parts, " ")
}

// walker walks history as git's revision walk does without options
// (revision.c, get_revision_1 and try_to_simplify_commit): pop the newest
// commit of the queue, then queue its parents not seen yet. Commits of
// equal date leave in the order they entered. Trees and parents come
// from CommitInfo, so a commit-graph spares parsing commits that the page
// does not show.
type walker struct {
	r    *Repo
	path string
	q    walkQueue
	seq  int
	seen map[plumbing.Hash]bool
	ids  map[plumbing.Hash]plumbing.Hash // commit → object at path (zero: absent)
}

type walkItem struct {
	id   plumbing.Hash
	info object.CommitInfo
	seq  int
}

func (w *walker) push(id plumbing.Hash) error {
	info, err := w.r.db.CommitInfo(id)
	if err != nil {
		return objectErr("commit "+id.String(), err)
	}
	heap.Push(&w.q, walkItem{id, info, w.seq})
	w.seq++
	return nil
}

// next pops the next commit and queues its parents. It returns the
// commit when the walk shows it, and the zero id when the path limits
// it away.
func (w *walker) next() (plumbing.Hash, error) {
	it := heap.Pop(&w.q).(walkItem)
	parents := it.info.Parents
	shown := true
	if w.path != "" {
		here, err := w.pathID(it.id, it.info.Tree)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if len(parents) == 0 {
			shown = !here.IsZero() // compared with the empty tree
		}
		for _, p := range parents {
			info, err := w.r.db.CommitInfo(p)
			if err != nil {
				return plumbing.ZeroHash, objectErr("commit "+p.String(), err)
			}
			there, err := w.pathID(p, info.Tree)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			if there == here {
				// TREESAME to p: follow p alone, as git's history
				// simplification does, and show nothing.
				parents, shown = []plumbing.Hash{p}, false
				break
			}
		}
	}
	for _, p := range parents {
		if w.seen[p] {
			continue
		}
		w.seen[p] = true
		if err := w.push(p); err != nil {
			return plumbing.ZeroHash, err
		}
	}
	if !shown {
		return plumbing.ZeroHash, nil
	}
	return it.id, nil
}

// pathID returns the object at the walk's path in commit, whose tree is
// tree: zero when the path does not exist there.
func (w *walker) pathID(commit, tree plumbing.Hash) (plumbing.Hash, error) {
	if id, ok := w.ids[commit]; ok {
		return id, nil
	}
	_, id, err := w.r.lookupIn(tree, w.path)
	if errors.Is(err, ErrNotFound) {
		id, err = plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, err
	}
	w.ids[commit] = id
	return id, nil
}

// walkQueue is a heap of commits, newest committer date first, then
// first queued first.
type walkQueue []walkItem

func (q walkQueue) Len() int { return len(q) }
func (q walkQueue) Less(i, j int) bool {
	if q[i].info.Time != q[j].info.Time {
		return q[i].info.Time > q[j].info.Time
	}
	return q[i].seq < q[j].seq
}
func (q walkQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *walkQueue) Push(x any)   { *q = append(*q, x.(walkItem)) }
func (q *walkQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}
