// Package indexpack does for a pack received from a client what git
// index-pack --fix-thin does: it checks every entry, hashes every object,
// resolves deltas (against the repository too when the pack is thin),
// appends the missing bases so that the pack stands alone, and writes its
// .idx. Like git index-pack, it reads the pack once in order on one
// goroutine, then resolves deltas on all cores (resolve.go).
//
// The client chooses what a pack holds, so nothing it declares is trusted
// with memory: objects larger than Options.MaxObjectBytes are refused
// before they are inflated, delta bases are held in memory only within a
// Budget shared by every indexer of the process and are spilled to disk
// beyond it, and a pack that holds one object twice is refused, so that
// the index always lists exactly the objects of the pack.
package indexpack

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"context"
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/depot/depot/repos/git/packfile"
	"github.com/go-git/go-git/v5/plumbing"
)

// Defaults for the zero values of Options.
const (
	DefaultMaxObjectBytes = 100 << 20
	DefaultMaxSpillBytes  = 4 << 30
	// MaxDeltaDepth is git's ceiling for delta chains (pack-objects.h).
	MaxDeltaDepth = 4095
)

// deltaCacheLimit bounds the delta data kept from the first pass so that
// the second need not inflate it again; only small deltas are kept, and
// only within the budget.
const (
	deltaCacheLimit = 32 << 20
	deltaCacheEntry = 64 << 10
)

// minEntryBytes bounds the entries the first pass makes room for before
// it reads them: real packs average hundreds of bytes an entry.
const minEntryBytes = 64

// Error is a fault of the pack the client sent. Its message says what is
// wrong without any server detail, for the client's "unpack" line.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

func badPack(format string, args ...any) error {
	return &Error{Msg: fmt.Sprintf(format, args...)}
}

// Options tunes Index. Zero values take the defaults.
type Options struct {
	// MaxObjectBytes refuses any object larger than this, stored whole or
	// made by a delta, and any delta data larger than this.
	MaxObjectBytes int64
	// Budget is the memory delta bases are held in; nil means
	// DefaultBudget.
	Budget *Budget
	// MaxSpillBytes bounds the disk that bases beyond the budget take at
	// once.
	MaxSpillBytes int64
	// TempDir is where bases are spilled; it should be on the same disk
	// as the pack. Empty means the pack file's directory.
	TempDir string
	// Base returns an object of the repository, the base of a thin pack's
	// delta; found is false when the repository does not hold it. Objects
	// larger than max bytes must be refused with an error. It is called
	// from one goroutine at a time.
	Base func(h plumbing.Hash, max int64) (typ plumbing.ObjectType, data []byte, found bool, err error)
	// Object, when set, returns an ObjectFunc, which receives the content
	// of every commit, tree and tag of the pack (not the thin bases). Index
	// calls Object once for each goroutine that produces objects and calls
	// each function from that goroutine only; between them, the functions
	// receive every object once.
	Object func() ObjectFunc
	// Blobs, when set, returns a BlobScanner, which reads the content of
	// every blob of the pack, stored whole or made by a delta, as the
	// indexer produces it for hashing: no blob is read again for it, and
	// the thin bases taken from the repository are not given to it.
	// Index calls Blobs once for each goroutine that produces blobs and
	// uses each scanner from that goroutine only; between them, the
	// scanners see every blob once.
	Blobs func() BlobScanner
	// Workers is the number of goroutines that resolve deltas, as git
	// index-pack's threads do; zero means GOMAXPROCS.
	Workers int
}

// ObjectFunc receives one commit, tree or tag of a pack (Options.Object);
// data is valid only during the call. An *Error it returns is reported as
// a fault of the pack.
type ObjectFunc func(h plumbing.Hash, typ plumbing.ObjectType, data []byte) error

// BlobScanner reads the blobs of a pack as Index produces them
// (Options.Blobs): Write and Copied receive the bytes of one blob in
// order, in pieces of any size, then End names the blob they made. The
// pieces are valid only during the call. Blobs never interleave: every
// byte given to one scanner between two calls of its End belongs to one
// blob.
type BlobScanner interface {
	io.Writer
	// Copied takes the next bytes of the blob, as Write does, when a
	// delta copies them from a blob of the pack, which one of the
	// scanners was given before: it may look at their edges only. Bytes
	// copied from a thin base, which no scanner sees, come through Write.
	Copied(b []byte) error
	// End says that the bytes given since the previous End were the
	// blob h. An *Error it returns is reported as a fault of the pack.
	End(h plumbing.Hash) error
}

