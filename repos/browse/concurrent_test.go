package browse

import (
	"sync"
	"testing"
)

// TestConcurrentViews reads one repository from several goroutines, each
// with its own Repo as requests have, through the process-wide caches of
// listings and highlighted files; go test -race checks the sharing.
func TestConcurrentViews(t *testing.T) {
	g, commit := richRepo(t)
	want, err := g.open().Tree(commit, "")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8*4)
	for range 8 {
		wg.Go(func() {
			r, err := Open(g.dir)
			if err != nil {
				errs <- err
				return
			}
			defer r.Close()
			for range 4 {
				list, err := r.Tree(commit, "")
				if err != nil {
					errs <- err
					return
				}
				if len(list) != len(want) {
					t.Errorf("Tree has %d entries; want %d", len(list), len(want))
				}
				list[0].Name = "scribbled" // a caller's copy, not the cache's
				b, err := r.Blob(commit, "src/main.go")
				if err != nil {
					errs <- err
					return
				}
				if _, err := b.HTML(); err != nil {
					errs <- err
					return
				}
				if _, err := r.Commit(commit); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	again, err := g.open().Tree(commit, "")
	if err != nil {
		t.Fatal(err)
	}
	if again[0] != want[0] {
		t.Errorf("the cached listing changed: %+v; want %+v", again[0], want[0])
	}
}
