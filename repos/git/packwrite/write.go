// Package packwrite builds packs out of a repository's stored objects,
// copying their compressed bytes verbatim wherever the pack format allows.
package packwrite

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"sync"

	"github.com/depot/depot/repos/git/bitmap"
	"github.com/depot/depot/repos/git/odb"
	"github.com/depot/depot/repos/git/packfile"
	"github.com/go-git/go-git/v5/plumbing"
)

// Stats counts what a pack held, for git's closing progress line.
type Stats struct {
	Total, Deltas, Reused, ReusedDeltas, PackReused int
}

// Options shape a pack.
type Options struct {
	// OFSDelta allows OFS_DELTA entries (the ofs-delta capability);
	// otherwise reused deltas are sent as REF_DELTA.
	OFSDelta bool
	// ClientHas, when set, makes a thin pack: deltas against objects it
	// reports are sent as REF_DELTA without their base.
	ClientHas func(plumbing.Hash) bool
	// WholePack is the checksum of a pack known (see WholePackOf) to hold
	// exactly the objects; with OFSDelta it is sent as stored.
	WholePack plumbing.Hash
	// Index records an IndexEntry for every object written.
	Index bool
	// Reuse, when set, names objects of one pack to send ahead of the
	// listed ones, which must not repeat them. It is how a plan computed
	// from a pack bitmap goes out.
	Reuse *Reuse
	// Streaming favours CPU over size when objects must be compressed
	// anew (a delta whose base is not sent, a loose object): entries of
	// 16 KiB or more get zlib level 3 instead of the default (6), which
	// on a shallow clone of git.git costs 30 % less CPU for 6 % more
	// bytes. A pack kept on disk (gc) leaves it unset.
	Streaming bool
}

// streamLevel is the zlib level of Options.Streaming.
const streamLevel = 3

// Result is what Write produced.
type Result struct {
	Stats
	// Entries are the objects' offsets and CRCs when Options.Index is set.
	Entries []packfile.IndexEntry
	// Checksum is the pack's trailing SHA-1.
	Checksum plumbing.Hash
}

// source is where one planned object is stored; pack is nil for loose
// objects.
type source struct {
	pack *packfile.Pack
	pos  int
	off  int64
}

// streamer writes a plan's objects, reusing stored bytes where it can:
// whole objects verbatim, and deltas whose base is sent earlier in the same
// pack (as OFS_DELTA with ofs-delta, REF_DELTA otherwise) or, in a thin
// pack, that the client has. Everything else is inflated, resolved and sent
// whole. Bases always precede their deltas.
type streamer struct {
	ctx     context.Context
	db      *odb.DB
	pw      *packfile.Writer
	objs    []plumbing.Hash
	src     []source
	byHash  map[plumbing.Hash]int32
	slots   map[*packfile.Pack][]int32 // index position → plan index + 1
	written []int64                    // output offset of each object, 0 before
	busy    []bool                     // on the recursion stack
	opt     Options
	win     window
	st      Stats
	entries []packfile.IndexEntry

	// Reused objects (Options.Reuse) by pack-order rank: the set, and
	// where each went out (0 before). Entries streamSet could not send
	// are appended to objs, after the nlisted the caller gave, with their
	// locations in deferred.
	reuse    *packfile.Pack
	rset     bitmap.Set
	rout     []int64
	nlisted  int
	deferred []source
}

// errCycle marks a delta whose base chain leads back to it.
var errCycle = errors.New("delta cycle")

