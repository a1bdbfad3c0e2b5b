package packfile

import (
	"bytes"
	"testing"
)

func varint(n int) []byte {
	var out []byte
	for {
		b := byte(n & 0x7f)
		n >>= 7
		if n == 0 {
			return append(out, b)
		}
		out = append(out, b|0x80)
	}
}

// TestApplyDeltaLargeCopy: one copy instruction with only its third size
// byte set copies 1 MiB from a 2-byte instruction, as git writes for an
// edit at the end of a large file. A bound that assumed 64 KiB per copy
// refused exactly such deltas of thin-pack pushes.
func TestApplyDeltaLargeCopy(t *testing.T) {
	base := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	delta := append(append(varint(len(base)), varint(len(base)+2)...), 0xC0, 0x10, 2, 'x', 'y')
	got, err := ApplyDelta(base, delta)
	if err != nil {
		t.Fatalf("ApplyDelta(1 MiB copy) = %v", err)
	}
	if want := append(append([]byte{}, base...), 'x', 'y'); !bytes.Equal(got, want) {
		t.Fatalf("ApplyDelta result differs (len %d)", len(got))
	}
	// A header declaring far more than the instructions could make is
	// still refused before any allocation.
	bogus := append(append(varint(len(base)), varint(1<<40)...), 0xC0, 0x10)
	if _, err := ApplyDelta(base, bogus); err == nil {
		t.Fatal("ApplyDelta accepted a 1 TiB result from a 2-byte delta")
	}
}
