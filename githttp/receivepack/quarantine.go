package receivepack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/depot/depot/repos/git/indexpack"
	"github.com/depot/depot/repos/git/odb"
	"github.com/depot/depot/repos/git/packfile"
	"github.com/depot/depot/repos/holder"
)

// quarantine holds a received pack and its index in a temporary directory
// inside objects/, invisible to git and to other pushes, until keep moves
// them into objects/pack or discard removes them. The directory is laid
// out as an objects directory (the pair sits in its pack/), as C git's
// tmp-objdir is, so that git run by a hook with GIT_OBJECT_DIRECTORY
// pointing there reads the pushed objects.
type quarantine struct {
	dir   string // objects/incoming-XXXX
	objs  string // objects/
	name  string // "pack-<checksum>", empty for an empty pack
	index *packIndex
	// stopTouch ends the touching of dir (touchQuarantine).
	stopTouch func()
}

// touchEvery is how often a push touches its quarantine's directory while
// the quarantine lives, so that another node starting on the same
// repositories (gc.RemoveLeftoversWith, with a MinAge well above it) tells
// it from one a crash left, whatever the push waits for: a queue, a
// hook, a slow client.
var touchEvery = time.Minute

// touchQuarantine touches dir every touchEvery until the returned
// function is called.
func touchQuarantine(dir string) func() { return holder.Touch(dir, touchEvery, nil) }

// tooLarge refuses a pack over max bytes.
func tooLarge(max int64) error {
	return badPack("pack exceeds the maximum size of %d bytes", max)
}

// receivePack streams the pack that follows the commands from r into a
// new quarantine, at most opt.MaxPackBytes, then waits for opt.Slot and
// indexes the pack, giving its blobs to blobs when that is not nil. The
// quarantine is returned even on error so that the caller can discard it,
// and release (never nil) gives the slot back.
func receivePack(ctx context.Context, db *odb.DB, r io.Reader, blobs func() indexpack.BlobScanner, opt Options, wait func(string)) (q *quarantine, release func(), err error) {
	release = func() {}
	objs := db.Dir()
	dir, err := os.MkdirTemp(objs, "incoming-")
	if err != nil {
		return nil, release, err
	}
	q = &quarantine{dir: dir, objs: objs, stopTouch: touchQuarantine(dir)}
	if err := os.Mkdir(filepath.Join(dir, "pack"), 0o755); err != nil {
		return q, release, err
	}
	f, err := os.OpenFile(q.path("incoming.pack"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return q, release, err
	}
	defer f.Close()
	var dst io.Writer = f
	if opt.packWriter != nil {
		dst = opt.packWriter(f)
	}
	n, err := io.Copy(dst, io.LimitReader(ctxReader{ctx, r}, opt.MaxPackBytes+1))
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		// The server's stall timeout (which cancels ctx too).
		return q, release, badPack("the client stopped sending the pack")
	case ctx.Err() != nil:
		return q, release, ctx.Err()
	case noSpace(err):
		return q, release, err
	case err != nil:
		return q, release, badPack("reading pack: %v", err)
	case n > opt.MaxPackBytes:
		return q, release, tooLarge(opt.MaxPackBytes)
	case n == 0:
		return q, release, badPack("pack missing")
	}
	if opt.Slot != nil {
		if release, err = opt.Slot(ctx, wait); err != nil {
			release = func() {}
			if ctx.Err() != nil {
				return q, release, ctx.Err()
			}
			return q, release, badPack("%v", err)
		}
	}

	idx, err := os.OpenFile(q.path("incoming.idx"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return q, release, err
	}
	defer idx.Close()
	q.index, err = indexPack(ctx, f, idx, db, blobs, opt)
	if err != nil {
		return q, release, err
	}
	if len(q.index.types) == 0 {
		return q, release, nil // an empty pack: refs to objects the server has
	}
	// A pack is durable before any ref can name its objects.
	for _, file := range []*os.File{f, idx} {
		if err := file.Sync(); err != nil {
			return q, release, err
		}
	}
	q.name = "pack-" + q.index.checksum.String()
	return q, release, nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// keep moves the pack, its reverse index and then its index into
// objects/pack: git discovers
// packs through their .idx, so the pack is complete before it is seen.
// It first opens the pair as a reader would, so that a pack that does not
// match its index is never put in place.
func (q *quarantine) keep() error {
	if q == nil || q.name == "" {
		return nil
	}
	if err := q.verify(); err != nil {
		return err
	}
	packDir := filepath.Join(q.objs, "pack")
	if err := os.MkdirAll(packDir, 0o755); err != nil {
		return err
	}
	for _, m := range []struct{ from, ext string }{{"incoming.pack", ".pack"}, {"incoming.rev", ".rev"}, {"incoming.idx", ".idx"}} {
		from := q.path(m.from)
		if err := os.Chmod(from, 0o444); err != nil {
			return err
		}
		if err := os.Rename(from, filepath.Join(packDir, q.name+m.ext)); err != nil {
			return fmt.Errorf("moving %s: %w", m.ext, err)
		}
	}
	if d, err := os.Open(packDir); err == nil {
		d.Sync()
		d.Close()
	}
	q.name = ""
	return nil
}

// verify opens the quarantined pack with its index, which checks that
// they hold as many objects and name the same checksum, and that the index
// lists every object the push brought.
func (q *quarantine) verify() error {
	p, err := packfile.Open(q.path("incoming.pack"))
	if err != nil {
		return fmt.Errorf("receivepack: quarantined pack does not match its index: %w", err)
	}
	defer p.Close()
	if n := p.Index.Count(); n != len(q.index.types) {
		return fmt.Errorf("receivepack: quarantined index lists %d objects, the push brought %d", n, len(q.index.types))
	}
	// The reverse index, as git index-pack writes it (2.41 and later):
	// readers of the pack then need not sort its offsets.
	offsets := make([]int64, p.Index.Count())
	for i := range offsets {
		offsets[i] = p.Index.Offset(i)
	}
	rev, err := os.OpenFile(q.path("incoming.rev"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	err = packfile.WriteRev(rev, offsets, p.Index.PackSum)
	if err == nil {
		err = rev.Sync()
	}
	if cerr := rev.Close(); err == nil {
		err = cerr
	}
	return err
}

// path is where the quarantined file called name lives.
func (q *quarantine) path(name string) string {
	return filepath.Join(q.dir, "pack", name)
}

// discard removes whatever is left in the quarantine.
func (q *quarantine) discard() error {
	if q == nil {
		return nil
	}
	q.stopTouch()
	return os.RemoveAll(q.dir)
}

// ctxReader stops reading once ctx is done, so a cancelled request does
// not keep streaming a pack to disk.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
