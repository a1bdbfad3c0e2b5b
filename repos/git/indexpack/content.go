package indexpack

import (
	"bufio"
	"fmt"
	"os"

	"github.com/go-git/go-git/v5/plumbing"
)

// content is an object's bytes while deltas based on it resolve: in
// memory when the budget allowed it, otherwise spilled to a file of the
// indexer's spill directory.
type content struct {
	mem  []byte
	file *os.File
	size int64
	held int64   // bytes taken from the budget
	w    *worker // the worker that made it, the only one to use it
}

// release gives back the memory or the file. It is safe to call twice.
func (c *content) release() {
	if c == nil || c.w == nil {
		return
	}
	w, ix := c.w, c.w.ix
	c.w = nil
	w.recycle(c.mem)
	if c.held > 0 {
		ix.held.Add(-c.held)
		ix.opt.Budget.give(c.held)
	}
	if c.file != nil {
		ix.spilled.Add(-c.size)
		c.file.Close()
		os.Remove(c.file.Name())
	}
	c.mem, c.file = nil, nil
}

// copyTo writes size bytes from off to out: a delta's copy instruction.
func (c *content) copyTo(out *sink, off, size int64, scratch []byte) error {
	if c.mem != nil || c.file == nil {
		return out.write(c.mem[off : off+size])
	}
	for size > 0 {
		n := min(size, int64(len(scratch)))
		if _, err := c.file.ReadAt(scratch[:n], off); err != nil {
			return fmt.Errorf("reading spilled base: %w", err)
		}
		if err := out.write(scratch[:n]); err != nil {
			return err
		}
		off, size = off+n, size-n
	}
	return nil
}

// bytes returns the whole content in memory; for a spilled object the
// slice is read anew and not counted against the budget, so callers use
// it briefly (to read a tree's links) and drop it.
func (c *content) bytes() ([]byte, error) {
	if c.file == nil {
		return c.mem, nil
	}
	b := make([]byte, c.size)
	if _, err := c.file.ReadAt(b, 0); err != nil {
		return nil, fmt.Errorf("reading spilled object: %w", err)
	}
	return b, nil
}

// sink receives an object's bytes as they are produced: it hashes them
// when asked to, keeps them in memory or in a spill file when the object
// is kept, passes them to the blob scanner when it has one, and refuses
// more bytes than the object declared.
type sink struct {
	h     *plumbing.Hasher
	scan  BlobScanner // a new blob's scanner (Options.Blobs), or nil
	keep  *content
	fw    *bufio.Writer
	n     int64
	limit int64
	// seenBase says that the delta's base is an object of the pack, so
	// that the scanner has seen what is copied from it; copying is set
	// while a copy instruction writes.
	seenBase, copying bool
}

func (s *sink) write(b []byte) error {
	if s.n+int64(len(b)) > s.limit {
		return badPack("delta produces more than the %d bytes it declares", s.limit)
	}
	s.n += int64(len(b))
	if s.h != nil {
		s.h.Write(b)
	}
	switch {
	case s.scan == nil:
	case s.copying && s.seenBase:
		if err := s.scan.Copied(b); err != nil {
			return err
		}
	default:
		if _, err := s.scan.Write(b); err != nil {
			return err
		}
	}
	if s.keep != nil {
		if s.fw != nil {
			if _, err := s.fw.Write(b); err != nil {
				return fmt.Errorf("spilling object: %w", err)
			}
		} else {
			s.keep.mem = append(s.keep.mem, b...)
		}
	}
	return nil
}

// Write makes a sink an io.Writer, for copying whole objects into it.
func (s *sink) Write(b []byte) (int, error) {
	if err := s.write(b); err != nil {
		return 0, err
	}
	return len(b), nil
}

// finish flushes a spill file and checks the object is complete.
func (s *sink) finish() error {
	if s.n != s.limit {
		return badPack("object has %d bytes, %d declared", s.n, s.limit)
	}
	if s.fw != nil {
		if err := s.fw.Flush(); err != nil {
			return fmt.Errorf("spilling object: %w", err)
		}
	}
	return nil
}

// newSink prepares to receive an object of size bytes. keep asks for the
// bytes to be kept (a base of further deltas, or a commit, tree or tag
// whose links are read); hash asks for its id. A kept object goes into
// memory when the budget has room and into a spill file otherwise; one
// that must be in memory (mustMem, for links only) is held outside the
// budget for as long as the caller needs it.
func (w *worker) newSink(typ plumbing.ObjectType, size int64, keep, mustMem, hash bool) (*sink, error) {
	ix := w.ix
	s := &sink{limit: size}
	if hash {
		h := plumbing.NewHasher(typ, size)
		s.h = &h
	}
	if !keep && !mustMem {
		return s, nil
	}
	c := &content{size: size, w: w}
	s.keep = c
	switch {
	case ix.opt.Budget.take(size):
		c.held = size
		ix.held.Add(size)
		c.mem = w.buffer(size)
	case keep:
		if ix.spilled.Add(size) > ix.opt.MaxSpillBytes {
			ix.spilled.Add(-size)
			c.w = nil
			return nil, badPack("resolving the pack's deltas needs more than %d bytes of disk", ix.opt.MaxSpillBytes)
		}
		f, err := ix.spillFile()
		if err != nil {
			ix.spilled.Add(-size)
			c.w = nil
			return nil, err
		}
		c.file = f
		s.fw = bufio.NewWriterSize(f, 64<<10)
	default:
		c.mem = w.buffer(size)
	}
	return s, nil
}

// spillFile creates a file in the spill directory, which it makes on the
// first spill.
func (ix *indexer) spillFile() (*os.File, error) {
	ix.spillMu.Lock()
	defer ix.spillMu.Unlock()
	if ix.spillDir == "" {
		dir, err := os.MkdirTemp(ix.opt.TempDir, "spill-")
		if err != nil {
			return nil, fmt.Errorf("indexpack: spill directory: %w", err)
		}
		ix.spillDir = dir
	}
	f, err := os.CreateTemp(ix.spillDir, "base-")
	if err != nil {
		return nil, fmt.Errorf("indexpack: spill file: %w", err)
	}
	return f, nil
}

// Bounds of a worker's free buffers: the objects a worker keeps come and
// go in the order of its depth-first walk, so that a few buffers serve
// most of them again, instead of being allocated and zeroed anew.
const (
	freeBuffers     = 8
	freeBufferBytes = 1 << 20 // larger buffers are not kept
)

// buffer returns an empty slice with room for size bytes, from the
// worker's free buffers when one fits without wasting half of it.
func (w *worker) buffer(size int64) []byte {
	for i, b := range w.free {
		if c := int64(cap(b)); c >= size && c <= 2*size+64 {
			last := len(w.free) - 1
			w.free[i], w.free[last] = w.free[last], nil
			w.free = w.free[:last]
			return b[:0]
		}
	}
	return make([]byte, 0, size)
}

// recycle keeps b, whose content is no longer used, for buffer.
func (w *worker) recycle(b []byte) {
	if cap(b) == 0 || cap(b) > freeBufferBytes {
		return
	}
	if len(w.free) == freeBuffers {
		// Keep the newest: the walk's next objects are likely its size.
		copy(w.free, w.free[1:])
		w.free = w.free[:freeBuffers-1]
	}
	w.free = append(w.free, b)
}
