package commitgraph

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/depot/depot/repos/git/internal/mapfile"
	"github.com/go-git/go-git/v5/plumbing"
)

// Layout (gitformat-commit-graph(5)): an 8-byte header, a table of
// contents of 12-byte entries (4-byte chunk id, 8-byte offset) ended by an
// entry with id 0 whose offset is the end of the last chunk, the chunks,
// and a trailing checksum.
const (
	hashLen       = 20 // SHA-1, the only hash version read
	headerLen     = 8
	tocEntryLen   = 4 + 8
	fanoutLen     = 256 * 4
	cdatLen       = hashLen + 4 + 4 + 8 // tree, two parents, generation and time
	hashVersionV1 = 1
	hashVersionV2 = 2 // SHA-256
)

// Chunk ids, as the big-endian numbers of their four letters.
const (
	chunkOIDF = 'O'<<24 | 'I'<<16 | 'D'<<8 | 'F'
	chunkOIDL = 'O'<<24 | 'I'<<16 | 'D'<<8 | 'L'
	chunkCDAT = 'C'<<24 | 'D'<<16 | 'A'<<8 | 'T'
	chunkEDGE = 'E'<<24 | 'D'<<16 | 'G'<<8 | 'E'
	chunkBASE = 'B'<<24 | 'A'<<16 | 'S'<<8 | 'E'
)

// maxCommits is the format's limit on commits across a chain: positions
// from 0x70000000 up are taken by the parent markers.
const maxCommits = 1<<30 + 1<<29 + 1<<28 - 1

// layer is one commit-graph file. Its fan-out is small enough to copy; the
// sorted OIDs are mapped; commit data and extra edges are read with pread
// on lookup, so an open graph costs no heap that grows with the history.
type layer struct {
	f      *os.File
	path   string
	base   uint32 // commits in the layers below: this layer's first global position
	n      uint32 // commits in this layer
	fanout [256]uint32
	oids   []byte // OIDL chunk, n*hashLen bytes
	unmap  func() error
	cdat   int64         // file offset of the CDAT chunk
	edge   int64         // file offset of the EDGE chunk
	edges  uint32        // 4-byte entries in the EDGE chunk
	sum    plumbing.Hash // trailing checksum, which names a chain layer
	nbase  int           // base graphs the header claims
}

// chunk is a byte range of the file named by the table of contents.
type chunk struct {
	off, len int64
}

// openLayer checks the layout of the commit-graph file f (named path) and
// returns it as a layer whose first commit has global position base. bases
// are the chain layers below, base first, which the file's BASE chunk must
// list; nil for a single commit-graph file. The layer owns f on success.
func openLayer(f *os.File, path string, base uint32, bases []plumbing.Hash) (*layer, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("commitgraph: %w", err)
	}
	l := &layer{f: f, path: path, base: base}
	chunks, err := l.readTOC(fi.Size())
	if err != nil {
		return nil, err
	}
	if err := l.readSum(fi.Size()); err != nil {
		return nil, err
	}
	if err := l.checkBases(chunks[chunkBASE], bases); err != nil {
		return nil, err
	}
	if err := l.readChunks(chunks); err != nil {
		return nil, err
	}
	return l, nil
}

// readTOC checks the header and the table of contents of a file of size
// bytes, and returns the chunks by id.
func (l *layer) readTOC(size int64) (map[uint32]chunk, error) {
	var hdr [headerLen]byte
	if size < headerLen+tocEntryLen+hashLen {
		return nil, l.corruptf("file too short (%d bytes)", size)
	}
	if err := l.readAt(hdr[:], 0); err != nil {
		return nil, err
	}
	if string(hdr[:4]) != "CGPH" {
		return nil, l.corruptf("bad signature %q", hdr[:4])
	}
	if hdr[4] != 1 {
		return nil, l.corruptf("version %d", hdr[4])
	}
	switch hdr[5] {
	case hashVersionV1:
	case hashVersionV2:
		// A SHA-256 graph is well formed, just not one this package reads.
		return nil, fmt.Errorf("commitgraph: %s: %w: SHA-256 commit-graph", l.path, errors.ErrUnsupported)
	default:
		return nil, l.corruptf("hash version %d", hdr[5])
	}
	l.nbase = int(hdr[7])
	return l.readChunkTable(int(hdr[6]), size)
}

// readChunkTable reads the n+1 entries of the table of contents. Chunks
// must lie between the table and the trailing checksum in increasing
// order, because their sizes are inferred from the next offset; no id may
// repeat, and only the last entry may (and must) have id 0, as git checks.
func (l *layer) readChunkTable(n int, size int64) (map[uint32]chunk, error) {
	tocEnd := int64(headerLen + (n+1)*tocEntryLen)
	dataEnd := size - hashLen
	if tocEnd > dataEnd {
		return nil, l.corruptf("chunk table of %d chunks truncated", n)
	}
	toc := make([]byte, tocEnd-headerLen)
	if err := l.readAt(toc, headerLen); err != nil {
		return nil, err
	}
	ids := make([]uint32, n+1)
	offs := make([]uint64, n+1)
	for i := range ids {
		ids[i] = binary.BigEndian.Uint32(toc[i*tocEntryLen:])
		offs[i] = binary.BigEndian.Uint64(toc[i*tocEntryLen+4:])
		prev := uint64(tocEnd)
		if i > 0 {
			prev = offs[i-1]
		}
		if offs[i] < prev || offs[i] > uint64(dataEnd) {
			return nil, l.corruptf("chunk %d offset %d out of bounds [%d, %d]", i, offs[i], prev, dataEnd)
		}
		if (ids[i] == 0) != (i == n) {
			return nil, l.corruptf("chunk %d of %d has id %#x", i, n, ids[i])
		}
	}
	chunks := make(map[uint32]chunk, n)
	for i, id := range ids[:n] {
		if _, dup := chunks[id]; dup {
			return nil, l.corruptf("chunk id %#x repeated", id)
		}
		chunks[id] = chunk{off: int64(offs[i]), len: int64(offs[i+1] - offs[i])}
	}
	return chunks, nil
}

