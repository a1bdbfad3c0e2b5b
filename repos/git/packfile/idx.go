// Package packfile reads and writes git's pack format: version 2 .idx files,
// .pack entries (headers, zlib data, deltas) and streamed packs, without
// holding a pack in memory (gitformat-pack(5)).
package packfile

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/go-git/go-git/v5/plumbing"
)

// ErrCorrupt is wrapped by every error about malformed pack or index data.
var ErrCorrupt = errors.New("corrupt pack data")

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// Layout of a version 2 index (gitformat-pack "pack-*.idx files have the
// following format"): magic, version, 256 fan-out counts, sorted names,
// CRC32s, 4-byte offsets (MSB set: index into the 8-byte table), 8-byte
// offsets, pack checksum, index checksum.
var idxMagic = []byte{0xff, 't', 'O', 'c'}

const (
	idxHeaderLen = 8 + 256*4
	hashLen      = 20
)

// Index is a parsed version 2 pack index. It refers to data, which must
// stay unchanged while the Index is used.
type Index struct {
	n       int
	fanout  []byte // 256 big-endian counts
	names   []byte
	crcs    []byte
	offsets []byte
	large   []byte
	// PackSum is the checksum of the pack this index describes.
	PackSum plumbing.Hash
}

// ParseIndex checks the layout of a version 2 index held in data and returns
// it. It does not verify the trailing checksum (see VerifyIndex).
func ParseIndex(data []byte) (*Index, error) {
	if len(data) < idxHeaderLen+2*hashLen {
		return nil, corruptf("index too short (%d bytes)", len(data))
	}
	if !bytes.Equal(data[:4], idxMagic) || binary.BigEndian.Uint32(data[4:]) != 2 {
		return nil, corruptf("not a version 2 pack index")
	}
	x := &Index{fanout: data[8:idxHeaderLen]}
	prev := uint32(0)
	for i := 0; i < 256; i++ {
		c := binary.BigEndian.Uint32(x.fanout[4*i:])
		if c < prev {
			return nil, corruptf("index fan-out not monotonic")
		}
		prev = c
	}
	x.n = int(prev)
	rest := len(data) - idxHeaderLen - 2*hashLen
	if x.n > rest/(hashLen+8) {
		return nil, corruptf("index too short for %d objects", x.n)
	}
	fixed := x.n * (hashLen + 8)
	largeLen := rest - fixed
	if largeLen%8 != 0 {
		return nil, corruptf("index has a partial 64-bit offset table")
	}
	p := idxHeaderLen
	x.names = data[p : p+x.n*hashLen]
	p += x.n * hashLen
	x.crcs = data[p : p+x.n*4]
	p += x.n * 4
	x.offsets = data[p : p+x.n*4]
	p += x.n * 4
	x.large = data[p : p+largeLen]
	p += largeLen
	copy(x.PackSum[:], data[p:p+hashLen])
	for i := 0; i < x.n; i++ {
		o := binary.BigEndian.Uint32(x.offsets[4*i:])
		if o&0x80000000 != 0 && int(o&0x7fffffff) >= largeLen/8 {
			return nil, corruptf("index offset %d points past the 64-bit table", i)
		}
	}
	return x, nil
}

// VerifyIndex checks the SHA-1 trailer of index data.
func VerifyIndex(data []byte) error {
	if len(data) < hashLen {
		return corruptf("index too short")
	}
	sum := sha1.Sum(data[:len(data)-hashLen])
	if !bytes.Equal(sum[:], data[len(data)-hashLen:]) {
		return corruptf("index checksum mismatch")
	}
	return nil
}

// Count returns the number of objects in the index.
func (x *Index) Count() int { return x.n }

// Find returns the position of h in the index, sorted by name.
func (x *Index) Find(h plumbing.Hash) (int, bool) {
	lo := 0
	if h[0] > 0 {
		lo = int(binary.BigEndian.Uint32(x.fanout[4*(int(h[0])-1):]))
	}
	hi := int(binary.BigEndian.Uint32(x.fanout[4*int(h[0]):]))
	// Comparing the first 8 bytes as one word settles almost every step.
	key := binary.BigEndian.Uint64(h[:8])
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		name := x.names[m*hashLen : m*hashLen+hashLen]
		c := 0
		if k := binary.BigEndian.Uint64(name); k < key {
			c = -1
		} else if k > key {
			c = 1
		} else {
			c = bytes.Compare(name[8:], h[8:])
		}
		switch c {
		case 0:
			return m, true
		case -1:
			lo = m + 1
		default:
			hi = m
		}
	}
	return lo, false
}

// Name returns the object id at position i.
func (x *Index) Name(i int) plumbing.Hash {
	var h plumbing.Hash
	copy(h[:], x.names[i*hashLen:])
	return h
}

// CRC returns the CRC32 of the packed entry at position i.
func (x *Index) CRC(i int) uint32 { return binary.BigEndian.Uint32(x.crcs[4*i:]) }

// Offset returns the pack offset of the entry at position i.
func (x *Index) Offset(i int) int64 {
	o := binary.BigEndian.Uint32(x.offsets[4*i:])
	if o&0x80000000 == 0 {
		return int64(o)
	}
	j := int(o & 0x7fffffff)
	return int64(binary.BigEndian.Uint64(x.large[8*j:]) & (1<<63 - 1))
}

// IndexEntry is one object for WriteIndex.
type IndexEntry struct {
	Hash   plumbing.Hash
	Offset int64
	CRC    uint32
}

// WriteIndex writes a version 2 index of entries (sorted in place by name)
// for the pack whose checksum is packSum, and returns the index checksum.
func WriteIndex(w io.Writer, entries []IndexEntry, packSum plumbing.Hash) (plumbing.Hash, error) {
	sort.Slice(entries, func(i, j int) bool { return bytes.Compare(entries[i].Hash[:], entries[j].Hash[:]) < 0 })
	for i := 1; i < len(entries); i++ {
		if entries[i].Hash == entries[i-1].Hash {
			return plumbing.ZeroHash, fmt.Errorf("packfile: duplicate object %s in index", entries[i].Hash)
		}
	}
	sum := sha1.New()
	bw := &errWriter{w: io.MultiWriter(w, sum)}
	var b [8]byte
	bw.write(idxMagic)
	binary.BigEndian.PutUint32(b[:4], 2)
	bw.write(b[:4])
	j := 0
	for i := 0; i < 256; i++ {
		for j < len(entries) && int(entries[j].Hash[0]) <= i {
			j++
		}
		binary.BigEndian.PutUint32(b[:4], uint32(j))
		bw.write(b[:4])
	}
	for _, e := range entries {
		bw.write(e.Hash[:])
	}
	for _, e := range entries {
		binary.BigEndian.PutUint32(b[:4], e.CRC)
		bw.write(b[:4])
	}
	var large []int64
	for _, e := range entries {
		o := uint32(e.Offset)
		if e.Offset >= 0x80000000 {
			o = 0x80000000 | uint32(len(large))
			large = append(large, e.Offset)
		}
		binary.BigEndian.PutUint32(b[:4], o)
		bw.write(b[:4])
	}
	for _, o := range large {
		binary.BigEndian.PutUint64(b[:], uint64(o))
		bw.write(b[:])
	}
	bw.write(packSum[:])
	if bw.err != nil {
		return plumbing.ZeroHash, bw.err
	}
	var h plumbing.Hash
	copy(h[:], sum.Sum(nil))
	_, err := w.Write(h[:])
	return h, err
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) write(b []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
}
