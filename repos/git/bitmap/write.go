package bitmap

import (
	"crypto/sha1"
	"encoding/binary"
	"io"

	"github.com/go-git/go-git/v5/plumbing"
)

// appendEWAH appends s, n bits long, EWAH-compressed (gitformat-bitmap,
// Appendix A): each run of all-zero or all-one words becomes one RLW, the
// words after it literals.
func appendEWAH(dst []byte, s Set, n int) []byte {
	nw := (n + 63) / 64
	s = s[:min(len(s), nw)]
	var words []uint64
	lastRLW := 0
	for i := 0; i < len(s); {
		run, bit := 0, uint64(0)
		if s[i] == ^uint64(0) {
			bit = 1
		}
		for i < len(s) && (s[i] == 0 || s[i] == ^uint64(0)) && (s[i] == 0) == (bit == 0) && run < 1<<32-1 {
			run++
			i++
		}
		lit := 0
		for i+lit < len(s) && s[i+lit] != 0 && s[i+lit] != ^uint64(0) && lit < 1<<31-1 {
			lit++
		}
		lastRLW = len(words)
		words = append(words, bit|uint64(run)<<1|uint64(lit)<<33)
		words = append(words, s[i:i+lit]...)
		i += lit
	}
	if len(words) == 0 {
		words = append(words, 0)
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(n))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(words)))
	for _, w := range words {
		dst = binary.BigEndian.AppendUint64(dst, w)
	}
	return binary.BigEndian.AppendUint32(dst, uint32(lastRLW))
}

// WriteEntry is one commit's bitmap for Write.
type WriteEntry struct {
	Pos  int // the commit's position in the pack index
	Bits Set // what it reaches, in pack order
}

// Write writes a version 1 .bitmap for a pack of n objects whose checksum
// is packSum: the type bitmaps (commits, trees, blobs, tags) and one
// bitmap per entry, none XOR-compressed, with no optional sections.
func Write(w io.Writer, packSum plumbing.Hash, n int, types [4]Set, entries []WriteEntry) error {
	h := sha1.New()
	mw := io.MultiWriter(w, h)
	b := []byte("BITM")
	b = binary.BigEndian.AppendUint16(b, 1)
	b = binary.BigEndian.AppendUint16(b, optFullDAG)
	b = binary.BigEndian.AppendUint32(b, uint32(len(entries)))
	b = append(b, packSum[:]...)
	for _, t := range types {
		b = appendEWAH(b, t, n)
	}
	for _, e := range entries {
		b = binary.BigEndian.AppendUint32(b, uint32(e.Pos))
		b = append(b, 0, 0) // no XOR offset, no flags
		b = appendEWAH(b, e.Bits, n)
		if len(b) > 1<<20 {
			if _, err := mw.Write(b); err != nil {
				return err
			}
			b = b[:0]
		}
	}
	if _, err := mw.Write(b); err != nil {
		return err
	}
	_, err := w.Write(h.Sum(nil))
	return err
}