// Write streams objs to w as one pack. Objects are ordered as the
// repository stores them (by pack, then offset; loose ones last) with every
// delta's base before it.
func Write(ctx context.Context, db *odb.DB, w io.Writer, objs []plumbing.Hash, opt Options) (*Result, error) {
	s := &streamer{ctx: ctx, db: db, objs: slices.Clip(objs), nlisted: len(objs), opt: opt}
	defer s.win.release()
	res := &Result{}
	total := len(objs)
	if p := s.storedAnswer(); p != nil {
		err := s.copyPack(w, p)
		res.Stats, res.Checksum = s.st, p.Index.PackSum
		return res, err
	}
	if r := opt.Reuse; r != nil {
		s.reuse, s.rset = r.Pack, r.Set
		if err := s.checkDisjoint(objs); err != nil {
			return res, err
		}
		total += r.Set.Count()
	} else if err := s.locate(); err != nil {
		return res, err
	}
	var err error
	if s.pw, err = packfile.NewWriter(w, uint32(total)); err != nil {
		return res, err
	}
	if opt.Streaming {
		s.pw.SetLevel(streamLevel)
	}
	if opt.Index {
		s.entries = make([]packfile.IndexEntry, 0, total)
	}
	if s.reuse != nil {
		if err := s.streamSet(); err != nil {
			return res, err
		}
		if err := s.locate(); err != nil {
			return res, err
		}
	}
	s.written = make([]int64, len(s.objs))
	s.busy = make([]bool, len(s.objs))
	for n, i := range s.order() {
		if n&255 == 0 {
			if err := ctx.Err(); err != nil {
				return res, err
			}
		}
		if err := s.writeOne(i); err != nil {
			return res, err
		}
	}
	res.Checksum, err = s.pw.Close()
	res.Stats, res.Entries = s.st, s.entries
	return res, err
}

// storedAnswer returns the pack whose stored bytes are the whole answer,
// or nil: with OFS_DELTA allowed and no index wanted, when the request is
// every object of the reuse pack and nothing else, or names a pack known
// to hold exactly the listed objects (Options.WholePack). The pack must
// still be one of the repository's and of version 2, whose header goes
// out as it is.
func (s *streamer) storedAnswer() *packfile.Pack {
	opt := s.opt
	if !opt.OFSDelta || opt.Index {
		return nil
	}
	for _, p := range s.db.Packs() {
		whole := opt.Reuse != nil && p == opt.Reuse.Pack && s.nlisted == 0 && opt.Reuse.Set.Count() == p.Index.Count()
		named := opt.Reuse == nil && !opt.WholePack.IsZero() && p.Index.PackSum == opt.WholePack
		if whole || named {
			if hdr, err := p.Raw(0, 12); err == nil && hdr[7] == 2 {
				return p
			}
			return nil
		}
	}
	return nil
}

// done records object i as written from offset off.
func (s *streamer) done(i int32, off int64) {
	if s.opt.Index {
		s.entries = append(s.entries, packfile.IndexEntry{Hash: s.objs[i], Offset: off, CRC: s.pw.EntryCRC()})
	}
	s.st.Total++
}

// locate finds where every planned object is stored.
func (s *streamer) locate() error {
	s.src = make([]source, len(s.objs))
	s.byHash = make(map[plumbing.Hash]int32, len(s.objs))
	s.slots = map[*packfile.Pack][]int32{}
	for i, h := range s.objs {
		s.byHash[h] = int32(i)
		if i >= s.nlisted {
			s.src[i] = s.deferred[i-s.nlisted]
		} else {
			loc, ok := s.db.Locate(h)
			if !ok {
				if !s.db.Has(h) {
					return fmt.Errorf("packwrite: object %s: %w", h, odb.ErrNotFound)
				}
				continue // loose
			}
			s.src[i] = source{loc.Pack, loc.Pos, loc.Offset}
		}
		src := s.src[i]
		sl := s.slots[src.pack]
		if sl == nil {
			sl = make([]int32, src.pack.Index.Count())
			s.slots[src.pack] = sl
		}
		sl[src.pos] = int32(i) + 1
	}
	return nil
}

