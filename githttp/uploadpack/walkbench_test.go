package uploadpack

import (
	"context"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// BenchmarkPlanWalk measures planning a full clone by walking commits and
// trees (no bitmap), the path of shallow, filtered and tree-want fetches:
// every commit of the generated repository is parsed and every tree
// iterated.
func BenchmarkPlanWalk(b *testing.B) {
	dir, commits := genRepo(b, 1000)
	tip := plumbing.NewHash(commits[len(commits)-1])
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		r, err := openRepo(dir)
		if err != nil {
			b.Fatal(err)
		}
		p, err := planWalk(context.Background(), r, planInput{wants: []plumbing.Hash{tip}})
		r.close()
		if err != nil {
			b.Fatal(err)
		}
		if len(p.objects) < 1000 {
			b.Fatalf("planned %d objects", len(p.objects))
		}
	}
}

// BenchmarkShallowDepth measures the shallow boundary of a depth-500
// request: commit parents only, no trees.
func BenchmarkShallowDepth(b *testing.B) {
	dir, commits := genRepo(b, 1000)
	tip := plumbing.NewHash(commits[len(commits)-1])
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		r, err := openRepo(dir)
		if err != nil {
			b.Fatal(err)
		}
		_, _, err = shallowByDepth(context.Background(), r, []plumbing.Hash{tip}, 500)
		r.close()
		if err != nil {
			b.Fatal(err)
		}
	}
}
