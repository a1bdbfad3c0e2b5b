package receivepack

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"sort"

	"github.com/depot/depot/repos/odb"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
)

// deltaCacheBytes bounds the delta data the first pass keeps in memory so
// that the second pass need not seek back and inflate it again.
const deltaCacheBytes = 32 << 20

// maxDeltaDepth matches git's pack depth ceiling (pack-objects.h).
const maxDeltaDepth = 4095

// unpackError is a fault of the pack the client sent; its message is the
// "unpack <reason>" the client sees. Any other error during unpacking is
// internal and is reported as such without details.
type unpackError struct{ msg string }

func (e *unpackError) Error() string { return e.msg }

func badPack(format string, args ...any) error {
	return &unpackError{msg: fmt.Sprintf(format, args...)}
}

// packObject is what the indexer knows about one entry of the pack.
type packObject struct {
	offset  int64
	size    int64               // inflated size of the entry (of the delta for deltas)
	kind    plumbing.ObjectType // type as stored: a delta type or the object's type
	typ     plumbing.ObjectType // object type once resolved
	crc     uint32
	baseOfs int64         // base offset of an ofs-delta
	baseRef plumbing.Hash // base id of a ref-delta
	hash    plumbing.Hash // zero until resolved
}

// packIndex is the outcome of indexing: the objects of the received pack
// and the links of its commits, trees and tags, which the connectivity
// check walks without reading the pack again.
type packIndex struct {
	checksum plumbing.Hash
	types    map[plumbing.Hash]plumbing.ObjectType
	links    map[plumbing.Hash][]plumbing.Hash
	thin     int // bases appended from the repository
}

// indexer does the work of git index-pack --fix-thin on a pack held in a
// seekable file: it hashes every object, resolves deltas (ref-deltas
// against the repository when the pack is thin), appends the missing
// bases so the pack stands alone, and writes the .idx.
type indexer struct {
	ctx       context.Context
	f         *os.File
	size      int64
	sc        *packfile.Scanner
	repo      *repoObjects
	maxObject int64

	objs    []packObject // in pack order, so sorted by offset
	byHash  map[plumbing.Hash]int
	ofsKids map[int64][]int
	refKids map[plumbing.Hash][]int
	links   map[plumbing.Hash][]plumbing.Hash
	thin    []plumbing.Hash

	deltas      map[int][]byte // inflated delta data by entry, see deltaCacheBytes
	deltasBytes int64
}

func newIndexer(ctx context.Context, f *os.File, size int64, repo *repoObjects, maxObject int64) *indexer {
	return &indexer{
		ctx: ctx, f: f, size: size, repo: repo, maxObject: maxObject,
		sc:      packfile.NewScanner(f),
		byHash:  map[plumbing.Hash]int{},
		ofsKids: map[int64][]int{},
		refKids: map[plumbing.Hash][]int{},
		links:   map[plumbing.Hash][]plumbing.Hash{},
		deltas:  map[int][]byte{},
	}
}

// run indexes the pack and writes its index to idx. The pack file may
// grow (thin bases appended) and its trailer is rewritten then.
func (ix *indexer) run(idx io.Writer) (*packIndex, error) {
	if err := ix.scan(); err != nil {
		return nil, err
	}
	if err := ix.resolve(); err != nil {
		return nil, err
	}
	checksum, err := ix.completeThin()
	if err != nil {
		return nil, err
	}
	if err := ix.writeIdx(idx, checksum); err != nil {
		return nil, err
	}
	pi := &packIndex{
		checksum: checksum,
		types:    make(map[plumbing.Hash]plumbing.ObjectType, len(ix.objs)),
		links:    ix.links,
		thin:     len(ix.thin),
	}
	for _, o := range ix.objs {
		pi.types[o.hash] = o.typ
	}
	return pi, nil
}

