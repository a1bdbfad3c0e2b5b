package packfile

import (
	"cmp"
	"crypto/sha1"
	"encoding/binary"
	"io"
	"slices"

	"github.com/go-git/go-git/v5/plumbing"
)

// WriteRev writes the reverse index of a pack (gitformat-pack(5),
// "pack-*.rev"): the index positions of its objects in the order they are
// stored, which git (2.41 and later writes one by default) and bitmaps
// number objects by. offsets lists each object's offset by index
// position; packSum is the pack's checksum.
func WriteRev(w io.Writer, offsets []int64, packSum plumbing.Hash) error {
	pos := make([]uint32, len(offsets))
	for i := range pos {
		pos[i] = uint32(i)
	}
	slices.SortFunc(pos, func(a, b uint32) int { return cmp.Compare(offsets[a], offsets[b]) })
	b := make([]byte, 0, 12+4*len(pos)+2*len(packSum))
	b = append(b, "RIDX"...)
	b = binary.BigEndian.AppendUint32(b, 1) // version
	b = binary.BigEndian.AppendUint32(b, 1) // SHA-1
	for _, p := range pos {
		b = binary.BigEndian.AppendUint32(b, p)
	}
	b = append(b, packSum[:]...)
	sum := sha1.Sum(b)
	b = append(b, sum[:]...)
	_, err := w.Write(b)
	return err
}
