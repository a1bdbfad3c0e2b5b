package githttp

import (
	"errors"
	"io"
	"net/http"
)

// flushWriter sends each write to the client at once, so that progress
// messages and pack data do not wait in a buffer.
type flushWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func newFlushWriter(w http.ResponseWriter) *flushWriter {
	return &flushWriter{w: w, rc: http.NewResponseController(w)}
}

func (f *flushWriter) Write(p []byte) (int, error) {
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
// become an HTTP error status.
type lazyWriter struct {
	w       http.ResponseWriter
	fw      *flushWriter
	started bool
	n       int64 // bytes written
}

func (l *lazyWriter) Write(p []byte) (int, error) {
	if !l.started {
		l.started = true
		l.w.WriteHeader(http.StatusOK)
		l.fw = newFlushWriter(l.w)
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