// copyPack sends pack p as it is stored, checking each entry's CRC.
func (s *streamer) copyPack(w io.Writer, p *packfile.Pack) error {
	hdr, _ := p.Raw(0, 12)
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	const chunk = maxWindow
	pooled := buffers.Get().(*[]byte)
	defer buffers.Put(pooled)
	buf := (*pooled)[:0]
	flush := func() error {
		_, err := w.Write(buf)
		buf = buf[:0]
		return err
	}
	for n, pos := range p.ByOffset() {
		if n&1023 == 0 {
			if err := s.ctx.Err(); err != nil {
				return err
			}
		}
		off := p.Index.Offset(int(pos))
		end := p.EndOfRank(n)
		var first byte // the entry's type and size byte
		if end-off > maxWindow {
			// Rare and large: flush, then stream it checking the CRC as it
			// goes; a mismatch cuts the pack, which the client rejects.
			if err := flush(); err != nil {
				return err
			}
			first = 0
			crc, err := eachChunk(p, off, end, func(b []byte) error {
				if first == 0 {
					first = b[0]
				}
				_, err := w.Write(b)
				return err
			})
			if err != nil {
				return err
			}
			if crc != p.Index.CRC(int(pos)) {
				return fmt.Errorf("pack %s: %w: CRC mismatch at %d", p.Path, packfile.ErrCorrupt, off)
			}
		} else {
			b, err := s.win.read(p, off, end)
			if err != nil {
				return err
			}
			if crc32.ChecksumIEEE(b) != p.Index.CRC(int(pos)) {
				return fmt.Errorf("pack %s: %w: CRC mismatch at %d", p.Path, packfile.ErrCorrupt, off)
			}
			first = b[0]
			if len(buf)+len(b) > chunk {
				if err := flush(); err != nil {
					return err
				}
			}
			buf = append(buf, b...)
		}
		if plumbing.ObjectType(first >> 4 & 7).IsDelta() {
			s.st.Deltas++
			s.st.ReusedDeltas++
		}
		s.st.Total++
		s.st.Reused++
	}
	s.st.PackReused = s.st.Total
	if err := flush(); err != nil {
		return err
	}
	_, err := w.Write(p.Index.PackSum[:])
	return err
}

// order lists plan indexes by pack, then offset, loose objects last: the
// repository's own layout, read sequentially.
func (s *streamer) order() []int32 {
	rank := map[*packfile.Pack]uint64{}
	for i, p := range s.db.Packs() {
		rank[p] = uint64(i)
	}
	// One sortable word per object: pack rank above the offset (or, for
	// loose objects, ranked last, the plan index).
	type item struct {
		key uint64
		i   int32
	}
	items := make([]item, len(s.objs))
	sorted := true
	for i := range items {
		k := uint64(len(rank))<<48 | uint64(i)
		if src := s.src[i]; src.pack != nil {
			k = rank[src.pack]<<48 | uint64(src.off)
		}
		items[i] = item{k, int32(i)}
		if i > 0 && items[i-1].key > k {
			sorted = false
		}
	}
	if !sorted {
		slices.SortFunc(items, func(a, b item) int { return cmp.Compare(a.key, b.key) })
	}
	idx := make([]int32, len(items))
	for i, it := range items {
		idx[i] = it.i
	}
	return idx
}

func (s *streamer) writeOne(i int32) error {
	if s.written[i] != 0 {
		return nil
	}
	if s.busy[i] {
		return errCycle
	}
	src := s.src[i]
	if src.pack == nil {
		return s.writeLoose(i)
	}
	e, err := s.win.entry(src.pack, src.off)
	if err != nil {
		return fmt.Errorf("object %s: %w", s.objs[i], err)
	}
	if e.Type.IsDelta() {
		reused, err := s.reuseDelta(i, e)
		if err != nil || reused {
			return err
		}
		return s.writeWhole(i)
	}
	ok, err := s.copyEntry(i, e, nil)
	if err != nil || ok {
		return err
	}
	return s.writeWhole(i)
}

