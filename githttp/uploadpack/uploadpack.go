// Package uploadpack serves git-upload-pack, the server side of git fetch and
// clone, over stateless smart HTTP for protocol v0 and v2, streaming packs
// built from a bare repository on disk.
package uploadpack

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Options configure one upload-pack exchange. The zero value works.
type Options struct {
	// Agent is advertised as agent=; it defaults to "depot".
	Agent string
}

func (o Options) agent() string {
	if o.Agent == "" {
		return "depot"
	}
	return o.Agent
}

// ProtocolError reports a request the client got wrong. Msg is meant for the
// client and never names a path on disk.
//
// When Reported is false nothing has been written to the response yet and the
// HTTP layer should answer 400 Bad Request with Msg. When Reported is true the
// client already received Msg in-band (an ERR pkt-line, or side-band channel 3)
// inside a response that has begun, so the HTTP layer must only log it.
type ProtocolError struct {
	Msg      string
	Reported bool
}

func (e *ProtocolError) Error() string { return "uploadpack: " + e.Msg }

func protocolErrorf(format string, args ...any) error {
	return &ProtocolError{Msg: fmt.Sprintf(format, args...)}
}

// isProtocolError reports whether err is a *ProtocolError.
func isProtocolError(err error) bool {
	var pe *ProtocolError
	return errors.As(err, &pe)
}

// AdvertiseRefs writes the protocol v0 ref advertisement for
// GET info/refs?service=git-upload-pack: everything after the
// "# service=git-upload-pack" pkt-line and its flush, ending with a flush-pkt.
// An empty repository advertises "capabilities^{}" with the zero id.
func AdvertiseRefs(ctx context.Context, repoDir string, w io.Writer, opt Options) error {
	r, err := openRepo(repoDir)
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
// Errors: a *ProtocolError for requests the client got wrong (see its doc for
// Reported); any other error is internal, its text is for the log only, and if
// the response had begun the client was sent a generic in-band error.
func Serve(ctx context.Context, repoDir string, version int, r io.Reader, w io.Writer, opt Options) error {
	if version != 0 && version != 2 {
		return fmt.Errorf("uploadpack: unsupported protocol version %d", version)
	}
	rp, err := openRepo(repoDir)
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
