// Package pktline is git's pkt-line framing (gitprotocol-common(5)) and
// side-band multiplexing (gitprotocol-pack(5)), for both services and
// both protocol versions: a reader that tells data from flush, delim and
// response-end packets, a writer, a side-band writer, and the one error
// type for requests that break the protocol.
package pktline

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Sizes of pkt-lines: four hex digits of length (themselves included),
// then the payload.
const (
	// MaxLen is the largest pkt-line, header included (LARGE_PACKET_MAX).
	MaxLen = 65520
	// MaxData is the largest payload.
	MaxData = MaxLen - 4
	// MaxBand64k is the largest side-band-64k payload after the band byte.
	MaxBand64k = MaxData - 1
	// MaxBand is the largest payload of the old side-band (1000-byte
	// packets) after the band byte.
	MaxBand = 1000 - 5
)

// Side-band channels.
const (
	BandData     = 1
	BandProgress = 2
	BandError    = 3
)

// Kind tells what a pkt-line is.
type Kind int

const (
	Data        Kind = iota
	Flush            // 0000
	Delim            // 0001, protocol v2
	ResponseEnd      // 0002, protocol v2
)

// ErrProtocol is the class of every *ProtocolError.
var ErrProtocol = errors.New("protocol error")

// ProtocolError is a request that breaks the git protocol. Msg names the
// fault in words that are safe to show the client: it holds no server
// detail.
type ProtocolError struct {
	Msg string
	// Reported is set once the client has been told in the response
	// itself (an ERR packet), so that nothing more is sent.
	Reported bool
}

func (e *ProtocolError) Error() string { return "protocol error: " + e.Msg }

// Is makes every *ProtocolError match ErrProtocol.
func (e *ProtocolError) Is(target error) bool { return target == ErrProtocol }

// Errorf returns a *ProtocolError with a formatted message.
func Errorf(format string, args ...any) *ProtocolError {
	return &ProtocolError{Msg: fmt.Sprintf(format, args...)}
}

// Printable quotes at most 40 bytes of b for an error message.
func Printable(b []byte) string {
	if len(b) > 40 {
		b = b[:40]
	}
	return string(bytes.ToValidUTF8(b, []byte("?")))
}

// Reader reads pkt-lines. It reads exactly the bytes of each pkt-line and
// nothing after, so that what follows the last one (a pack) can be read
// from the same reader; give it a *bufio.Reader to avoid small reads.
type Reader struct {
	r   io.Reader
	buf [MaxLen]byte
}

// NewReader returns a Reader of r.
func NewReader(r io.Reader) *Reader { return &Reader{r: r} }

// Next returns the next pkt-line. A data payload stays valid until the
// next call. It returns io.EOF when the stream ends between pkt-lines and
// a *ProtocolError for malformed framing or a stream that ends inside a
// pkt-line.
func (p *Reader) Next() (Kind, []byte, error) {
	hdr := p.buf[:4]
	if _, err := io.ReadFull(p.r, hdr); err != nil {
		if err == io.EOF {
			return 0, nil, io.EOF
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, nil, Errorf("truncated pkt-line header")
		}
		return 0, nil, err
	}
	n, ok := parseHex16(hdr)
	if !ok {
		return 0, nil, Errorf("invalid pkt-line length %q", Printable(hdr))
	}
	switch {
	case n == 0:
		return Flush, nil, nil
	case n == 1:
		return Delim, nil, nil
	case n == 2:
		return ResponseEnd, nil, nil
	case n < 4 || n > MaxLen:
		return 0, nil, Errorf("invalid pkt-line length %d", n)
	}
	b := p.buf[4:n]
	if _, err := io.ReadFull(p.r, b); err != nil {
		if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, nil, Errorf("truncated pkt-line")
		}
		return 0, nil, err
	}
	return Data, b, nil
}

// NextLine is Next with one trailing LF removed from a data payload, as
// git's readers do for text lines.
func (p *Reader) NextLine() (Kind, []byte, error) {
	k, b, err := p.Next()
	return k, bytes.TrimSuffix(b, []byte("\n")), err
}

func parseHex16(h []byte) (int, bool) {
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

// Writer writes pkt-lines. The first write error sticks and later writes
// are dropped, so that callers check Err once at the end.
type Writer struct {
	w   io.Writer
	err error
}

// NewWriter returns a Writer to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Err returns the first error met.
func (p *Writer) Err() error { return p.err }

func (p *Writer) write(b []byte) {
	if p.err != nil {
		return
	}
	_, p.err = p.w.Write(b)
}

// Data writes one pkt-line holding b, which must fit (MaxData bytes).
func (p *Writer) Data(b []byte) {
	if len(b) > MaxData {
		if p.err == nil {
			p.err = fmt.Errorf("pktline: payload of %d bytes", len(b))
		}
		return
	}
	var hdr [4]byte
	putHex16(hdr[:], len(b)+4)
	p.write(hdr[:])
	p.write(b)
}

// Linef writes a pkt-line of the formatted text followed by LF.
func (p *Writer) Linef(format string, args ...any) {
	p.Data(fmt.Appendf(nil, format+"\n", args...))
}

// Flush writes a flush-pkt.
func (p *Writer) Flush() { p.write([]byte("0000")) }

// Delim writes a delim-pkt (protocol v2).
func (p *Writer) Delim() { p.write([]byte("0001")) }

// ResponseEnd writes a response-end-pkt (protocol v2).
func (p *Writer) ResponseEnd() { p.write([]byte("0002")) }

// Band returns an io.Writer that sends everything written to it on the
// side-band channel band, split into payloads of at most max bytes
// (MaxBand64k or MaxBand).
func (p *Writer) Band(band byte, max int) io.Writer { return &bandWriter{p: p, band: band, max: max} }

type bandWriter struct {
	p    *Writer
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

// Append appends payload to b as one pkt-line; the payload must fit.
func Append(b []byte, payload string) []byte {
	var hdr [4]byte
	putHex16(hdr[:], len(payload)+4)
	return append(append(b, hdr[:]...), payload...)
}

// AppendFlush appends a flush-pkt to b.
func AppendFlush(b []byte) []byte { return append(b, "0000"...) }

func putHex16(dst []byte, n int) {
	const digits = "0123456789abcdef"
	dst[0] = digits[n>>12&0xf]
	dst[1] = digits[n>>8&0xf]
	dst[2] = digits[n>>4&0xf]
	dst[3] = digits[n&0xf]
}
