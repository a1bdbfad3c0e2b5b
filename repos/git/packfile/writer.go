package packfile

import (
	"compress/zlib"
	"crypto/sha1"
	"encoding/binary"
	"hash"
	"hash/crc32"
	"io"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
)

// Writer streams a version 2 pack: header, entries, SHA-1 trailer. It
// tracks the offset and CRC32 of each entry so that an index can be built.
type Writer struct {
	w   io.Writer
	sum hash.Hash
	off int64
	crc uint32
	// Resetting a zlib writer above BestSpeed clears some 640 KiB of hash
	// tables, which dominates the cost of small objects; those get fast,
	// the rest the default level.
	fast, best *zlib.Writer
	// level is the compression of entries of fastLimit bytes or more
	// (SetLevel).
	level int
	buf   [32]byte
}

// fastLimit is the size below which entries are compressed with BestSpeed.
const fastLimit = 16 << 10

// NewWriter writes the header of a pack of count entries to w.
func NewWriter(w io.Writer, count uint32) (*Writer, error) {
	p := &Writer{w: w, sum: sha1.New(), level: zlib.DefaultCompression}
	hdr := p.buf[:12]
	copy(hdr, "PACK")
	binary.BigEndian.PutUint32(hdr[4:], 2)
	binary.BigEndian.PutUint32(hdr[8:], count)
	_, err := p.Write(hdr)
	return p, err
}

// SetLevel sets the zlib level of the entries of fastLimit bytes or more
// written from now on (zlib.DefaultCompression until then); smaller ones
// always get BestSpeed. A pack kept on disk is worth the default's
// smaller size; one streamed once to a client is not worth its CPU.
func (p *Writer) SetLevel(level int) {
	if level < zlib.HuffmanOnly || level > zlib.BestCompression {
		level = zlib.DefaultCompression
	}
	if level != p.level && p.best != nil {
		p.best.Reset(io.Discard)
		deflaters(p.level).Put(p.best)
		p.best = nil
	}
	p.level = level
}

// Write sends b into the pack, the running checksum and the entry's CRC.
func (p *Writer) Write(b []byte) (int, error) {
	p.sum.Write(b)
	p.crc = crc32.Update(p.crc, crc32.IEEETable, b)
	p.off += int64(len(b))
	return p.w.Write(b)
}

// Offset returns the number of bytes written so far: the offset of the next
// entry.
func (p *Writer) Offset() int64 { return p.off }

// BeginEntry starts an entry: it resets the CRC and writes the type-and-size
// header and the delta base reference, if any.
func (p *Writer) BeginEntry(typ plumbing.ObjectType, size int64, base []byte) error {
	p.crc = 0
	b := AppendHeader(p.buf[:0], typ, size)
	b = append(b, base...)
	_, err := p.Write(b)
	return err
}

// StartEntry resets the entry CRC before an entry written with Write.
func (p *Writer) StartEntry() { p.crc = 0 }

// EntryCRC returns the CRC32 of the entry written since BeginEntry.
func (p *Writer) EntryCRC() uint32 { return p.crc }

// Deflate writes content, which must be exactly the size given to
// BeginEntry, as the entry's zlib stream.
func (p *Writer) Deflate(size int64, content io.Reader) error {
	zw := &p.best
	level := p.level
	if size < fastLimit {
		zw, level = &p.fast, zlib.BestSpeed
	}
	if *zw == nil {
		// A compressor is some 800 KB of state: kept across packs, not
		// allocated for each small fetch.
		if z, ok := deflaters(level).Get().(*zlib.Writer); ok {
			z.Reset(p)
			*zw = z
		} else {
			*zw, _ = zlib.NewWriterLevel(p, level)
		}
	} else {
		(*zw).Reset(p)
	}
	if _, err := io.Copy(*zw, content); err != nil {
		return err
	}
	return (*zw).Close()
}

// pools keep zlib writers by level: zlib.HuffmanOnly (-2) to
// zlib.BestCompression (9).
var pools [zlib.BestCompression - zlib.HuffmanOnly + 1]sync.Pool

func deflaters(level int) *sync.Pool { return &pools[level-zlib.HuffmanOnly] }

// Close writes the checksum of everything before it and returns it.
func (p *Writer) Close() (plumbing.Hash, error) {
	if p.fast != nil {
		p.fast.Reset(io.Discard)
		deflaters(zlib.BestSpeed).Put(p.fast)
		p.fast = nil
	}
	if p.best != nil {
		p.best.Reset(io.Discard)
		deflaters(p.level).Put(p.best)
		p.best = nil
	}
	var h plumbing.Hash
	copy(h[:], p.sum.Sum(nil))
	_, err := p.w.Write(h[:])
	return h, err
}

// AppendHeader appends an entry's type-and-size header: 3 type bits, size
// in 4 bits then 7 bits per byte, MSB = more.
func AppendHeader(b []byte, typ plumbing.ObjectType, size int64) []byte {
	c := byte(typ)<<4 | byte(size&0x0f)
	size >>= 4
	for size > 0 {
		b = append(b, c|0x80)
		c = byte(size & 0x7f)
		size >>= 7
	}
	return append(b, c)
}

// AppendOfs appends the distance back to an OFS_DELTA base
// (gitformat-pack "offset encoding").
func AppendOfs(dst []byte, dist int64) []byte {
	var b [10]byte
	i := len(b) - 1
	b[i] = byte(dist & 0x7f)
	for dist >>= 7; dist > 0; dist >>= 7 {
		dist--
		i--
		b[i] = 0x80 | byte(dist&0x7f)
	}
	return append(dst, b[i:]...)
}
