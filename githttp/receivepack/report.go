package receivepack

import (
	"io"

	"github.com/depot/depot/githttp/pktline"
)

// reporter writes the response of receive-pack: progress and messages on
// side-band 2 when the client negotiated side-band-64k, then the
// report-status (gitprotocol-pack(5), "Report Status"), inside band 1
// when side-band is on, and the closing flush.
type reporter struct {
	w        io.Writer
	sideband bool
	quiet    bool
	status   bool
	err      error // first write error; later writes are skipped
}

func newReporter(w io.Writer, sideband, quiet, status bool) *reporter {
	return &reporter{w: w, sideband: sideband, quiet: quiet, status: status}
}

// progress sends a progress line unless the client asked for quiet.
func (r *reporter) progress(msg string) {
	if !r.quiet {
		r.message(msg)
	}
}

// message sends a line the client prints as "remote: ...". Without
// side-band there is no channel for it and it is dropped.
func (r *reporter) message(msg string) {
	if r.sideband {
		r.band(pktline.BandProgress, []byte(msg))
	}
}

// report writes the status of the unpack and of every command, then ends
// the response.
func (r *reporter) report(unpack string, cmds []*command) error {
	if r.status {
		var b []byte
		b = pktline.Append(b, unpack+"\n")
		for _, c := range cmds {
			if c.failed() {
				b = pktline.Append(b, "ng "+c.name+" "+c.reason+"\n")
			} else {
				b = pktline.Append(b, "ok "+c.name+"\n")
			}
		}
		b = pktline.AppendFlush(b)
		if r.sideband {
			r.band(pktline.BandData, b)
		} else {
			r.write(b)
		}
	}
	if r.sideband {
		r.write(pktline.AppendFlush(nil))
	}
	return r.err
}

// band sends data on a side-band channel, split into packets that fit.
func (r *reporter) band(channel byte, data []byte) {
	for len(data) > 0 {
		n := min(len(data), pktline.MaxBand64k)
		pkt := pktline.Append(nil, string(append([]byte{channel}, data[:n]...)))
		r.write(pkt)
		data = data[n:]
	}
}

func (r *reporter) write(b []byte) {
	if r.err == nil {
		_, r.err = r.w.Write(b)
	}
}
