package bitmap

import (
	"encoding/binary"
	"iter"
	"math/bits"
)

// Set is a bitset over a pack's objects in pack order (bit i is the i-th
// entry by offset).
type Set []uint64

// NewSet returns an empty set for n objects.
func NewSet(n int) Set { return make(Set, (n+63)/64) }

// Has reports whether bit i is set.
func (s Set) Has(i int) bool { return s[i>>6]&(1<<(uint(i)&63)) != 0 }

// Add sets bit i.
func (s Set) Add(i int) { s[i>>6] |= 1 << (uint(i) & 63) }

// Or adds every bit of o to s.
func (s Set) Or(o Set) {
	for i := range min(len(s), len(o)) {
		s[i] |= o[i]
	}
}

// AndNot removes every bit of o from s.
func (s Set) AndNot(o Set) {
	for i := range min(len(s), len(o)) {
		s[i] &^= o[i]
	}
}

// Count returns the number of bits set.
func (s Set) Count() int {
	n := 0
	for _, w := range s {
		n += bits.OnesCount64(w)
	}
	return n
}

// Each calls fn with every set bit, in ascending order.
func (s Set) Each(fn func(i int)) {
	for wi, w := range s {
		for w != 0 {
			fn(wi<<6 + bits.TrailingZeros64(w))
			w &= w - 1
		}
	}
}

// All yields every set bit, in ascending order.
func (s Set) All() iter.Seq[int] {
	return func(yield func(int) bool) {
		for wi, w := range s {
			for w != 0 {
				if !yield(wi<<6 + bits.TrailingZeros64(w)) {
					return
				}
				w &= w - 1
			}
		}
	}
}

// ewah is one serialized EWAH bitmap (gitformat-bitmap, Appendix A), checked
// for layout when parsed.
type ewah struct {
	bits  uint32
	words []byte // 8-byte big-endian words
}

// ewahLen is the fixed part of a serialized EWAH: bit count, word count and
// the trailing RLW position.
const ewahLen = 4 + 4 + 4

// parseEWAH reads the EWAH at the start of b and returns it and its length.
func parseEWAH(b []byte) (ewah, int, error) {
	if len(b) < 8 {
		return ewah{}, 0, corruptf("truncated ewah header")
	}
	nbits := binary.BigEndian.Uint32(b)
	nwords := binary.BigEndian.Uint32(b[4:])
	if uint64(nwords) > uint64(len(b)-ewahLen)/8 {
		return ewah{}, 0, corruptf("ewah of %d words overruns the file", nwords)
	}
	end := 8 + int(nwords)*8
	return ewah{bits: nbits, words: b[8:end]}, end + 4, nil
}

// xorInto applies e to dst, XOR-ing in its bits word by word; with dst all
// zero it decodes e. A run or literal past the end of dst is corrupt.
func (e ewah) xorInto(dst Set) error {
	w := e.words
	n := len(w) / 8
	pos := 0
	for i := 0; i < n; {
		rlw := binary.BigEndian.Uint64(w[8*i:])
		i++
		run := int(rlw >> 1 & 0xffffffff)
		lit := int(rlw >> 33)
		if run > len(dst)-pos || lit > n-i || lit > len(dst)-pos-run {
			return corruptf("ewah run past the end of the bitmap")
		}
		if rlw&1 != 0 {
			for k := pos; k < pos+run; k++ {
				dst[k] ^= ^uint64(0)
			}
		}
		pos += run
		for k := range lit {
			dst[pos+k] ^= binary.BigEndian.Uint64(w[8*(i+k):])
		}
		pos += lit
		i += lit
	}
	return nil
}