// Object is one entry of the indexed pack.
type Object struct {
	Hash   plumbing.Hash
	Type   plumbing.ObjectType // the object's type, never a delta type
	Offset int64
	CRC    uint32
}

// Result describes an indexed pack.
type Result struct {
	// Checksum is the pack's trailing SHA-1, after thin bases were
	// appended: the name git gives the pack.
	Checksum plumbing.Hash
	// Objects are in pack order; the Thin bases appended come last.
	Objects []Object
	// Thin counts the bases appended from the repository.
	Thin int
}

// entry is what the indexer knows of one pack entry.
type entry struct {
	offset  int64
	dataOff int64               // start of the zlib stream
	size    int64               // inflated size of the stored data
	result  int64               // for a delta, the size of the object it makes
	kind    plumbing.ObjectType // as stored: a delta type or the object's type
	typ     plumbing.ObjectType // the object's type once resolved
	crc     uint32
	baseOfs int64
	baseRef plumbing.Hash
	hash    plumbing.Hash
	done    bool
}

// indexer is the state of one Index call. The first pass runs on the
// caller's goroutine; the second runs on Options.Workers goroutines, each
// with its own worker, and shares what the comments below say.
type indexer struct {
	ctx  context.Context
	opt  Options
	f    *os.File
	size int64

	// objs is written by the first pass; in the second, entry k's typ,
	// hash and done are written only by the worker resolving its base.
	objs   []entry
	hashMu sync.Mutex // guards byHash in the second pass
	byHash map[plumbing.Hash]int32
	// The OFS_DELTA children of entry i are ofsKids[ofsStart[i]:ofsStart[i+1]],
	// built once the first pass knows every entry: two flat slices rather
	// than a map of slices, so that a pack of a million entries leaves the
	// garbage collector nothing to scan.
	ofsStart []int32
	ofsKids  []int32
	// refKids lists the REF_DELTA entries on each base; in the second
	// pass a worker takes a base's list out under kidsMu, so that one
	// worker resolves it, and refLeft counts the lists left.
	kidsMu  sync.Mutex
	refKids map[plumbing.Hash][]int32
	refLeft atomic.Int64
	thin    []plumbing.Hash // under kidsMu in the second pass
	baseMu  sync.Mutex      // calls of Options.Base one at a time

	// deltas holds cached delta data, see deltaCacheLimit: deltaAt maps
	// an entry to its slot of deltaData, and the worker that applies the
	// delta empties the slot.
	deltaAt     map[int32]int32
	deltaData   [][]byte
	deltasBytes atomic.Int64

	held     atomic.Int64 // taken from the budget and not yet given back
	spilled  atomic.Int64
	spillMu  sync.Mutex
	spillDir string // made in TempDir on the first spill, removed at the end

	first *worker // the first pass's inflater, scratch and blob scanner
}