// reuseDelta sends the stored delta e of object i when its base is in the
// pack (written first) or, for a thin pack, on the client.
func (s *streamer) reuseDelta(i int32, e packfile.Entry) (bool, error) {
	src := s.src[i]
	base := int32(-1)
	var baseHash plumbing.Hash
	if e.Type == plumbing.OFSDeltaObject {
		pos, ok := src.pack.PositionAt(e.BaseOffset)
		if !ok {
			return false, nil // corrupt: writeWhole reports it
		}
		baseHash = src.pack.Index.Name(pos)
		if j := s.slots[src.pack][pos]; j > 0 {
			base = j - 1
		}
	} else {
		baseHash = e.BaseHash
		if j, ok := s.byHash[baseHash]; ok {
			base = j
		}
	}
	var hdr []byte
	baseAt := int64(0)
	if base < 0 {
		baseAt = s.reusedAt(baseHash)
	}
	switch {
	case baseAt > 0:
		if s.opt.OFSDelta {
			hdr = packfile.AppendHeader(nil, plumbing.OFSDeltaObject, e.Size)
			hdr = packfile.AppendOfs(hdr, s.pw.Offset()-baseAt)
		} else {
			hdr = packfile.AppendHeader(nil, plumbing.REFDeltaObject, e.Size)
			hdr = append(hdr, baseHash[:]...)
		}
	case base >= 0:
		if s.written[base] == 0 {
			s.busy[i] = true
			err := s.writeOne(base)
			s.busy[i] = false
			if errors.Is(err, errCycle) {
				return false, nil
			}
			if err != nil {
				return false, err
			}
		}
		if s.opt.OFSDelta {
			hdr = packfile.AppendHeader(nil, plumbing.OFSDeltaObject, e.Size)
			hdr = packfile.AppendOfs(hdr, s.pw.Offset()-s.written[base])
		} else {
			hdr = packfile.AppendHeader(nil, plumbing.REFDeltaObject, e.Size)
			hdr = append(hdr, baseHash[:]...)
		}
	case s.opt.ClientHas != nil && s.opt.ClientHas(baseHash):
		hdr = packfile.AppendHeader(nil, plumbing.REFDeltaObject, e.Size)
		hdr = append(hdr, baseHash[:]...)
	default:
		return false, nil
	}
	ok, err := s.copyEntry(i, e, hdr)
	if ok {
		s.st.Deltas++
		s.st.ReusedDeltas++
	}
	return ok, err
}

// copyEntry sends entry e of object i verbatim, or with hdr in place of
// its header and base reference. It reports false, sending nothing, when
// the stored bytes fail their CRC.
func (s *streamer) copyEntry(i int32, e packfile.Entry, hdr []byte) (bool, error) {
	src := s.src[i]
	end, err := src.pack.End(src.off)
	if err != nil {
		return false, nil
	}
	if end-src.off > maxWindow {
		return s.copyLarge(i, e, end, hdr)
	}
	b, err := s.win.read(src.pack, src.off, end)
	if err != nil {
		return false, err
	}
	if crc32.ChecksumIEEE(b) != src.pack.Index.CRC(src.pos) {
		return false, nil
	}
	off := s.pw.Offset()
	s.written[i] = off
	s.pw.StartEntry()
	if hdr != nil {
		if _, err := s.pw.Write(hdr); err != nil {
			return false, err
		}
		b = b[e.DataOffset-src.off:]
	}
	if _, err := s.pw.Write(b); err != nil {
		return false, err
	}
	s.done(i, off)
	s.st.Reused++
	return true, nil
}

// copyLarge is copyEntry for entries bigger than the read window: a first
// pass checks the CRC, a second streams the bytes.
func (s *streamer) copyLarge(i int32, e packfile.Entry, end int64, hdr []byte) (bool, error) {
	src := s.src[i]
	crc, err := eachChunk(src.pack, src.off, end, func([]byte) error { return nil })
	if err != nil {
		return false, err
	}
	if crc != src.pack.Index.CRC(src.pos) {
		return false, nil
	}
	off := s.pw.Offset()
	s.written[i] = off
	s.pw.StartEntry()
	from := src.off
	if hdr != nil {
		if _, err := s.pw.Write(hdr); err != nil {
			return false, err
		}
		from = e.DataOffset
	}
	if _, err := eachChunk(src.pack, from, end, func(b []byte) error { _, err := s.pw.Write(b); return err }); err != nil {
		return false, err
	}
	s.done(i, off)
	s.st.Reused++
	return true, nil
}

// eachChunk reads [from, to) of p with pread in 1 MiB chunks, hands each to
// fn and returns the CRC32 of the whole range.
func eachChunk(p *packfile.Pack, from, to int64, fn func([]byte) error) (uint32, error) {
	buf := make([]byte, min(to-from, 1<<20))
	var crc uint32
	for off := from; off < to; {
		n := min(int64(len(buf)), to-off)
		if _, err := p.ReadAt(buf[:n], off); err != nil {
			return 0, err
		}
		crc = crc32.Update(crc, crc32.IEEETable, buf[:n])
		if err := fn(buf[:n]); err != nil {
			return 0, err
		}
		off += n
	}
	return crc, nil
}

// writeWhole inflates object i, resolving deltas, and sends it whole.
func (s *streamer) writeWhole(i int32) error {
	src := s.src[i]
	typ, data, err := s.db.ReadAt(src.pack, src.off)
	if err != nil {
		return fmt.Errorf("object %s: %w", s.objs[i], err)
	}
	return s.deflate(i, typ, int64(len(data)), bytesReader(data))
}

