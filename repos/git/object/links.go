package object

import "github.com/go-git/go-git/v5/plumbing"

// AppendLinks appends to dst the objects that an object of type typ with
// content b names, which a connectivity check or a walk of everything
// reachable follows: a commit's tree and parents, a tag's object, a
// tree's entries but gitlinks (their commits live in another repository).
// Blobs, and any other type, name nothing.
func AppendLinks(dst []plumbing.Hash, typ plumbing.ObjectType, b []byte) ([]plumbing.Hash, error) {
	switch typ {
	case plumbing.CommitObject:
		tree, rest, err := readTree(b)
		if err != nil {
			return dst, err
		}
		dst, _, err = appendParents(append(dst, tree), rest)
		return dst, err
	case plumbing.TagObject:
		obj, _, err := TagTarget(b)
		if err != nil {
			return dst, err
		}
		return append(dst, obj), nil
	case plumbing.TreeObject:
		it := Tree(b).Iter()
		for it.Next() {
			if e := it.Entry(); !e.Mode.IsGitlink() {
				dst = append(dst, e.ID)
			}
		}
		return dst, it.Err()
	}
	return dst, nil
}