// scan is the first pass: it reads every entry in order, hashes the
// objects stored whole and notes the base of each delta. It verifies the
// trailing checksum and that nothing follows it.
func (ix *indexer) scan() error {
	_, count, err := ix.sc.Header()
	if err != nil {
		return badPack("%v", err)
	}
	var buf bytes.Buffer
	for i := uint32(0); i < count; i++ {
		if i%1024 == 0 && ix.ctx.Err() != nil {
			return ix.ctx.Err()
		}
		if err := ix.scanEntry(i, &buf); err != nil {
			return err
		}
	}
	if _, err := ix.sc.Checksum(); err != nil {
		return badPack("%v", err)
	}
	end, err := ix.sc.SeekFromStart(0)
	if err != nil {
		return err
	}
	if end != ix.size {
		return badPack("pack has %d bytes of junk at the end", ix.size-end)
	}
	return nil
}

// scanEntry reads entry i of the first pass; buf is scratch space.
func (ix *indexer) scanEntry(i uint32, buf *bytes.Buffer) error {
	oh, err := ix.sc.NextObjectHeader()
	if err != nil {
		return badPack("reading object %d: %v", i, err)
	}
	o := packObject{offset: oh.Offset, size: oh.Length, kind: oh.Type}
	var sink io.Writer = io.Discard
	var hasher plumbing.Hasher
	buf.Reset()
	switch oh.Type {
	case plumbing.OFSDeltaObject:
		if _, ok := ix.atOffset(oh.OffsetReference); !ok {
			return badPack("delta at offset %d has no base at %d", oh.Offset, oh.OffsetReference)
		}
		o.baseOfs = oh.OffsetReference
		ix.ofsKids[o.baseOfs] = append(ix.ofsKids[o.baseOfs], len(ix.objs))
		sink = ix.cacheDelta(oh.Length, buf)
	case plumbing.REFDeltaObject:
		o.baseRef = oh.Reference
		ix.refKids[o.baseRef] = append(ix.refKids[o.baseRef], len(ix.objs))
		sink = ix.cacheDelta(oh.Length, buf)
	case plumbing.BlobObject:
		hasher = plumbing.NewHasher(oh.Type, oh.Length)
		sink = hasher
	case plumbing.CommitObject, plumbing.TreeObject, plumbing.TagObject:
		if oh.Length > ix.maxObject {
			return badPack("object at offset %d is larger than %d bytes", oh.Offset, ix.maxObject)
		}
		hasher = plumbing.NewHasher(oh.Type, oh.Length)
		sink = io.MultiWriter(hasher, buf)
	default:
		return badPack("object at offset %d has invalid type %d", oh.Offset, oh.Type)
	}
	n, crc, err := ix.sc.NextObject(sink)
	if err == nil && n != oh.Length {
		err = fmt.Errorf("inflated %d bytes, header says %d", n, oh.Length)
	}
	if err != nil {
		return badPack("reading object at offset %d: %v", oh.Offset, err)
	}
	o.crc = crc
	switch {
	case oh.Type.IsDelta() && sink == io.Writer(buf):
		ix.deltas[len(ix.objs)] = bytes.Clone(buf.Bytes())
		ix.deltasBytes += int64(buf.Len())
	case !oh.Type.IsDelta():
		o.typ, o.hash = oh.Type, hasher.Sum()
		if err := ix.noteObject(len(ix.objs), o.typ, o.hash, buf.Bytes()); err != nil {
			return err
		}
	}
	ix.objs = append(ix.objs, o)
	return nil
}

// cacheDelta returns buf when a delta of size bytes still fits in the
// delta cache, io.Discard otherwise.
func (ix *indexer) cacheDelta(size int64, buf *bytes.Buffer) io.Writer {
	if ix.deltasBytes+size > deltaCacheBytes {
		return io.Discard
	}
	return buf
}

// noteObject records a hashed object and, for commits, trees and tags,
// the objects it links to.
func (ix *indexer) noteObject(i int, typ plumbing.ObjectType, h plumbing.Hash, content []byte) error {
	if _, dup := ix.byHash[h]; !dup {
		ix.byHash[h] = i
	}
	if typ == plumbing.BlobObject {
		return nil
	}
	links, err := parseLinks(typ, content)
	if err != nil {
		return badPack("%s %s: %v", typ, h, err)
	}
	ix.links[h] = links
	return nil
}

