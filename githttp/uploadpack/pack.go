package uploadpack

import (
	"bufio"
	"fmt"
	"github.com/go-git/go-git/v5/plumbing"
	"io"

	"github.com/depot/depot/githttp/pktline"
	"github.com/depot/depot/repos/git/packwrite"
)

// sendPack writes the pack for plan: progress on side-band channel 2 unless
// the client asked for none, pack data on channel 1, or the bare pack when
// the client did not ask for side-band (v0 only).
func (s *session) sendPack(q *fetchRequest, plan *packPlan) error {
	progress := func(format string, args ...any) {
		if s.band > 0 && !q.noProgress {
			bw := s.pkt.Band(pktline.BandProgress, s.band)
			fmt.Fprintf(bw, format, args...)
		}
	}
	n := plan.count()
	progress("Enumerating objects: %d, done.\n", n)
	progress("Counting objects: 100%% (%d/%d), done.\n", n, n)

	var dst io.Writer = s.bw
	var buf *bufio.Writer
	if s.band > 0 {
		buf = bufio.NewWriterSize(s.pkt.Band(pktline.BandData, s.band), s.band)
		dst = buf
	}
	opt := packwrite.Options{OFSDelta: q.ofsDelta, WholePack: plan.wholePack, Streaming: true}
	if q.thinPack && q.filter == nil {
		opt.ClientHas = plan.clientHas(s.repo.db)
	}
	if plan.set != nil {
		pk := packBySum(s.repo.db, plan.setPack)
		if pk == nil {
			return fmt.Errorf("uploadpack: bitmapped pack %s is gone", plan.setPack)
		}
		opt.Reuse = &packwrite.Reuse{Pack: pk, Set: plan.set}
	}
	ids := make([]plumbing.Hash, len(plan.objects))
	for i, o := range plan.objects {
		ids[i] = o.hash
	}
	res, err := packwrite.Write(s.ctx, s.repo.db, dst, ids, opt)
	if err != nil {
		return err
	}
	st := res.Stats
	if s.opt.Stats != nil {
		*s.opt.Stats = Stats{Pack: true, Clone: len(q.haves) == 0, Objects: st.Total}
	}
	if buf != nil {
		if err := buf.Flush(); err != nil {
			return err
		}
	}
	progress("Total %d (delta %d), reused %d (delta %d), pack-reused %d\n", st.Total, st.Deltas, st.Reused, st.ReusedDeltas, st.PackReused)
	return s.pkt.Err()
}
