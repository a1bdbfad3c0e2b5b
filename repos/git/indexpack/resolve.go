package indexpack

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/go-git/go-git/v5/plumbing"
)

// worker is what one goroutine of the second pass owns: its inflaters,
// its scratch space and its blob scanner.
type worker struct {
	ix      *indexer
	ctx     context.Context // cancelled when another worker fails
	zr      io.ReadCloser   // first pass and whole bases
	dzr     io.ReadCloser   // delta data of the second pass
	scratch []byte
	blobs   BlobScanner
	object  ObjectFunc

	// Buffers and readers of stored and deltaReader, reused.
	packBuf  []byte
	packR    bytes.Reader
	bufR     *bufio.Reader
	deltaBuf []byte
	deltaR   bytes.Reader
	deltaBR  *bufio.Reader
	free     [][]byte // see buffer
}

func (ix *indexer) newWorker() *worker {
	w := &worker{ix: ix, ctx: ix.ctx, scratch: make([]byte, 64<<10)}
	if ix.opt.Blobs != nil {
		w.blobs = ix.opt.Blobs()
	}
	if ix.opt.Object != nil {
		w.object = ix.opt.Object()
	}
	return w
}

// resolve is the second pass: starting from each object stored whole, in
// the pack or (for a thin pack) in the repository, it applies the deltas
// based on it, depth first, hashing each result. The trees of deltas
// rooted at different whole objects are independent, so Options.Workers
// goroutines take roots from a queue and resolve each one's tree, as git
// index-pack's threads do; the Budget bounds the bases all of them hold.
func (ix *indexer) resolve() error {
	if err := ix.linkOfsKids(); err != nil {
		return err
	}
	ix.refLeft.Store(int64(len(ix.refKids)))
	var roots []int32
	for i := range ix.objs {
		e := &ix.objs[i]
		if e.kind.IsDelta() || (!ix.hasOfsKids(int32(i)) && len(ix.refKids[e.hash]) == 0) {
			continue
		}
		roots = append(roots, int32(i))
	}
	err := ix.parallel(len(roots), func(w *worker, n int) error {
		i := roots[n]
		e := &ix.objs[i]
		c, err := w.load(i)
		if err != nil {
			return err
		}
		return w.resolveKids(i, e.typ, e.hash, c, 1)
	})
	if err != nil {
		return err
	}
	// What is left are ref-deltas on bases outside the pack: a thin pack.
	// A base may also be the result of another of them, which the
	// repository need not hold: like git, try each, skip those the
	// repository lacks, and fail only on what is left unresolved.
	bases := make([]plumbing.Hash, 0, len(ix.refKids))
	for h := range ix.refKids {
		bases = append(bases, h)
	}
	sort.Slice(bases, func(i, j int) bool { return bytes.Compare(bases[i][:], bases[j][:]) < 0 })
	err = ix.parallel(len(bases), func(w *worker, n int) error {
		return w.resolveThin(bases[n])
	})
	if err != nil {
		return err
	}
	if len(ix.refKids) > 0 {
		left := make([]plumbing.Hash, 0, len(ix.refKids))
		for h := range ix.refKids {
			left = append(left, h)
		}
		slices.SortFunc(left, func(a, b plumbing.Hash) int { return bytes.Compare(a[:], b[:]) })
		if ix.opt.Base == nil {
			return badPack("delta base %s is not in the pack", left[0])
		}
		return badPack("delta base %s is neither in the pack nor in the repository", left[0])
	}
	// The thin bases are appended in the order of their ids, whichever
	// worker took them, and not when a delta of the pack made the same
	// object meanwhile: the pack would hold it twice.
	ix.thin = slices.DeleteFunc(ix.thin, func(h plumbing.Hash) bool {
		_, inPack := ix.byHash[h]
		return inPack
	})
	slices.SortFunc(ix.thin, func(a, b plumbing.Hash) int { return bytes.Compare(a[:], b[:]) })
	for _, e := range ix.objs {
		if !e.done {
			return badPack("delta at offset %d could not be resolved", e.offset)
		}
	}
	return nil
}