// atOffset finds the entry that starts at off.
func (ix *indexer) atOffset(off int64) (int, bool) {
	i := sort.Search(len(ix.objs), func(i int) bool { return ix.objs[i].offset >= off })
	return i, i < len(ix.objs) && ix.objs[i].offset == off
}

// resolve is the second pass: starting from each object stored whole, in
// the pack or (for a thin pack) in the repository, it applies the deltas
// based on it, depth first, hashing each result.
func (ix *indexer) resolve() error {
	for i := range ix.objs {
		o := &ix.objs[i]
		if o.kind.IsDelta() || (len(ix.ofsKids[o.offset]) == 0 && len(ix.refKids[o.hash]) == 0) {
			continue
		}
		content, err := ix.readEntry(o)
		if err != nil {
			return err
		}
		if err := ix.resolveKids(i, o.typ, o.hash, content, 1); err != nil {
			return err
		}
	}
	// What is left are ref-deltas on bases outside the pack: a thin pack.
	bases := make([]plumbing.Hash, 0, len(ix.refKids))
	for h := range ix.refKids {
		bases = append(bases, h)
	}
	sort.Slice(bases, func(i, j int) bool { return bytes.Compare(bases[i][:], bases[j][:]) < 0 })
	for _, h := range bases {
		if _, ok := ix.refKids[h]; !ok {
			continue // resolved meanwhile as the result of another delta
		}
		typ, content, err := ix.repo.read(h, ix.maxObject)
		if errors.Is(err, odb.ErrNotFound) {
			return badPack("delta base %s is neither in the pack nor in the repository", h)
		}
		if err != nil {
			return err
		}
		ix.thin = append(ix.thin, h)
		if err := ix.resolveKids(-1, typ, h, content, 1); err != nil {
			return err
		}
	}
	for _, o := range ix.objs {
		if o.hash.IsZero() {
			return badPack("delta at offset %d could not be resolved", o.offset)
		}
	}
	return nil
}

