package packfile

// Delta data (gitformat-pack "Deltified representation"): the base size and
// the result size as little-endian base-128 varints, then copy instructions
// (MSB set: offset and size bytes follow as flagged by the low 7 bits) and
// insert instructions (1..127 literal bytes).

// deltaVarint decodes one size varint from the start of b.
func deltaVarint(b []byte) (int64, int, error) {
	var v uint64
	for i, shift := 0, uint(0); i < len(b); i, shift = i+1, shift+7 {
		if shift > 56 {
			return 0, 0, corruptf("delta size too large")
		}
		v |= uint64(b[i]&0x7f) << shift
		if b[i]&0x80 == 0 {
			return int64(v), i + 1, nil
		}
	}
	return 0, 0, corruptf("truncated delta header")
}

// DeltaSizes returns the base size and result size a delta declares and the
// length of that header.
func DeltaSizes(delta []byte) (base, result int64, n int, err error) {
	base, n1, err := deltaVarint(delta)
	if err != nil {
		return 0, 0, 0, err
	}
	result, n2, err := deltaVarint(delta[n1:])
	if err != nil {
		return 0, 0, 0, err
	}
	return base, result, n1 + n2, nil
}

// ApplyDelta returns the object delta makes of base. It never panics on
// malformed input.
func ApplyDelta(base, delta []byte) ([]byte, error) {
	srcSize, dstSize, n, err := DeltaSizes(delta)
	if err != nil {
		return nil, err
	}
	if srcSize != int64(len(base)) {
		return nil, corruptf("delta base size %d, base has %d bytes", srcSize, len(base))
	}
	// A copy instruction's size has up to three bytes (gitformat-pack,
	// "Instruction to copy from base object"), so one instruction of as
	// few as 4 bytes (no offset bytes) yields up to 16 MiB; an insert
	// yields less than it takes. A larger declared result is a corrupt
	// header, refused before it can size an allocation.
	if dstSize > (int64(len(delta))/4+1)*(1<<24) {
		return nil, corruptf("delta result size %d implausible", dstSize)
	}
	out := make([]byte, 0, dstSize)
	d := delta[n:]
	for len(d) > 0 {
		op := d[0]
		d = d[1:]
		if op&0x80 == 0 {
			if op == 0 || int(op) > len(d) {
				return nil, corruptf("bad delta insert")
			}
			out = append(out, d[:op]...)
			d = d[op:]
			continue
		}
		var off, size uint32
		for i := 0; i < 4; i++ {
			if op&(1<<i) != 0 {
				if len(d) == 0 {
					return nil, corruptf("truncated delta copy")
				}
				off |= uint32(d[0]) << (8 * i)
				d = d[1:]
			}
		}
		for i := 0; i < 3; i++ {
			if op&(0x10<<i) != 0 {
				if len(d) == 0 {
					return nil, corruptf("truncated delta copy")
				}
				size |= uint32(d[0]) << (8 * i)
				d = d[1:]
			}
		}
		if size == 0 {
			size = 0x10000
		}
		if uint64(off)+uint64(size) > uint64(len(base)) {
			return nil, corruptf("delta copy out of bounds")
		}
		out = append(out, base[off:off+size]...)
	}
	if int64(len(out)) != dstSize {
		return nil, corruptf("delta produced %d bytes, declared %d", len(out), dstSize)
	}
	return out, nil
}
