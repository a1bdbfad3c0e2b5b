package uploadpack

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Pkt-line framing per gitprotocol-common: four hex digits of length
// (including themselves), then the payload; 0000 is flush, 0001 delim and
// 0002 response-end.
const (
	maxPktLen  = 65520 // LARGE_PACKET_MAX
	maxPktData = maxPktLen - 4
)

type pktKind int

const (
	pktData pktKind = iota
	pktFlush
	pktDelim
	pktEnd
)

// pktReader reads pkt-lines from the client; no read exceeds maxPktLen.
type pktReader struct {
	r   *bufio.Reader
	buf []byte
}

func newPktReader(r io.Reader) *pktReader {
	return &pktReader{r: bufio.NewReaderSize(r, 16<<10), buf: make([]byte, maxPktData)}
}

// next returns the next pkt-line. A data payload has one trailing LF removed
// and stays valid until the next call. It returns io.EOF when the stream ends
// between pkt-lines and a *ProtocolError for malformed framing.
func (p *pktReader) next() (pktKind, []byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(p.r, hdr[:]); err != nil {
		if err == io.EOF {
			return 0, nil, io.EOF
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, nil, protocolErrorf("truncated pkt-line header")
		}
		return 0, nil, err
	}
	n, ok := parseHex16(hdr)
	if !ok {
		return 0, nil, protocolErrorf("invalid pkt-line length %q", printable(hdr[:]))
	}
	switch {
	case n == 0:
		return pktFlush, nil, nil
	case n == 1:
		return pktDelim, nil, nil
	case n == 2:
		return pktEnd, nil, nil
	case n < 4 || n > maxPktLen:
		return 0, nil, protocolErrorf("invalid pkt-line length %d", n)
	}
	b := p.buf[:n-4]
	if _, err := io.ReadFull(p.r, b); err != nil {
		if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, nil, protocolErrorf("truncated pkt-line")
		}
		return 0, nil, err
	}
	return pktData, bytes.TrimSuffix(b, []byte("\n")), nil
}

func parseHex16(h [4]byte) (int, bool) {
	n := 0
	for _, c := range h {
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			v = c - 'A' + 10
		default:
			return 0, false
		}
		n = n<<4 | int(v)
	}
	return n, true
}

// printable quotes at most 40 bytes of b for an error message.
func printable(b []byte) string {
	if len(b) > 40 {
		b = b[:40]
	}
	return string(bytes.ToValidUTF8(b, []byte("?")))
}

// pktWriter writes pkt-lines. The first write error sticks and later writes
// are dropped, so callers check err once.
type pktWriter struct {
	w   io.Writer
	err error
}

func (p *pktWriter) write(b []byte) {
	if p.err != nil {
		return
	}
	_, p.err = p.w.Write(b)
}

// data writes one pkt-line holding b.
func (p *pktWriter) data(b []byte) {
	if len(b) > maxPktData {
		p.err = fmt.Errorf("uploadpack: pkt-line of %d bytes", len(b))
		return
	}
	var hdr [4]byte
	putHex16(hdr[:], len(b)+4)
	p.write(hdr[:])
	p.write(b)
}

// linef writes a pkt-line of the formatted text followed by LF.
func (p *pktWriter) linef(format string, args ...any) {
	p.data([]byte(fmt.Sprintf(format, args...) + "\n"))
}

func (p *pktWriter) flush() { p.write([]byte("0000")) }
func (p *pktWriter) delim() { p.write([]byte("0001")) }

func putHex16(dst []byte, n int) {
	const digits = "0123456789abcdef"
	dst[0] = digits[n>>12&0xf]
	dst[1] = digits[n>>8&0xf]
	dst[2] = digits[n>>4&0xf]
	dst[3] = digits[n&0xf]
}

// Side-band channels, gitprotocol-pack "Packfile Data".
const (
	bandData     = 1
	bandProgress = 2
	bandError    = 3
)

// bandWriter writes everything as side-band pkt-lines on one channel, split
// to fit max payload bytes per pkt-line (995 for side-band, 65515 for
// side-band-64k).
type bandWriter struct {
	p    *pktWriter
	band byte
	max  int
}

func (b *bandWriter) Write(data []byte) (int, error) {
	n := len(data)
	for len(data) > 0 && b.p.err == nil {
		k := min(len(data), b.max)
		var hdr [5]byte
		putHex16(hdr[:4], k+5)
		hdr[4] = b.band
		b.p.write(hdr[:])
		b.p.write(data[:k])
		data = data[k:]
	}
	if b.p.err != nil {
		return 0, b.p.err
	}
	return n, nil
}