// parallel calls do(w, n) for every n below count, on up to
// Options.Workers goroutines, each with its own worker. The first error
// stops the others and is returned.
func (ix *indexer) parallel(count int, do func(w *worker, n int) error) error {
	if count == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ix.ctx)
	defer cancel()
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	for range min(ix.opt.Workers, count) {
		w := ix.newWorker()
		w.ctx = ctx
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := int(next.Add(1) - 1)
				if n >= count || ctx.Err() != nil {
					return
				}
				if err := do(w, n); err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		if ix.ctx.Err() != nil {
			return ix.ctx.Err()
		}
		return firstErr
	}
	return ix.ctx.Err()
}

// takeRefKids takes out the list of REF_DELTA entries based on h, so
// that no other worker resolves them.
func (ix *indexer) takeRefKids(h plumbing.Hash) []int32 {
	if ix.refLeft.Load() == 0 {
		return nil
	}
	ix.kidsMu.Lock()
	defer ix.kidsMu.Unlock()
	refs, ok := ix.refKids[h]
	if ok {
		delete(ix.refKids, h)
		ix.refLeft.Add(-1)
	}
	return refs
}

// resolveThin resolves the deltas on h, when no delta of the pack made h
// meanwhile, from the repository's object h; it does nothing when the
// repository lacks h, which resolve reports if no delta makes it either.
func (w *worker) resolveThin(h plumbing.Hash) error {
	ix := w.ix
	ix.kidsMu.Lock()
	_, ok := ix.refKids[h]
	ix.kidsMu.Unlock()
	if !ok || ix.opt.Base == nil {
		return nil
	}
	c, typ, found, err := w.loadBase(h)
	if err != nil || !found {
		return err
	}
	ix.kidsMu.Lock()
	_, ok = ix.refKids[h]
	if ok {
		ix.thin = append(ix.thin, h)
	}
	ix.kidsMu.Unlock()
	if !ok {
		c.release()
		return nil
	}
	return w.resolveKids(-1, typ, h, c, 1)
}

// linkOfsKids finds the base entry of every OFS_DELTA and lists each
// entry's children in ofsStart and ofsKids, in pack order.
func (ix *indexer) linkOfsKids() error {
	n := len(ix.objs)
	ix.ofsStart = make([]int32, n+1)
	bases := make([]int32, n)
	for k := range ix.objs {
		e := &ix.objs[k]
		bases[k] = -1
		if e.kind != plumbing.OFSDeltaObject {
			continue
		}
		b, ok := ix.atOffset(e.baseOfs)
		if !ok {
			return badPack("delta at offset %d has no entry at its base offset %d", e.offset, e.baseOfs)
		}
		bases[k] = b
		ix.ofsStart[b+1]++
	}
	for i := 1; i <= n; i++ {
		ix.ofsStart[i] += ix.ofsStart[i-1]
	}
	ix.ofsKids = make([]int32, ix.ofsStart[n])
	next := slices.Clone(ix.ofsStart[:n])
	for k, b := range bases {
		if b >= 0 {
			ix.ofsKids[next[b]] = int32(k)
			next[b]++
		}
	}
	return nil
}

// hasOfsKids reports whether OFS_DELTA entries are based on entry i.
func (ix *indexer) hasOfsKids(i int32) bool { return ix.ofsStart[i+1] > ix.ofsStart[i] }

// load reads the whole entry i of the pack to serve as a delta base.
func (w *worker) load(i int32) (*content, error) {
	e := &w.ix.objs[i]
	s, err := w.newSink(e.typ, e.size, true, false, false)
	if err != nil {
		return nil, err
	}
	if err := w.inflateAt(i, s); err != nil {
		s.keep.release()
		return nil, err
	}
	return s.keep, nil
}

// loadBase reads a thin pack's base from the repository; found is false
// when the repository does not hold it.
func (w *worker) loadBase(h plumbing.Hash) (c *content, typ plumbing.ObjectType, found bool, err error) {
	ix := w.ix
	ix.baseMu.Lock()
	typ, data, found, err := ix.opt.Base(h, ix.opt.MaxObjectBytes)
	ix.baseMu.Unlock()
	if err != nil || !found {
		return nil, 0, false, err
	}
	s, err := w.newSink(typ, int64(len(data)), true, false, false)
	if err != nil {
		return nil, 0, false, err
	}
	if err := s.write(data); err != nil {
		s.keep.release()
		return nil, 0, false, err
	}
	if err := s.finish(); err != nil {
		s.keep.release()
		return nil, 0, false, err
	}
	return s.keep, typ, true, nil
}

