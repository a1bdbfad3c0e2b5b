package gc

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/depot/depot/repos/git/gitref"
	"github.com/go-git/go-git/v5/plumbing"
)

// refTips returns the objects every ref, and a detached HEAD, point to,
// read through gitref, the one reader of refs on disk, in one snapshot
// that never misses a ref that a concurrent ref packing moves. Symbolic refs are
// left out: their targets are refs themselves. Peeled values need no
// entry of their own, as the walk reaches them through the tag objects.
func refTips(repoDir string) ([]plumbing.Hash, error) {
	snap, err := gitref.ReadSnapshot(repoDir)
	if err != nil {
		return nil, fmt.Errorf("gc: %w", err)
	}
	tips := make([]plumbing.Hash, 0, snap.Len()+1)
	for _, r := range snap.Refs() {
		if r.Target == "" {
			tips = append(tips, r.Hash)
		}
	}
	if head, ok := snap.Head(); ok && head.Target == "" {
		tips = append(tips, head.Hash) // detached
	}
	// Map order is random; a fixed order makes the new pack's layout
	// repeatable.
	sort.Slice(tips, func(i, j int) bool { return bytes.Compare(tips[i][:], tips[j][:]) < 0 })
	return tips, nil
}
