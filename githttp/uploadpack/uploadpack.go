// Package uploadpack serves git-upload-pack, the server side of git fetch and
// clone, over stateless smart HTTP for protocol v0 and v2, streaming packs
// built from a bare repository on disk.
package uploadpack

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/depot/depot/githttp/pktline"
	"github.com/depot/depot/repos/git/hiderefs"
)

// Options configure one upload-pack exchange. The zero value works.
type Options struct {
	// Agent is advertised as agent=; it defaults to "depot".
	Agent string
	// HideRefs are the server's own hideRefs patterns; the repository
	// config's transfer.hideRefs and uploadpack.hideRefs follow them
	// (package hiderefs). Hidden refs are not advertised, cannot be
	// wanted by name, and their objects only as far as a visible ref
	// reaches them.
	HideRefs []string
	// Stats, when set, is filled by Serve with what the request sent.
	Stats *Stats
	// Slot, when set, is called before a pack is planned and written, and
	// the fetch waits for it: it returns when the pack may be built, with
	// the release to call once it is sent. It may call wait with lines
	// for the client (side-band progress, "remote: ..."), from the
	// calling goroutine, while it waits. An error refuses the fetch with
	// the error's text.
	Slot func(ctx context.Context, wait func(msg string)) (release func(), err error)
}

// Stats describe one upload-pack request, for the server's metrics.
type Stats struct {
	// Pack is whether a pack was sent; a request without one was a
	// negotiation round or an ls-refs.
	Pack bool
	// Clone is whether the client sent no haves: it has nothing yet.
	Clone bool
	// Objects is the number of objects in the pack.
	Objects int
}

func (o Options) agent() string {
	if o.Agent == "" {
		return "depot"
	}
	return o.Agent
}

// isProtocolError reports whether err is a *pktline.ProtocolError.
func isProtocolError(err error) bool {
	var pe *pktline.ProtocolError
	return errors.As(err, &pe)
}

// AdvertiseRefs writes the protocol v0 ref advertisement for
// GET info/refs?service=git-upload-pack: everything after the
// "# service=git-upload-pack" pkt-line and its flush, ending with a flush-pkt.
// An empty repository advertises "capabilities^{}" with the zero id.
func AdvertiseRefs(ctx context.Context, repoDir string, w io.Writer, opt Options) error {
	r, err := openWithRules(repoDir, opt)
	if err != nil {
		return err
	}
	defer r.close()
	return advertiseV0(ctx, r, w, opt)
}

// AdvertiseV2 writes the protocol v2 capability advertisement, ending with a
// flush-pkt. It reads nothing but the repository's existence.
func AdvertiseV2(ctx context.Context, repoDir string, w io.Writer, opt Options) error {
	r, err := openRepo(repoDir)
	if err != nil {
		return err
	}
	defer r.close()
	return advertiseV2(w, opt)
}

// Serve handles one stateless-rpc POST /git-upload-pack body r (already
// decompressed) and writes the whole response to w. version is 0 for protocol
// v0/v1 and 2 for protocol v2.
//
// Errors: a *pktline.ProtocolError for requests the client got wrong (see its doc for
// Reported); any other error is internal, its text is for the log only, and if
// the response had begun the client was sent a generic in-band error.
func Serve(ctx context.Context, repoDir string, version int, r io.Reader, w io.Writer, opt Options) error {
	if version != 0 && version != 2 {
		return fmt.Errorf("uploadpack: unsupported protocol version %d", version)
	}
	rp, err := openWithRules(repoDir, opt)
	if err != nil {
		return err
	}
	defer rp.close()

	s := newSession(ctx, rp, r, w, opt)
	if version == 2 {
		err = s.serveV2()
	} else {
		err = s.serveV0()
	}
	return s.finish(err)
}

// openWithRules opens the repository with the hideRefs rules of
// upload-pack, which every list of its refs then honours.
func openWithRules(dir string, opt Options) (*repo, error) {
	r, err := openRepo(dir)
	if err != nil {
		return nil, err
	}
	if r.hidden, err = hiderefs.Load(dir, hiderefs.UploadPack, opt.HideRefs); err != nil {
		r.close()
		return nil, fmt.Errorf("uploadpack: %w", err)
	}
	return r, nil
}
