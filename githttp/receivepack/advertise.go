package receivepack

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/depot/depot/githttp/pktline"
	"github.com/depot/depot/repos/git/gitref"
	"github.com/depot/depot/repos/git/hiderefs"
)

// capabilities returns the capability list receive-pack advertises
// (gitprotocol-capabilities(5)), in git's order.
func capabilities(agent string) string {
	return strings.Join([]string{
		"report-status", "report-status-v2", "delete-refs", "side-band-64k", "quiet",
		"atomic", "ofs-delta", "push-options", "object-format=sha1", "agent=" + agent,
	}, " ")
}

// AdvertiseRefs writes the protocol v0 ref advertisement of
// git-receive-pack (gitprotocol-pack(5), "Reference Discovery"): every ref
// that is not hidden, with the capabilities after the first, and a
// flush. An empty repository advertises "capabilities^{}" with the zero id. The HTTP layer writes the
// "# service=git-receive-pack" packet and its flush before.
func AdvertiseRefs(ctx context.Context, repoDir string, w io.Writer, opt Options) error {
	opt = opt.withDefaults()
	snap, err := gitref.ReadSnapshot(repoDir)
	if err != nil {
		return fmt.Errorf("receivepack: %w", err)
	}
	hidden, err := hiderefs.Load(repoDir, hiderefs.Receive, opt.HideRefs)
	if err != nil {
		return fmt.Errorf("receivepack: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	caps := capabilities(opt.Agent)
	var b []byte
	first := true
	for _, r := range snap.Refs() { // byte order, git's order
		if r.Target != "" || hidden.Hidden(r.Name) {
			continue // symbolic and hidden refs are not advertised
		}
		line := r.Hash.String() + " " + r.Name
		if first {
			line += "\x00" + caps
			first = false
		}
		b = pktline.Append(b, line+"\n")
	}
	if first {
		b = pktline.Append(b, plumbing.ZeroHash.String()+" capabilities^{}\x00"+caps+"\n")
	}
	b = pktline.AppendFlush(b)
	_, err = w.Write(b)
	return err
}
