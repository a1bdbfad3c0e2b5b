package packfile

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/depot/depot/repos/git/internal/mapfile"
	"github.com/go-git/go-git/v5/plumbing"
)

// MaxInflate bounds the size of an object inflated into memory.
const MaxInflate = 1 << 31

// Pack is an open .pack file and its .idx. The idx is mapped read-only;
// the pack is read with pread only (Open), so that what the process has
// read of it stays in the kernel's page cache rather than in the process's
// resident memory: serving a repository costs memory that does not grow
// with it. OpenMapped maps the pack too, for a reader of the whole pack.
type Pack struct {
	// Path is the .pack file's path.
	Path  string
	Index *Index

	f    *os.File
	size int64 // of the pack file
	// data is the whole pack file when it is mapped (OpenMapped), nil
	// when it is read with pread.
	data      []byte
	idxData   []byte
	unmaps    []func() error
	closeOnce sync.Once

	revOnce sync.Once
	revOff  []int64  // entry offsets, ascending
	revPos  []uint32 // index position of each revOff entry

	rankOnce sync.Once
	rank     []uint32 // pack-order rank of each index position

	typesOnce sync.Once
	types     []atomic.Uint32 // resolved object types, 4 bits a rank
}

// Open opens the pack at path (".pack") with its ".idx" and checks that the
// two belong together.
func Open(path string) (*Pack, error) { return open(path, false) }

// OpenMapped is Open with the pack file mapped into memory as well: entries
// are then read from the mapping, without a system call each, as git reads
// packs. It is for a reader that goes through most of the pack (a repack),
// which would otherwise pay a pread per object; the pages it touches count
// in the process's resident memory until it closes the pack. Where mmap is
// not available the pack is read with pread as by Open. A mapped pack must
// not be read after Close, and nothing it returned from the mapping
// (Load's stored data, Mapped) may be kept past it.
func OpenMapped(path string) (*Pack, error) { return open(path, mapfile.CanMap) }

