// Package packtest builds packs by hand for tests: entries stored whole
// or as deltas of any shape, including shapes no git would write
// (duplicates, delta bombs, malformed instructions).
package packtest

import (
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"encoding/binary"

	"github.com/depot/depot/repos/git/packfile"
	"github.com/go-git/go-git/v5/plumbing"
)

// Entry is one entry of a pack: an object stored whole, or delta data on
// an earlier entry (OFS_DELTA, OfsBase its index) or on an object id
// (REF_DELTA).
type Entry struct {
	Type    plumbing.ObjectType
	Data    []byte // the object, or the delta data
	OfsBase int
	RefBase plumbing.Hash
}

// Pack returns a version 2 pack of entries with its trailing checksum.
func Pack(entries ...Entry) []byte {
	var b bytes.Buffer
	b.WriteString("PACK")
	binary.Write(&b, binary.BigEndian, uint32(2))
	binary.Write(&b, binary.BigEndian, uint32(len(entries)))
	offsets := make([]int64, len(entries))
	for i, e := range entries {
		offsets[i] = int64(b.Len())
		b.Write(packfile.AppendHeader(nil, e.Type, int64(len(e.Data))))
		switch e.Type {
		case plumbing.OFSDeltaObject:
			b.Write(packfile.AppendOfs(nil, offsets[i]-offsets[e.OfsBase]))
		case plumbing.REFDeltaObject:
			b.Write(e.RefBase[:])
		}
		zw := zlib.NewWriter(&b)
		zw.Write(e.Data)
		zw.Close()
	}
	sum := sha1.Sum(b.Bytes())
	b.Write(sum[:])
	return b.Bytes()
}

// Copy is a delta instruction that copies Size bytes of the base from Off.
type Copy struct{ Off, Size int64 }

// Delta returns delta data declaring the base and result sizes, then ops:
// a string is inserted (in instructions of up to 127 bytes), a Copy
// copies from the base (in instructions of up to 16 MiB - 1 bytes).
func Delta(baseSize, resultSize int64, ops ...any) []byte {
	b := binary.AppendUvarint(nil, uint64(baseSize))
	b = binary.AppendUvarint(b, uint64(resultSize))
	for _, op := range ops {
		switch op := op.(type) {
		case string:
			for len(op) > 0 {
				n := min(len(op), 127)
				b = append(b, byte(n))
				b = append(b, op[:n]...)
				op = op[n:]
			}
		case Copy:
			for off, left := op.Off, op.Size; left > 0; {
				n := min(left, 1<<24-1)
				b = appendCopy(b, off, n)
				off, left = off+n, left-n
			}
		}
	}
	return b
}

func appendCopy(b []byte, off, size int64) []byte {
	c := byte(0x80)
	var args []byte
	for i := 0; i < 4; i++ {
		if v := byte(off >> (8 * i)); v != 0 {
			c |= 1 << i
			args = append(args, v)
		}
	}
	for i := 0; i < 3; i++ {
		if v := byte(size >> (8 * i)); v != 0 {
			c |= 0x10 << i
			args = append(args, v)
		}
	}
	return append(append(b, c), args...)
}

// Bomb returns a pack of a blob of baseSize zero bytes and a REF_DELTA on
// it that copies the blob over and over into an object of resultSize
// bytes: a few kilobytes that make as much as the server allows.
func Bomb(baseSize, resultSize int64) []byte {
	zeros := make([]byte, baseSize)
	var ops []any
	for left := resultSize; left > 0; {
		n := min(left, baseSize)
		ops = append(ops, Copy{Off: 0, Size: n})
		left -= n
	}
	return Pack(
		Entry{Type: plumbing.BlobObject, Data: zeros},
		Entry{Type: plumbing.REFDeltaObject, RefBase: plumbing.ComputeHash(plumbing.BlobObject, zeros), Data: Delta(baseSize, resultSize, ops...)},
	)
}
