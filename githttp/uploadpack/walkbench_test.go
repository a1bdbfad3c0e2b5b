package uploadpack

import (
	"context"
	"fmt"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// BenchmarkPlanWalk measures planning a full clone by walking commits and
// trees (no bitmap), the path of shallow, filtered and tree-want fetches:
// every commit of the generated repository is parsed and every tree
// iterated.
func BenchmarkPlanWalk(b *testing.B) {
	benchWalk(b, func(r *repo, tip plumbing.Hash) error {
		p, err := planWalk(context.Background(), r, planInput{wants: []plumbing.Hash{tip}})
		if err == nil && len(p.objects) < 1000 {
			err = fmt.Errorf("planned %d objects", len(p.objects))
		}
		return err
	})
}

// BenchmarkShallowDepth measures the shallow boundary of a depth-500
// request: commit parents only, no trees.
func BenchmarkShallowDepth(b *testing.B) {
	benchWalk(b, func(r *repo, tip plumbing.Hash) error {
		_, _, err := shallowByDepth(context.Background(), r, []plumbing.Hash{tip}, 500)
		return err
	})
}

// benchWalk runs walk from the tip of a generated repository of 1000
// commits, with a new repo (and so an empty commit cache) each time.
func benchWalk(b *testing.B, walk func(r *repo, tip plumbing.Hash) error) {
	dir, commits := genRepo(b, 1000)
	tip := plumbing.NewHash(commits[len(commits)-1])
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		r, err := openRepo(dir)
		if err != nil {
			b.Fatal(err)
		}
		err = walk(r, tip)
		r.close()
		if err != nil {
			b.Fatal(err)
		}
	}
}