func open(path string, mapped bool) (*Pack, error) {
	p := &Pack{Path: path}
	idxf, err := os.Open(strings.TrimSuffix(path, ".pack") + ".idx")
	if err != nil {
		return nil, err
	}
	defer idxf.Close()
	fi, err := idxf.Stat()
	if err != nil {
		return nil, err
	}
	idxData, unmap, err := mapfile.Map(idxf, 0, fi.Size())
	if err != nil {
		return nil, err
	}
	p.unmaps = append(p.unmaps, unmap)
	p.idxData = idxData
	if p.Index, err = ParseIndex(idxData); err != nil {
		p.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if p.f, err = os.Open(path); err != nil {
		p.Close()
		return nil, err
	}
	if fi, err = p.f.Stat(); err != nil {
		p.Close()
		return nil, err
	}
	p.size = fi.Size()
	if err := p.checkHeader(); err != nil {
		p.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if mapped {
		data, unmap, err := mapfile.Map(p.f, 0, p.size)
		if err != nil {
			p.Close()
			return nil, err
		}
		p.unmaps = append(p.unmaps, unmap)
		p.data = data
	}
	return p, nil
}

// readAt fills b from off, from the mapping when there is one.
func (p *Pack) readAt(b []byte, off int64) (int, error) {
	if p.data != nil {
		if off < 0 || off > int64(len(p.data)) {
			return 0, io.EOF
		}
		n := copy(b, p.data[off:])
		if n < len(b) {
			return n, io.EOF
		}
		return n, nil
	}
	return p.f.ReadAt(b, off)
}

// section returns a reader of [from, to) of the pack.
func (p *Pack) section(from, to int64) io.Reader {
	if p.data != nil {
		return bytes.NewReader(p.data[from:to])
	}
	return bufioReader(io.NewSectionReader(p.f, from, to-from))
}

// Mapped returns [from, to) of a mapped pack without copying, valid until
// Close, and false when the pack is not mapped or the range is outside it.
func (p *Pack) Mapped(from, to int64) ([]byte, bool) {
	if p.data == nil || from < 0 || to < from || to > int64(len(p.data)) {
		return nil, false
	}
	return p.data[from:to:to], true
}

func (p *Pack) checkHeader() error {
	if p.size < 12+hashLen {
		return corruptf("not a pack file")
	}
	d := make([]byte, 12)
	sum := make([]byte, hashLen)
	if _, err := p.f.ReadAt(d, 0); err != nil {
		return fmt.Errorf("read pack header: %w", err)
	}
	if _, err := p.f.ReadAt(sum, p.size-hashLen); err != nil {
		return fmt.Errorf("read pack checksum: %w", err)
	}
	if string(d[:4]) != "PACK" {
		return corruptf("not a pack file")
	}
	if v := binary.BigEndian.Uint32(d[4:]); v != 2 && v != 3 {
		return corruptf("pack version %d", v)
	}
	if n := binary.BigEndian.Uint32(d[8:]); int(n) != p.Index.Count() {
		return corruptf("pack holds %d objects, index %d", n, p.Index.Count())
	}
	if !bytes.Equal(sum, p.Index.PackSum[:]) {
		return corruptf("pack checksum does not match its index")
	}
	for i := 0; i < p.Index.Count(); i++ {
		if o := p.Index.Offset(i); o < 12 || o >= p.size-hashLen {
			return corruptf("index offset %d outside the pack", o)
		}
	}
	return nil
}

// Close releases the pack.
func (p *Pack) Close() error {
	var err error
	p.closeOnce.Do(func() {
		for _, u := range p.unmaps {
			if e := u(); err == nil {
				err = e
			}
		}
		if p.f != nil {
			if e := p.f.Close(); err == nil {
				err = e
			}
		}
	})
	return err
}

// Size returns the pack file's size.
func (p *Pack) Size() int64 { return p.size }

// DataEnd returns the offset of the pack's trailing checksum.
func (p *Pack) DataEnd() int64 { return p.size - hashLen }

// Entry describes one packed entry as stored.
type Entry struct {
	Offset     int64
	Type       plumbing.ObjectType // a delta type for deltas
	Size       int64               // inflated size of the stored data
	DataOffset int64               // where the zlib stream starts
	BaseOffset int64               // OFS_DELTA: the base entry's offset
	BaseHash   plumbing.Hash       // REF_DELTA: the base object's id
}

// HeaderLen returns the length of the type-and-size header, without the
// delta base reference.
func HeaderLen(size int64) int {
	n := 1
	for size >>= 4; size > 0; size >>= 7 {
		n++
	}
	return n
}

// Entry reads the header of the entry at off without inflating anything.
func (p *Pack) Entry(off int64) (Entry, error) {
	end := p.DataEnd()
	if off < 12 || off >= end {
		return Entry{}, corruptf("entry offset %d outside the pack", off)
	}
	if p.data != nil {
		return ParseEntry(p.data[off:min(off+MaxHeaderLen, end)], off)
	}
	var buf [MaxHeaderLen]byte
	b := buf[:min(MaxHeaderLen, end-off)]
	if _, err := p.f.ReadAt(b, off); err != nil {
		return Entry{}, fmt.Errorf("read entry at %d: %w", off, err)
	}
	return ParseEntry(b, off)
}

// ParseEntry decodes the header of the entry at offset off from b, which
// holds the pack's bytes from off on: at least the whole header, which
// MaxHeaderLen bytes always hold.
func ParseEntry(b []byte, off int64) (Entry, error) {
	end := int64(len(b))
	e := Entry{Offset: off}
	if end == 0 || off < 12 {
		return Entry{}, corruptf("entry offset %d outside the pack", off)
	}
	var i int64
	c := b[i]
	i++
	e.Type = plumbing.ObjectType(c >> 4 & 7)
	size := uint64(c & 0x0f)
	for shift := uint(4); c&0x80 != 0; shift += 7 {
		if i >= end || shift > 57 {
			return Entry{}, corruptf("bad entry header at %d", off)
		}
		c = b[i]
		i++
		size |= uint64(c&0x7f) << shift
	}
	e.Size = int64(size)
	switch e.Type {
	case plumbing.CommitObject, plumbing.TreeObject, plumbing.BlobObject, plumbing.TagObject:
	case plumbing.OFSDeltaObject:
		if i >= end {
			return Entry{}, corruptf("truncated delta offset at %d", off)
		}
		c = b[i]
		i++
		dist := int64(c & 0x7f)
		for c&0x80 != 0 {
			if i >= end || dist >= 1<<55 {
				return Entry{}, corruptf("bad delta offset at %d", off)
			}
			c = b[i]
			i++
			dist = (dist+1)<<7 | int64(c&0x7f)
		}
		if dist <= 0 || dist > off-12 {
			return Entry{}, corruptf("delta base offset out of range at %d", off)
		}
		e.BaseOffset = off - dist
	case plumbing.REFDeltaObject:
		if i+hashLen > end {
			return Entry{}, corruptf("truncated delta base at %d", off)
		}
		copy(e.BaseHash[:], b[i:i+hashLen])
		i += hashLen
	default:
		return Entry{}, corruptf("bad object type %d at %d", e.Type, off)
	}
	e.DataOffset = off + i
	return e, nil
}

// MaxHeaderLen bounds the length of an entry's header with its delta base
// reference: ten bytes of type and size, then a 20-byte id at most.
const MaxHeaderLen = 10 + hashLen

func (p *Pack) buildRev() {
	n := p.Index.Count()
	p.revOff = make([]int64, n)
	p.revPos = make([]uint32, n)
	if p.Size() < 1<<32 {
		// Offset and position packed in one word sort without a comparator,
		// several times faster than sorting pairs.
		keys := make([]uint64, n)
		for i := range keys {
			keys[i] = uint64(p.Index.Offset(i))<<32 | uint64(i)
		}
		keys = radixSortHigh32(keys, make([]uint64, n))
		for i, k := range keys {
			p.revOff[i], p.revPos[i] = int64(k>>32), uint32(k)
		}
		return
	}
	type op struct {
		off int64
		pos uint32
	}
	ops := make([]op, n)
	for i := range ops {
		ops[i] = op{p.Index.Offset(i), uint32(i)}
	}
	slices.SortFunc(ops, func(a, b op) int {
		switch {
		case a.off < b.off:
			return -1
		case a.off > b.off:
			return 1
		}
		return 0
	})
	for i, o := range ops {
		p.revOff[i], p.revPos[i] = o.off, o.pos
	}
}

// radixSortHigh32 sorts keys by their upper 32 bits, which are distinct,
// with tmp as scratch, and returns whichever of the two holds the result.
func radixSortHigh32(keys, tmp []uint64) []uint64 {
	const bits = 11
	var count [1 << bits]int
	for shift := uint(32); shift < 64; shift += bits {
		clear(count[:])
		for _, k := range keys {
			count[k>>shift&(1<<bits-1)]++
		}
		sum := 0
		for i, c := range count {
			count[i] = sum
			sum += c
		}
		for _, k := range keys {
			d := k >> shift & (1<<bits - 1)
			tmp[count[d]] = k
			count[d]++
		}
		keys, tmp = tmp, keys
	}
	return keys
}

// EndOfRank returns the offset just past the entry of pack-order rank r.
func (p *Pack) EndOfRank(r int) int64 {
	p.revOnce.Do(p.buildRev)
	if r+1 < len(p.revOff) {
		return p.revOff[r+1]
	}
	return p.DataEnd()
}

// lookupOffset returns the rank of off among the entries' offsets.
func (p *Pack) lookupOffset(off int64) (int, bool) {
	p.revOnce.Do(p.buildRev)
	i, ok := slices.BinarySearch(p.revOff, off)
	return i, ok
}

// End returns the offset just past the entry at off.
func (p *Pack) End(off int64) (int64, error) {
	i, ok := p.lookupOffset(off)
	if !ok {
		return 0, corruptf("no entry at offset %d", off)
	}
	if i+1 < len(p.revOff) {
		return p.revOff[i+1], nil
	}
	return p.DataEnd(), nil
}

// RankAt returns the pack-order rank of the entry at off.
func (p *Pack) RankAt(off int64) (int, bool) { return p.lookupOffset(off) }

// OffsetOfRank returns the offset of the entry of pack-order rank r.
func (p *Pack) OffsetOfRank(r int) int64 {
	p.revOnce.Do(p.buildRev)
	return p.revOff[r]
}

// PositionAt returns the index position of the entry at off.
func (p *Pack) PositionAt(off int64) (int, bool) {
	i, ok := p.lookupOffset(off)
	if !ok {
		return 0, false
	}
	return int(p.revPos[i]), true
}

// ByOffset returns the index positions of all entries in pack order.
func (p *Pack) ByOffset() []uint32 {
	p.revOnce.Do(p.buildRev)
	return p.revPos
}

// Rank returns the pack-order rank (position by offset, as pack bitmaps
// number objects) of the entry at index position pos.
func (p *Pack) Rank(pos int) int {
	p.rankOnce.Do(func() {
		byOff := p.ByOffset()
		p.rank = make([]uint32, len(byOff))
		for r, i := range byOff {
			p.rank[i] = uint32(r)
		}
	})
	return int(p.rank[pos])
}

// KnownType returns the object type (never a delta type) recorded for the
// entry of rank r by SetKnownType: resolving a delta's type means reading
// every header down its chain, which is worth doing once.
func (p *Pack) KnownType(r int) (plumbing.ObjectType, bool) {
	p.typesOnce.Do(p.initTypes)
	if r < 0 || r>>3 >= len(p.types) {
		return plumbing.InvalidObject, false
	}
	t := plumbing.ObjectType(p.types[r>>3].Load() >> (uint(r&7) * 4) & 0xf)
	return t, t != plumbing.InvalidObject
}

// SetKnownType records t as the object type of the entry of rank r.
func (p *Pack) SetKnownType(r int, t plumbing.ObjectType) {
	p.typesOnce.Do(p.initTypes)
	if r < 0 || r>>3 >= len(p.types) || t <= 0 || t > 0xf {
		return
	}
	w := &p.types[r>>3]
	shift := uint(r&7) * 4
	for {
		old := w.Load()
		nw := old&^(0xf<<shift) | uint32(t)<<shift
		if old == nw || w.CompareAndSwap(old, nw) {
			return
		}
	}
}

func (p *Pack) initTypes() { p.types = make([]atomic.Uint32, (p.Index.Count()+7)/8) }

// NameAt returns the id of the entry at off.
func (p *Pack) NameAt(off int64) (plumbing.Hash, bool) {
	pos, ok := p.PositionAt(off)
	if !ok {
		return plumbing.ZeroHash, false
	}
	return p.Index.Name(pos), true
}

// Raw returns a copy of the stored bytes of [from, to). Prefer ReadAt into
// a buffer of one's own for streaming large ranges.
func (p *Pack) Raw(from, to int64) ([]byte, error) {
	if from < 0 || to < from || to > p.size {
		return nil, corruptf("range %d-%d outside the pack", from, to)
	}
	b := make([]byte, to-from)
	if _, err := p.readAt(b, from); err != nil {
		return nil, fmt.Errorf("read pack %d-%d: %w", from, to, err)
	}
	return b, nil
}

// ReadAt reads pack bytes (io.ReaderAt): with pread, or from the mapping
// of a mapped pack.
func (p *Pack) ReadAt(b []byte, off int64) (int, error) { return p.readAt(b, off) }

// CheckCRC compares the CRC32 of the entry at off, whose index position is
// pos, with the index.
func (p *Pack) CheckCRC(pos int, off, end int64) error {
	b, ok := p.Mapped(off, end)
	if !ok {
		var err error
		if b, err = p.Raw(off, end); err != nil {
			return err
		}
	}
	if crc32.ChecksumIEEE(b) != p.Index.CRC(pos) {
		return corruptf("CRC mismatch for entry at %d", off)
	}
	return nil
}

var zpool sync.Pool // of io.ReadCloser that implement zlib.Resetter

func getInflater(r io.Reader) (io.ReadCloser, error) {
	if z, ok := zpool.Get().(io.ReadCloser); ok {
		if err := z.(zlib.Resetter).Reset(r, nil); err != nil {
			zpool.Put(z)
			return nil, err
		}
		return z, nil
	}
	return zlib.NewReader(r)
}

// Inflate returns the inflated data of e, which must be e.Size bytes.
func (p *Pack) Inflate(e Entry) ([]byte, error) {
	if e.Size > MaxInflate {
		return nil, fmt.Errorf("packfile: entry at %d too large to inflate (%d bytes)", e.Offset, e.Size)
	}
	end, err := p.End(e.Offset)
	if err != nil {
		return nil, err
	}
	if e.DataOffset > end {
		return nil, corruptf("entry data outside the pack")
	}
	if b, ok := p.Mapped(e.DataOffset, end); ok {
		return inflate(bytes.NewReader(b), e.Size)
	}
	if n := end - e.DataOffset; n <= smallEntry {
		bp := smallPool.Get().(*[]byte)
		defer smallPool.Put(bp)
		b := (*bp)[:n]
		if _, err := p.f.ReadAt(b, e.DataOffset); err != nil {
			return nil, fmt.Errorf("read entry at %d: %w", e.Offset, err)
		}
		return inflate(bytes.NewReader(b), e.Size)
	}
	return inflate(p.section(e.DataOffset, end), e.Size)
}

// Load reads the entry at off with one pread: its header and, when the
// entry is at most smallEntry bytes, its stored (deflated) data, for
// InflateStored. For a larger entry stored is nil; Inflate streams it.
// A mapped pack returns any entry's stored data, from the mapping, valid
// until Close.
func (p *Pack) Load(off int64) (e Entry, stored []byte, err error) {
	end, err := p.End(off)
	if err != nil {
		return Entry{}, nil, err
	}
	if b, ok := p.Mapped(off, end); ok {
		if e, err = ParseEntry(b, off); err != nil {
			return Entry{}, nil, err
		}
		return e, b[e.DataOffset-off:], nil
	}
	if end-off > smallEntry {
		e, err = p.Entry(off)
		return e, nil, err
	}
	b := make([]byte, end-off)
	if _, err := p.f.ReadAt(b, off); err != nil {
		return Entry{}, nil, fmt.Errorf("read entry at %d: %w", off, err)
	}
	if e, err = ParseEntry(b, off); err != nil {
		return Entry{}, nil, err
	}
	return e, b[e.DataOffset-off:], nil
}

// InflateStored inflates the stored data of e that Load returned.
func InflateStored(e Entry, stored []byte) ([]byte, error) {
	if e.Size > MaxInflate {
		return nil, fmt.Errorf("packfile: entry at %d too large to inflate (%d bytes)", e.Offset, e.Size)
	}
	return inflate(bytes.NewReader(stored), e.Size)
}

// smallEntry is the size of stored data read whole into a pooled buffer;
// larger entries are streamed.
const smallEntry = 64 << 10

var smallPool = sync.Pool{New: func() any { b := make([]byte, smallEntry); return &b }}

// inflate decompresses the zlib stream src, which must produce exactly size
// bytes.
func inflate(src io.Reader, size int64) ([]byte, error) {
	z, err := getInflater(src)
	if err != nil {
		return nil, corruptf("zlib: %v", err)
	}
	defer zpool.Put(z)
	out := make([]byte, size)
	if _, err := io.ReadFull(z, out); err != nil {
		return nil, corruptf("zlib: %v", err)
	}
	var one [1]byte
	if n, err := z.Read(one[:]); n != 0 || err != io.EOF {
		if n != 0 || err == nil {
			return nil, corruptf("zlib data longer than %d bytes", size)
		}
		return nil, corruptf("zlib: %v", err)
	}
	return out, nil
}

// InflatePrefix returns up to n leading bytes of e's data, for reading a
// delta's size header without inflating all of it.
func (p *Pack) InflatePrefix(e Entry, n int) ([]byte, error) {
	if e.DataOffset > p.DataEnd() {
		return nil, corruptf("entry data outside the pack")
	}
	// A prefix of a few dozen bytes inflates from a few hundred stored
	// ones; the reader fetches more should it need to.
	var br io.Reader
	if b, ok := p.Mapped(e.DataOffset, p.DataEnd()); ok {
		br = bytes.NewReader(b)
	} else {
		br = bufio.NewReaderSize(io.NewSectionReader(p.f, e.DataOffset, p.DataEnd()-e.DataOffset), 512)
	}
	z, err := getInflater(br)
	if err != nil {
		return nil, corruptf("zlib: %v", err)
	}
	defer zpool.Put(z)
	out := make([]byte, min(int64(n), e.Size))
	if _, err := io.ReadFull(z, out); err != nil {
		return nil, corruptf("zlib: %v", err)
	}
	return out, nil
}

// Reader streams the inflated data of a whole (non-delta) entry.
func (p *Pack) Reader(e Entry) (io.ReadCloser, error) {
	if e.DataOffset > p.DataEnd() {
		return nil, corruptf("entry data outside the pack")
	}
	z, err := zlib.NewReader(p.section(e.DataOffset, p.DataEnd()))
	if err != nil {
		return nil, corruptf("zlib: %v", err)
	}
	return z, nil
}

// ErrNotFound is returned for objects a pack does not hold.
var ErrNotFound = errors.New("object not found")

func bufioReader(r io.Reader) io.Reader { return bufio.NewReaderSize(r, 64<<10) }
