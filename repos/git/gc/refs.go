package gc

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/depot/depot/repos/git/gitref"
	"github.com/go-git/go-git/v5/plumbing"
)

// refTips returns the objects every ref, and a detached HEAD, point to,
// read through gitref, the one reader of refs on disk. Symbolic refs are
// left out: their targets are refs themselves. Peeled values need no
// entry of their own, as the walk reaches them through the tag objects.
func refTips(repoDir string) ([]plumbing.Hash, error) {
	refs, err := gitref.ListRefs(repoDir)
	if err != nil {
		return nil, fmt.Errorf("gc: %w", err)
	}
	tips := make([]plumbing.Hash, 0, len(refs)+1)
	for _, h := range refs {
		tips = append(tips, h)
	}
	if head, ok, err := gitref.ReadHead(repoDir); err == nil && ok && head.Target == "" {
		tips = append(tips, head.Hash) // detached
	}
	// Map order is random; a fixed order makes the new pack's layout
	// repeatable.
	sort.Slice(tips, func(i, j int) bool { return bytes.Compare(tips[i][:], tips[j][:]) < 0 })
	return tips, nil
}