// inflateAt inflates the stored data of entry i into dst.
func (w *worker) inflateAt(i int32, dst io.Writer) error {
	e := &w.ix.objs[i]
	r, err := w.stored(i)
	if err != nil {
		return err
	}
	if err := w.inflate(r, e.size, dst); err != nil {
		return badPack("reading object at offset %d: %v", e.offset, err)
	}
	if s, ok := dst.(*sink); ok {
		return s.finish()
	}
	return nil
}

// resolveKids applies every delta whose base is the object (i, h) held in
// base; i is -1 for a base taken from the repository. It owns base and
// releases it as soon as the last delta on it has been applied.
func (w *worker) resolveKids(i int32, typ plumbing.ObjectType, h plumbing.Hash, base *content, depth int) error {
	defer base.release()
	ix := w.ix
	if depth > MaxDeltaDepth {
		return badPack("delta chain deeper than %d", MaxDeltaDepth)
	}
	if err := w.ctx.Err(); err != nil {
		return err
	}
	var kids []int32
	if i >= 0 {
		kids = ix.ofsKids[ix.ofsStart[i]:ix.ofsStart[i+1]]
	}
	if refs := ix.takeRefKids(h); len(refs) > 0 {
		kids = append(slices.Clip(kids), refs...)
	}
	for n, k := range kids {
		e := &ix.objs[k]
		kept, err := w.apply(base, k, typ, i >= 0)
		if err != nil {
			return err
		}
		if n == len(kids)-1 {
			base.release()
		}
		if err := ix.noteHash(k, e.hash, e.offset); err != nil {
			kept.release()
			return err
		}
		if kept != nil {
			if err := w.resolveKids(k, typ, e.hash, kept, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// apply makes the object of delta entry e from base, hashes it and, when
// deltas may be based on it, returns its content. inPack says whether
// base is an object of the pack rather than a thin base.
func (w *worker) apply(base *content, k int32, typ plumbing.ObjectType, inPack bool) (*content, error) {
	ix := w.ix
	e := &ix.objs[k]
	mayBeBase := ix.hasOfsKids(k) || ix.refLeft.Load() > 0
	links := typ != plumbing.BlobObject && ix.opt.Object != nil
	s, err := w.newSink(typ, e.result, mayBeBase, links, true)
	if err != nil {
		return nil, err
	}
	if typ == plumbing.BlobObject {
		s.scan, s.seenBase = w.blobs, inPack
	}
	if err := w.patch(base, k, s); err != nil {
		s.keep.release()
		return nil, err
	}
	e.typ, e.hash, e.done = typ, s.h.Sum(), true
	if s.scan != nil {
		if err := s.scan.End(e.hash); err != nil {
			s.keep.release()
			return nil, err
		}
	}
	if links {
		data, err := s.keep.bytes()
		if err == nil {
			err = w.objectRead(e.hash, typ, data)
		}
		if err != nil {
			s.keep.release()
			return nil, err
		}
	}
	if !mayBeBase {
		s.keep.release()
		return nil, nil
	}
	return s.keep, nil
}

// cachedDelta takes the delta data of entry k kept by the first pass, or
// returns nil.
func (ix *indexer) cachedDelta(k int32) []byte {
	j, ok := ix.deltaAt[k]
	if !ok {
		return nil
	}
	d := ix.deltaData[j]
	ix.deltaData[j] = nil
	return d
}

// patch applies the delta data of entry e to base, writing the result to
// out (gitformat-pack(5), "Deltified representation").
func (w *worker) patch(base *content, k int32, out *sink) error {
	ix := w.ix
	e := &ix.objs[k]
	var d interface {
		io.Reader
		io.ByteReader
	}
	if cached := ix.cachedDelta(k); cached != nil {
		defer func() {
			ix.deltasBytes.Add(-int64(len(cached)))
			ix.opt.Budget.give(int64(len(cached)))
		}()
		d = bytes.NewReader(cached)
	} else {
		r, err := w.deltaReader(k)
		if err != nil {
			return err
		}
		d = r
	}
	fail := func(format string, args ...any) error {
		return badPack("delta at offset %d: %s", e.offset, fmt.Sprintf(format, args...))
	}
	src, err := binary.ReadUvarint(d)
	if err != nil || int64(src) != base.size {
		return fail("base size %d, base has %d bytes", src, base.size)
	}
	dst, err := binary.ReadUvarint(d)
	if err != nil || int64(dst) != e.result {
		return fail("bad result size")
	}
	ins := w.scratch[:127]
	copyBuf := w.scratch[127:]
	for out.n < out.limit {
		op, err := d.ReadByte()
		if err != nil {
			return fail("truncated")
		}
		if op&0x80 == 0 {
			if op == 0 {
				return fail("reserved instruction 0")
			}
			if _, err := io.ReadFull(d, ins[:op]); err != nil {
				return fail("truncated insert")
			}
			if err := out.write(ins[:op]); err != nil {
				return err
			}
			continue
		}
		var off, size int64
		for j := 0; j < 4; j++ {
			if op&(1<<j) != 0 {
				b, err := d.ReadByte()
				if err != nil {
					return fail("truncated copy")
				}
				off |= int64(b) << (8 * j)
			}
		}
		for j := 0; j < 3; j++ {
			if op&(0x10<<j) != 0 {
				b, err := d.ReadByte()
				if err != nil {
					return fail("truncated copy")
				}
				size |= int64(b) << (8 * j)
			}
		}
		if size == 0 {
			size = 0x10000
		}
		if off+size > base.size {
			return fail("copy out of the base's bounds")
		}
		out.copying = true
		err = base.copyTo(out, off, size, copyBuf)
		out.copying = false
		if err != nil {
			return err
		}
	}
	if _, err := d.ReadByte(); err != io.EOF {
		return fail("instructions after the declared result")
	}
	return out.finish()
}

// Entries whose stored or inflated data is at most readWhole bytes are
// read from the pack in one call and inflated from memory, into buffers
// each worker reuses, as git's get_data_from_pack does; larger ones
// stream, so that a large delta is never held whole.
const readWhole = 1 << 20

// stored returns a reader of the zlib stream of entry i: its bytes read
// at once when they are few, a buffered section of the pack otherwise.
// The reader is valid until the next call.
func (w *worker) stored(i int32) (io.Reader, error) {
	ix := w.ix
	e := &ix.objs[i]
	end := ix.size - sha1.Size
	if int(i)+1 < len(ix.objs) {
		end = ix.objs[i+1].offset
	}
	if n := end - e.dataOff; n <= readWhole {
		if int64(cap(w.packBuf)) < n {
			w.packBuf = make([]byte, n)
		}
		b := w.packBuf[:n]
		if _, err := ix.f.ReadAt(b, e.dataOff); err != nil {
			return nil, fmt.Errorf("indexpack: reading pack: %w", err)
		}
		w.packR.Reset(b)
		return &w.packR, nil
	}
	sec := io.NewSectionReader(ix.f, e.dataOff, end-e.dataOff)
	if w.bufR == nil {
		w.bufR = bufio.NewReaderSize(sec, 64<<10)
	} else {
		w.bufR.Reset(sec)
	}
	return w.bufR, nil
}

// deltaReader returns the delta data of entry k: inflated whole into the
// worker's buffer when small, streamed from the pack otherwise.
func (w *worker) deltaReader(k int32) (interface {
	io.Reader
	io.ByteReader
}, error) {
	e := &w.ix.objs[k]
	src, err := w.stored(k)
	if err != nil {
		return nil, err
	}
	if e.size <= readWhole {
		w.deltaBuf = w.deltaBuf[:0]
		if err := w.inflate(src, e.size, (*appender)(&w.deltaBuf)); err != nil {
			return nil, badPack("reading object at offset %d: %v", e.offset, err)
		}
		w.deltaR.Reset(w.deltaBuf)
		return &w.deltaR, nil
	}
	if err := resetZlib(&w.dzr, src); err != nil {
		return nil, badPack("reading object at offset %d: %v", e.offset, err)
	}
	if w.deltaBR == nil {
		w.deltaBR = bufio.NewReaderSize(nil, 32<<10)
	}
	w.deltaBR.Reset(io.LimitReader(w.dzr, e.size))
	return w.deltaBR, nil
}

// appender is an io.Writer that appends to a slice.
type appender []byte

func (a *appender) Write(b []byte) (int, error) {
	*a = append(*a, b...)
	return len(b), nil
}
