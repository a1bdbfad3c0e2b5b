package githttp

import (
	"errors"
	"io"
	"net/http"
	"time"
)

// flushWriter sends each write to the client at once, so that progress
// messages and pack data do not wait in a buffer. With a stall timeout
// each piece of a write must reach the client within it: the deadline
// moves on with every piece, so a transfer of any length goes on as long
// as the client keeps reading, and one that stops reading is cut.
type flushWriter struct {
	w     http.ResponseWriter
	rc    *http.ResponseController
	stall time.Duration
}

func newFlushWriter(w http.ResponseWriter, stall time.Duration) *flushWriter {
	return &flushWriter{w: w, rc: http.NewResponseController(w), stall: stall}
}

// stallChunk is how much one deadline covers: a client must take less
// than the stall timeout to read this much.
const stallChunk = 32 << 10

func (f *flushWriter) Write(p []byte) (int, error) {
	if f.stall <= 0 {
		return f.write(p)
	}
	n := 0
	for len(p) > 0 {
		c := min(len(p), stallChunk)
		if err := f.rc.SetWriteDeadline(time.Now().Add(f.stall)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return n, err
		}
		m, err := f.write(p[:c])
		n += m
		if err != nil {
			return n, err
		}
		p = p[c:]
	}
	return n, nil
}

func (f *flushWriter) write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err == nil {
		if ferr := f.rc.Flush(); ferr != nil && !errors.Is(ferr, http.ErrNotSupported) {
			err = ferr
		}
	}
	return n, err
}

// lazyWriter sends the 200 status with the first byte written, and tells
// whether that happened, so that errors found before any output can still
// become an HTTP error status. The request body has been read by then, as
// far as it will be: its read deadline goes.
type lazyWriter struct {
	w       http.ResponseWriter
	stall   time.Duration
	fw      *flushWriter
	started bool
	n       int64 // bytes written
}

func (l *lazyWriter) Write(p []byte) (int, error) {
	if !l.started {
		l.started = true
		l.w.WriteHeader(http.StatusOK)
		l.fw = newFlushWriter(l.w, l.stall)
		if l.stall > 0 {
			_ = l.fw.rc.SetReadDeadline(time.Time{})
		}
	}
	n, err := l.fw.Write(p)
	l.n += int64(n)
	return n, err
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

// stallReader reads a request body under a deadline that moves on with
// every read, so that a client sending slowly but steadily is served
// however long its body, and one that stops sending is cut after the
// stall timeout. At the end of the body the deadline goes, so that the
// server's wait for the connection's next request is not cut short.
type stallReader struct {
	r     io.Reader
	rc    *http.ResponseController
	stall time.Duration
}

func (s *stallReader) Read(p []byte) (int, error) {
	_ = s.rc.SetReadDeadline(time.Now().Add(s.stall))
	n, err := s.r.Read(p)
	if err != nil {
		_ = s.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}