// resolveKids applies every delta whose base is the object (i, h) with
// the given content; i is -1 for a base taken from the repository.
func (ix *indexer) resolveKids(i int, typ plumbing.ObjectType, h plumbing.Hash, content []byte, depth int) error {
	if depth > maxDeltaDepth {
		return badPack("delta chain deeper than %d", maxDeltaDepth)
	}
	if err := ix.ctx.Err(); err != nil {
		return err
	}
	var kids []int
	if i >= 0 {
		kids = append(kids, ix.ofsKids[ix.objs[i].offset]...)
		delete(ix.ofsKids, ix.objs[i].offset)
	}
	kids = append(kids, ix.refKids[h]...)
	delete(ix.refKids, h)
	for _, k := range kids {
		o := &ix.objs[k]
		delta, cached := ix.deltas[k]
		if cached {
			delete(ix.deltas, k)
		} else {
			var err error
			if delta, err = ix.readEntry(o); err != nil {
				return err
			}
		}
		out, err := ix.patch(content, delta)
		if err != nil {
			return badPack("delta at offset %d: %v", o.offset, err)
		}
		o.typ, o.hash = typ, plumbing.ComputeHash(typ, out)
		if err := ix.noteObject(k, o.typ, o.hash, out); err != nil {
			return err
		}
		if err := ix.resolveKids(k, o.typ, o.hash, out, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// readEntry inflates the entry o: the object itself or its delta data.
func (ix *indexer) readEntry(o *packObject) ([]byte, error) {
	if o.size > ix.maxObject {
		return nil, badPack("object at offset %d is larger than %d bytes", o.offset, ix.maxObject)
	}
	if _, err := ix.sc.SeekObjectHeader(o.offset); err != nil {
		return nil, badPack("reading object at offset %d: %v", o.offset, err)
	}
	// The declared size is the client's word: reserve at most 1 MiB.
	buf := bytes.NewBuffer(make([]byte, 0, min(o.size, 1<<20)))
	if _, _, err := ix.sc.NextObject(buf); err != nil {
		return nil, badPack("reading object at offset %d: %v", o.offset, err)
	}
	return buf.Bytes(), nil
}

// patch applies delta to base after checking the size the delta claims
// for its result (gitformat-pack(5), "Deltified representation").
func (ix *indexer) patch(base, delta []byte) ([]byte, error) {
	rest := delta
	var sizes [2]uint64
	for n := range sizes {
		v, m := binary.Uvarint(rest)
		if m <= 0 {
			return nil, packfile.ErrInvalidDelta
		}
		sizes[n], rest = v, rest[m:]
	}
	if sizes[0] != uint64(len(base)) || sizes[1] > uint64(ix.maxObject) {
		return nil, fmt.Errorf("%w: base or result size out of range", packfile.ErrInvalidDelta)
	}
	if len(base) == 0 {
		// PatchDelta refuses an empty base; ApplyDelta does not.
		src, dst := &plumbing.MemoryObject{}, &plumbing.MemoryObject{}
		if err := packfile.ApplyDelta(dst, src, delta); err != nil {
			return nil, err
		}
		r, _ := dst.Reader()
		return io.ReadAll(r)
	}
	return packfile.PatchDelta(base, delta)
}

// completeThin appends the bases taken from the repository to the pack,
// as whole objects, and rewrites the object count and the trailing
// checksum, as index-pack --fix-thin does. It returns the pack checksum.
func (ix *indexer) completeThin() (plumbing.Hash, error) {
	end := ix.size - hashSize
	if len(ix.thin) == 0 {
		var h plumbing.Hash
		_, err := ix.f.ReadAt(h[:], end)
		return h, err
	}
	if err := ix.f.Truncate(end); err != nil {
		return plumbing.ZeroHash, err
	}
	off := end
	for _, h := range ix.thin {
		n, crc, typ, err := ix.appendObject(off, h)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		ix.objs = append(ix.objs, packObject{offset: off, typ: typ, kind: typ, crc: crc, hash: h})
		off += n
	}
	var count [4]byte
	binary.BigEndian.PutUint32(count[:], uint32(len(ix.objs)))
	if _, err := ix.f.WriteAt(count[:], 8); err != nil {
		return plumbing.ZeroHash, err
	}
	sum := sha1.New()
	if _, err := io.Copy(sum, io.NewSectionReader(ix.f, 0, off)); err != nil {
		return plumbing.ZeroHash, err
	}
	var checksum plumbing.Hash
	copy(checksum[:], sum.Sum(nil))
	if _, err := ix.f.WriteAt(checksum[:], off); err != nil {
		return plumbing.ZeroHash, err
	}
	return checksum, nil
}

// appendObject writes the repository object h at off as a whole pack
// entry and returns its length, CRC-32 and type.
func (ix *indexer) appendObject(off int64, h plumbing.Hash) (int64, uint32, plumbing.ObjectType, error) {
	typ, content, err := ix.repo.read(h, ix.maxObject)
	if err != nil {
		return 0, 0, 0, err
	}
	var entry bytes.Buffer
	// Entry header: type and size, 4 bits then 7 per byte (gitformat-pack(5)).
	size := uint64(len(content))
	c := byte(typ)<<4 | byte(size&0x0f)
	size >>= 4
	for size > 0 {
		entry.WriteByte(c | 0x80)
		c, size = byte(size&0x7f), size>>7
	}
	entry.WriteByte(c)
	zw := zlib.NewWriter(&entry)
	if _, err := zw.Write(content); err != nil {
		return 0, 0, 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, 0, 0, err
	}
	if _, err := ix.f.WriteAt(entry.Bytes(), off); err != nil {
		return 0, 0, 0, err
	}
	return int64(entry.Len()), crc32.ChecksumIEEE(entry.Bytes()), typ, nil
}

// writeIdx writes a version 2 pack index (gitformat-pack(5)).
func (ix *indexer) writeIdx(w io.Writer, checksum plumbing.Hash) error {
	iw := new(idxfile.Writer)
	for _, o := range ix.objs {
		iw.Add(o.hash, uint64(o.offset), o.crc)
	}
	if err := iw.OnFooter(checksum); err != nil {
		return err
	}
	idx, err := iw.Index()
	if err != nil {
		return err
	}
	_, err = idxfile.NewEncoder(w).Encode(idx)
	return err
}

// hashSize is the length of a SHA-1 object id in bytes.
const hashSize = 20