// Index indexes the pack held in f, which must be open for reading and
// writing (thin bases are appended to it), and writes its version 2 index
// to idx. Errors of type *Error are faults of the pack.
func Index(ctx context.Context, f *os.File, idx io.Writer, opt Options) (*Result, error) {
	if opt.MaxObjectBytes <= 0 {
		opt.MaxObjectBytes = DefaultMaxObjectBytes
	}
	if opt.MaxSpillBytes <= 0 {
		opt.MaxSpillBytes = DefaultMaxSpillBytes
	}
	if opt.Budget == nil {
		opt.Budget = DefaultBudget
	}
	if opt.TempDir == "" {
		opt.TempDir = filepath.Dir(f.Name())
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("indexpack: %w", err)
	}
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	ix := &indexer{
		ctx: ctx, opt: opt, f: f, size: fi.Size(),
		byHash:  map[plumbing.Hash]int32{},
		refKids: map[plumbing.Hash][]int32{},
		deltaAt: map[int32]int32{},
	}
	ix.first = ix.newWorker()
	defer ix.cleanup()
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
	res := &Result{Checksum: checksum, Thin: len(ix.thin), Objects: make([]Object, len(ix.objs))}
	entries := make([]packfile.IndexEntry, len(ix.objs))
	for i, e := range ix.objs {
		res.Objects[i] = Object{Hash: e.hash, Type: e.typ, Offset: e.offset, CRC: e.crc}
		entries[i] = packfile.IndexEntry{Hash: e.hash, Offset: e.offset, CRC: e.crc}
	}
	bw := bufio.NewWriterSize(idx, 64<<10)
	if _, err := packfile.WriteIndex(bw, entries, checksum); err != nil {
		return nil, fmt.Errorf("indexpack: writing index: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return nil, fmt.Errorf("indexpack: writing index: %w", err)
	}
	return res, nil
}

// cleanup gives back what an indexer still holds, whether it finished or
// failed half way.
func (ix *indexer) cleanup() {
	ix.opt.Budget.give(ix.held.Swap(0) + ix.deltasBytes.Swap(0))
	ix.deltaAt, ix.deltaData = nil, nil
	if ix.spillDir != "" {
		os.RemoveAll(ix.spillDir)
	}
}

// scan is the first pass: it reads every entry in order, hashes the
// objects stored whole, notes the base of each delta, and checks the
// trailing checksum and that nothing follows it.
func (ix *indexer) scan() error {
	s := newStream(io.NewSectionReader(ix.f, 0, ix.size))
	var hdr [12]byte
	if err := s.readFull(hdr[:]); err != nil || string(hdr[:4]) != "PACK" {
		return badPack("pack signature mismatch")
	}
	if v := binary.BigEndian.Uint32(hdr[4:]); v != 2 && v != 3 {
		return badPack("pack version %d is not supported", v)
	}
	count := binary.BigEndian.Uint32(hdr[8:])
	// Room for every entry at once, rather than growing the slice by
	// copies; but the count is the client's word, so no more than the
	// pack could hold at minEntryBytes an entry.
	ix.objs = make([]entry, 0, min(int64(count), ix.size/minEntryBytes))
	var buf bytes.Buffer
	for i := uint32(0); i < count; i++ {
		if i%1024 == 0 && ix.ctx.Err() != nil {
			return ix.ctx.Err()
		}
		if err := ix.scanEntry(s, &buf); err != nil {
			return err
		}
	}
	sum := s.checksum()
	var trailer [sha1.Size]byte
	if err := s.readFull(trailer[:]); err != nil {
		return badPack("pack is truncated: no trailing checksum")
	}
	if !bytes.Equal(sum, trailer[:]) {
		return badPack("pack is corrupted (SHA1 mismatch)")
	}
	if !s.atEOF() {
		return badPack("pack has junk at the end")
	}
	return nil
}

// scanEntry reads one entry of the first pass; buf is scratch space.
func (ix *indexer) scanEntry(s *stream, buf *bytes.Buffer) error {
	s.startEntry()
	e := entry{offset: s.off}
	if err := readEntryHeader(s, &e); err != nil {
		return err
	}
	e.dataOff = s.off
	if e.size > ix.opt.MaxObjectBytes {
		return ix.tooLarge(e.offset, e.size)
	}
	n := int32(len(ix.objs))
	buf.Reset()
	switch e.kind {
	case plumbing.OFSDeltaObject, plumbing.REFDeltaObject:
		cache := e.size <= deltaCacheEntry && ix.deltasBytes.Load()+e.size <= deltaCacheLimit && ix.opt.Budget.take(e.size)
		if cache {
			ix.deltasBytes.Add(e.size)
		}
		hw := &headWriter{keep: cache, buf: buf}
		if err := ix.first.inflate(s, e.size, hw); err != nil {
			return badPack("reading object at offset %d: %v", e.offset, err)
		}
		_, result, _, err := packfile.DeltaSizes(hw.head)
		if err != nil {
			return badPack("delta at offset %d: %v", e.offset, err)
		}
		if result > ix.opt.MaxObjectBytes {
			return ix.tooLarge(e.offset, result)
		}
		e.result = result
		if cache {
			ix.deltaAt[n] = int32(len(ix.deltaData))
			ix.deltaData = append(ix.deltaData, bytes.Clone(buf.Bytes()))
		}
		if e.kind == plumbing.REFDeltaObject {
			ix.refKids[e.baseRef] = append(ix.refKids[e.baseRef], n)
		}
	default:
		h := plumbing.NewHasher(e.kind, e.size)
		var w io.Writer = h
		switch {
		case e.kind != plumbing.BlobObject:
			w = io.MultiWriter(h, buf)
		case ix.first.blobs != nil:
			w = io.MultiWriter(h, ix.first.blobs)
		}
		if err := ix.first.inflate(s, e.size, w); err != nil {
			return badPack("reading object at offset %d: %v", e.offset, err)
		}
		e.typ, e.hash, e.done = e.kind, h.Sum(), true
		if err := ix.noteHash(n, e.hash, e.offset); err != nil {
			return err
		}
		if e.kind == plumbing.BlobObject && ix.first.blobs != nil {
			if err := ix.first.blobs.End(e.hash); err != nil {
				return err
			}
		}
		if err := ix.first.objectRead(e.hash, e.typ, buf.Bytes()); err != nil {
			return err
		}
	}
	e.crc = s.entryCRC()
	ix.objs = append(ix.objs, e)
	return nil
}

// readEntryHeader decodes an entry's type, size and delta base.
func readEntryHeader(s *stream, e *entry) error {
	c, err := s.ReadByte()
	if err != nil {
		return badPack("pack is truncated at offset %d", e.offset)
	}
	e.kind = plumbing.ObjectType(c >> 4 & 7)
	size := uint64(c & 0x0f)
	for shift := uint(4); c&0x80 != 0; shift += 7 {
		if shift > 57 {
			return badPack("bad entry header at offset %d", e.offset)
		}
		if c, err = s.ReadByte(); err != nil {
			return badPack("pack is truncated at offset %d", e.offset)
		}
		size |= uint64(c&0x7f) << shift
	}
	if size > 1<<62 {
		return badPack("bad entry size at offset %d", e.offset)
	}
	e.size = int64(size)
	switch e.kind {
	case plumbing.CommitObject, plumbing.TreeObject, plumbing.BlobObject, plumbing.TagObject:
	case plumbing.OFSDeltaObject:
		c, err := s.ReadByte()
		if err != nil {
			return badPack("pack is truncated at offset %d", e.offset)
		}
		dist := int64(c & 0x7f)
		for c&0x80 != 0 {
			if dist >= 1<<55 {
				return badPack("bad delta offset at offset %d", e.offset)
			}
			if c, err = s.ReadByte(); err != nil {
				return badPack("pack is truncated at offset %d", e.offset)
			}
			dist = (dist+1)<<7 | int64(c&0x7f)
		}
		if dist <= 0 || dist > e.offset-12 {
			return badPack("delta at offset %d has its base outside the pack", e.offset)
		}
		e.baseOfs = e.offset - dist
	case plumbing.REFDeltaObject:
		if err := s.readFull(e.baseRef[:]); err != nil {
			return badPack("pack is truncated at offset %d", e.offset)
		}
	default:
		return badPack("object at offset %d has invalid type %d", e.offset, e.kind)
	}
	return nil
}

// headWriter keeps the first bytes of a delta, which hold its sizes, and
// the whole delta when it is cached.
type headWriter struct {
	head []byte
	keep bool
	buf  *bytes.Buffer
}

func (w *headWriter) Write(b []byte) (int, error) {
	if n := 20 - len(w.head); n > 0 {
		w.head = append(w.head, b[:min(n, len(b))]...)
	}
	if w.keep {
		w.buf.Write(b)
	}
	return len(b), nil
}

// inflate reads one zlib stream of exactly size bytes from r into w.
func (w *worker) inflate(r io.Reader, size int64, dst io.Writer) error {
	if err := resetZlib(&w.zr, r); err != nil {
		return err
	}
	n, err := io.CopyBuffer(dst, io.LimitReader(w.zr, size), w.scratch)
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("inflated %d bytes, header says %d", n, size)
	}
	// The stream must end here: its checksum read, nothing left over.
	var one [1]byte
	if m, err := w.zr.Read(one[:]); m != 0 || err != io.EOF {
		if err != nil && err != io.EOF {
			return err
		}
		return fmt.Errorf("inflates to more than the %d bytes its header says", size)
	}
	return nil
}

