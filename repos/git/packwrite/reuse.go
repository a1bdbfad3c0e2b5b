package packwrite

import (
	"fmt"
	"hash/crc32"

	"github.com/depot/depot/repos/git/bitmap"
	"github.com/depot/depot/repos/git/packfile"
	"github.com/go-git/go-git/v5/plumbing"
)

// Reuse names objects of one pack by pack-order rank, the numbering of pack
// bitmaps, so that a plan computed from a bitmap is sent without turning
// every bit back into an object id and looking it up again.
type Reuse struct {
	Pack *packfile.Pack
	Set  bitmap.Set
}

// streamSet writes the objects of opt.Reuse in pack order, ahead of the
// listed ones. An entry goes out verbatim when it is whole or its delta base
// went out before it at the same distance, with a new base reference when
// the distance changed (objects skipped in between) or the client takes no
// OFS_DELTA, and against a base the client has in a thin pack. The rest —
// deltas whose base is not sent ahead of them, entries that fail their CRC
// or exceed the read window — are deferred to the general path, which
// resolves or copies them one by one.
func (s *streamer) streamSet() error {
	p, set := s.reuse, s.rset
	s.rout = make([]int64, p.Index.Count())
	byOff := p.ByOffset()
	pooled := buffers.Get().(*[]byte)
	defer buffers.Put(pooled)
	stage := (*pooled)[:0]
	flush := func() error {
		if len(stage) == 0 {
			return nil
		}
		_, err := s.pw.Write(stage)
		stage = stage[:0]
		return err
	}
	out := s.pw.Offset() // where the next staged byte lands
	var hdr []byte
	n := 0
	for rank := range set.All() {
		if n++; n&1023 == 0 {
			if err := s.ctx.Err(); err != nil {
				return err
			}
		}
		if rank >= len(byOff) {
			return fmt.Errorf("packwrite: reuse set names object %d of a pack of %d", rank, len(byOff))
		}
		pos := int(byOff[rank])
		off, end := p.OffsetOfRank(rank), p.EndOfRank(rank)
		if end-off > maxWindow {
			s.deferEntry(pos, off)
			continue
		}
		// Header and data come from one read window, refilled in large
		// sequential reads as the walk moves through the pack.
		b, err := s.win.read(p, off, end)
		if err != nil {
			return err
		}
		e, err := packfile.ParseEntry(b, off)
		if err != nil {
			s.deferEntry(pos, off) // the general path reports it
			continue
		}
		var verbatim, ok bool
		hdr, verbatim, ok = s.reuseHeader(hdr[:0], e, byOff, out)
		if !ok {
			s.deferEntry(pos, off)
			continue
		}
		crc := p.Index.CRC(pos)
		if crc32.ChecksumIEEE(b) != crc {
			s.deferEntry(pos, off) // resolved from another copy, or reported
			continue
		}
		if !verbatim {
			b = b[e.DataOffset-off:]
			if s.opt.Index {
				crc = crc32.Update(crc32.ChecksumIEEE(hdr), crc32.IEEETable, b)
			}
		} else {
			hdr = hdr[:0]
		}
		// Staged bytes go to the writer in large writes, which keep its
		// hashing efficient.
		if len(stage)+len(hdr)+len(b) > cap(stage) {
			if err := flush(); err != nil {
				return err
			}
		}
		stage = append(append(stage, hdr...), b...)
		s.rout[rank] = out
		if s.opt.Index {
			s.entries = append(s.entries, packfile.IndexEntry{Hash: p.Index.Name(pos), Offset: out, CRC: crc})
		}
		out += int64(len(hdr) + len(b))
		s.st.Total++
		s.st.Reused++
		s.st.PackReused++
		if e.Type.IsDelta() {
			s.st.Deltas++
			s.st.ReusedDeltas++
		}
	}
	return flush()
}

// deferEntry hands the reused pack's entry at index position pos to the
// general path.
func (s *streamer) deferEntry(pos int, off int64) {
	s.objs = append(s.objs, s.reuse.Index.Name(pos))
	s.deferred = append(s.deferred, source{s.reuse, pos, off})
}

// reuseHeader decides how reused entry e, about to be written at out, goes
// out: verbatim, or as hdr (type, size and base reference) followed by its
// stored data. It reports false when the entry must be deferred.
func (s *streamer) reuseHeader(hdr []byte, e packfile.Entry, byOff []uint32, out int64) (_ []byte, verbatim, ok bool) {
	p := s.reuse
	var base plumbing.Hash
	switch e.Type {
	case plumbing.OFSDeltaObject:
		brank, found := p.RankAt(e.BaseOffset)
		if !found {
			return hdr, false, false
		}
		if at := s.sentAt(brank); at > 0 {
			if !s.opt.OFSDelta {
				name := p.Index.Name(int(byOff[brank]))
				return append(packfile.AppendHeader(hdr, plumbing.REFDeltaObject, e.Size), name[:]...), false, true
			}
			if out-at == e.Offset-e.BaseOffset {
				return hdr, true, true
			}
			return packfile.AppendOfs(packfile.AppendHeader(hdr, plumbing.OFSDeltaObject, e.Size), out-at), false, true
		}
		base = p.Index.Name(int(byOff[brank]))
	case plumbing.REFDeltaObject:
		base = e.BaseHash
		if pos, found := p.Index.Find(base); found {
			if at := s.sentAt(p.Rank(pos)); at > 0 && s.opt.OFSDelta {
				return packfile.AppendOfs(packfile.AppendHeader(hdr, plumbing.OFSDeltaObject, e.Size), out-at), false, true
			} else if at > 0 {
				return hdr, true, true
			}
		}
	default:
		return hdr, true, true
	}
	if s.opt.ClientHas != nil && s.opt.ClientHas(base) {
		if e.Type == plumbing.REFDeltaObject {
			return hdr, true, true
		}
		return append(packfile.AppendHeader(hdr, plumbing.REFDeltaObject, e.Size), base[:]...), false, true
	}
	return hdr, false, false
}

// sentAt returns where the reused entry of rank r was written, or 0 when it
// was not (yet).
func (s *streamer) sentAt(r int) int64 {
	if s.rout == nil || r >= len(s.rout) {
		return 0
	}
	return s.rout[r]
}

// reusedAt returns where object h went out through streamSet, or 0.
func (s *streamer) reusedAt(h plumbing.Hash) int64 {
	if s.reuse == nil {
		return 0
	}
	pos, ok := s.reuse.Index.Find(h)
	if !ok {
		return 0
	}
	return s.sentAt(s.reuse.Rank(pos))
}

// checkDisjoint refuses listed objects that the reuse set holds too: they
// would be sent twice, and the pack's object count would be wrong.
func (s *streamer) checkDisjoint(objs []plumbing.Hash) error {
	for _, h := range objs {
		if pos, ok := s.reuse.Index.Find(h); ok && s.rset.Has(s.reuse.Rank(pos)) {
			return fmt.Errorf("packwrite: object %s is both listed and in the reuse set", h)
		}
	}
	return nil
}
