package gc

import (
	"crypto/sha1"
	"encoding/binary"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// TestObjectSetIndex adds ids to an object set, some of them sharing their
// first twelve bytes (the table's placing bits and tag) so that they probe
// past each other, and finds each again, and none it lacks.
func TestObjectSetIndex(t *testing.T) {
	for _, tc := range []struct {
		name   string
		n      int
		shared int // ids of every shared-prefix group
	}{
		{"Few", 10, 1},
		{"Growing", 50000, 1},
		{"SharedPrefixes", 20000, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := func(k int) plumbing.Hash {
				h := plumbing.Hash(sha1.Sum(binary.BigEndian.AppendUint64(nil, uint64(k/tc.shared))))
				binary.BigEndian.PutUint32(h[16:], uint32(k%tc.shared))
				return h
			}
			s := newObjectSet()
			for k := range tc.n {
				i, added := s.add(id(k), plumbing.BlobObject)
				if !added || i != int32(k) {
					t.Fatalf("add(%d) = %d, %v; want %d, true", k, i, added, k)
				}
				if i, added := s.add(id(k), plumbing.BlobObject); added || i != int32(k) {
					t.Fatalf("add(%d) again = %d, %v; want %d, false", k, i, added, k)
				}
			}
			for k := range tc.n {
				if i, ok := s.index(id(k)); !ok || i != int32(k) {
					t.Fatalf("index(%d) = %d, %v; want %d, true", k, i, ok, k)
				}
				if s.list[k] != id(k) {
					t.Fatalf("list[%d] = %s; want %s", k, s.list[k], id(k))
				}
			}
			for k := tc.n; k < tc.n+1000; k++ {
				if i, ok := s.index(id(k)); ok {
					t.Fatalf("index of an id never added = %d, true", i)
				}
			}
		})
	}
}