func (ix *indexer) tooLarge(off, size int64) error {
	return badPack("object at offset %d is %s, larger than the maximum object size of %s",
		off, humanBytes(size), humanBytes(ix.opt.MaxObjectBytes))
}

// noteHash records that entry n is the object h, refusing a second copy:
// its index would list one entry of two, and the pack would never match
// its index again.
func (ix *indexer) noteHash(n int32, h plumbing.Hash, off int64) error {
	ix.hashMu.Lock()
	prev, dup := ix.byHash[h]
	if !dup {
		ix.byHash[h] = n
	}
	ix.hashMu.Unlock()
	if dup {
		// Workers find the two in any order; the message does not.
		a, b := ix.objs[prev].offset, off
		return badPack("pack holds object %s twice, at offsets %d and %d", h, min(a, b), max(a, b))
	}
	return nil
}

func (w *worker) objectRead(h plumbing.Hash, typ plumbing.ObjectType, data []byte) error {
	if w.object == nil || typ == plumbing.BlobObject {
		return nil
	}
	return w.object(h, typ, data)
}

// atOffset finds the entry that starts at off.
func (ix *indexer) atOffset(off int64) (int32, bool) {
	i := sort.Search(len(ix.objs), func(i int) bool { return ix.objs[i].offset >= off })
	return int32(i), i < len(ix.objs) && ix.objs[i].offset == off
}

