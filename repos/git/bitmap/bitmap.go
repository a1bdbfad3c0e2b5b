// Package bitmap reads git's pack reachability bitmaps (.bitmap files next
// to a pack, gitformat-bitmap v1) and answers "which objects of the pack are
// reachable from these commits" as bitsets over the pack's objects.
package bitmap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/go-git/go-git/v5/plumbing"
)

// ErrCorrupt is wrapped by every error about a malformed .bitmap file.
var ErrCorrupt = errors.New("bitmap: corrupt bitmap index")

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// Header flags (gitformat-bitmap "2-byte flags").
const (
	optFullDAG     = 0x1
	optHashCache   = 0x4
	optLookupTable = 0x10
)

// maxXOROffset is the format's hard limit on an entry's XOR offset.
const maxXOROffset = 160

// maxFileSize bounds the .bitmap read into memory.
const maxFileSize = 1 << 30

const headerLen = 4 + 2 + 2 + 4 + 20

// Bitmap is a parsed .bitmap file for one pack of n objects. It is
// read-only after Parse and safe for concurrent use.
type Bitmap struct {
	n        int
	types    [4]ewah // commits, trees, blobs, tags
	entries  []entry
	byCommit map[uint32]int32 // index position of a commit → entry
}

// entry is one commit's stored bitmap, XOR-ed against entry xor unless that
// is -1.
type entry struct {
	pos  uint32
	xor  int32
	bits ewah
}

// Open reads the .bitmap file at path for a pack of n objects whose
// checksum is packSum.
func Open(path string, n int, packSum plumbing.Hash) (*Bitmap, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileSize {
		return nil, corruptf("file larger than %d bytes", maxFileSize)
	}
	return Parse(data, n, packSum)
}

// Parse checks the layout of a .bitmap file held in data, which the Bitmap
// keeps, for a pack of n objects whose checksum is packSum.
func Parse(data []byte, n int, packSum plumbing.Hash) (*Bitmap, error) {
	if len(data) < headerLen+20 || string(data[:4]) != "BITM" {
		return nil, corruptf("not a bitmap file")
	}
	if v := binary.BigEndian.Uint16(data[4:]); v != 1 {
		return nil, corruptf("version %d", v)
	}
	flags := binary.BigEndian.Uint16(data[6:])
	if flags&optFullDAG == 0 {
		return nil, corruptf("bitmap without full closure")
	}
	count := binary.BigEndian.Uint32(data[8:])
	if !bytes.Equal(data[12:32], packSum[:]) {
		return nil, corruptf("bitmap belongs to another pack")
	}
	end := len(data) - 20 // trailing checksum
	if flags&optHashCache != 0 {
		end -= 4 * n
	}
	if flags&optLookupTable != 0 {
		end -= 16 * int(min(count, 1<<28))
	}
	if end < headerLen {
		return nil, corruptf("file too short for its tables")
	}
	b := &Bitmap{n: n}
	p := headerLen
	for i := range b.types {
		e, l, err := parseEWAH(data[p:end])
		if err != nil {
			return nil, err
		}
		b.types[i] = e
		p += l
	}
	if uint64(count) > uint64(end-p)/(6+ewahLen) {
		return nil, corruptf("%d entries cannot fit", count)
	}
	b.entries = make([]entry, count)
	b.byCommit = make(map[uint32]int32, count)
	for i := range b.entries {
		if end-p < 6 {
			return nil, corruptf("truncated entry %d", i)
		}
		pos := binary.BigEndian.Uint32(data[p:])
		xor := int(data[p+4])
		p += 6
		if int(pos) >= n {
			return nil, corruptf("entry %d names object %d of %d", i, pos, n)
		}
		if xor > i || xor > maxXOROffset {
			return nil, corruptf("entry %d has xor offset %d", i, xor)
		}
		e, l, err := parseEWAH(data[p:end])
		if err != nil {
			return nil, err
		}
		p += l
		x := int32(-1)
		if xor > 0 {
			x = int32(i - xor)
		}
		b.entries[i] = entry{pos: pos, xor: x, bits: e}
		b.byCommit[pos] = int32(i)
	}
	return b, nil
}

// Len returns the number of objects the bitmap covers.
func (b *Bitmap) Len() int { return b.n }

// Commits returns how many commits have a stored bitmap.
func (b *Bitmap) Commits() int { return len(b.entries) }

// Has reports whether the commit at index position pos has a stored bitmap.
func (b *Bitmap) Has(pos int) bool {
	_, ok := b.byCommit[uint32(pos)]
	return ok
}

// OrCommit adds to dst the objects reachable from the commit at index
// position pos, which must have a stored bitmap (see Has).
func (b *Bitmap) OrCommit(dst Set, pos int) error {
	i, ok := b.byCommit[uint32(pos)]
	if !ok {
		return fmt.Errorf("bitmap: no bitmap for object %d", pos)
	}
	s, err := b.Commit(int(i))
	if err != nil {
		return err
	}
	dst.Or(s)
	return nil
}

// Commit returns the decoded bitmap of entry i: its stored bits XOR-ed with
// those of the entries it refers to.
func (b *Bitmap) Commit(i int) (Set, error) {
	s := NewSet(b.n)
	for steps := 0; i >= 0; steps++ {
		if steps > len(b.entries) {
			return nil, corruptf("xor chain loops")
		}
		if err := b.entries[i].bits.xorInto(s); err != nil {
			return nil, err
		}
		i = int(b.entries[i].xor)
	}
	s.trim(b.n)
	return s, nil
}

// Type returns the objects of type t (commit, tree, blob or tag).
func (b *Bitmap) Type(t plumbing.ObjectType) (Set, error) {
	var i int
	switch t {
	case plumbing.CommitObject:
		i = 0
	case plumbing.TreeObject:
		i = 1
	case plumbing.BlobObject:
		i = 2
	case plumbing.TagObject:
		i = 3
	default:
		return nil, fmt.Errorf("bitmap: no type bitmap for %s", t)
	}
	s := NewSet(b.n)
	if err := b.types[i].xorInto(s); err != nil {
		return nil, err
	}
	s.trim(b.n)
	return s, nil
}

// trim clears bits at n and beyond, which a corrupt file may set.
func (s Set) trim(n int) {
	if n&63 != 0 && len(s) > 0 {
		s[len(s)-1] &= 1<<(uint(n)&63) - 1
	}
}
