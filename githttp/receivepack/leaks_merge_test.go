package receivepack

import (
	"bytes"
	"slices"
	"sync"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/depot/depot/tokens"
)

// TestSecretScansMerged runs one scanner per goroutine, as the indexer's
// workers do, and checks that the merged scan names every blob holding
// each secret, in one order whichever goroutine met it first.
func TestSecretScansMerged(t *testing.T) {
	shared, own := newSecret(t), newSecret(t)
	blob := func(i int) plumbing.Hash {
		return plumbing.ComputeHash(plumbing.BlobObject, []byte{byte(i)})
	}
	ss := newSecretScans(&Leaks{Prefix: tokens.SecretPrefix, Len: tokens.SecretLen, Tokens: tokens.Leaks{}})
	var wg sync.WaitGroup
	for g := range 4 {
		s := ss.scanner()
		wg.Go(func() {
			for i := range 50 {
				text := "x := \"" + shared + "\"\n"
				if g == 3 && i == 7 {
					text += own
				}
				s.Write([]byte(text))
				s.End(blob(g*50 + i))
			}
		})
	}
	wg.Wait()
	got := ss.merged()
	if n := len(got.found[shared]); n != 200 {
		t.Errorf("shared secret found in %d blobs; want 200", n)
	}
	if !slices.IsSortedFunc(got.found[shared], func(a, b plumbing.Hash) int { return bytes.Compare(a[:], b[:]) }) {
		t.Error("blobs of a secret are not in the order of their ids")
	}
	if want := []plumbing.Hash{blob(157)}; !slices.Equal(got.found[own], want) {
		t.Errorf("own secret found in %v; want %v", got.found[own], want)
	}
	if len(got.found) != 2 || got.over != 0 {
		t.Errorf("merged %d secrets, %d over; want 2, 0", len(got.found), got.over)
	}
}
