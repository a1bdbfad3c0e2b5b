package gitref

import (
	"container/heap"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/depot/depot/repos/git/object"
	"github.com/go-git/go-git/v5/plumbing"
)

// Signature is the author or committer of a commit.
type Signature struct {
	Name  string
	Email string
	// When carries the time zone offset the commit recorded.
	When time.Time
}

// Commit is one commit of a history.
type Commit struct {
	ID string
	// Message is the full message, without the trailing newlines git
	// stores after it.
	Message   string
	Author    Signature
	Committer Signature
	// Parents are the parent ids in the commit's order.
	Parents []string
}

// Commits returns the history that starts at ref, in the order of a plain
// `git log`: newest committer date first, every commit once, parents of a
// merge included. It leaves out the first skip commits and returns at most
// limit; more reports whether commits follow the last one returned.
//
// ref is what Resolve accepts; "" is HEAD, and an empty repository (or an
// unborn default branch) then has an empty history rather than an error.
// Otherwise an unknown ref is ErrNotFound. A negative skip or a limit
// below 1 is ErrInvalid.
func Commits(dir, ref string, skip, limit int) (list []Commit, more bool, err error) {
	if skip < 0 || limit < 1 {
		return nil, false, fmt.Errorf("gitref: log %q: %w: skip %d, limit %d", ref, ErrInvalid, skip, limit)
	}
	o, err := openObjects(dir)
	if err != nil {
		return nil, false, fmt.Errorf("gitref: log %q: %w", ref, err)
	}
	defer o.close()
	start, err := o.resolve(ref)
	if ref == "" && errors.Is(err, ErrNotFound) {
		return []Commit{}, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("gitref: log %q: %w", ref, err)
	}
	list, more, err = o.log(start, skip, limit)
	if err != nil {
		return nil, false, fmt.Errorf("gitref: log %q: %w", ref, err)
	}
	return list, more, nil
}

// log walks history from start as git's revision walk does without
// options (revision.c, get_revision_1): pop the newest commit of the
// queue, then queue each of its parents not seen yet. Commits of equal
// date leave in the order they entered, as commit_list_insert_by_date
// keeps them.
func (o *objects) log(start plumbing.Hash, skip, limit int) ([]Commit, bool, error) {
	first, err := o.commit(start)
	if err != nil {
		return nil, false, err
	}
	q := &commitQueue{}
	seen := map[plumbing.Hash]bool{start: true}
	heap.Push(q, queued{start, first, 0})
	seq := 1
	list := []Commit{}
	for n := 0; q.Len() > 0; n++ {
		if len(list) == limit {
			return list, true, nil
		}
		it := heap.Pop(q).(queued)
		for _, p := range it.c.Parents {
			if seen[p] {
				continue
			}
			seen[p] = true
			pc, err := o.commit(p)
			if err != nil {
				return nil, false, err
			}
			heap.Push(q, queued{p, pc, seq})
			seq++
		}
		if n >= skip {
			list = append(list, toCommit(it.id, it.c))
		}
	}
	return list, false, nil
}

func toCommit(id plumbing.Hash, c *object.Commit) Commit {
	parents := make([]string, len(c.Parents))
	for i, p := range c.Parents {
		parents[i] = p.String()
	}
	return Commit{
		ID:        id.String(),
		Message:   strings.TrimRight(c.Message, "\n"),
		Author:    Signature(c.Author),
		Committer: Signature(c.Committer),
		Parents:   parents,
	}
}

type queued struct {
	id  plumbing.Hash
	c   *object.Commit
	seq int
}

// commitQueue is a heap of commits, newest committer date first, then
// first queued first.
type commitQueue []queued

func (q commitQueue) Len() int { return len(q) }
func (q commitQueue) Less(i, j int) bool {
	a, b := q[i].c.Committer.When.Unix(), q[j].c.Committer.When.Unix()
	if a != b {
		return a > b
	}
	return q[i].seq < q[j].seq
}
func (q commitQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *commitQueue) Push(x any)   { *q = append(*q, x.(queued)) }
func (q *commitQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// Size returns the bytes the objects of the repository take on disk:
// loose objects and everything in objects/pack, as GitHub reports a
// repository's size. Temporary files and pushes still in quarantine are
// not counted.
func Size(dir string) (int64, error) {
	root := filepath.Join(dir, "objects")
	var total int64
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p != root && errors.Is(err, fs.ErrNotExist) {
				return nil // removed by a concurrent gc or repack
			}
			return err
		}
		if p == root {
			return nil
		}
		rel := filepath.ToSlash(p[len(root)+1:])
		if d.IsDir() {
			if rel == "pack" || (len(rel) == 2 && object.IsHex(rel)) {
				return nil
			}
			return filepath.SkipDir
		}
		if strings.HasPrefix(d.Name(), "tmp_") || !d.Type().IsRegular() || !strings.Contains(rel, "/") {
			return nil
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed by a concurrent gc or repack
		}
		if err != nil {
			return err
		}
		total += fi.Size()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("gitref: size: %w", err)
	}
	return total, nil
}
