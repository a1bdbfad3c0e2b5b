package uploadpack

import (
	"bufio"
	"compress/zlib"
	"context"
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"hash"
	"io"

	"github.com/go-git/go-git/v5/plumbing"
)

// Pack entry types (gitformat-pack "Object types").
const (
	packCommit   = 1
	packTree     = 2
	packBlob     = 3
	packTag      = 4
	packOfsDelta = 6
	packRefDelta = 7
)

// packWriter streams a version 2 pack: header, entries, SHA-1 trailer.
type packWriter struct {
	w   io.Writer
	sum hash.Hash
	off int64
	// Resetting a zlib writer above BestSpeed clears some 640 KiB of hash
	// tables, which dominates the cost of small objects; those get fast,
	// the rest the default level.
	fast, best *zlib.Writer
	buf        [32]byte
}

// fastLimit is the size below which entries are compressed with BestSpeed.
const fastLimit = 16 << 10

func newPackWriter(w io.Writer, count int) (*packWriter, error) {
	p := &packWriter{w: w, sum: sha1.New()}
	p.fast, _ = zlib.NewWriterLevel(p, zlib.BestSpeed)
	p.best, _ = zlib.NewWriterLevel(p, zlib.DefaultCompression)
	hdr := p.buf[:12]
	copy(hdr, "PACK")
	binary.BigEndian.PutUint32(hdr[4:], 2)
	binary.BigEndian.PutUint32(hdr[8:], uint32(count))
	_, err := p.Write(hdr)
	return p, err
}

// Write sends b into the pack and the running checksum.
func (p *packWriter) Write(b []byte) (int, error) {
	p.sum.Write(b)
	p.off += int64(len(b))
	return p.w.Write(b)
}

// entry writes one pack entry: the type-and-size header, the delta base
// reference if any, then the zlib-compressed content, which must be exactly
// size bytes.
func (p *packWriter) entry(typ byte, size int64, base []byte, content io.Reader) error {
	zw := p.best
	if size < fastLimit {
		zw = p.fast
	}
	// Header: 3 type bits, size in 4 bits then 7 bits per byte, MSB = more.
	b := p.buf[:0]
	c := typ<<4 | byte(size&0x0f)
	size >>= 4
	for size > 0 {
		b = append(b, c|0x80)
		c = byte(size & 0x7f)
		size >>= 7
	}
	b = append(b, c)
	b = append(b, base...)
	if _, err := p.Write(b); err != nil {
		return err
	}
	zw.Reset(p)
	if _, err := io.Copy(zw, content); err != nil {
		return err
	}
	return zw.Close()
}

// ofsBase encodes the distance back to an OFS_DELTA base
// (gitformat-pack "offset encoding").
func ofsBase(dist int64) []byte {
	var b [10]byte
	i := len(b) - 1
	b[i] = byte(dist & 0x7f)
	for dist >>= 7; dist > 0; dist >>= 7 {
		dist--
		i--
		b[i] = 0x80 | byte(dist&0x7f)
	}
	return b[i:]
}

// trailer writes the checksum of everything before it.
func (p *packWriter) trailer() error {
	_, err := p.w.Write(p.sum.Sum(nil))
	return err
}

// packStats counts what a pack held, for the closing progress line.
type packStats struct {
	total, deltas int
}

// writeObjects streams plan's objects. A delta stored in the repository is
// reused when its base is already in this pack (as OFS_DELTA with ofs-delta,
// REF_DELTA otherwise), or as REF_DELTA against a base the client has when
// thin is set; everything else goes whole.
func writeObjects(ctx context.Context, r *repo, w io.Writer, plan *packPlan, ofs, thin bool) (packStats, error) {
	var st packStats
	pw, err := newPackWriter(w, len(plan.objects))
	if err != nil {
		return st, err
	}
	written := make(map[plumbing.Hash]int64, len(plan.objects))
	for _, o := range plan.objects {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		off := pw.off
		delta, err := writeObject(r, pw, o, written, ofs, thin, plan.has)
		if err != nil {
			return st, err
		}
		if delta {
			st.deltas++
		}
		written[o.hash] = off
		st.total++
	}
	return st, pw.trailer()
}

func writeObject(r *repo, pw *packWriter, o packObject, written map[plumbing.Hash]int64, ofs, thin bool, has map[plumbing.Hash]bool) (bool, error) {
	obj, err := r.st.DeltaObject(plumbing.AnyObject, o.hash)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", o.hash, err)
	}
	if d, ok := obj.(plumbing.DeltaObject); ok {
		base := d.BaseHash()
		boff, inPack := written[base]
		switch {
		case inPack && ofs:
			return true, copyEntry(pw, packOfsDelta, ofsBase(pw.off-boff), d)
		case inPack || (thin && has[base]):
			return true, copyEntry(pw, packRefDelta, base[:], d)
		}
		if obj, err = r.st.EncodedObject(plumbing.AnyObject, o.hash); err != nil {
			return false, fmt.Errorf("read %s: %w", o.hash, err)
		}
	}
	var typ byte
	switch obj.Type() {
	case plumbing.CommitObject:
		typ = packCommit
	case plumbing.TreeObject:
		typ = packTree
	case plumbing.BlobObject:
		typ = packBlob
	case plumbing.TagObject:
		typ = packTag
	default:
		return false, fmt.Errorf("object %s has type %s", o.hash, obj.Type())
	}
	return false, copyEntry(pw, typ, nil, obj)
}

// copyEntry writes obj's content as one entry and checks its length.
func copyEntry(pw *packWriter, typ byte, base []byte, obj plumbing.EncodedObject) error {
	rd, err := obj.Reader()
	if err != nil {
		return err
	}
	defer rd.Close()
	cr := &countingReader{r: rd}
	if err := pw.entry(typ, obj.Size(), base, cr); err != nil {
		return err
	}
	if cr.n != obj.Size() {
		return fmt.Errorf("object %s: read %d bytes, header says %d", obj.Hash(), cr.n, obj.Size())
	}
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

// sendPack writes the pack for plan: progress on side-band channel 2 unless
// the client asked for none, pack data on channel 1, or the bare pack when
// the client did not ask for side-band (v0 only).
func (s *session) sendPack(q *fetchRequest, plan *packPlan) error {
	s.band = q.band
	progress := func(format string, args ...any) {
		if s.band > 0 && !q.noProgress {
			bw := &bandWriter{p: s.pkt, band: bandProgress, max: s.band}
			fmt.Fprintf(bw, format, args...)
		}
	}
	n := len(plan.objects)
	progress("Enumerating objects: %d, done.\n", n)
	progress("Counting objects: 100%% (%d/%d), done.\n", n, n)

	var dst io.Writer = s.bw
	var buf *bufio.Writer
	if s.band > 0 {
		buf = bufio.NewWriterSize(&bandWriter{p: s.pkt, band: bandData, max: s.band}, s.band)
		dst = buf
	} else {
		s.rawPack = true
	}
	thin := q.thinPack && q.filter == nil
	st, err := writeObjects(s.ctx, s.repo, dst, plan, q.ofsDelta, thin)
	if err != nil {
		return err
	}
	if buf != nil {
		if err := buf.Flush(); err != nil {
			return err
		}
	}
	progress("Total %d (delta %d), reused %d (delta %d), pack-reused 0\n", st.total, st.deltas, st.deltas, st.deltas)
	return s.pkt.err
}
