package receivepack

import (
	"errors"
	"fmt"
	"io"
)

// pkt-line framing as described in gitprotocol-common(5): four hex digits
// giving the length of the line including themselves, "0000" for a flush.
const (
	maxPktLen     = 65520 // largest pkt-len, header included
	maxPktPayload = maxPktLen - 4
	// maxBandPayload is what fits in one side-band-64k packet after the
	// band byte (gitprotocol-pack(5), "side-band, side-band-64k").
	maxBandPayload = maxPktPayload - 1
)

// Side-band channels (gitprotocol-pack(5)).
const (
	bandData     = 1
	bandProgress = 2
)

var errFlush = errors.New("flush-pkt")

// pktReader reads pkt-lines from a stream without reading ahead, so that
// the pack following the command list can be read from the same stream.
type pktReader struct {
	r   io.Reader
	buf [maxPktLen]byte
}

// next returns the payload of the next pkt-line, or errFlush for a
// flush-pkt. The payload is valid until the following call. A stream that
// ends before a complete pkt-line is io.ErrUnexpectedEOF, or io.EOF when it
// ends on a line boundary.
func (p *pktReader) next() ([]byte, error) {
	head := p.buf[:4]
	if _, err := io.ReadFull(p.r, head); err != nil {
		return nil, err
	}
	n := 0
	for _, c := range head {
		d, ok := unhex(c)
		if !ok {
			return nil, fmt.Errorf("bad pkt-line length %q", head)
		}
		n = n<<4 | int(d)
	}
	switch {
	case n == 0:
		return nil, errFlush
	case n < 4:
		// 0001 (delim) and 0002 (response-end) belong to protocol v2 only.
		return nil, fmt.Errorf("unexpected special pkt-line %04x", n)
	}
	payload := p.buf[4:n]
	if _, err := io.ReadFull(p.r, payload); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return payload, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// appendPkt appends payload to b as one pkt-line. The payload must be at
// most maxPktPayload bytes; callers only pass short status lines.
func appendPkt(b []byte, payload string) []byte {
	b = fmt.Appendf(b, "%04x", len(payload)+4)
	return append(b, payload...)
}

// appendFlush appends a flush-pkt to b.
func appendFlush(b []byte) []byte { return append(b, "0000"...) }
