package indexpack

import (
	"crypto/sha1"
	"hash"
	"hash/crc32"
	"io"
)

// stream reads a pack front to back for the first pass. It is an
// io.ByteReader, so that flate reads no byte past the end of a zlib
// stream, and it feeds every byte it hands out into the pack's SHA-1 and
// into the CRC-32 of the current entry, in bulk rather than byte by byte.
type stream struct {
	r    io.Reader
	buf  []byte
	pos  int   // next unread byte in buf
	end  int   // end of valid data in buf
	fed  int   // bytes of buf before fed went into sum and crc
	off  int64 // pack offset of buf[pos]
	sum  hash.Hash
	crc  uint32
	err  error
	stop bool // past the data: bytes are no longer summed
}

func newStream(r io.Reader) *stream {
	return &stream{r: r, buf: make([]byte, 256<<10), sum: sha1.New()}
}

// feed sums the bytes handed out since the last feed.
func (s *stream) feed() {
	if s.fed < s.pos && !s.stop {
		b := s.buf[s.fed:s.pos]
		s.sum.Write(b)
		s.crc = crc32.Update(s.crc, crc32.IEEETable, b)
	}
	s.fed = s.pos
}

func (s *stream) fill() error {
	if s.err != nil {
		return s.err
	}
	s.feed()
	s.pos, s.end, s.fed = 0, 0, 0
	for s.end == 0 {
		n, err := s.r.Read(s.buf)
		s.end = n
		if n == 0 && err == nil {
			continue
		}
		if err != nil {
			if err == io.EOF && n == 0 {
				err = io.ErrUnexpectedEOF
			}
			if n == 0 {
				s.err = err
				return err
			}
		}
	}
	return nil
}

func (s *stream) ReadByte() (byte, error) {
	if s.pos == s.end {
		if err := s.fill(); err != nil {
			return 0, err
		}
	}
	b := s.buf[s.pos]
	s.pos++
	s.off++
	return b, nil
}

func (s *stream) Read(p []byte) (int, error) {
	if s.pos == s.end {
		if err := s.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, s.buf[s.pos:s.end])
	s.pos += n
	s.off += int64(n)
	return n, nil
}

// readFull reads len(p) bytes.
func (s *stream) readFull(p []byte) error {
	_, err := io.ReadFull(s, p)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// startEntry resets the CRC-32 at the start of an entry.
func (s *stream) startEntry() {
	s.feed()
	s.crc = 0
}

// entryCRC returns the CRC-32 of the entry's bytes read so far.
func (s *stream) entryCRC() uint32 {
	s.feed()
	return s.crc
}

// checksum returns the SHA-1 of everything read so far and stops summing.
func (s *stream) checksum() []byte {
	s.feed()
	s.stop = true
	return s.sum.Sum(nil)
}

// atEOF reports whether nothing is left to read.
func (s *stream) atEOF() bool {
	if s.pos < s.end {
		return false
	}
	return s.fill() != nil
}