// readSum reads the trailing checksum, which names a layer of a chain.
func (l *layer) readSum(size int64) error {
	return l.readAt(l.sum[:], size-hashLen)
}

// checkBases checks that the header and BASE chunk c name exactly the
// layers below, so that global positions mean the same to this file as to
// the chain that it was opened from.
func (l *layer) checkBases(c chunk, bases []plumbing.Hash) error {
	if l.nbase != len(bases) {
		return l.corruptf("file has %d base graphs, chain has %d below it", l.nbase, len(bases))
	}
	if len(bases) == 0 {
		return nil
	}
	if c.len != int64(len(bases))*hashLen {
		return l.corruptf("BASE chunk of %d bytes for %d base graphs", c.len, len(bases))
	}
	got := make([]byte, c.len)
	if err := l.readAt(got, c.off); err != nil {
		return err
	}
	for i, h := range bases {
		if !bytes.Equal(got[i*hashLen:(i+1)*hashLen], h[:]) {
			return l.corruptf("BASE chunk entry %d is not %s", i, h)
		}
	}
	return nil
}

// readChunks checks the commit chunks against the commit count of the
// fan-out, and maps the OIDs.
func (l *layer) readChunks(chunks map[uint32]chunk) error {
	for _, id := range []uint32{chunkOIDF, chunkOIDL, chunkCDAT} {
		if _, ok := chunks[id]; !ok {
			return l.corruptf("missing required chunk %s", chunkName(id))
		}
	}
	if err := l.readFanout(chunks[chunkOIDF]); err != nil {
		return err
	}
	if uint64(l.base)+uint64(l.n) > maxCommits {
		return l.corruptf("%d commits above %d exceed the format's limit", l.n, l.base)
	}
	n := int64(l.n)
	if c := chunks[chunkOIDL]; c.len != n*hashLen {
		return l.corruptf("OIDL chunk of %d bytes for %d commits", c.len, n)
	}
	if c := chunks[chunkCDAT]; c.len != n*cdatLen {
		return l.corruptf("CDAT chunk of %d bytes for %d commits", c.len, n)
	}
	e := chunks[chunkEDGE]
	if e.len%4 != 0 || e.len/4 > maxCommits {
		return l.corruptf("EDGE chunk of %d bytes", e.len)
	}
	l.cdat, l.edge, l.edges = chunks[chunkCDAT].off, e.off, uint32(e.len/4)
	oids, unmap, err := mapfile.Map(l.f, chunks[chunkOIDL].off, n*hashLen)
	if err != nil {
		return err
	}
	l.oids, l.unmap = oids, unmap
	return nil
}

// readFanout reads the OIDF chunk c. Lookups index the OIDs by it, so it
// must not decrease; its last entry is the commit count.
func (l *layer) readFanout(c chunk) error {
	if c.len != fanoutLen {
		return l.corruptf("OIDF chunk of %d bytes", c.len)
	}
	var b [fanoutLen]byte
	if err := l.readAt(b[:], c.off); err != nil {
		return err
	}
	prev := uint32(0)
	for i := range l.fanout {
		v := binary.BigEndian.Uint32(b[4*i:])
		if v < prev {
			return l.corruptf("fan-out decreases at %d", i)
		}
		l.fanout[i], prev = v, v
	}
	l.n = prev
	return nil
}

// find returns the position of h within the layer. The OIDs are not
// checked to be sorted on open; the search stays within the fan-out
// bounds, so an unsorted file only makes commits go unfound.
func (l *layer) find(h plumbing.Hash) (uint32, bool) {
	lo := uint32(0)
	if h[0] > 0 {
		lo = l.fanout[h[0]-1]
	}
	hi := l.fanout[h[0]]
	for lo < hi {
		m := lo + (hi-lo)/2
		switch c := bytes.Compare(l.oid(m), h[:]); {
		case c == 0:
			return m, true
		case c < 0:
			lo = m + 1
		default:
			hi = m
		}
	}
	return 0, false
}

// oid returns the OID at position i within the layer, which must be < n.
func (l *layer) oid(i uint32) []byte {
	return l.oids[int(i)*hashLen : int(i+1)*hashLen]
}

// readAt fills b from the file at off. A short read means the file shrank
// under us, which git never does (it renames new files into place).
func (l *layer) readAt(b []byte, off int64) error {
	n, err := l.f.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("commitgraph: read %s at %d: %w", l.path, off, err)
}

func (l *layer) close() error {
	var err error
	if l.unmap != nil {
		err = l.unmap()
	}
	return errors.Join(err, l.f.Close())
}

func (l *layer) corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrCorrupt, l.path, fmt.Sprintf(format, args...))
}

// chunkName spells a chunk id as its four letters, for errors.
func chunkName(id uint32) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], id)
	return string(b[:])
}