// humanBytes writes a size as git and GitHub show them: 100 MiB.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	v, suffix := float64(n), ""
	for _, s := range []string{"KiB", "MiB", "GiB", "TiB"} {
		v /= unit
		suffix = s
		if v < unit {
			break
		}
	}
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d %s", int64(v), suffix)
	}
	return fmt.Sprintf("%.2f %s", v, suffix)
}

// resetZlib points *zr at a new zlib stream in r, reusing its state.
func resetZlib(zr *io.ReadCloser, r io.Reader) error {
	if *zr == nil {
		var err error
		*zr, err = zlib.NewReader(r)
		return err
	}
	return (*zr).(zlib.Resetter).Reset(r, nil)
}

// completeThin appends the bases taken from the repository to the pack,
// as whole objects, and rewrites the object count and the trailing
// checksum, as index-pack --fix-thin does. It returns the pack checksum.
func (ix *indexer) completeThin() (plumbing.Hash, error) {
	end := ix.size - sha1.Size
	var checksum plumbing.Hash
	if len(ix.thin) == 0 {
		_, err := ix.f.ReadAt(checksum[:], end)
		return checksum, err
	}
	if err := ix.f.Truncate(end); err != nil {
		return checksum, err
	}
	off := end
	for _, h := range ix.thin {
		n, crc, typ, err := ix.appendObject(off, h)
		if err != nil {
			return checksum, err
		}
		ix.objs = append(ix.objs, entry{offset: off, typ: typ, kind: typ, crc: crc, hash: h, done: true})
		off += n
	}
	var count [4]byte
	binary.BigEndian.PutUint32(count[:], uint32(len(ix.objs)))
	if _, err := ix.f.WriteAt(count[:], 8); err != nil {
		return checksum, err
	}
	sum := sha1.New()
	if _, err := io.CopyBuffer(sum, io.NewSectionReader(ix.f, 0, off), ix.first.scratch); err != nil {
		return checksum, err
	}
	copy(checksum[:], sum.Sum(nil))
	if _, err := ix.f.WriteAt(checksum[:], off); err != nil {
		return checksum, err
	}
	ix.size = off + sha1.Size
	return checksum, nil
}

// appendObject writes the repository object h at off as a whole pack
// entry and returns its length, CRC-32 and type.
func (ix *indexer) appendObject(off int64, h plumbing.Hash) (int64, uint32, plumbing.ObjectType, error) {
	typ, content, found, err := ix.opt.Base(h, ix.opt.MaxObjectBytes)
	if err == nil && !found {
		err = fmt.Errorf("indexpack: base %s vanished from the repository", h)
	}
	if err != nil {
		return 0, 0, 0, err
	}
	var entry bytes.Buffer
	entry.Write(packfile.AppendHeader(nil, typ, int64(len(content))))
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
