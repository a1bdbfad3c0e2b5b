package receivepack

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
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
// that is not hidden, with the capabilities after the first, and a flush. An empty repository
// advertises "capabilities^{}" with the zero id. The HTTP layer writes the
// "# service=git-receive-pack" packet and its flush before.
func AdvertiseRefs(ctx context.Context, repoDir string, w io.Writer, opt Options) error {
	opt = opt.withDefaults()
	refs, err := gitref.ListRefs(repoDir)
	if err != nil {
		return fmt.Errorf("receivepack: %w", err)
	}
	hidden, err := hiderefs.Load(repoDir, hiderefs.Receive, opt.HideRefs)
	if err != nil {
		return fmt.Errorf("receivepack: %w", err)
	}
	for name := range refs {
		if hidden.Hidden(name) {
			delete(refs, name)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	caps := capabilities(opt.Agent)
	var b []byte
	names := slices.Sorted(maps.Keys(refs)) // byte order, git's order
	if len(names) == 0 {
		b = pktline.Append(b, plumbing.ZeroHash.String()+" capabilities^{}\x00"+caps+"\n")
	}
	for i, name := range names {
		line := refs[name].String() + " " + name
		if i == 0 {
			line += "\x00" + caps
		}
		b = pktline.Append(b, line+"\n")
	}
	b = pktline.AppendFlush(b)
	_, err = w.Write(b)
	return err
}