func (s *streamer) writeLoose(i int32) error {
	rc, typ, size, err := s.db.OpenLoose(s.objs[i])
	if errors.Is(err, odb.ErrNotFound) {
		// A repack moved it into a pack since it was located.
		t, data, err := s.db.Read(s.objs[i])
		if err != nil {
			return fmt.Errorf("object %s: %w", s.objs[i], err)
		}
		return s.deflate(i, t, int64(len(data)), bytes.NewReader(data))
	}
	if err != nil {
		return fmt.Errorf("object %s: %w", s.objs[i], err)
	}
	defer rc.Close()
	return s.deflate(i, typ, size, rc)
}

func (s *streamer) deflate(i int32, typ plumbing.ObjectType, size int64, content io.Reader) error {
	off := s.pw.Offset()
	s.written[i] = off
	if err := s.pw.BeginEntry(typ, size, nil); err != nil {
		return err
	}
	cr := &countingReader{r: content}
	if err := s.pw.Deflate(size, cr); err != nil {
		return err
	}
	if cr.n != size {
		return fmt.Errorf("object %s: read %d bytes, header says %d", s.objs[i], cr.n, size)
	}
	s.done(i, off)
	return nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

// maxWindow is the size of the read-ahead window over a pack.
const maxWindow = 1 << 20

// window reads pack bytes with pread in large sequential chunks, so that
// streaming neither maps the pack into resident memory nor pays a system
// call per entry; a pack that is mapped anyway (packfile.OpenMapped) is
// read from its mapping.
type window struct {
	p     *packfile.Pack
	start int64
	buf   []byte
}

// read returns [from, to) of p, at most maxWindow bytes, valid until the
// next call.
func (w *window) read(p *packfile.Pack, from, to int64) ([]byte, error) {
	if b, ok := p.Mapped(from, to); ok {
		return b, nil
	}
	if w.p == p && from >= w.start && to <= w.start+int64(len(w.buf)) {
		return w.buf[from-w.start : to-w.start], nil
	}
	if w.buf == nil {
		w.buf = *(buffers.Get().(*[]byte))
	}
	n := min(int64(cap(w.buf)), p.Size()-from)
	if n < to-from {
		return nil, fmt.Errorf("pack %s: %w: entry at %d past the end", p.Path, packfile.ErrCorrupt, from)
	}
	w.buf = w.buf[:n]
	if _, err := p.ReadAt(w.buf, from); err != nil {
		w.p = nil
		return nil, err
	}
	w.p, w.start = p, from
	return w.buf[:to-from], nil
}

// entry reads the header of p's entry at off through the window.
func (w *window) entry(p *packfile.Pack, off int64) (packfile.Entry, error) {
	if off < 12 || off >= p.DataEnd() {
		return packfile.Entry{}, fmt.Errorf("pack %s: %w: entry offset %d outside the pack", p.Path, packfile.ErrCorrupt, off)
	}
	b, err := w.read(p, off, min(off+packfile.MaxHeaderLen, p.DataEnd()))
	if err != nil {
		return packfile.Entry{}, err
	}
	return packfile.ParseEntry(b, off)
}

// release returns the window's buffer to the pool.
func (w *window) release() {
	if w.buf != nil {
		b := w.buf[:cap(w.buf)]
		buffers.Put(&b)
		w.buf, w.p = nil, nil
	}
}

// buffers pools the 1 MiB buffers of windows and staging, so that a
// small fetch does not allocate and clear megabytes.
var buffers = sync.Pool{New: func() any { b := make([]byte, maxWindow); return &b }}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// WholePackOf returns the checksum of a pack that holds exactly objs, or
// the zero hash. Only packs of the right size are checked: the case that
// matters is a full clone after gc.
func WholePackOf(db *odb.DB, objs []plumbing.Hash) plumbing.Hash {
	for _, p := range db.Packs() {
		if p.Index.Count() != len(objs) {
			continue
		}
		all := true
		for _, h := range objs {
			if _, ok := p.Index.Find(h); !ok {
				all = false
				break
			}
		}
		if all {
			return p.Index.PackSum
		}
	}
	return plumbing.ZeroHash
}
