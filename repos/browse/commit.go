package browse

import (
	"fmt"

	"github.com/depot/depot/repos/git/object"
	"github.com/go-git/go-git/v5/plumbing"
)

// Limits of a commit's diff: past them files are listed without hunks,
// or left out, and the page says so.
const (
	// MaxDiffFiles is the most changed files a commit lists.
	MaxDiffFiles = 1000
	// MaxDiffFileSize is the largest blob, old or new, that is diffed.
	MaxDiffFileSize = 512 << 10
	// MaxDiffLines is the most hunk lines a commit shows in all; a file
	// whose hunks would pass it is listed without them (Omitted).
	MaxDiffLines = 20000
	// MaxDiffBytes bounds the work of one commit's diff: once the blobs
	// read for diffing add up to it, later files are not diffed
	// (Omitted, no counts).
	MaxDiffBytes = 8 << 20
)

// Status is what a commit did to a file.
type Status uint8

// The statuses of a changed file. Renames are not detected: a renamed
// file is a deletion and an addition, as git diff-tree shows it by
// default.
const (
	Added Status = iota + 1
	Deleted
	Modified
)

// String returns "added", "deleted" or "modified".
func (s Status) String() string {
	switch s {
	case Added:
		return "added"
	case Deleted:
		return "deleted"
	case Modified:
		return "modified"
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// FileDiff is one changed file of a commit.
type FileDiff struct {
	Path   string
	Status Status
	// OldMode and OldID are zero for an added file, NewMode and NewID
	// for a deleted one.
	OldMode, NewMode object.Mode
	OldID, NewID     plumbing.Hash
	// Binary: a side has a NUL among its first 8000 bytes, so there
	// are no hunks, and Adds and Dels are -1 (git's numstat "-").
	Binary bool
	// TooLarge: a side is larger than MaxDiffFileSize; there are no
	// hunks and Adds and Dels are -1. Omitted: the file's hunks would
	// pass what is left of the commit's MaxDiffLines, so they are left
	// out; Adds and Dels are counted, unless files before spent
	// MaxDiffBytes (-1), in which case the file was not diffed at all.
	TooLarge, Omitted bool
	Adds, Dels        int
	Hunks             []Hunk
}

// CommitDiff is one commit and its changes against its first parent,
// or against the empty tree for a root commit.
type CommitDiff struct {
	ID        plumbing.Hash
	Short     string
	Author    object.Signature
	Committer object.Signature
	Subject   string
	// Message is the whole message as stored.
	Message string
	Parents []plumbing.Hash
	// Files are the changed files in git's order (diff-tree -r).
	Files []FileDiff
	// Truncated: the commit changed more than MaxDiffFiles files, and
	// Files holds the first of them.
	Truncated bool
}

// Commit reads the commit id and diffs it against its first parent. id
// must be a commit that Resolve gave: Commit does not check that a ref
// reaches it.
func (r *Repo) Commit(id plumbing.Hash) (*CommitDiff, error) {
	c, err := r.db.Commit(id)
	if err != nil {
		return nil, objectErr("commit "+id.String(), err)
	}
	cd := &CommitDiff{
		ID: id, Short: ShortID(id), Author: c.Author, Committer: c.Committer,
		Subject: Subject(c.Message), Message: c.Message, Parents: c.Parents,
	}
	var old plumbing.Hash
	if len(c.Parents) > 0 {
		info, err := r.db.CommitInfo(c.Parents[0])
		if err != nil {
			return nil, objectErr("commit "+c.Parents[0].String(), err)
		}
		old = info.Tree
	}
	d := &treeDiffer{r: r, cd: cd, budget: MaxDiffLines, bytes: MaxDiffBytes}
	if err := d.trees("", old, c.Tree); err != nil && err != errTooMany {
		return nil, err
	}
	return cd, nil
}

// errTooMany stops a tree diff at MaxDiffFiles.
var errTooMany = fmt.Errorf("browse: more than %d files changed", MaxDiffFiles)

// treeDiffer diffs two trees as git diff-tree -r does: entries are
// matched by name in the trees' order, so that output follows git's.
type treeDiffer struct {
	r      *Repo
	cd     *CommitDiff
	budget int // hunk lines left
	bytes  int // blob bytes left to diff
}

// trees diffs the trees old and new (zero: the empty tree) at prefix.
func (d *treeDiffer) trees(prefix string, old, new plumbing.Hash) error {
	var a, b object.Tree
	var err error
	if !old.IsZero() {
		if a, err = d.r.db.Tree(old); err != nil {
			return objectErr("tree "+old.String(), err)
		}
	}
	if !new.IsZero() {
		if b, err = d.r.db.Tree(new); err != nil {
			return objectErr("tree "+new.String(), err)
		}
	}
	ia, ib := a.Iter(), b.Iter()
	okA, okB := ia.Next(), ib.Next()
	for okA || okB {
		var ea, eb object.TreeEntry
		if okA {
			ea = ia.Entry()
		}
		if okB {
			eb = ib.Entry()
		}
		var cmp int
		switch {
		case !okA:
			cmp = 1
		case !okB:
			cmp = -1
		default:
			cmp = compareEntries(ea, eb)
		}
		var err error
		switch {
		case cmp < 0:
			err = d.entry(prefix, &ea, nil)
			okA = ia.Next()
		case cmp > 0:
			err = d.entry(prefix, nil, &eb)
			okB = ib.Next()
		default:
			if ea.ID != eb.ID || ea.Mode != eb.Mode {
				err = d.entry(prefix, &ea, &eb)
			}
			okA, okB = ia.Next(), ib.Next()
		}
		if err != nil {
			return err
		}
	}
	if err := ia.Err(); err != nil {
		return fmt.Errorf("browse: tree %s: %w", old, err)
	}
	if err := ib.Err(); err != nil {
		return fmt.Errorf("browse: tree %s: %w", new, err)
	}
	return nil
}

// entry diffs one name present in the old tree (a), the new (b) or both,
// which are then both trees or both not.
func (d *treeDiffer) entry(prefix string, a, b *object.TreeEntry) error {
	e := a
	if e == nil {
		e = b
	}
	path := prefix + string(e.Name)
	if e.Mode.IsTree() {
		var old, new plumbing.Hash
		if a != nil {
			old = a.ID
		}
		if b != nil {
			new = b.ID
		}
		return d.trees(path+"/", old, new)
	}
	if len(d.cd.Files) == MaxDiffFiles {
		d.cd.Truncated = true
		return errTooMany
	}
	f := FileDiff{Path: path, Status: Modified}
	if a != nil {
		f.OldMode, f.OldID = a.Mode, a.ID
	} else {
		f.Status = Added
	}
	if b != nil {
		f.NewMode, f.NewID = b.Mode, b.ID
	} else {
		f.Status = Deleted
	}
	if err := d.content(&f); err != nil {
		return err
	}
	d.cd.Files = append(d.cd.Files, f)
	return nil
}

// content diffs the two sides of f.
func (d *treeDiffer) content(f *FileDiff) error {
	f.Adds, f.Dels = -1, -1
	if f.OldID == f.NewID {
		f.Adds, f.Dels = 0, 0 // a change of mode only
		return nil
	}
	if d.budget <= 0 || d.bytes <= 0 {
		f.Omitted = true
		return nil
	}
	old, err := d.side(f, f.OldMode, f.OldID)
	if err != nil || f.TooLarge {
		return err
	}
	new, err := d.side(f, f.NewMode, f.NewID)
	if err != nil || f.TooLarge {
		return err
	}
	d.bytes -= len(old) + len(new)
	if isBinary(old) || isBinary(new) {
		f.Binary = true
		return nil
	}
	hunks, adds, dels := diffText(old, new)
	f.Adds, f.Dels = adds, dels
	n := 0
	for _, h := range hunks {
		n += len(h.Lines)
	}
	if n > d.budget {
		// Shown, it would pass the commit's budget: leave its hunks
		// out, and still show smaller files after it while budget
		// remains.
		f.Omitted = true
		return nil
	}
	f.Hunks = hunks
	d.budget -= n
	return nil
}

// side returns the content of one side of a file: nothing when absent,
// git's "Subproject commit" line for a submodule, and otherwise the blob
// unless it is larger than MaxDiffFileSize (f.TooLarge).
func (d *treeDiffer) side(f *FileDiff, mode object.Mode, id plumbing.Hash) ([]byte, error) {
	switch {
	case id.IsZero():
		return nil, nil
	case mode.IsGitlink():
		return []byte("Subproject commit " + id.String() + "\n"), nil
	}
	_, size, err := d.r.db.Header(id)
	if err != nil {
		return nil, objectErr("blob "+id.String(), err)
	}
	if size > MaxDiffFileSize {
		f.TooLarge = true
		return nil, nil
	}
	return d.r.readBlob(id)
}

// compareEntries orders tree entries as git's base_name_compare does: by
// name, a tree's name followed by "/".
func compareEntries(a, b object.TreeEntry) int {
	n := min(len(a.Name), len(b.Name))
	for i := 0; i < n; i++ {
		if a.Name[i] != b.Name[i] {
			return int(a.Name[i]) - int(b.Name[i])
		}
	}
	ca, cb := nextByte(a, n), nextByte(b, n)
	return int(ca) - int(cb)
}

// nextByte is the byte of e's name at i, a tree's name ending in "/".
func nextByte(e object.TreeEntry, i int) byte {
	if i < len(e.Name) {
		return e.Name[i]
	}
	if e.Mode.IsTree() {
		return '/'
	}
	return 0
}
